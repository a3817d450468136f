package qris_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/callbacksim/callbacksim/internal/simtest"
)

// QRIS sends one notification per payment: out_of_order has nothing to
// reverse and is refused, naming the field.
func TestQRISOutOfOrderRefused(t *testing.T) {
	sim := simtest.Start(t)
	r := sim.Do(http.MethodPost, "/api/qris/initiate", map[string]any{
		"amount": 1000, "order_id": "ORDER-OOO", "callback_url": "http://127.0.0.1:1/cb",
	}, bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("initiate: %d %s", r.Status, r.Body)
	}
	r = sim.Do(http.MethodPost, "/api/qris/simulate", map[string]any{
		"order_id": "ORDER-OOO", "status": "SUCCESS", "scenario": map[string]any{"out_of_order": true},
	}, bearer()...)
	var e struct {
		Error string `json:"error"`
		Field string `json:"field"`
	}
	r.JSON(t, &e)
	if r.Status != http.StatusBadRequest || e.Field != "scenario.out_of_order" || !strings.Contains(e.Error, "several notifications") {
		t.Errorf("simulate with out_of_order: %d %s, want 400 naming scenario.out_of_order", r.Status, r.Body)
	}
	// Nothing was queued: the payment can still be completed.
	r = sim.Do(http.MethodPost, "/api/qris/simulate", map[string]any{"order_id": "ORDER-OOO", "status": "FAILED"}, bearer()...)
	if r.Status != http.StatusAccepted {
		t.Errorf("simulate after the refusal: %d %s, want 202", r.Status, r.Body)
	}
}
