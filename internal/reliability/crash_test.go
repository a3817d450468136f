package reliability_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/queue"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// TestWorkerKilledMidDelivery kills a worker (SIGKILL) while 20 attempts
// are at the merchant and 5 more callbacks are scheduled, restarts it, and
// checks that every callback is delivered, the same notification (the same
// order_id), none lost. It measures how long the in-flight ones take to come back and
// how many duplicates the crash caused.
func TestWorkerKilledMidDelivery(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	m := newMerchant(t, http.StatusOK)
	api := start(t, baseConf(t, r.URL()), "--roles", "api")
	wc := baseConf(t, r.URL())
	worker := start(t, wc, "--roles", "worker")

	m.holdAll()
	const inFlight, scheduled = 20, 5
	var held, later []string
	for i := range inFlight {
		held = append(held, submit(t, api, qrisToken, fmt.Sprintf("CRASH-%d", i), m.URL))
	}
	simtest.Eventually(t, 20*time.Second, func() bool { return m.inFlight.Load() == inFlight },
		func() string {
			return fmt.Sprintf("%d attempts in flight at the merchant (%d are)", inFlight, m.inFlight.Load())
		})
	for i := range scheduled {
		later = append(later, submitHeld(t, api, fmt.Sprintf("LATER-%d", i), m.URL, "500s")) // 5 s at time_scale 0.01
	}

	worker.kill()
	killedAt := time.Now()
	m.release() // the held requests now answer a worker that is gone
	for _, id := range held {
		if cb, _ := callback(t, api, id); cb.Status != store.StatusPending || len(cb.Attempts) != 0 {
			t.Fatalf("callback %s after the kill: %s with %d attempts, want pending with none recorded", id, cb.Status, len(cb.Attempts))
		}
	}
	start(t, wc.again(t), "--roles", "worker")

	all := append(slices.Clone(held), later...)
	got := waitStatus(t, api, all, store.StatusDelivered, 90*time.Second)
	counts := m.counts()
	var recoveredIn time.Duration
	for _, id := range held {
		cb := got[id]
		if len(cb.Attempts) != 1 || cb.Attempts[0].Outcome != store.OutcomeDelivered {
			t.Errorf("callback %s: %d attempts recorded, want the one after the restart, delivered", id, len(cb.Attempts))
			continue
		}
		if n := counts[cb.Reference]; n != 2 {
			t.Errorf("merchant got callback %s %d times, want 2 (the attempt cut by the crash, then the recovered one)", id, n)
		}
		recoveredIn = max(recoveredIn, cb.Attempts[0].At.Sub(killedAt))
	}
	for _, id := range later {
		if n := counts[got[id].Reference]; n != 1 || len(got[id].Attempts) != 1 {
			t.Errorf("scheduled callback %s: merchant got it %d times, %d attempts recorded; want exactly once", id, n, len(got[id].Attempts))
		}
	}
	for order := range counts {
		if !slices.ContainsFunc(all, func(id string) bool { return got[id].Reference == order }) {
			t.Errorf("merchant got order_id %q, which is none of the callbacks'", order)
		}
	}
	// asynq's own recoverer would take 60 to 120 s; ours requeues once a
	// lease has been expired for queue.RecoveryGrace.
	if limit := 30*time.Second + queue.RecoveryGrace + 10*time.Second; recoveredIn > limit {
		t.Errorf("in-flight callbacks came back %s after the crash, want within %s", recoveredIn, limit)
	}
	t.Logf("SIGKILL with %d attempts in flight: all redelivered %s after the crash; duplicates: %d (one per attempt in flight); %d scheduled callbacks delivered once each",
		inFlight, recoveredIn.Round(100*time.Millisecond), inFlight, scheduled)
}

// submitHeld is submit with a scenario delay.
func submitHeld(t *testing.T, sim simAPI, orderID, url, delay string) string {
	t.Helper()
	auth := []string{"Authorization", "Bearer " + qrisToken}
	if r := sim.Do(http.MethodPost, "/api/qris/initiate", map[string]any{"amount": 1000, "order_id": orderID, "callback_url": url}, auth...); r.Status != http.StatusCreated {
		t.Fatalf("initiate %s: %d %s", orderID, r.Status, r.Body)
	}
	r := sim.Do(http.MethodPost, "/api/qris/simulate", map[string]any{"order_id": orderID, "status": "SUCCESS", "scenario": map[string]any{"delay": delay}}, auth...)
	if r.Status != http.StatusAccepted {
		t.Fatalf("simulate %s: %d %s", orderID, r.Status, r.Body)
	}
	var ans struct {
		CallbackID string `json:"callback_id"`
	}
	r.JSON(t, &ans)
	return ans.CallbackID
}
