package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
)

// What a merchant's endpoint receives, byte for byte: only the headers
// the gateway sends (no callback id), and for Centili the parameters in
// the order of its table, not sorted.

// start runs a simulator whose demo merchant's Centili service notifies
// centiliURL, with setup applied to its configuration.
func start(t *testing.T, centiliURL string, setup func(*config.Config)) *simtest.Sim {
	t.Helper()
	r := redistest.Start(t)
	cfg := simtest.Config(r.URL())
	cfg.Merchants[0].Centili.NotificationURL = centiliURL + "/centili"
	if setup != nil {
		setup(&cfg)
	}
	return simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)
}

func callbackID(t *testing.T, r simtest.Response) string {
	t.Helper()
	var ans struct {
		CallbackID string `json:"callback_id"`
	}
	r.JSON(t, &ans)
	if r.Status != http.StatusAccepted || ans.CallbackID == "" {
		t.Fatalf("simulate: %d %s", r.Status, r.Body)
	}
	return ans.CallbackID
}

func qrisPayment(t *testing.T, sim *simtest.Sim, orderID, callbackURL string, scenario map[string]any) string {
	t.Helper()
	auth := []string{"Authorization", "Bearer demo-qris-token"}
	if r := sim.Do(http.MethodPost, "/api/qris/initiate", map[string]any{
		"amount": 50000, "order_id": orderID, "customer_name": "John Doe", "customer_email": "john@example.com",
		"customer_phone": "+62812345678", "callback_url": callbackURL,
	}, auth...); r.Status != http.StatusCreated {
		t.Fatalf("initiate %s: %d %s", orderID, r.Status, r.Body)
	}
	body := map[string]any{"order_id": orderID, "status": "SUCCESS"}
	if scenario != nil {
		body["scenario"] = scenario
	}
	return callbackID(t, sim.Do(http.MethodPost, "/api/qris/simulate", body, auth...))
}

// wantHeaders fails unless the request carried exactly the named headers
// (in any order) and the neutral User-Agent.
func wantHeaders(t *testing.T, what string, w simtest.WireRequest, names ...string) {
	t.Helper()
	got := slices.Sorted(slices.Values(w.HeaderNames()))
	want := slices.Sorted(slices.Values(names))
	if !slices.Equal(got, want) {
		t.Errorf("%s: header lines %q, want exactly %v (what the gateway sends)", what, w.Headers, want)
	}
	// No gateway documents its User-Agent: Go's own, naming neither
	// callbacksim nor a gateway.
	if ua := w.Request.Header.Get("User-Agent"); ua != "Go-http-client/1.1" {
		t.Errorf("%s: User-Agent %q, want Go-http-client/1.1", what, ua)
	}
}

func TestWireQRIS(t *testing.T) {
	m := simtest.NewWireMerchant(t, nil)
	sim := start(t, m.URL, nil)
	id := qrisPayment(t, sim, "ORDER-12345", m.URL+"/payment-callback", nil)
	sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)
	w := m.WaitRequests(1, 5*time.Second)[0]
	if w.Line != "POST /payment-callback HTTP/1.1" {
		t.Errorf("request line %q", w.Line)
	}
	wantHeaders(t, "callback", w, "Host", "User-Agent", "Content-Length", "Content-Type")
	// The gateway's example's fields, in its order; a description though
	// the initiation gave none, built from the order as the example's is.
	var names []string
	dec := json.NewDecoder(strings.NewReader(string(w.Body)))
	_, _ = dec.Token()
	for dec.More() {
		tok, _ := dec.Token()
		names = append(names, tok.(string))
		var skip json.RawMessage
		_ = dec.Decode(&skip)
	}
	wantNames := []string{"order_id", "transaction_id", "status", "amount", "currency", "payment_method",
		"customer_name", "customer_email", "customer_phone", "timestamp", "description"}
	if !slices.Equal(names, wantNames) {
		t.Errorf("body fields %v, want %v", names, wantNames)
	}
	var cb payloads.QRISCallback
	if err := json.Unmarshal(w.Body, &cb); err != nil || cb.Description != "Payment for Order #12345" {
		t.Errorf("description %q (%v), want %q", cb.Description, err, "Payment for Order #12345")
	}
}

func TestWireCinetPay(t *testing.T) {
	m := simtest.NewWireMerchant(t, func(w simtest.WireRequest) int {
		if w.Request.Method == http.MethodGet {
			return http.StatusNotFound // a POST-only route: CinetPay's check fails
		}
		return http.StatusOK
	})
	sim := start(t, m.URL, nil)
	if r := sim.Do(http.MethodPost, "/v2/payment", map[string]any{
		"apikey": "demo-apikey", "site_id": "445160", "transaction_id": "TX-WIRE", "amount": 100, "currency": "XOF",
		"description": "Test", "notify_url": m.URL + "/notify", "return_url": "https://shop.example/", "channels": "ALL",
	}); r.Status != http.StatusOK {
		t.Fatalf("init: %d %s", r.Status, r.Body)
	}
	id := callbackID(t, sim.Do(http.MethodPost, "/v2/simulate", map[string]any{
		"apikey": "demo-apikey", "site_id": "445160", "transaction_id": "TX-WIRE", "status": "ACCEPTED",
	}))
	cb := sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)
	got := m.WaitRequests(2, 5*time.Second)
	ping, post := got[0], got[1]
	if ping.Line != "GET /notify HTTP/1.1" || len(ping.Body) != 0 {
		t.Errorf("ping %q with %d body bytes, want a GET with no data", ping.Line, len(ping.Body))
	}
	wantHeaders(t, "ping", ping, "Host", "User-Agent")
	if post.Line != "POST /notify HTTP/1.1" {
		t.Errorf("notification %q", post.Line)
	}
	wantHeaders(t, "notification", post, "Host", "User-Agent", "Content-Length", "Content-Type", "X-Token")
	var names []string
	for part := range strings.SplitSeq(string(post.Body), "&") {
		name, _, _ := strings.Cut(part, "=")
		names = append(names, name)
	}
	wantNames := []string{"cpm_site_id", "cpm_trans_id", "cpm_trans_date", "cpm_amount", "cpm_currency", "signature",
		"payment_method", "cel_phone_num", "cpm_phone_prefixe", "cpm_language", "cpm_version", "cpm_payment_config",
		"cpm_page_action", "cpm_custom", "cpm_designation", "cpm_error_message"}
	if !slices.Equal(names, wantNames) {
		t.Errorf("form fields %v, want x-token order %v", names, wantNames)
	}
	// The POST decided (delivered); the failed check is said on the attempt.
	const hint = "your notify_url answered 404 to CinetPay's GET check; it must answer 200 to GET and POST"
	if a := cb.Attempts[0]; a.Outcome != store.OutcomeDelivered || a.Hint != hint || a.Ping == nil || a.Ping.Response.Status != 404 {
		t.Errorf("attempt %+v, want delivered with hint %q", a, hint)
	}
}

// centiliNames returns the parameter names of a raw query, in order.
func centiliNames(raw string) []string {
	var names []string
	for part := range strings.SplitSeq(raw, "&") {
		name, _, _ := strings.Cut(part, "=")
		names = append(names, name)
	}
	return names
}

func TestWireCentili(t *testing.T) {
	m := simtest.NewWireMerchant(t, nil)
	sim := start(t, m.URL, func(cfg *config.Config) {
		cfg.Merchants = append(cfg.Merchants, config.Merchant{ID: "unsigned", Centili: &config.CentiliMerchant{
			Service: "unsigned-service", NotificationURL: m.URL + "/unsigned"}})
	})
	notify := func(t *testing.T, body map[string]any) simtest.WireRequest {
		t.Helper()
		if body["service"] == nil {
			body["service"] = "demo-service"
		}
		before := len(m.Requests())
		id := callbackID(t, sim.Do(http.MethodPost, "/centili/simulate", body))
		sim.With(t).WaitStatus(id, store.StatusDelivered, 10*time.Second)
		return m.WaitRequests(before+1, 5*time.Second)[before]
	}

	t.Run("one-off: the table's order, sign in its place, only the gateway's headers", func(t *testing.T) {
		w := notify(t, map[string]any{"status": "success", "mnocode": "FR_ORANGE"})
		if !strings.HasPrefix(w.Line, "GET /centili?transactionid=") || !strings.HasSuffix(w.Line, " HTTP/1.1") {
			t.Errorf("request line %q", w.Line)
		}
		wantHeaders(t, "notification", w, "Host", "User-Agent")
		want := []string{"transactionid", "phone", "userid", "country", "mno", "mnocode", "amount", "status",
			"revenue", "revenuecurrency", "reference", "enduserprice", "service", "event_type", "sign"}
		if got := centiliNames(w.Query()); !slices.Equal(got, want) {
			t.Errorf("parameters %v, want Centili's table order %v", got, want)
		}
		q, _ := url.ParseQuery(w.Query())
		if q.Get("country") != "FR" {
			t.Errorf("country %q, want FR (upper case, as in Centili's table)", q.Get("country"))
		}
		if !payloads.VerifyCentiliSign("demo-sign-key", payloads.SignSHA1, q) {
			t.Errorf("sign does not verify over the values sorted by name: %s", w.Query())
		}
	})

	t.Run("subscription: interval as given, sign before subscriptionid", func(t *testing.T) {
		w := notify(t, map[string]any{"status": "success", "event_type": "opt_in", "interval": "day", "country": "rs"})
		names := centiliNames(w.Query())
		tail := names[len(names)-5:]
		if want := []string{"event_type", "opt_in_channel", "interval", "sign", "subscriptionid"}; !slices.Equal(tail, want) {
			t.Errorf("parameters %v, want them to end %v", names, want)
		}
		if !strings.Contains(w.Query(), "&interval=day&") || !strings.Contains(w.Query(), "&country=rs&") {
			t.Errorf("query %s, want interval=day and country=rs as given", w.Query())
		}
	})

	t.Run("unsigned service: no sign", func(t *testing.T) {
		w := notify(t, map[string]any{"service": "unsigned-service", "status": "failed"})
		if q, _ := url.ParseQuery(w.Query()); q.Has("sign") || q.Get("revenue") != "0.0000" {
			t.Errorf("query %s, want no sign and a 0 revenue on a failed payment", w.Query())
		}
	})

	t.Run("omit_mno: no mno", func(t *testing.T) {
		w := notify(t, map[string]any{"status": "success", "omit_mno": true, "mnocode": "GB_EE"})
		q, _ := url.ParseQuery(w.Query())
		if q.Has("mno") || q.Get("mnocode") != "GB_EE" || q.Get("enduserprice") != "1.50" {
			t.Errorf("query %s, want no mno, and a price in pounds", w.Query())
		}
	})

	t.Run("shuffle_params: another order, the same on every attempt", func(t *testing.T) {
		before := len(m.Requests())
		id := callbackID(t, sim.Do(http.MethodPost, "/centili/simulate", map[string]any{
			"service": "demo-service", "status": "success", "scenario": map[string]any{"shuffle_params": true, "duplicates": 1}}))
		sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)
		got := m.WaitRequests(before+2, 5*time.Second)[before:]
		names := centiliNames(got[0].Query())
		if slices.IsSorted(names) || names[0] == "transactionid" && names[len(names)-1] == "sign" {
			t.Errorf("parameters %v: not shuffled", names)
		}
		if got[0].Query() != got[1].Query() {
			t.Errorf("the copy's query differs:\n%s\n%s", got[0].Query(), got[1].Query())
		}
		q, _ := url.ParseQuery(got[0].Query())
		if !payloads.VerifyCentiliSign("demo-sign-key", payloads.SignSHA1, q) {
			t.Errorf("a shuffled query does not verify: %s", got[0].Query())
		}
	})
}

// TestWireCallbackIDOnlyWhenTracing: X-Callback-Id goes out only with
// delivery.callback_id_header on, on every request of an attempt.
func TestWireCallbackIDOnlyWhenTracing(t *testing.T) {
	m := simtest.NewWireMerchant(t, nil)
	sim := start(t, m.URL, func(cfg *config.Config) { cfg.Delivery.CallbackIDHeader = true })
	id := qrisPayment(t, sim, "ORDER-TRACED", m.URL+"/cb", nil)
	sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)
	w := m.WaitRequests(1, 5*time.Second)[0]
	wantHeaders(t, "traced callback", w, "Host", "User-Agent", "Content-Length", "Content-Type", "X-Callback-Id")
	if got := w.Request.Header.Get(payloads.CallbackIDHeader); got != id {
		t.Errorf("X-Callback-Id %q, want %s", got, id)
	}
}
