package qris_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/store"
)

// A held first attempt (scenario delay) reaches a worker up to a second
// early, since asynq keeps due times in whole seconds: it must go back to the
// queue rather than hold the worker, and be woken to start at its due time.
func TestQRISHeldFirstAttemptStartsOnTime(t *testing.T) {
	sim := simtest.Start(t) // time_scale 0.01: a 100 s delay holds the attempt 1 s
	merchant := simtest.NewMerchant(t)
	r := sim.Do(http.MethodPost, "/api/qris/initiate", map[string]any{
		"amount": 50000, "order_id": "ORDER-HELD", "callback_url": merchant.URL,
	}, bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("initiate: %d %s", r.Status, r.Body)
	}
	r = sim.Do(http.MethodPost, "/api/qris/simulate", map[string]any{
		"order_id": "ORDER-HELD", "status": "SUCCESS", "scenario": map[string]any{"delay": "100s"},
	}, bearer()...)
	if r.Status != http.StatusAccepted {
		t.Fatalf("simulate: %d %s", r.Status, r.Body)
	}
	var ans struct {
		CallbackID string `json:"callback_id"`
	}
	r.JSON(t, &ans)
	held := sim.Callback(ans.CallbackID)
	if held.NextAttemptAt == nil {
		t.Fatalf("next_attempt_at = null on a held callback")
	}
	due := *held.NextAttemptAt

	cb := sim.WaitStatus(ans.CallbackID, store.StatusDelivered, 10*time.Second)
	if len(cb.Attempts) != 1 {
		t.Fatalf("%d attempts, want 1", len(cb.Attempts))
	}
	late := cb.Attempts[0].At.Sub(due)
	if late < 0 {
		t.Errorf("first attempt started %s before its due time", -late)
	}
	if late > 50*time.Millisecond {
		t.Errorf("first attempt started %s after its due time, want <= 50ms", late)
	}
}
