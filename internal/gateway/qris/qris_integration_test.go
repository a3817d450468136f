package qris_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

const token = "demo-qris-token"

func bearer() []string { return []string{"Authorization", "Bearer " + token} }

// initiateAndSimulate creates a payment to merchantURL and completes it with
// status, returning the callback id.
func initiateAndSimulate(t *testing.T, sim *simtest.Sim, orderID, merchantURL, status string) string {
	t.Helper()
	r := sim.Do(http.MethodPost, "/api/qris/initiate", map[string]any{
		"amount": 50000, "order_id": orderID, "callback_url": merchantURL,
		"customer_name": "John Doe", "customer_email": "john@example.com",
		"customer_phone": "+62812345678", "description": "Order " + orderID,
	}, bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("initiate: %d %s", r.Status, r.Body)
	}
	r = sim.Do(http.MethodPost, "/api/qris/simulate", map[string]any{"order_id": orderID, "status": status}, bearer()...)
	if r.Status != http.StatusAccepted {
		t.Fatalf("simulate: %d %s", r.Status, r.Body)
	}
	var ans struct {
		CallbackID string `json:"callback_id"`
	}
	r.JSON(t, &ans)
	return ans.CallbackID
}

func TestQRISCallbackDelivered(t *testing.T) {
	sim := simtest.Start(t)
	merchant := simtest.NewMerchant(t)
	id := initiateAndSimulate(t, sim, "ORDER-12345", merchant.URL+"/payment-callback", "SUCCESS")

	cb := sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)
	got := merchant.Requests()
	if len(got) != 1 {
		t.Fatalf("merchant got %d requests, want 1", len(got))
	}
	req := got[0]
	if req.Method != http.MethodPost || req.Path != "/payment-callback" {
		t.Errorf("request = %s %s, want POST /payment-callback", req.Method, req.Path)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if h := req.Header.Get("X-Callback-Id"); h != "" {
		t.Errorf("X-Callback-Id = %q: no gateway sends one", h)
	}
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, req.Body)
	}
	ts, _ := body["timestamp"].(string)
	if _, err := time.Parse(time.RFC3339, ts); err != nil || ts[len(ts)-1] != 'Z' {
		t.Errorf("timestamp %q is not RFC 3339 UTC", ts)
	}
	txn, _ := body["transaction_id"].(string)
	want := map[string]any{
		"order_id": "ORDER-12345", "transaction_id": txn, "status": "SUCCESS", "amount": float64(50000),
		"currency": "IDR", "payment_method": "QRIS", "customer_name": "John Doe",
		"customer_email": "john@example.com", "customer_phone": "+62812345678",
		"timestamp": ts, "description": "Order ORDER-12345",
	}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("callback body (-want +got):\n%s", diff)
	}
	if txn == "" {
		t.Error("transaction_id is empty")
	}
	if len(cb.Attempts) != 1 || cb.Attempts[0].Outcome != store.OutcomeDelivered || cb.Attempts[0].Response.Status != 200 {
		t.Errorf("attempts = %+v, want one delivered attempt answered 200", cb.Attempts)
	}
	if cb.NextAttemptAt != nil {
		t.Errorf("next_attempt_at = %v, want null", cb.NextAttemptAt)
	}

	// The transaction now shows the outcome and the callback.
	r := sim.Do(http.MethodGet, "/api/qris/transactions/ORDER-12345", nil, bearer()...)
	var tx struct {
		Status      string   `json:"status"`
		CallbackIDs []string `json:"callback_ids"`
	}
	r.JSON(t, &tx)
	if r.Status != http.StatusOK || tx.Status != "SUCCESS" || len(tx.CallbackIDs) != 1 || tx.CallbackIDs[0] != id {
		t.Errorf("transaction = %d %s", r.Status, r.Body)
	}
}

func TestQRISFailingMerchantRetriedOnScheduleThenFailed(t *testing.T) {
	sim := simtest.Start(t) // time_scale 0.01: 5 s, 30 s, 2 min become 50, 300, 1200 ms
	merchant := simtest.NewMerchant(t, http.StatusInternalServerError)
	id := initiateAndSimulate(t, sim, "ORDER-FAIL", merchant.URL, "FAILED")

	cb := sim.WaitStatus(id, store.StatusFailed, 20*time.Second)
	if len(cb.Attempts) != 4 {
		t.Fatalf("%d attempts recorded, want 4", len(cb.Attempts))
	}
	got := merchant.Requests()
	if len(got) != 4 {
		t.Fatalf("merchant got %d requests, want 4", len(got))
	}
	wantOutcomes := []store.Outcome{store.OutcomeRetry, store.OutcomeRetry, store.OutcomeRetry, store.OutcomeFailed}
	schedule := []time.Duration{50 * time.Millisecond, 300 * time.Millisecond, 1200 * time.Millisecond}
	for i, a := range cb.Attempts {
		if a.N != i+1 || a.Outcome != wantOutcomes[i] || a.Kind != store.Automatic {
			t.Errorf("attempt %d: n=%d outcome=%s kind=%s, want n=%d outcome=%s", i+1, a.N, a.Outcome, a.Kind, i+1, wantOutcomes[i])
		}
		if a.Response == nil || a.Response.Status != 500 {
			t.Errorf("attempt %d: response %+v, want 500", i+1, a.Response)
		}
		// Every attempt is the same notification: the same body, so the
		// same transaction_id to de-duplicate on.
		if string(got[i].Body) != string(got[0].Body) || got[i].Header.Get("X-Callback-Id") != "" {
			t.Errorf("attempt %d: body %s, X-Callback-Id %q; want the first attempt's body and no callback id", i+1, got[i].Body, got[i].Header.Get("X-Callback-Id"))
		}
		if i == 0 {
			continue
		}
		// A retry's delay runs from the end of the failed attempt; it must
		// never start before it. How soon after is measured by the
		// benchmark (make bench); here a loose bound keeps a loaded CI
		// machine from flaking.
		prevEnd := cb.Attempts[i-1].At.Add(time.Duration(cb.Attempts[i-1].DurationMS * float64(time.Millisecond)))
		due := prevEnd.Add(schedule[i-1])
		late := a.At.Sub(due)
		if late < 0 {
			t.Errorf("attempt %d started %s before its due time", i+1, -late)
		}
		if late > 250*time.Millisecond {
			t.Errorf("attempt %d started %s after its due time, want <= 250ms", i+1, late)
		}
	}
	if cb.NextAttemptAt != nil {
		t.Errorf("next_attempt_at = %v, want null once failed", cb.NextAttemptAt)
	}
}

func TestQRISEmbeddedRedisHappyPath(t *testing.T) {
	sim := simtest.StartConfig(t, simtest.Config(""), app.Roles{API: true, Worker: true}, nil)
	merchant := simtest.NewMerchant(t)
	id := initiateAndSimulate(t, sim, "ORDER-EMBEDDED", merchant.URL, "SUCCESS")
	sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)
	if n := len(merchant.Requests()); n != 1 {
		t.Errorf("merchant got %d requests, want 1", n)
	}
}
