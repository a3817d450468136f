package queue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/gateway"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// notifications builds the successive notifications of one payment, as a
// gateway with several of them would: an intermediate status, then the
// final one.
func notifications(url string, events ...string) []*store.Callback {
	now := time.Now().UTC()
	out := make([]*store.Callback, len(events))
	for i, ev := range events {
		payload, _ := json.Marshal(map[string]string{"order_id": "ORDER-SEQ", "status": ev})
		out[i] = &store.Callback{
			ID: store.NewID(), Provider: config.QRIS, MerchantID: "demo", Reference: "ORDER-SEQ", Event: ev,
			Method: http.MethodPost, URL: url, CreatedAt: now, Payload: payload,
		}
	}
	return out
}

func statusOf(t *testing.T, body []byte) string {
	t.Helper()
	var v struct{ Status string }
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	return v.Status
}

func TestSubmitSequence(t *testing.T) {
	sim := simtest.Start(t) // time_scale 0.01
	_, q := sim.Direct()
	tests := []struct {
		name       string
		sc         gateway.Scenario
		wantOrder  []string
		duplicates int
	}{
		{"in order", gateway.Scenario{}, []string{"WAITING_FOR_CUSTOMER", "ACCEPTED"}, 0},
		{"out of order: the final status first", gateway.Scenario{OutOfOrder: true}, []string{"ACCEPTED", "WAITING_FOR_CUSTOMER"}, 0},
		{"out of order with a duplicate of each", gateway.Scenario{OutOfOrder: true, Duplicates: 1},
			[]string{"ACCEPTED", "ACCEPTED", "WAITING_FOR_CUSTOMER", "WAITING_FOR_CUSTOMER"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			merchant := simtest.NewMerchant(t)
			cbs := notifications(merchant.URL, "WAITING_FOR_CUSTOMER", "ACCEPTED")
			plan := tt.sc.Plan(sim.Config.TimeScale)
			if err := q.SubmitSequence(context.Background(), cbs, plan); err != nil {
				t.Fatal(err)
			}
			got := merchant.WaitRequests(len(tt.wantOrder), 10*time.Second)
			for i, want := range tt.wantOrder {
				if s := statusOf(t, got[i].Body); s != want {
					t.Errorf("request %d notified %s, want %s (order %v)", i+1, s, want, tt.wantOrder)
				}
			}
			// Each notification's first attempt is due a gap after the one
			// before it, and never arrives before its due time: the order is
			// not left to chance. (How long after is the machine's business.)
			delivered := slices.Clone(cbs)
			if tt.sc.OutOfOrder {
				slices.Reverse(delivered)
			}
			due := map[string]time.Time{}
			for n, cb := range delivered {
				due[cb.Event] = cb.CreatedAt.Add(plan.Hold + time.Duration(n)*plan.Gap)
			}
			for i, r := range got[:len(tt.wantOrder)] {
				ev := statusOf(t, r.Body)
				if r.At.Before(due[ev]) {
					t.Errorf("request %d (%s) arrived %s before its due time", i+1, ev, due[ev].Sub(r.At))
				}
			}
			for _, cb := range cbs {
				sim.WaitStatus(cb.ID, store.StatusDelivered, 5*time.Second)
				// A duplicate's attempt is recorded just after the merchant
				// has it, possibly after the status changed: wait for it.
				var n int
				simtest.Eventually(t, 5*time.Second, func() bool {
					n = len(sim.Callback(cb.ID).Attempts)
					return n == 1+tt.duplicates
				}, func() string {
					return fmt.Sprintf("callback %s (%s): %d attempts, want %d", cb.ID, cb.Event, n, 1+tt.duplicates)
				})
			}
		})
	}
}
