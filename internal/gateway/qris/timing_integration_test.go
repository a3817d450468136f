package qris_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// A held first attempt (scenario delay) reaches a worker up to a second
// early, since asynq keeps due times in whole seconds: it must go back to the
// queue rather than hold the worker, and be woken to start at its due time.
// The hold is chosen so that the due time falls 0.3 s into a second: asynq
// alone would start it about 0.7 s late, at the next whole second.
func TestQRISHeldFirstAttemptStartsOnTime(t *testing.T) {
	sim := simtest.Start(t) // time_scale 0.01
	merchant := simtest.NewMerchant(t)
	now := time.Now()
	hold := now.Truncate(time.Second).Add(2*time.Second + 300*time.Millisecond).Sub(now) // 1.3 to 2.3 s
	delay := (hold * 100).Round(time.Millisecond).String()
	r := sim.Do(http.MethodPost, "/api/qris/initiate", map[string]any{
		"amount": 50000, "order_id": "ORDER-HELD", "callback_url": merchant.URL,
	}, bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("initiate: %d %s", r.Status, r.Body)
	}
	r = sim.Do(http.MethodPost, "/api/qris/simulate", map[string]any{
		"order_id": "ORDER-HELD", "status": "SUCCESS", "scenario": map[string]any{"delay": delay},
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
	// Typically a few ms; the bound leaves room for a loaded machine and the
	// race detector, and is far below the 0.7 s of asynq's rounding.
	if late > 250*time.Millisecond {
		t.Errorf("first attempt started %s after its due time (due %s), want <= 250ms", late, due.Format("15:04:05.000"))
	}
}

// An endpoint that never answers holds at most worker.max_per_host workers;
// the others keep delivering to healthy merchants, and the callbacks held
// back lose no retry.
func TestQRISDeadEndpointDoesNotStarveOthers(t *testing.T) {
	r := redistest.Start(t)
	cfg := simtest.Config(r.URL())
	cfg.Worker.Concurrency = 4
	cfg.Worker.MaxPerHost = 2
	cfg.Worker.ShutdownTimeout = 2 * time.Second
	cfg.Providers.QRIS.Timeout = 10 * time.Second
	sim := simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)
	healthy := simtest.NewMerchant(t)
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		<-req.Context().Done() // never answers; ends when the server closes
	}))
	t.Cleanup(func() { // before the simulator stops: its hanging attempts end
		dead.CloseClientConnections()
		dead.Close()
	})

	var deadIDs, healthyIDs []string
	for i := range 6 {
		deadIDs = append(deadIDs, initiateAndSimulate(t, sim, fmt.Sprintf("ORDER-DEAD-%d", i), dead.URL, "SUCCESS"))
	}
	for i := range 6 {
		healthyIDs = append(healthyIDs, initiateAndSimulate(t, sim, fmt.Sprintf("ORDER-OK-%d", i), healthy.URL, "SUCCESS"))
	}
	// Without the bound, the four workers would hang on the dead endpoint
	// for its 10 s timeout.
	for _, id := range healthyIDs {
		sim.WaitStatus(id, store.StatusDelivered, 5*time.Second)
	}
	for _, id := range deadIDs {
		if cb := sim.Callback(id); cb.Status != store.StatusPending || len(cb.Attempts) != 0 {
			t.Errorf("dead endpoint's callback %s: %s with %d attempts, want pending with none yet", id, cb.Status, len(cb.Attempts))
		}
	}
}
