package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

const qrisToken = "demo-qris-token"

var orderSeq atomic.Int64

// trigger creates a QRIS payment to url and completes it with SUCCESS and
// the given scenario (nil: none), returning the callback id.
func trigger(t *testing.T, sim *simtest.Sim, url string, scenario map[string]any) string {
	t.Helper()
	order := fmt.Sprintf("ORDER-%d", orderSeq.Add(1))
	auth := []string{"Authorization", "Bearer " + qrisToken}
	r := sim.Do(http.MethodPost, "/api/qris/initiate", map[string]any{
		"amount": 50000, "order_id": order, "callback_url": url,
	}, auth...)
	if r.Status != http.StatusCreated {
		t.Fatalf("initiate: %d %s", r.Status, r.Body)
	}
	body := map[string]any{"order_id": order, "status": "SUCCESS"}
	if scenario != nil {
		body["scenario"] = scenario
	}
	r = sim.Do(http.MethodPost, "/api/qris/simulate", body, auth...)
	if r.Status != http.StatusAccepted {
		t.Fatalf("simulate: %d %s", r.Status, r.Body)
	}
	var ans struct {
		CallbackID string `json:"callback_id"`
	}
	r.JSON(t, &ans)
	return ans.CallbackID
}

// startSim runs a simulator whose QRIS provider retries on schedule
// (scaled by 0.01) and stops on stopCodes.
func startSim(t *testing.T, schedule []time.Duration, stopCodes ...int) *simtest.Sim {
	t.Helper()
	r := redistest.Start(t)
	cfg := simtest.Config(r.URL())
	cfg.Providers.QRIS.Retry.Schedule = schedule
	cfg.Providers.QRIS.StopCodes = stopCodes
	return simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)
}

// waitAttempts waits until callback id has n attempts recorded.
func waitAttempts(t *testing.T, sim *simtest.Sim, id string, n int) store.Callback {
	t.Helper()
	var cb store.Callback
	simtest.Eventually(t, 10*time.Second, func() bool {
		cb = sim.Callback(id)
		return len(cb.Attempts) >= n
	}, func() string { return fmt.Sprintf("callback %s to have %d attempts (has %d)", id, n, len(cb.Attempts)) })
	return cb
}

func automaticAttempts(cb store.Callback) int {
	n := 0
	for _, a := range cb.Attempts {
		if a.Kind == store.Automatic {
			n++
		}
	}
	return n
}

func TestResendSemantics(t *testing.T) {
	// No retries: the first failed attempt fails the callback. 406 is a
	// stop code, so a rejected outcome is reachable.
	sim := startSim(t, nil, http.StatusNotAcceptable)
	tests := []struct {
		name       string
		codes      []int // the merchant's answers: first the automatic attempt, then the resend
		before     store.Status
		want       store.Status
		wantManual store.Outcome
	}{
		{"delivered, resend delivered: stays delivered", []int{200, 200}, store.StatusDelivered, store.StatusDelivered, store.OutcomeDelivered},
		{"delivered, resend fails: stays delivered", []int{200, 500}, store.StatusDelivered, store.StatusDelivered, store.OutcomeFailed},
		{"delivered, resend rejected: rejected", []int{200, 406}, store.StatusDelivered, store.StatusRejected, store.OutcomeRejected},
		{"failed, resend delivered: delivered", []int{500, 200}, store.StatusFailed, store.StatusDelivered, store.OutcomeDelivered},
		{"failed, resend fails: stays failed", []int{500, 500}, store.StatusFailed, store.StatusFailed, store.OutcomeFailed},
		{"failed, resend rejected: rejected", []int{500, 406}, store.StatusFailed, store.StatusRejected, store.OutcomeRejected},
		{"rejected, resend delivered: delivered", []int{406, 200}, store.StatusRejected, store.StatusDelivered, store.OutcomeDelivered},
		{"rejected, resend fails: stays rejected", []int{406, 503}, store.StatusRejected, store.StatusRejected, store.OutcomeFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			merchant := simtest.NewMerchant(t, tt.codes...)
			id := trigger(t, sim, merchant.URL+"/cb", nil)
			sim.WaitStatus(id, tt.before, 10*time.Second)

			r := sim.Admin(http.MethodPost, "/v1/callbacks/"+id+"/resend", nil)
			if r.Status != http.StatusAccepted {
				t.Fatalf("resend: %d %s", r.Status, r.Body)
			}
			cb := waitAttempts(t, sim, id, 2)
			if cb.Status != tt.want {
				t.Errorf("status after resend = %s, want %s", cb.Status, tt.want)
			}
			manual := cb.Attempts[1]
			if manual.Kind != store.Manual || manual.Outcome != tt.wantManual {
				t.Errorf("attempt 2: manual=%t outcome=%s, want a manual attempt with outcome %s", manual.Kind == store.Manual, manual.Outcome, tt.wantManual)
			}
			if cb.NextAttemptAt != nil {
				t.Errorf("next_attempt_at = %v after a manual attempt on a settled callback, want null", cb.NextAttemptAt)
			}
			// A resend is the same notification: the same body, so the same
			// gateway ids for the merchant to de-duplicate on.
			reqs := merchant.WaitRequests(2, 5*time.Second)
			if string(reqs[1].Body) != string(reqs[0].Body) {
				t.Errorf("resend sent %s, the first attempt %s; want the same notification", reqs[1].Body, reqs[0].Body)
			}
		})
	}

	t.Run("unknown callback: 404", func(t *testing.T) {
		r := sim.Admin(http.MethodPost, "/v1/callbacks/cb_nope/resend", nil)
		if r.Status != http.StatusNotFound {
			t.Errorf("resend of an unknown id: %d %s, want 404", r.Status, r.Body)
		}
	})
}

// TestResendKeepsRetryBudgetAndRetryNow runs a failing callback whose
// retries are 10 s apart (1000 s scaled by 0.01): retry-now pulls each one
// forward, a manual resend in between does not count against the four
// automatic attempts, and retry-now on a failed callback is a 409.
func TestResendKeepsRetryBudgetAndRetryNow(t *testing.T) {
	long := 1000 * time.Second
	sim := startSim(t, []time.Duration{long, long, long})
	merchant := simtest.NewMerchant(t, 500, 500, 500, 500, 500, 200)
	id := trigger(t, sim, merchant.URL, nil)

	cb := sim.WaitStatus(id, store.StatusRetrying, 10*time.Second)
	if cb.NextAttemptAt == nil || time.Until(*cb.NextAttemptAt) < 5*time.Second {
		t.Fatalf("next_attempt_at = %v, want about 10s ahead", cb.NextAttemptAt)
	}
	scheduled := *cb.NextAttemptAt

	// A manual resend that fails leaves the callback retrying, on the
	// same schedule, with its retry budget intact.
	if r := sim.Admin(http.MethodPost, "/v1/callbacks/"+id+"/resend", nil); r.Status != http.StatusAccepted {
		t.Fatalf("resend: %d %s", r.Status, r.Body)
	}
	cb = waitAttempts(t, sim, id, 2)
	if cb.Status != store.StatusRetrying || cb.Attempts[1].Kind != store.Manual || cb.Attempts[1].Outcome != store.OutcomeFailed {
		t.Fatalf("after a failed resend: status %s, attempt 2 %+v; want retrying and a failed manual attempt", cb.Status, cb.Attempts[1])
	}
	if cb.NextAttemptAt == nil || !cb.NextAttemptAt.Equal(scheduled) {
		t.Errorf("next_attempt_at moved from %v to %v by a manual resend", scheduled, cb.NextAttemptAt)
	}

	// retry-now pulls each scheduled retry forward.
	for n := 3; n <= 5; n++ {
		start := time.Now()
		r := sim.Admin(http.MethodPost, "/v1/callbacks/"+id+"/retry-now", nil)
		if r.Status != http.StatusAccepted {
			t.Fatalf("retry-now before attempt %d: %d %s", n, r.Status, r.Body)
		}
		cb = waitAttempts(t, sim, id, n)
		if waited := time.Since(start); waited > 5*time.Second {
			t.Errorf("attempt %d came %s after retry-now; the schedule said 10s", n, waited)
		}
		if a := cb.Attempts[n-1]; a.Kind != store.Automatic {
			t.Errorf("attempt %d is manual, want the automatic retry", n)
		}
	}
	cb = sim.WaitStatus(id, store.StatusFailed, 5*time.Second)
	if got := automaticAttempts(cb); got != 4 {
		t.Errorf("%d automatic attempts, want 4 (the manual resend used none of the budget)", got)
	}
	if len(cb.Attempts) != 5 {
		t.Errorf("%d attempts in all, want 5", len(cb.Attempts))
	}

	r := sim.Admin(http.MethodPost, "/v1/callbacks/"+id+"/retry-now", nil)
	if r.Status != http.StatusConflict {
		t.Errorf("retry-now on a failed callback: %d %s, want 409", r.Status, r.Body)
	}
	// A resend still delivers it.
	if r := sim.Admin(http.MethodPost, "/v1/callbacks/"+id+"/resend", nil); r.Status != http.StatusAccepted {
		t.Fatalf("resend: %d %s", r.Status, r.Body)
	}
	sim.WaitStatus(id, store.StatusDelivered, 5*time.Second)
}

func TestRetryNow(t *testing.T) {
	sim := startSim(t, []time.Duration{time.Second})
	t.Run("delivered: 409", func(t *testing.T) {
		merchant := simtest.NewMerchant(t)
		id := trigger(t, sim, merchant.URL, nil)
		sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)
		r := sim.Admin(http.MethodPost, "/v1/callbacks/"+id+"/retry-now", nil)
		var e struct{ Error string }
		r.JSON(t, &e)
		if r.Status != http.StatusConflict || !strings.Contains(e.Error, "no scheduled attempt") {
			t.Errorf("retry-now on a delivered callback: %d %s, want 409", r.Status, r.Body)
		}
	})
	t.Run("unknown: 404", func(t *testing.T) {
		if r := sim.Admin(http.MethodPost, "/v1/callbacks/cb_unknown/retry-now", nil); r.Status != http.StatusNotFound {
			t.Errorf("retry-now on an unknown callback: %d %s, want 404", r.Status, r.Body)
		}
	})
	t.Run("held first attempt runs now", func(t *testing.T) {
		merchant := simtest.NewMerchant(t)
		id := trigger(t, sim, merchant.URL, map[string]any{"delay": "1000s"}) // 10 s at scale 0.01
		cb := sim.Callback(id)
		if cb.Status != store.StatusPending || cb.NextAttemptAt == nil {
			t.Fatalf("held callback: status %s next_attempt_at %v, want pending with a next attempt", cb.Status, cb.NextAttemptAt)
		}
		if r := sim.Admin(http.MethodPost, "/v1/callbacks/"+id+"/retry-now", nil); r.Status != http.StatusAccepted {
			t.Fatalf("retry-now: %d %s", r.Status, r.Body)
		}
		cb = sim.WaitStatus(id, store.StatusDelivered, 5*time.Second)
		if len(cb.Attempts) != 1 || cb.Attempts[0].Kind == store.Manual {
			t.Errorf("attempts = %+v, want the one automatic attempt", cb.Attempts)
		}
	})
}

func TestAttemptHints(t *testing.T) {
	sim := startSim(t, nil)
	t.Run("404", func(t *testing.T) {
		merchant := simtest.NewMerchant(t, http.StatusNotFound)
		cb := sim.WaitStatus(trigger(t, sim, merchant.URL+"/wrong", nil), store.StatusFailed, 10*time.Second)
		if h := cb.Attempts[0].Hint; !strings.Contains(h, "URL is wrong") {
			t.Errorf("hint = %q, want the 404 hint", h)
		}
	})
	t.Run("refused", func(t *testing.T) {
		url := fmt.Sprintf("http://127.0.0.1:%d/cb", redistest.FreePort(t))
		cb := sim.WaitStatus(trigger(t, sim, url, nil), store.StatusFailed, 10*time.Second)
		if h := cb.Attempts[0].Hint; !strings.Contains(h, "nothing listens") {
			t.Errorf("hint = %q, want the refused-connection hint", h)
		}
	})
	t.Run("delivered: no hint", func(t *testing.T) {
		merchant := simtest.NewMerchant(t)
		cb := sim.WaitStatus(trigger(t, sim, merchant.URL, nil), store.StatusDelivered, 10*time.Second)
		if h := cb.Attempts[0].Hint; h != "" {
			t.Errorf("hint = %q on a delivered attempt, want none", h)
		}
	})
}

// seed stores n callbacks to url directly in status, created at created
// (plus i microseconds each), and returns their ids.
func seed(t *testing.T, st *store.Store, n int, url string, status store.Status, created time.Time) []string {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	payload, _ := json.Marshal(map[string]any{"order_id": "SEED", "status": "SUCCESS", "amount": 1})
	for i := range n {
		cb := &store.Callback{
			ID: store.NewID(), Provider: config.QRIS, MerchantID: "demo", Reference: "SEED", Event: "SUCCESS",
			Method: http.MethodPost, URL: url, CreatedAt: created.Add(time.Duration(i) * time.Microsecond), Payload: payload,
		}
		if err := st.Create(ctx, cb); err != nil {
			t.Fatal(err)
		}
		outcome := store.OutcomeFailed
		if status == store.StatusDelivered {
			outcome = store.OutcomeDelivered
		}
		a := store.Attempt{At: cb.CreatedAt, Outcome: outcome, Request: store.Request{Method: http.MethodPost, URL: url}}
		if err := st.Record(ctx, cb, store.Update{Attempt: a, From: cb.Status, To: status, CountsTry: true}); err != nil {
			t.Fatal(err)
		}
		ids[i] = cb.ID
	}
	return ids
}

func TestBulkResendByFilter(t *testing.T) {
	sim := startSim(t, nil)
	st, _ := sim.Direct()
	merchant := simtest.NewMerchant(t) // answers 200 now
	now := time.Now().UTC()
	since, until := now.Add(-time.Hour), now.Add(time.Minute)
	failed := seed(t, st, 1200, merchant.URL, store.StatusFailed, now.Add(-30*time.Minute))
	seed(t, st, 5, merchant.URL, store.StatusFailed, now.Add(-2*time.Hour))       // before since
	seed(t, st, 7, merchant.URL, store.StatusDelivered, now.Add(-10*time.Minute)) // another status

	// While the bulk resend runs, other API requests keep being answered.
	var (
		wg         sync.WaitGroup
		slowest    atomic.Int64
		done       = make(chan struct{})
		duringBulk atomic.Int64
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			start := time.Now()
			r := simtest.Do(t, http.MethodGet, sim.URL+"/v1/callbacks?limit=5", nil, "Authorization", "Bearer "+simtest.AdminToken)
			if r.Status != http.StatusOK {
				t.Errorf("list during the bulk resend: %d %s", r.Status, r.Body)
			}
			if d := time.Since(start); int64(d) > slowest.Load() {
				slowest.Store(int64(d))
			}
			duringBulk.Add(1)
		}
	}()
	start := time.Now()
	r := sim.Admin(http.MethodPost, "/v1/callbacks/resend", map[string]any{"filter": map[string]any{
		"provider": "qris", "status": "failed",
		"since": since.Format(time.RFC3339Nano), "until": until.Format(time.RFC3339),
	}})
	took := time.Since(start)
	close(done)
	wg.Wait()
	if r.Status != http.StatusAccepted {
		t.Fatalf("bulk resend: %d %s", r.Status, r.Body)
	}
	var ans struct {
		Queued int `json:"queued"`
	}
	r.JSON(t, &ans)
	if ans.Queued != len(failed) {
		t.Fatalf("queued = %d, want %d", ans.Queued, len(failed))
	}
	t.Logf("bulk resend of %d queued in %s; %d list requests meanwhile, slowest %s",
		ans.Queued, took, duringBulk.Load(), time.Duration(slowest.Load()))
	if s := time.Duration(slowest.Load()); s > 2*time.Second {
		t.Errorf("a list request took %s during the bulk resend", s)
	}

	merchant.WaitRequests(len(failed), 60*time.Second)
	// Every one is delivered by its manual attempt; the old ones are not
	// touched.
	simtest.Eventually(t, 30*time.Second, func() bool {
		page, err := st.List(context.Background(), store.Filter{Provider: config.QRIS, Status: store.StatusFailed}, 500, "")
		return err == nil && len(page.Callbacks) == 5
	}, func() string { return "only the 5 callbacks created before since to stay failed" })
	for _, id := range []string{failed[0], failed[len(failed)-1]} {
		cb := sim.Callback(id)
		if cb.Status != store.StatusDelivered || len(cb.Attempts) != 2 || cb.Attempts[1].Kind != store.Manual {
			t.Errorf("callback %s: status %s, %d attempts; want delivered by a manual second attempt", id, cb.Status, len(cb.Attempts))
		}
	}
	if got := len(merchant.Requests()); got != len(failed) {
		t.Errorf("merchant got %d requests, want %d (one per resent callback)", got, len(failed))
	}
}

func TestBulkResendByIDs(t *testing.T) {
	sim := startSim(t, nil)
	st, _ := sim.Direct()
	merchant := simtest.NewMerchant(t)
	ids := seed(t, st, 3, merchant.URL, store.StatusFailed, time.Now().Add(-time.Minute))
	r := sim.Admin(http.MethodPost, "/v1/callbacks/resend", map[string]any{
		"ids": []string{ids[0], ids[1], ids[0], "cb_gone", ids[2]},
	})
	if r.Status != http.StatusAccepted {
		t.Fatalf("bulk resend: %d %s", r.Status, r.Body)
	}
	var ans struct {
		Queued   int      `json:"queued"`
		NotFound []string `json:"not_found"`
	}
	r.JSON(t, &ans)
	if ans.Queued != 3 || len(ans.NotFound) != 1 || ans.NotFound[0] != "cb_gone" {
		t.Errorf("answer = %s, want 3 queued (a repeated id once) and cb_gone not found", r.Body)
	}
	for _, id := range ids {
		sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)
	}
}

func TestBulkResendValidation(t *testing.T) {
	sim := startSim(t, nil)
	many := make([]string, 10_001)
	for i := range many {
		many[i] = fmt.Sprintf("cb_%d", i)
	}
	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"empty object", map[string]any{}, "ids"},
		{"both", map[string]any{"ids": []string{"cb_a"}, "filter": map[string]any{}}, "filter"},
		{"empty ids", map[string]any{"ids": []string{}}, "ids"},
		{"ids not a list", map[string]any{"ids": "cb_a"}, "ids"},
		{"blank id", map[string]any{"ids": []string{"cb_a", ""}}, "ids[1]"},
		{"too many ids", map[string]any{"ids": many}, "ids"},
		{"unknown provider", map[string]any{"filter": map[string]any{"provider": "paypal"}}, "filter.provider"},
		{"unknown status", map[string]any{"filter": map[string]any{"status": "lost"}}, "filter.status"},
		{"since not RFC 3339", map[string]any{"filter": map[string]any{"since": "yesterday"}}, "filter.since"},
		{"since a number", map[string]any{"filter": map[string]any{"since": 5}}, "filter.since"},
		{"until not RFC 3339", map[string]any{"filter": map[string]any{"until": "2024-01-20 10:00"}}, "filter.until"},
		{"until before since", map[string]any{"filter": map[string]any{
			"since": "2024-01-20T10:00:00Z", "until": "2024-01-20T09:00:00Z"}}, "filter.until"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sim.Admin(http.MethodPost, "/v1/callbacks/resend", tt.body)
			r.WantError(t, http.StatusBadRequest, tt.field)
		})
	}
	t.Run("malformed JSON", func(t *testing.T) {
		if r := sim.Admin(http.MethodPost, "/v1/callbacks/resend", "{"); r.Status != http.StatusBadRequest {
			t.Errorf("answer %d %s, want 400", r.Status, r.Body)
		}
	})
	t.Run("no token", func(t *testing.T) {
		if r := sim.Do(http.MethodPost, "/v1/callbacks/resend", map[string]any{"ids": []string{"cb_a"}}); r.Status != http.StatusUnauthorized {
			t.Errorf("answer %d %s, want 401", r.Status, r.Body)
		}
	})
	t.Run("empty filter matches nothing yet", func(t *testing.T) {
		r := sim.Admin(http.MethodPost, "/v1/callbacks/resend", map[string]any{"filter": map[string]any{}})
		if r.Status != http.StatusAccepted || !strings.Contains(string(r.Body), `"queued":0`) {
			t.Errorf("answer %d %s, want 202 queued 0", r.Status, r.Body)
		}
	})
}
