package centili_test

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// hit is one notification a test merchant received.
type hit struct {
	At       time.Time
	RawQuery string
	Query    url.Values
	Header   http.Header
	Valid    bool
}

// merchant is a Centili service's notification URL: it checks sign as
// Centili's documentation tells merchants to (HMAC with the signature key
// of the values of every other parameter, sorted by name), answers 403 to
// a forged notification, and to a genuine one the n-th code of its script
// (the last one once the script runs out; 200 for none), after delay.
type merchant struct {
	URL     string
	key     string
	newHash func() hash.Hash
	codes   []int
	delay   time.Duration

	mu   sync.Mutex
	hits []hit
}

func newMerchant(t *testing.T, key string, newHash func() hash.Hash, codes ...int) *merchant {
	t.Helper()
	m := &merchant{key: key, newHash: newHash, codes: codes}
	srv := httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(srv.Close)
	m.URL = srv.URL + "/centili/notify"
	return m
}

func (m *merchant) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	h := hit{At: time.Now(), RawQuery: r.URL.RawQuery, Query: q, Header: r.Header.Clone(),
		Valid: r.Method == http.MethodGet && validSign(m.key, m.newHash, q)}
	m.mu.Lock()
	n := len(m.hits)
	m.hits = append(m.hits, h)
	m.mu.Unlock()
	time.Sleep(m.delay) // a slow handler; the test's own clock, not the simulator's
	code := http.StatusOK
	switch {
	case !h.Valid:
		code = http.StatusForbidden
	case n < len(m.codes):
		code = m.codes[n]
	case len(m.codes) > 0:
		code = m.codes[len(m.codes)-1]
	}
	w.WriteHeader(code)
}

func validSign(key string, newHash func() hash.Hash, q url.Values) bool {
	names := make([]string, 0, len(q))
	for name := range q {
		if name != "sign" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	mac := hmac.New(newHash, []byte(key))
	for _, name := range names {
		for _, v := range q[name] {
			mac.Write([]byte(v))
		}
	}
	got, err := hex.DecodeString(q.Get("sign"))
	return err == nil && hmac.Equal(mac.Sum(nil), got)
}

func (m *merchant) Hits() []hit {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]hit(nil), m.hits...)
}

// Of returns the notifications of transaction id (Centili's transactionid:
// the merchant knows a notification by nothing else).
func (m *merchant) Of(id string) []hit {
	var out []hit
	for _, h := range m.Hits() {
		if h.Query.Get("transactionid") == id {
			out = append(out, h)
		}
	}
	return out
}

// service adds a Centili service to cfg.
func service(cfg *config.Config, name, key, alg string, m *merchant) {
	cfg.Merchants = append(cfg.Merchants, config.Merchant{ID: "m-" + name, Centili: &config.CentiliMerchant{
		Service: name, SignatureKey: key, SignAlgorithm: alg, NotificationURL: m.URL,
	}})
}

func start(t *testing.T, timeScale float64, setup func(cfg *config.Config)) *simtest.Sim {
	t.Helper()
	r := redistest.Start(t)
	cfg := simtest.Config(r.URL())
	cfg.TimeScale = timeScale
	cfg.Merchants = nil
	setup(&cfg)
	return simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)
}

// simulate posts body to /centili/simulate and decodes the 202 answer.
func simulate(t *testing.T, sim *simtest.Sim, body map[string]any) map[string]string {
	t.Helper()
	r := sim.Do(http.MethodPost, "/centili/simulate", body)
	if r.Status != http.StatusAccepted {
		t.Fatalf("simulate %v: %d %s", body, r.Status, r.Body)
	}
	var ans map[string]string
	r.JSON(t, &ans)
	if ans["callback_id"] == "" {
		t.Fatalf("no callback_id in %s", r.Body)
	}
	return ans
}

var (
	hex32    = regexp.MustCompile(`^[0-9a-f]{32}$`)
	e164     = regexp.MustCompile(`^[1-9][0-9]{7,14}$`)
	decimal  = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	mccmnc   = regexp.MustCompile(`^[0-9]{5,6}$`)
	countryC = regexp.MustCompile(`^[A-Z]{2}$`) // filled in upper case by default, as Centili's table writes FR
)

func TestCentiliNotificationsVerifyWithTheServicesKey(t *testing.T) {
	sha1M := newMerchant(t, "key-sha1", sha1.New)
	sha256M := newMerchant(t, "key-sha256", sha256.New)
	md5M := newMerchant(t, "key-md5", md5.New)
	forged := newMerchant(t, "the-merchants-key", sha1.New)
	sim := start(t, 0.0005, func(cfg *config.Config) {
		service(cfg, "svc-sha1", "key-sha1", "sha1", sha1M)
		service(cfg, "svc-sha256", "key-sha256", "SHA256", sha256M)
		service(cfg, "svc-md5", "key-md5", "md5", md5M)
		service(cfg, "svc-forged", "another-key", "sha1", forged)
	})

	for _, tt := range []struct {
		service string
		m       *merchant
	}{{"svc-sha1", sha1M}, {"svc-sha256", sha256M}, {"svc-md5", md5M}} {
		t.Run(tt.service, func(t *testing.T) {
			sim := sim.With(t)
			ans := simulate(t, sim, map[string]any{"service": tt.service, "status": "success"})
			cb := sim.WaitStatus(ans["callback_id"], store.StatusDelivered, 10*time.Second)
			hits := tt.m.Hits()
			if len(hits) != 1 || !hits[0].Valid {
				t.Fatalf("merchant got %d notifications (valid: %v), want one that passes its check", len(hits), hits)
			}
			h := hits[0]
			if h.Header.Get("X-Callback-Id") != "" || cb.Method != http.MethodGet {
				t.Errorf("X-Callback-Id %q (Centili sends none), method %s", h.Header.Get("X-Callback-Id"), cb.Method)
			}
			// Every parameter in the query, in the order of Centili's
			// table (not sorted: the merchant sorts), sign in its place.
			var names []string
			for _, kv := range strings.Split(h.RawQuery, "&") {
				name, _, _ := strings.Cut(kv, "=")
				names = append(names, name)
			}
			order := []string{"transactionid", "phone", "userid", "country", "mno", "mnocode", "amount", "status",
				"revenue", "revenuecurrency", "reference", "enduserprice", "service", "event_type", "sign"}
			if diff := cmp.Diff(order, names); diff != "" || sort.StringsAreSorted(names) {
				t.Errorf("query %s: want Centili's table order (-want +got):\n%s", h.RawQuery, diff)
			}
			q := h.Query
			if !hex32.MatchString(q.Get("transactionid")) || q.Get("transactionid") != ans["transactionid"] {
				t.Errorf("transactionid = %q (answer %q), want 32 hex characters", q.Get("transactionid"), ans["transactionid"])
			}
			if !e164.MatchString(q.Get("phone")) || q.Get("userid") != q.Get("phone") {
				t.Errorf("phone %q, userid %q: want an E.164 number without + and the same userid", q.Get("phone"), q.Get("userid"))
			}
			if c := q.Get("country"); !countryC.MatchString(c) || !strings.HasPrefix(q.Get("mnocode"), c+"_") {
				t.Errorf("country %q and mnocode %q do not match", c, q.Get("mnocode"))
			}
			if !mccmnc.MatchString(q.Get("mno")) {
				t.Errorf("mno = %q, want MCC+MNC", q.Get("mno"))
			}
			for _, name := range []string{"enduserprice", "revenue"} {
				if !decimal.MatchString(q.Get(name)) {
					t.Errorf("%s = %q, want a decimal", name, q.Get(name))
				}
			}
			want := map[string]string{"service": tt.service, "status": "success", "event_type": "one_off",
				"amount": "1", "revenuecurrency": "EUR"}
			for name, v := range want {
				if q.Get(name) != v {
					t.Errorf("%s = %q, want %q", name, q.Get(name), v)
				}
			}
			for _, absent := range []string{"errormessage", "subscriptionid", "interval", "opt_in_channel"} {
				if q.Has(absent) {
					t.Errorf("a successful one-off payment carries %s=%q", absent, q.Get(absent))
				}
			}
			if q.Get("reference") == "" {
				t.Error("no reference")
			}
		})
	}

	t.Run("wrong key: the merchant's check fails", func(t *testing.T) {
		sim := sim.With(t)
		ans := simulate(t, sim, map[string]any{"service": "svc-forged", "status": "failed"})
		cb := sim.WaitStatus(ans["callback_id"], store.StatusFailed, 10*time.Second)
		for _, h := range forged.Hits() {
			if h.Valid {
				t.Errorf("a notification signed with another key passed the check: %s", h.RawQuery)
			}
		}
		if len(cb.Attempts) != 4 || cb.Attempts[0].Response.Status != http.StatusForbidden {
			t.Errorf("%d attempts, first answered %d; want 4 refused with 403", len(cb.Attempts), cb.Attempts[0].Response.Status)
		}
	})

	t.Run("given and derived fields", func(t *testing.T) {
		sim := sim.With(t)
		tests := []struct {
			name string
			body map[string]any
			want map[string]string
			pre  map[string]string // prefixes
		}{
			// A failed or canceled payment takes nothing and pays nothing
			// out; its price is what the customer would have paid.
			{"failed", map[string]any{"status": "failed", "mnocode": "FR_SFR"},
				map[string]string{"errormessage": "CHARGING_FAILED", "revenue": "0.0000", "enduserprice": "3.00"}, nil},
			{"canceled", map[string]any{"status": "canceled"}, map[string]string{"errormessage": "TRANSACTION_CANCELED_BY_USER", "revenue": "0.0000"}, nil},
			{"given error", map[string]any{"status": "failed", "errormessage": "NOT_ENOUGH_CREDIT"}, map[string]string{"errormessage": "NOT_ENOUGH_CREDIT"}, nil},
			// A country given keeps its letter case; the price is in its
			// currency, the revenue in revenuecurrency.
			{"country only, upper case", map[string]any{"status": "success", "country": "RS"},
				map[string]string{"country": "RS", "enduserprice": "240.00", "revenue": "1.2240"}, map[string]string{"mnocode": "RS_", "phone": "381"}},
			{"country only, lower case", map[string]any{"status": "success", "country": "pl"},
				map[string]string{"country": "pl", "enduserprice": "6.15", "revenue": "0.8487"}, map[string]string{"mnocode": "PL_", "phone": "48"}},
			{"mnocode only: the country filled in upper case", map[string]any{"status": "success", "mnocode": "FR_ORANGE"},
				map[string]string{"country": "FR", "mno": "20801", "enduserprice": "3.00", "revenue": "1.8000"}, map[string]string{"phone": "33"}},
			{"pounds paid, paid out in euros", map[string]any{"status": "success", "mnocode": "GB_EE"},
				map[string]string{"country": "GB", "enduserprice": "1.50", "revenue": "1.0530", "revenuecurrency": "EUR"}, nil},
			{"phone only", map[string]any{"status": "success", "phone": "+4366124567"},
				map[string]string{"phone": "4366124567", "userid": "4366124567", "country": "AT"}, map[string]string{"mnocode": "AT_"}},
			{"PROVIDERS.md vector's values", map[string]any{"status": "failed", "country": "rs", "enduserprice": "1.00",
				"mnocode": "RS_VIP", "phone": 4366124567, "reference": 12345678, "revenue": "8.0564", "transactionid": "1488787"},
				map[string]string{"country": "rs", "enduserprice": "1.00", "mnocode": "RS_VIP", "phone": "4366124567",
					"reference": "12345678", "revenue": "8.0564", "transactionid": "1488787", "mno": "22005"}, nil},
			{"clientid instead of reference", map[string]any{"status": "success", "clientid": "c-9", "userid": "user-1"},
				map[string]string{"clientid": "c-9", "userid": "user-1"}, nil},
			{"premium SMS", map[string]any{"status": "success", "shortcode": 1234, "momessage": "GO", "originalmessage": "GO 1"},
				map[string]string{"shortcode": "1234", "momessage": "GO", "originalmessage": "GO 1"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				sim := sim.With(t)
				tt.body["service"] = "svc-sha256"
				ans := simulate(t, sim, tt.body)
				sim.WaitStatus(ans["callback_id"], store.StatusDelivered, 10*time.Second)
				hits := sha256M.Of(ans["transactionid"])
				if len(hits) != 1 {
					t.Fatalf("%d notifications of %s, want 1", len(hits), ans["transactionid"])
				}
				q := hits[0].Query
				for name, v := range tt.want {
					if q.Get(name) != v {
						t.Errorf("%s = %q, want %q", name, q.Get(name), v)
					}
				}
				for name, p := range tt.pre {
					if !strings.HasPrefix(q.Get(name), p) {
						t.Errorf("%s = %q, want it to start with %q", name, q.Get(name), p)
					}
				}
				if tt.body["clientid"] != nil && q.Has("reference") {
					t.Errorf("clientid and reference both sent")
				}
			})
		}
	})
}

func TestCentiliAnswers(t *testing.T) {
	// time_scale 0.0005: the [10m, 10m, 10m] schedule becomes 300ms each,
	// and Centili's 30 minutes 900ms.
	const step = 300 * time.Millisecond
	rejects := newMerchant(t, "k", sha1.New, http.StatusNotAcceptable)
	created := newMerchant(t, "k", sha1.New, http.StatusCreated, http.StatusOK)
	down := newMerchant(t, "k", sha1.New, http.StatusServiceUnavailable)
	// Every attempt takes 150 ms (the timeout is not scaled): from each
	// attempt's end, the third retry would start 450 ms past the 30
	// minutes.
	down.delay = 150 * time.Millisecond
	sim := start(t, 0.0005, func(cfg *config.Config) {
		service(cfg, "svc-406", "k", "sha1", rejects)
		service(cfg, "svc-201", "k", "sha1", created)
		service(cfg, "svc-503", "k", "sha1", down)
	})
	rejectedID := simulate(t, sim, map[string]any{"service": "svc-406", "status": "success"})["callback_id"]
	createdID := simulate(t, sim, map[string]any{"service": "svc-201", "status": "success"})["callback_id"]
	downID := simulate(t, sim, map[string]any{"service": "svc-503", "status": "success"})["callback_id"]

	t.Run("503 from a slow handler: three retries within 30 minutes of the first failure, then failed", func(t *testing.T) {
		sim := sim.With(t)
		cb := sim.WaitStatus(downID, store.StatusFailed, 15*time.Second)
		if len(cb.Attempts) != 4 || len(down.Hits()) != 4 {
			t.Fatalf("%d attempts, %d requests; want 4", len(cb.Attempts), len(down.Hits()))
		}
		want := []store.Outcome{store.OutcomeRetry, store.OutcomeRetry, store.OutcomeRetry, store.OutcomeFailed}
		for i, a := range cb.Attempts {
			if a.Outcome != want[i] || a.Response == nil || a.Response.Status != 503 {
				t.Errorf("attempt %d: %s, %+v; want %s after a 503", i+1, a.Outcome, a.Response, want[i])
			}
			if d := time.Duration(a.DurationMS * float64(time.Millisecond)); d < down.delay {
				t.Errorf("attempt %d took %s, want the handler's %s at least", i+1, d, down.delay)
			}
			if i == 0 {
				continue
			}
			// Retry n is due n x 10 min after the first failed attempt
			// started, whatever the attempts took; it never starts early,
			// and (on a loaded machine too) within 100 ms of its due time.
			due := cb.Attempts[0].At.Add(time.Duration(i) * step)
			if late := a.At.Sub(due); late < 0 || late > 100*time.Millisecond {
				t.Errorf("attempt %d started %s after its due time (%d x 10m scaled to %s after the first attempt started), want 0 to 100ms",
					i+1, late, i, time.Duration(i)*step)
			}
		}
		if last := cb.Attempts[3].At.Sub(cb.Attempts[0].At); last > 3*step+100*time.Millisecond {
			t.Errorf("the third retry started %s after the first failure, past Centili's 30 minutes (%s scaled)", last, 3*step)
		}
		if cb.NextAttemptAt != nil {
			t.Errorf("next_attempt_at = %v once failed", cb.NextAttemptAt)
		}
	})

	t.Run("201: not delivered, retried", func(t *testing.T) {
		sim := sim.With(t)
		cb := sim.WaitStatus(createdID, store.StatusDelivered, 10*time.Second)
		if len(cb.Attempts) != 2 || cb.Attempts[0].Outcome != store.OutcomeRetry || cb.Attempts[0].Response.Status != 201 ||
			cb.Attempts[1].Response.Status != 200 {
			t.Errorf("attempts %+v, want a 201 retried, then a 200", cb.Attempts)
		}
	})

	t.Run("406: rejected at once, never retried", func(t *testing.T) {
		sim := sim.With(t)
		cb := sim.WaitStatus(rejectedID, store.StatusRejected, 10*time.Second)
		// The 503 callback took three retry delays: had the 406 been
		// retried, the retry would have come by now.
		if n := len(rejects.Hits()); n != 1 || len(cb.Attempts) != 1 || cb.Attempts[0].Outcome != store.OutcomeRejected {
			t.Errorf("%d requests, attempts %+v; want exactly one, rejected", n, cb.Attempts)
		}
		if cb.NextAttemptAt != nil {
			t.Errorf("next_attempt_at = %v", cb.NextAttemptAt)
		}
	})
}

func TestCentiliSubscriptions(t *testing.T) {
	m := newMerchant(t, "k", sha256.New)
	sim := start(t, 0.01, func(cfg *config.Config) { service(cfg, "svc", "k", "sha256", m) })
	notification := func(t *testing.T, ans map[string]string) url.Values {
		t.Helper()
		sim.With(t).WaitStatus(ans["callback_id"], store.StatusDelivered, 10*time.Second)
		hits := m.Of(ans["transactionid"])
		if len(hits) != 1 {
			t.Fatalf("%d notifications of transaction %s, want 1", len(hits), ans["transactionid"])
		}
		if !hits[0].Valid {
			t.Errorf("notification %s failed the merchant's check", ans["transactionid"])
		}
		return hits[0].Query
	}

	in := simulate(t, sim, map[string]any{"service": "svc", "status": "success", "event_type": "opt_in",
		"interval": "WEEK", "opt_in_channel": "android", "country": "fr"})
	sub := in["subscriptionid"]
	optIn := notification(t, in)
	if sub == "" || optIn.Get("subscriptionid") != sub || optIn.Get("event_type") != "opt_in" ||
		optIn.Get("interval") != "WEEK" || optIn.Get("opt_in_channel") != "android" {
		t.Fatalf("opt_in: answer %v, notification %v", in, optIn)
	}

	billed := simulate(t, sim, map[string]any{"service": "svc", "status": "success", "event_type": "recurring_billing",
		"subscriptionid": sub, "interval": "week", "country": "FR"})
	bill := notification(t, billed) // the subscription's spelling: WEEK, fr
	for _, name := range []string{"subscriptionid", "phone", "userid", "country", "mno", "mnocode", "interval",
		"opt_in_channel", "reference", "enduserprice", "revenue", "revenuecurrency", "amount", "service"} {
		if bill.Get(name) != optIn.Get(name) {
			t.Errorf("recurring_billing %s = %q, opt_in had %q", name, bill.Get(name), optIn.Get(name))
		}
	}
	if bill.Get("event_type") != "recurring_billing" || bill.Get("transactionid") == optIn.Get("transactionid") {
		t.Errorf("recurring_billing: event_type %q, transactionid %q (opt_in's %q)", bill.Get("event_type"), bill.Get("transactionid"), optIn.Get("transactionid"))
	}

	failedBill := simulate(t, sim, map[string]any{"service": "svc", "status": "failed", "event_type": "recurring_billing",
		"subscriptionid": sub, "errormessage": "NOT_ENOUGH_CREDIT"})
	if q := notification(t, failedBill); q.Get("errormessage") != "NOT_ENOUGH_CREDIT" || q.Get("status") != "failed" ||
		q.Get("revenue") != "0.0000" || q.Get("enduserprice") != optIn.Get("enduserprice") {
		t.Errorf("failed billing: %v; want no revenue, the price it would have cost", q)
	}

	out := simulate(t, sim, map[string]any{"service": "svc", "status": "success", "event_type": "opt_out", "subscriptionid": sub})
	if q := notification(t, out); q.Get("event_type") != "opt_out" || q.Get("subscriptionid") != sub || q.Get("interval") != "WEEK" ||
		q.Get("revenue") != "0.0000" {
		t.Errorf("opt_out: %v; want no revenue (an opt_out charges nothing)", q)
	}

	for _, tt := range []struct {
		name   string
		body   map[string]any
		status int
		field  string
	}{
		{"billing after opt_out", map[string]any{"event_type": "recurring_billing", "subscriptionid": sub}, 409, "subscriptionid"},
		{"opt_in with a used id", map[string]any{"event_type": "opt_in", "subscriptionid": sub}, 409, "subscriptionid"},
		{"billing an unknown subscription", map[string]any{"event_type": "recurring_billing", "subscriptionid": "404"}, 404, "subscriptionid"},
		{"billing without subscriptionid", map[string]any{"event_type": "recurring_billing"}, 400, "subscriptionid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sim := sim.With(t)
			tt.body["service"], tt.body["status"] = "svc", "success"
			r := sim.Do(http.MethodPost, "/centili/simulate", tt.body)
			var e map[string]string
			r.JSON(t, &e)
			if r.Status != tt.status || e["field"] != tt.field || e["error"] == "" {
				t.Errorf("%d %s, want %d naming %s", r.Status, r.Body, tt.status, tt.field)
			}
		})
	}

	t.Run("an event that contradicts its subscription", func(t *testing.T) {
		sim := sim.With(t)
		in := simulate(t, sim, map[string]any{"service": "svc", "status": "success", "event_type": "opt_in", "subscriptionid": "S-2"})
		if in["subscriptionid"] != "S-2" {
			t.Fatalf("given subscriptionid not kept: %v", in)
		}
		notification(t, in)
		r := sim.Do(http.MethodPost, "/centili/simulate", map[string]any{"service": "svc", "status": "success",
			"event_type": "recurring_billing", "subscriptionid": "S-2", "interval": "DAY"})
		if r.Status != 400 || !strings.Contains(string(r.Body), `"field":"interval"`) {
			t.Errorf("billing with another interval: %d %s, want 400 naming interval", r.Status, r.Body)
		}
	})

	t.Run("a failed opt_in starts nothing", func(t *testing.T) {
		sim := sim.With(t)
		in := simulate(t, sim, map[string]any{"service": "svc", "status": "failed", "event_type": "opt_in"})
		notification(t, in)
		r := sim.Do(http.MethodPost, "/centili/simulate", map[string]any{"service": "svc", "status": "success",
			"event_type": "recurring_billing", "subscriptionid": in["subscriptionid"]})
		if r.Status != http.StatusConflict {
			t.Errorf("billing a failed opt_in: %d %s, want 409", r.Status, r.Body)
		}
	})

	t.Run("scenario duplicates", func(t *testing.T) {
		sim := sim.With(t)
		ans := simulate(t, sim, map[string]any{"service": "svc", "status": "success", "scenario": map[string]any{"duplicates": 2}})
		var copies []hit
		simtest.Eventually(t, 10*time.Second, func() bool {
			copies = m.Of(ans["transactionid"])
			return len(copies) == 3
		}, func() string { return "the notification and its two copies" })
		for _, c := range copies[1:] {
			if diff := cmp.Diff(copies[0].Query, c.Query); diff != "" || !c.Valid {
				t.Errorf("a copy differs (-first +copy):\n%s", diff)
			}
		}
	})
}

func TestCentiliSimulateBadInput(t *testing.T) {
	m := newMerchant(t, "k", sha1.New)
	sim := start(t, 0.01, func(cfg *config.Config) { service(cfg, "svc", "k", "", m) })
	tests := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"malformed JSON", `{"service":`, 400, ""},
		{"not an object", `[]`, 400, ""},
		{"empty body", ``, 400, ""},
		{"no service", map[string]any{"status": "success"}, 401, "service"},
		{"unknown service", map[string]any{"service": "nope", "status": "success"}, 401, "service"},
		{"no status", map[string]any{"service": "svc"}, 400, "status"},
		{"unknown status", map[string]any{"service": "svc", "status": "SUCCESS"}, 400, "status"},
		{"unknown event type", map[string]any{"service": "svc", "status": "success", "event_type": "renewal"}, 400, "event_type"},
		{"errormessage on success", map[string]any{"service": "svc", "status": "success", "errormessage": "CHARGING_FAILED"}, 400, "errormessage"},
		{"unknown errormessage", map[string]any{"service": "svc", "status": "failed", "errormessage": "BROKE"}, 400, "errormessage"},
		{"interval on a one-off", map[string]any{"service": "svc", "status": "success", "interval": "DAY"}, 400, "interval"},
		{"subscriptionid on a one-off", map[string]any{"service": "svc", "status": "success", "subscriptionid": "1"}, 400, "subscriptionid"},
		{"bad interval", map[string]any{"service": "svc", "status": "success", "event_type": "opt_in", "interval": "YEAR"}, 400, "interval"},
		{"mno and omit_mno", map[string]any{"service": "svc", "status": "success", "mno": "20801", "omit_mno": true}, 400, "omit_mno"},
		{"scenario shuffle_params not a boolean", map[string]any{"service": "svc", "status": "success", "scenario": map[string]any{"shuffle_params": "yes"}}, 400, "scenario.shuffle_params"},
		{"bad channel", map[string]any{"service": "svc", "status": "success", "event_type": "opt_in", "opt_in_channel": "sms"}, 400, "opt_in_channel"},
		{"phone with letters", map[string]any{"service": "svc", "status": "success", "phone": "33abc"}, 400, "phone"},
		{"phone too short", map[string]any{"service": "svc", "status": "success", "phone": "1234"}, 400, "phone"},
		{"phone an object", map[string]any{"service": "svc", "status": "success", "phone": map[string]any{}}, 400, "phone"},
		{"bad country", map[string]any{"service": "svc", "status": "success", "country": "France"}, 400, "country"},
		{"unknown country without mnocode", map[string]any{"service": "svc", "status": "success", "country": "zz"}, 400, "mnocode"},
		{"unknown country without phone", map[string]any{"service": "svc", "status": "success", "mnocode": "ZZ_TEL"}, 400, "phone"},
		{"bad mnocode", map[string]any{"service": "svc", "status": "success", "mnocode": "orange"}, 400, "mnocode"},
		{"mnocode of another country", map[string]any{"service": "svc", "status": "success", "country": "rs", "mnocode": "FR_ORANGE"}, 400, "mnocode"},
		{"bad mno", map[string]any{"service": "svc", "status": "success", "mno": "208-01"}, 400, "mno"},
		{"amount zero", map[string]any{"service": "svc", "status": "success", "amount": 0}, 400, "amount"},
		{"amount decimal", map[string]any{"service": "svc", "status": "success", "amount": 1.5}, 400, "amount"},
		{"bad price", map[string]any{"service": "svc", "status": "success", "enduserprice": "1,99"}, 400, "enduserprice"},
		{"bad revenue", map[string]any{"service": "svc", "status": "success", "revenue": "-1"}, 400, "revenue"},
		{"bad currency", map[string]any{"service": "svc", "status": "success", "revenuecurrency": "euro"}, 400, "revenuecurrency"},
		{"reference and clientid", map[string]any{"service": "svc", "status": "success", "reference": "a", "clientid": "b"}, 400, "clientid"},
		{"control characters", map[string]any{"service": "svc", "status": "success", "transactionid": "a\x00b"}, 400, "transactionid"},
		{"scenario out_of_order", map[string]any{"service": "svc", "status": "success", "scenario": map[string]any{"out_of_order": true}}, 400, "scenario.out_of_order"},
		{"scenario duplicates", map[string]any{"service": "svc", "status": "success", "scenario": map[string]any{"duplicates": -1}}, 400, "scenario.duplicates"},
		{"body over 1 MiB", `{"service":"svc","momessage":"` + strings.Repeat("x", 1<<20) + `"}`, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := sim.With(t)
			r := sim.Do(http.MethodPost, "/centili/simulate", tt.body)
			r.WantError(t, tt.status, tt.field)
		})
	}
	if n := len(m.Hits()); n != 0 {
		t.Errorf("bad input sent %d notifications", n)
	}
}

// TestCentiliCountryCaseLower: providers.centili.country_case lower writes
// the countries the simulator fills in as Centili's signature guide does
// (rs); a country given is still sent as given.
func TestCentiliCountryCaseLower(t *testing.T) {
	m := newMerchant(t, "k", sha1.New)
	sim := start(t, 0.01, func(cfg *config.Config) {
		cfg.Providers.Centili.CountryCase = config.CountryLower
		service(cfg, "svc", "k", "sha1", m)
	})
	for _, tt := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"mnocode": "RS_VIP"}, "rs"},
		{map[string]any{"phone": "33612345678"}, "fr"},
		{map[string]any{"country": "DE"}, "DE"},
	} {
		tt.body["service"], tt.body["status"] = "svc", "success"
		ans := simulate(t, sim, tt.body)
		sim.WaitStatus(ans["callback_id"], store.StatusDelivered, 10*time.Second)
		if hits := m.Of(ans["transactionid"]); len(hits) != 1 || hits[0].Query.Get("country") != tt.want || !hits[0].Valid {
			t.Errorf("%v: notifications %+v, want one with country %s", tt.body, hits, tt.want)
		}
	}
}
