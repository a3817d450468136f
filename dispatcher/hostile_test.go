package dispatcher

import (
	"context"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/egress"
	"github.com/callbacksim/callbacksim/internal/hostile"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
)

// attemptTimeout is the per-attempt timeout of these tests: long enough
// for a loaded machine, short enough to keep the suite quick.
const attemptTimeout = 400 * time.Millisecond

// hostileCase is one misbehaving merchant and what the attempt against it
// must record.
type hostileCase struct {
	name      string
	url       func() string
	policy    egress.Policy
	outcome   store.Outcome
	cause     Cause  // why no answer came; "" when one came
	errPart   string // part of the attempt's error text
	status    int    // the recorded response status; 0 when none
	truncated bool
	// headersCut: the recorded headers are cut to the limits.
	headersCut bool
}

func hostileCases(t *testing.T, redirectTarget *hostile.Server) []hostileCase {
	open := egress.Policy{AllowPrivate: true}
	silent := hostile.Silent(t)
	reset := hostile.Reset(t)
	trickle := hostile.Trickle(t, 200, 25*time.Millisecond)
	trickleHead := hostile.TrickleHead(t, 25*time.Millisecond)
	huge := hostile.Huge(t, 10<<20)
	hugeHeaders := hostile.HugeHeaders(t, 8<<20, 1000)
	manyHeaders := hostile.HugeHeaders(t, 60<<10, 60)
	redirect := hostile.Redirect(t, redirectTarget.URL)
	garbage := hostile.Garbage(t)
	short := hostile.ShortBody(t)
	badTLS := hostile.BadTLS(t)
	refused := hostile.Refused(t)
	fixed := func(u string) func() string { return func() string { return u } }
	return []hostileCase{
		{name: "never answers", url: fixed(silent.URL), policy: open, outcome: store.OutcomeRetry, cause: CauseTimeout, errPart: "within the timeout"},
		{name: "resets the connection", url: fixed(reset.URL), policy: open, outcome: store.OutcomeRetry, cause: CauseReset},
		{name: "trickles its body past the timeout", url: fixed(trickle.URL), policy: open, outcome: store.OutcomeRetry, cause: CauseTimeout, status: 200},
		{name: "trickles its headers past the timeout", url: fixed(trickleHead.URL), policy: open, outcome: store.OutcomeRetry, cause: CauseTimeout},
		{name: "answers 10 MB", url: fixed(huge.URL), policy: open, outcome: store.OutcomeDelivered, status: 200, truncated: true},
		{name: "answers 8 MB of headers", url: fixed(hugeHeaders.URL), policy: open, outcome: store.OutcomeRetry, cause: CauseNetwork, errPart: "headers exceeded"},
		{name: "answers 60 KiB of headers in 1000 lines", url: fixed(manyHeaders.URL), policy: open, outcome: store.OutcomeDelivered, status: 200, headersCut: true},
		{name: "redirects", url: fixed(redirect.URL), policy: open, outcome: store.OutcomeRetry, status: http.StatusFound},
		{name: "speaks broken HTTP", url: fixed(garbage.URL), policy: open, outcome: store.OutcomeRetry, cause: CauseNetwork, errPart: "malformed HTTP"},
		{name: "cuts its body short", url: fixed(short.URL), policy: open, outcome: store.OutcomeRetry, cause: CauseReset, status: 200},
		{name: "presents an untrusted certificate", url: fixed(badTLS.URL), policy: open, outcome: store.OutcomeRetry, cause: CauseTLS, errPart: "certificate"},
		{name: "refuses the connection", url: fixed(refused), policy: open, outcome: store.OutcomeRetry, cause: CauseRefused},
		{name: "has a name that does not resolve", url: fixed(hostile.Unresolvable), policy: open, outcome: store.OutcomeRetry, cause: CauseDNS, errPart: "nonexistent.invalid"},
		{name: "is a private address egress forbids", url: fixed(refused), policy: egress.Policy{}, outcome: store.OutcomeFailed, cause: CauseBlocked, errPart: "egress.allow_private is false"},
		{name: "is a name that resolves to a denied address", url: func() string { return strings.Replace(refused, "127.0.0.1", "localhost", 1) },
			policy: egress.Policy{AllowPrivate: true, DenyCIDRs: denyLoopback}, outcome: store.OutcomeFailed, cause: CauseBlocked, errPart: "egress.deny_cidrs"},
		{name: "is a metadata address", url: fixed("http://169.254.169.254/latest/meta-data/"), policy: open, outcome: store.OutcomeFailed, cause: CauseBlocked, errPart: "link-local"},
	}
}

var denyLoopback = mustPrefixes("127.0.0.0/8", "::1/128")

// TestHostileMerchants sends one attempt to each misbehaving merchant and
// checks how it is classified and what the attempt records.
func TestHostileMerchants(t *testing.T) {
	target := hostile.Status(t, http.StatusOK)
	classifier := Classifier{SuccessCodes: []int{200}}
	for _, tc := range hostileCases(t, target) {
		t.Run(tc.name, func(t *testing.T) {
			a, verdict := attempt(t, NewSender(tc.policy), classifier, tc.url())
			if a.Outcome != tc.outcome || verdict.Cause != tc.cause {
				t.Fatalf("outcome %s, cause %q (error %q); want %s, %q", a.Outcome, verdict.Cause, a.Error, tc.outcome, tc.cause)
			}
			if tc.cause != "" && !strings.HasPrefix(a.Error, string(tc.cause)+": ") {
				t.Errorf("attempt error %q does not start with its cause %q", a.Error, tc.cause)
			}
			if tc.cause == "" && a.Error != "" {
				t.Errorf("attempt error = %q, want none", a.Error)
			}
			if !strings.Contains(a.Error, tc.errPart) {
				t.Errorf("attempt error %q does not say %q", a.Error, tc.errPart)
			}
			gotStatus := 0
			if a.Response != nil {
				gotStatus = a.Response.Status
			}
			if gotStatus != tc.status {
				t.Errorf("recorded response status = %d, want %d", gotStatus, tc.status)
			}
			if tc.truncated {
				if !a.Response.Truncated || len(a.Response.Body) != MaxKeptBody {
					t.Errorf("recorded body: %d bytes, truncated %v; want the first %d bytes, truncated", len(a.Response.Body), a.Response.Truncated, MaxKeptBody)
				}
			}
			if tc.headersCut {
				n, size := 0, 0
				for name, vs := range a.Response.Headers {
					for _, v := range vs {
						n, size = n+1, size+len(name)+len(v)
					}
				}
				if !a.Response.HeadersTruncated || n != MaxKeptHeaders || size > MaxKeptHeaderBytes {
					t.Errorf("recorded headers: %d values, %d bytes, truncated %v; want %d values of at most %d bytes, truncated",
						n, size, a.Response.HeadersTruncated, MaxKeptHeaders, MaxKeptHeaderBytes)
				}
			}
			if len(a.Error) > maxKeptError+len("timeout: ... (cut)") {
				t.Errorf("attempt error is %d bytes, want at most about %d", len(a.Error), maxKeptError)
			}
			if limit := float64(attemptTimeout.Milliseconds()) + 1500; a.DurationMS > limit {
				t.Errorf("attempt took %.0f ms, want it bounded by the %s timeout", a.DurationMS, attemptTimeout)
			}
			if a.Request.URL == "" || a.Request.Method != http.MethodPost {
				t.Errorf("recorded request = %s %q, want the POST that was sent", a.Request.Method, a.Request.URL)
			}
		})
	}
	if n := target.Hits(); n != 0 {
		t.Errorf("the redirect's target got %d requests: redirects must not be followed", n)
	}
}

// TestHostileMerchantsLeakNothing sends several rounds of attempts to every
// misbehaving merchant, then checks that goroutines and open file
// descriptors come back to where they were.
func TestHostileMerchantsLeakNothing(t *testing.T) {
	cases := hostileCases(t, hostile.Status(t, http.StatusOK))
	classifier := Classifier{SuccessCodes: []int{200}}
	senders := map[egressKey]*Sender{}
	send := func() {
		for _, tc := range cases {
			k := egressKey{tc.policy.AllowPrivate, len(tc.policy.DenyCIDRs)}
			if senders[k] == nil {
				senders[k] = NewSender(tc.policy)
			}
			attempt(t, senders[k], classifier, tc.url())
		}
		for _, s := range senders {
			s.CloseIdleConnections()
		}
	}
	// A first round warms up what is made once (the senders, the resolver);
	// the merchants stay up throughout, so a connection or goroutine held
	// for one of them shows.
	send()
	goroutines, fds := settled(t, -1, -1)
	const rounds = 3
	for range rounds {
		send()
	}
	g, f := settled(t, goroutines, fds)
	t.Logf("after %d more rounds: %d goroutines (before: %d), %d open fds (before: %d)", rounds, g, goroutines, f, fds)
}

// settled waits until goroutines and open fds are at most the given counts
// (-1: until they stop falling for a moment) and returns them; past a
// deadline it fails the test with every goroutine's stack.
func settled(t *testing.T, goroutines, fds int) (int, int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	prevG, prevF := -1, -1
	for {
		g, f := runtime.NumGoroutine(), openFDs(t)
		switch {
		case goroutines < 0 && g == prevG && f == prevF:
			return g, f
		case goroutines >= 0 && g <= goroutines && f <= fds:
			return g, f
		case time.Now().After(deadline) && goroutines >= 0:
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("leak: %d goroutines (before: %d), %d open fds (before: %d)\n%s", g, goroutines, f, fds, buf[:n])
		case time.Now().After(deadline):
			return g, f
		}
		prevG, prevF = g, f
		time.Sleep(50 * time.Millisecond)
	}
}

type egressKey struct {
	allowPrivate bool
	deny         int
}

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func attempt(t *testing.T, s *Sender, c Classifier, url string) (store.Attempt, Verdict) {
	t.Helper()
	req := payloads.Request{
		Method: http.MethodPost, URL: url,
		Header: http.Header{"Content-Type": {"application/json"}, "User-Agent": {payloads.UserAgent}},
		Body:   []byte(`{"order_id":"ORDER-1","status":"SUCCESS"}`),
	}
	start := time.Now()
	res := s.deliver(context.Background(), []payloads.Request{req}, attemptTimeout)
	v := c.Classify(res.code(), res.err())
	a := res.attempt(start, time.Since(start), v.Cause)
	a.Outcome = v.Outcome
	return a, v
}

func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("count open file descriptors: %v", err)
	}
	return len(entries)
}
