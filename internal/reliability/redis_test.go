package reliability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// TestRedisDown stops Redis while one callback waits for its retry and
// another's attempt is at the merchant. While Redis is down, every endpoint
// that needs it answers 503 with a JSON error within a fraction of a
// second, /readyz answers 503, /healthz and /metrics still answer, and the
// process neither crashes nor spins. When Redis is back, everything resumes
// by itself: the retry runs without having used up the callback's budget,
// the attempt that was in flight is recorded once, and new payments work.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	r := redistest.StartWith(t, redistest.Options{AOF: true})
	m := newMerchant(t, http.StatusInternalServerError)
	c := baseConf(t, r.URL())
	c.set("providers.qris.retry.schedule", []string{"300s"}) // one retry, 3 s after the first attempt
	p := start(t, c)

	retrying := submit(t, p, qrisToken, "DOWN-RETRY", m.URL)
	first := waitStatus(t, p, []string{retrying}, store.StatusRetrying, 10*time.Second)[retrying]
	m.setCode(http.StatusOK)
	m.holdAll()
	inFlight := submit(t, p, qrisToken, "DOWN-INFLIGHT", m.URL)
	simtest.Eventually(t, 10*time.Second, func() bool { return m.inFlight.Load() == 1 }, func() string { return "an attempt in flight" })

	r.Stop()
	m.release() // the in-flight attempt is answered while Redis is down
	downAt := time.Now()
	cpuBefore := p.cpuTime()

	auth := []string{"Authorization", "Bearer " + qrisToken}
	requests := []struct {
		method, path string
		body         any
		header       []string
	}{
		{http.MethodPost, "/api/qris/initiate", map[string]any{"amount": 1, "order_id": "DOWN-NEW", "callback_url": m.URL}, auth},
		{http.MethodPost, "/api/qris/simulate", map[string]any{"order_id": "DOWN-RETRY", "status": "SUCCESS"}, auth},
		{http.MethodGet, "/api/qris/transactions/DOWN-RETRY", nil, auth},
		{http.MethodGet, "/v1/callbacks", nil, []string{"Authorization", "Bearer " + adminToken}},
		{http.MethodGet, "/v1/callbacks/" + retrying, nil, []string{"Authorization", "Bearer " + adminToken}},
		{http.MethodPost, "/v1/callbacks/" + retrying + "/resend", nil, []string{"Authorization", "Bearer " + adminToken}},
		{http.MethodPost, "/v1/callbacks/" + retrying + "/retry-now", nil, []string{"Authorization", "Bearer " + adminToken}},
		{http.MethodGet, "/readyz", nil, nil},
	}
	var slowest time.Duration
	for _, req := range requests {
		began := time.Now()
		resp := p.Do(req.method, req.path, req.body, req.header...)
		took := time.Since(began)
		slowest = max(slowest, took)
		var body map[string]any
		if resp.Status != http.StatusServiceUnavailable || json.Unmarshal(resp.Body, &body) != nil || body["error"] == nil {
			t.Errorf("%s %s with Redis down: %d %s; want 503 with a JSON error", req.method, req.path, resp.Status, resp.Body)
		}
		if took > time.Second {
			t.Errorf("%s %s with Redis down took %s; want well under a second", req.method, req.path, took)
		}
	}
	for _, path := range []string{"/healthz", "/metrics"} {
		if resp := p.Do(http.MethodGet, path, nil); resp.Status != http.StatusOK {
			t.Errorf("GET %s with Redis down: %d, want 200", path, resp.Status)
		}
	}

	// Stay down past the retry's due time, then look at the process.
	due := first.Attempts[0].At.Add(3 * time.Second)
	simtest.Eventually(t, 10*time.Second, func() bool { return time.Now().After(due.Add(time.Second)) }, func() string { return "the retry's due time to pass" })
	outage := time.Since(downAt)
	cpu := p.cpuTime() - cpuBefore
	if !p.alive() {
		t.Fatal("callbacksim exited while Redis was down")
	}
	if cpu > outage/2 {
		t.Errorf("callbacksim used %s of CPU during a %s outage; want it to back off, not spin", cpu, outage)
	}
	r.Restart()
	upAt := time.Now()

	got := waitStatus(t, p, []string{retrying, inFlight}, store.StatusDelivered, 20*time.Second)
	resumed := time.Since(upAt)
	if a := got[retrying].Attempts; len(a) != 2 || a[0].Outcome != store.OutcomeRetry || a[1].Outcome != store.OutcomeDelivered {
		t.Errorf("the retrying callback: %d attempts %v; want the failed one, then the retry delivered (no budget used by the outage)", len(a), outcomes(a))
	}
	if n := m.counts()[got[inFlight].Reference]; n != 1 || len(got[inFlight].Attempts) != 1 {
		t.Errorf("the callback in flight at the outage: sent %d times, %d attempts recorded; want once and once (its record waited for Redis)", n, len(got[inFlight].Attempts))
	}
	if resp := p.Do(http.MethodGet, "/readyz", nil); resp.Status != http.StatusOK {
		t.Errorf("/readyz after Redis came back: %d, want 200", resp.Status)
	}
	fresh := submit(t, p, qrisToken, "DOWN-AFTER", m.URL)
	waitStatus(t, p, []string{fresh}, store.StatusDelivered, 10*time.Second)
	t.Logf("Redis down %s: API answered 503 within %s (slowest); CPU used %s; everything delivered %s after Redis came back",
		outage.Round(100*time.Millisecond), slowest.Round(time.Millisecond), cpu, resumed.Round(10*time.Millisecond))
}

// TestRedisRestartedWithAOF kills Redis (SIGKILL) under load and restarts
// it from its append-only file, written with appendfsync always (every
// write on disk before Redis answers): every callback the API acknowledged
// with 202 survives and is delivered. (With appendfsync everysec, Redis
// may answer writes it has not written yet while a slow fsync runs, and a
// crash can lose the last one or two seconds: docs/reliability.md.)
func TestRedisRestartedWithAOF(t *testing.T) {
	t.Parallel()
	r := redistest.StartWith(t, redistest.Options{AOF: true})
	if got, err := r.Client().ConfigGet(context.Background(), "appendfsync").Result(); err != nil || got["appendfsync"] != "always" {
		t.Fatalf("redis-server runs with appendfsync %v (%v), want always", got, err)
	}
	m := newMerchant(t, http.StatusInternalServerError)
	c := baseConf(t, r.URL())
	c.set("providers.qris.retry.schedule", []string{"100s", "100s", "100s", "100s", "100s", "100s", "100s", "100s", "100s", "100s"})
	p := start(t, c)

	var ids []string
	for i := range 20 {
		ids = append(ids, submit(t, p, qrisToken, fmt.Sprintf("AOF-%d", i), m.URL))
	}
	for i := range 5 {
		ids = append(ids, submitHeld(t, p, fmt.Sprintf("AOF-HELD-%d", i), m.URL, "300s"))
	}
	waitStatus(t, p, ids[:20], store.StatusRetrying, 10*time.Second)

	r.Restart() // SIGKILL, then start again on the same AOF
	m.setCode(http.StatusOK)
	got := waitStatus(t, p, ids, store.StatusDelivered, 30*time.Second)
	for _, id := range ids[20:] {
		if len(got[id].Attempts) != 1 {
			t.Errorf("held callback %s: %d attempts, want 1", id, len(got[id].Attempts))
		}
	}
	counts := m.counts()
	for _, id := range ids {
		if counts[got[id].Reference] == 0 {
			t.Errorf("callback %s was never delivered to the merchant", id)
		}
	}
}

func outcomes(as []store.Attempt) []store.Outcome {
	out := make([]store.Outcome, len(as))
	for i, a := range as {
		out[i] = a.Outcome
	}
	return out
}
