package reliability_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/dispatcher"
	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/hostile"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// TestEgressPolicy runs callbacks through simulators with different egress
// settings: a refused destination ends the callback failed after one
// attempt (no retry), with the reason in the attempt, and the merchant
// never hears of it.
func TestEgressPolicy(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	m := newMerchant(t, http.StatusOK)
	localhostURL := strings.Replace(m.URL, "127.0.0.1", "localhost", 1)
	tests := []struct {
		name    string
		egress  config.Egress
		url     string
		blocked string // part of the attempt's error; "" when delivered
	}{
		{"private refused", config.Egress{AllowPrivate: false}, m.URL, "egress.allow_private is false"},
		{"a name resolving to a denied address", config.Egress{AllowPrivate: true, DenyCIDRs: []string{"127.0.0.0/8", "::1/128"}}, localhostURL, "egress.deny_cidrs"},
		{"metadata refused whatever the settings", config.Egress{AllowPrivate: true, AllowCIDRs: []string{"169.254.0.0/16"}}, "http://169.254.169.254/latest/meta-data/iam", "link-local"},
		{"allow_cidrs opens one network", config.Egress{AllowPrivate: false, AllowCIDRs: []string{"127.0.0.0/8", "::1/128"}}, localhostURL, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := simtest.Config(r.URL())
			cfg.Egress = tt.egress
			sim := simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)
			before := len(m.requests())
			id := submit(t, sim, "demo-qris-token", "EGRESS-"+string(rune('A'+i)), tt.url)
			if tt.blocked == "" {
				waitStatus(t, sim, []string{id}, store.StatusDelivered, 10*time.Second)
				return
			}
			cb := waitStatus(t, sim, []string{id}, store.StatusFailed, 10*time.Second)[id]
			if len(cb.Attempts) != 1 {
				t.Fatalf("%d attempts, want 1: a refused destination is not retried", len(cb.Attempts))
			}
			a := cb.Attempts[0]
			if a.Outcome != store.OutcomeFailed || !strings.HasPrefix(a.Error, string(dispatcher.CauseBlocked)+": ") || !strings.Contains(a.Error, tt.blocked) {
				t.Errorf("attempt: outcome %s, error %q; want failed, %q naming %q", a.Outcome, a.Error, dispatcher.CauseBlocked, tt.blocked)
			}
			if a.Response != nil {
				t.Errorf("attempt has a response %+v, want none", a.Response)
			}
			if got := len(m.requests()); got != before {
				t.Errorf("the merchant got %d requests, want none", got-before)
			}
		})
	}
}

// TestHostileMerchantsRecorded sends callbacks through the whole pipeline
// (API, queue, worker, store) to each misbehaving merchant and reads how
// the attempt was recorded; then it checks that the process's goroutines
// and file descriptors came back to where they were.
func TestHostileMerchantsRecorded(t *testing.T) {
	r := redistest.Start(t)
	cfg := simtest.Config(r.URL())
	// Long enough for a TLS handshake on a loaded machine, short enough
	// that the trickling merchant (2 s) times out.
	const timeout = time.Second
	cfg.Providers.QRIS.Timeout = timeout
	cfg.Providers.QRIS.Retry.Schedule = nil // one attempt each
	sim := simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)
	// Warm up: a delivered callback starts what runs once (workers,
	// connection pools).
	warm := newMerchant(t, http.StatusOK)
	waitStatus(t, sim, []string{submit(t, sim, "demo-qris-token", "WARM", warm.URL)}, store.StatusDelivered, 10*time.Second)
	http.DefaultClient.CloseIdleConnections() // the test's own connections to the API
	goroutines, fds := runtime.NumGoroutine(), countFDs(t, r.Addr)

	tests := []struct {
		name      string
		url       func(t *testing.T) string
		status    store.Status
		cause     dispatcher.Cause
		code      int
		truncated bool
	}{
		{"never answers", func(t *testing.T) string { return hostile.Silent(t).URL }, store.StatusFailed, dispatcher.CauseTimeout, 0, false},
		{"resets", func(t *testing.T) string { return hostile.Reset(t).URL }, store.StatusFailed, dispatcher.CauseReset, 0, false},
		{"trickles", func(t *testing.T) string { return hostile.Trickle(t, 100, 20*time.Millisecond).URL }, store.StatusFailed, dispatcher.CauseTimeout, 200, false},
		{"answers 10 MB", func(t *testing.T) string { return hostile.Huge(t, 10<<20).URL }, store.StatusDelivered, "", 200, true},
		{"redirects", func(t *testing.T) string { return hostile.Redirect(t, "http://127.0.0.1:9/elsewhere").URL }, store.StatusFailed, "", http.StatusFound, false},
		{"speaks broken HTTP", func(t *testing.T) string { return hostile.Garbage(t).URL }, store.StatusFailed, dispatcher.CauseNetwork, 0, false},
		{"bad certificate", func(t *testing.T) string { return hostile.BadTLS(t).URL }, store.StatusFailed, dispatcher.CauseTLS, 0, false},
		{"does not resolve", func(*testing.T) string { return hostile.Unresolvable }, store.StatusFailed, dispatcher.CauseDNS, 0, false},
	}
	t.Run("cases", func(t *testing.T) {
		ids := make([]string, len(tests))
		for i, tt := range tests {
			ids[i] = submit(t, sim, "demo-qris-token", "HOSTILE-"+string(rune('A'+i)), tt.url(t))
		}
		for i, tt := range tests {
			cb := waitStatus(t, sim, []string{ids[i]}, tt.status, 10*time.Second)[ids[i]]
			if len(cb.Attempts) != 1 {
				t.Errorf("%s: %d attempts, want 1", tt.name, len(cb.Attempts))
				continue
			}
			a := cb.Attempts[0]
			if (tt.cause == "") != (a.Error == "") || !strings.HasPrefix(a.Error, string(tt.cause)) {
				t.Errorf("%s: attempt error %q, want cause %q", tt.name, a.Error, tt.cause)
			}
			code := 0
			if a.Response != nil {
				code = a.Response.Status
			}
			if code != tt.code {
				t.Errorf("%s: recorded status %d, want %d", tt.name, code, tt.code)
			}
			if tt.truncated && (a.Response == nil || !a.Response.Truncated || len(a.Response.Body) != dispatcher.MaxKeptBody) {
				t.Errorf("%s: recorded body not cut to %d bytes and marked truncated", tt.name, dispatcher.MaxKeptBody)
			}
			if tt.code == http.StatusFound && a.Response.Headers.Get("Location") == "" {
				t.Errorf("%s: the redirect's Location is not recorded", tt.name)
			}
			if a.DurationMS > 2*float64(timeout.Milliseconds()) {
				t.Errorf("%s: attempt took %.0f ms with a %s timeout", tt.name, a.DurationMS, timeout)
			}
		}
	}) // the hostile merchants close here

	deadline := time.Now().Add(15 * time.Second)
	for {
		http.DefaultClient.CloseIdleConnections()
		g, f := runtime.NumGoroutine(), countFDs(t, r.Addr)
		if g <= goroutines && f <= fds {
			t.Logf("goroutines %d (before: %d), open fds %d (before: %d)", g, goroutines, f, fds)
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("after the hostile merchants: %d goroutines (before: %d), %d open fds (before: %d)\n%s",
				g, goroutines, f, fds, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// countFDs counts the process's open file descriptors, leaving out its
// connections to Redis at redisAddr: go-redis's pool grows with the load
// (up to its fixed size) and keeps idle connections for half an hour, which
// is a bound, not a leak.
func countFDs(t *testing.T, redisAddr string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("count open file descriptors: %v", err)
	}
	toRedis := redisSockets(t, redisAddr)
	n := 0
	for _, e := range entries {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil && toRedis[target] {
			continue
		}
		n++
	}
	return n
}

// redisSockets returns the "socket:[inode]" names of the process's TCP
// connections to addr, from /proc/self/net/tcp.
func redisSockets(t *testing.T, addr string) map[string]bool {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	remote := fmt.Sprintf("0100007F:%04X", p) // 127.0.0.1:port as the kernel writes it
	raw, err := os.ReadFile("/proc/self/net/tcp")
	if err != nil {
		t.Fatalf("read /proc/self/net/tcp: %v", err)
	}
	out := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 9 && f[2] == remote {
			out["socket:["+f[9]+"]"] = true
		}
	}
	return out
}
