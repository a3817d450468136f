package reliability_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// TestSIGTERMLetsInFlightAttemptsFinish sends SIGTERM while attempts are at
// the merchant: the worker waits for them (within worker.shutdown_timeout),
// records them, takes no new work, and exits 0. Nothing is sent twice.
func TestSIGTERMLetsInFlightAttemptsFinish(t *testing.T) {
	t.Parallel()
	api, worker, wc, m, ids := heldAtTheMerchant(t, "20s", "TERM")

	exit := make(chan int, 1)
	go func() { exit <- worker.term(30 * time.Second) }()
	select {
	case code := <-exit:
		t.Fatalf("the worker exited (%d) with attempts in flight; want it to wait for them", code)
	case <-time.After(time.Second):
	}
	// Work queued during the shutdown is left for the next worker.
	late := submit(t, api, qrisToken, "TERM-LATE", m.URL)
	m.release()
	if code := <-exit; code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", code)
	}
	got := waitStatus(t, api, ids, store.StatusDelivered, 5*time.Second)
	counts := m.counts()
	for _, id := range ids {
		if n := counts[got[id].Reference]; len(got[id].Attempts) != 1 || n != 1 {
			t.Errorf("callback %s: %d attempts recorded, merchant got it %d times; want 1 and 1", id, len(got[id].Attempts), n)
		}
	}
	if cb, _ := callback(t, api, late); cb.Status != store.StatusPending || counts[cb.Reference] != 0 {
		t.Fatalf("callback queued during the shutdown: %s, sent %d times; want pending, unsent", cb.Status, counts[cb.Reference])
	}
	start(t, wc.again(t), "--roles", "worker")
	waitStatus(t, api, []string{late}, store.StatusDelivered, 20*time.Second)
}

// TestSIGTERMRequeuesAttemptsPastTheShutdownTimeout: attempts still running
// when worker.shutdown_timeout ends go back to the queue, the process exits
// 0 within the timeout, and the next worker delivers them at once (no
// lease to wait out).
func TestSIGTERMRequeuesAttemptsPastTheShutdownTimeout(t *testing.T) {
	t.Parallel()
	api, worker, wc, m, ids := heldAtTheMerchant(t, "1s", "SLOW")

	termAt := time.Now()
	if code := worker.term(10 * time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", code)
	}
	stopped := time.Since(termAt)
	if stopped > 5*time.Second {
		t.Errorf("the worker took %s to exit with worker.shutdown_timeout 1s", stopped)
	}
	m.release()
	restartAt := time.Now()
	start(t, wc.again(t), "--roles", "worker")
	got := waitStatus(t, api, ids, store.StatusDelivered, 20*time.Second)
	var redelivered time.Duration
	counts := m.counts()
	for _, id := range ids {
		cb := got[id]
		if len(cb.Attempts) != 1 {
			t.Errorf("callback %s: %d attempts recorded, want 1", id, len(cb.Attempts))
			continue
		}
		if n := counts[cb.Reference]; n != 2 {
			t.Errorf("merchant got %s %d times, want 2 (the abandoned attempt, then the requeued one)", id, n)
		}
		redelivered = max(redelivered, cb.Attempts[0].At.Sub(restartAt))
	}
	if redelivered > 10*time.Second {
		t.Errorf("requeued attempts ran %s after the restart; want at once, not after a lease expiry", redelivered)
	}
	for order := range counts {
		if !slices.ContainsFunc(ids, func(id string) bool { return got[id].Reference == order }) {
			t.Errorf("merchant got unknown order_id %q", order)
		}
	}
	t.Logf("SIGTERM with attempts past worker.shutdown_timeout 1s: exited 0 after %s; requeued attempts ran within %s of the restart",
		stopped.Round(10*time.Millisecond), redelivered.Round(10*time.Millisecond))
}

// heldAtTheMerchant starts an api process and a worker process with the
// given worker.shutdown_timeout on a Redis of their own, and submits ten
// callbacks (order ids prefix-0 to prefix-9) to a merchant that holds every
// request until it is released; it returns once all ten are in flight.
func heldAtTheMerchant(t *testing.T, shutdownTimeout, prefix string) (api, worker *proc, wc conf, m *merchant, ids []string) {
	t.Helper()
	r := redistest.Start(t)
	m = newMerchant(t, http.StatusOK)
	api = start(t, baseConf(t, r.URL()), "--roles", "api")
	wc = baseConf(t, r.URL())
	wc.set("worker.shutdown_timeout", shutdownTimeout)
	worker = start(t, wc, "--roles", "worker")

	m.holdAll()
	const n = 10
	for i := range n {
		ids = append(ids, submit(t, api, qrisToken, fmt.Sprintf("%s-%d", prefix, i), m.URL))
	}
	simtest.Eventually(t, 20*time.Second, func() bool { return m.inFlight.Load() == n },
		func() string { return fmt.Sprintf("%d attempts in flight (%d are)", n, m.inFlight.Load()) })
	return api, worker, wc, m, ids
}
