package cinetpay_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// simulateIDs posts to /v2/simulate and returns the answer's callback_id
// and callback_ids.
func simulateIDs(t *testing.T, sim *simtest.Sim, body map[string]any) (string, []string) {
	t.Helper()
	r := sim.Do(http.MethodPost, "/v2/simulate", body)
	if r.Status != http.StatusAccepted {
		t.Fatalf("simulate: %d %s", r.Status, r.Body)
	}
	var ans struct {
		CallbackID  string   `json:"callback_id"`
		CallbackIDs []string `json:"callback_ids"`
	}
	r.JSON(t, &ans)
	return ans.CallbackID, ans.CallbackIDs
}

// checkedStatus asks the check API for a transaction's status, as a
// merchant's handler does: without the testing.T, since it runs in the
// merchant's goroutine.
func checkedStatus(simURL, transactionID string) string {
	body, _ := json.Marshal(map[string]string{"apikey": apikey, "site_id": siteID, "transaction_id": transactionID})
	resp, err := http.Post(simURL+"/v2/payment/check", "application/json", bytes.NewReader(body))
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	var a struct {
		Data struct {
			Status string `json:"status"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return "error: " + err.Error()
	}
	return a.Data.Status
}

// notified is a notification as the merchant saw it: which transaction
// (cpm_trans_id: a merchant knows it by nothing else), what status the
// form told, and what the check API said on receipt.
type notified struct {
	Transaction, Message, Checked string
}

// truthMerchant is a CinetPay merchant that, like a correct one, calls the
// check API on every notification, and records what it was told.
func truthMerchant(t *testing.T, simURL string) (*merchant, func() []notified) {
	t.Helper()
	var seen []notified // under the merchant's lock
	m := newMerchant(t, secretKey, func(_ int, h hit) int {
		if h.Method != http.MethodPost {
			return http.StatusOK
		}
		if !h.Valid {
			return http.StatusUnauthorized
		}
		seen = append(seen, notified{
			Transaction: h.Form.Get("cpm_trans_id"), Message: h.Form.Get("cpm_error_message"),
			Checked: checkedStatus(simURL, h.Form.Get("cpm_trans_id")),
		})
		return http.StatusOK
	})
	return m, func() []notified {
		m.mu.Lock()
		defer m.mu.Unlock()
		return append([]notified(nil), seen...)
	}
}

func TestCinetPayOutOfOrder(t *testing.T) {
	// time_scale 0.1: the notifications' first attempts are 200 ms apart,
	// so a loaded machine does not blur their order.
	r := redistest.Start(t)
	cfg := simtest.Config(r.URL())
	cfg.TimeScale = 0.1
	sim := simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)

	t.Run("final status first, then WAITING_FOR_CUSTOMER; the check tells the final truth throughout", func(t *testing.T) {
		sim := sim.With(t)
		m, seen := truthMerchant(t, sim.URL)
		initiate(t, sim, initBody("TX-OOO", m.URL))
		main, ids := simulateIDs(t, sim, map[string]any{"apikey": apikey, "site_id": siteID, "transaction_id": "TX-OOO",
			"status": "ACCEPTED", "scenario": map[string]any{"out_of_order": true}})
		if len(ids) != 2 || ids[0] != main || ids[1] == main {
			t.Fatalf("callback_id %s, callback_ids %v: want two, the ACCEPTED one (callback_id) first", main, ids)
		}
		// The check API already tells the final status, before any
		// notification is delivered.
		if got := checkedStatus(sim.URL, "TX-OOO"); got != "ACCEPTED" {
			t.Errorf("check right after the simulate: %s, want ACCEPTED", got)
		}
		final := sim.WaitStatus(ids[0], store.StatusDelivered, 10*time.Second)
		waiting := sim.WaitStatus(ids[1], store.StatusDelivered, 10*time.Second)
		want := []notified{
			{Transaction: "TX-OOO", Message: "SUCCES", Checked: "ACCEPTED"},
			{Transaction: "TX-OOO", Message: "WAITING_CUSTOMER_TO_VALIDATE", Checked: "ACCEPTED"},
		}
		if diff := cmp.Diff(want, seen()); diff != "" {
			t.Errorf("notifications in the order the merchant got them (-want +got):\n%s", diff)
		}
		if final.Event != "ACCEPTED" || waiting.Event != "WAITING_FOR_CUSTOMER" {
			t.Errorf("callback events %s, %s; want ACCEPTED, WAITING_FOR_CUSTOMER", final.Event, waiting.Event)
		}
		// Each notification is an attempt of its own: a ping, then the POST,
		// and none carries a callback id, which CinetPay never sends.
		if diff := cmp.Diff([]string{"GET", "POST", "GET", "POST"}, methods(m.Hits())); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
		for i, h := range m.Hits() {
			if got := h.Header.Get("X-Callback-Id"); got != "" {
				t.Errorf("request %d (%s) carried X-Callback-Id %s", i+1, h.Method, got)
			}
		}
		// The same payment in both: only the status text differs.
		p := m.Posts()
		for _, name := range xTokenOrder {
			if name != "cpm_error_message" && p[0].Form.Get(name) != p[1].Form.Get(name) {
				t.Errorf("%s differs between the notifications: %q, %q", name, p[0].Form.Get(name), p[1].Form.Get(name))
			}
		}
	})

	t.Run("REFUSED with a delay and a duplicate of each", func(t *testing.T) {
		sim := sim.With(t)
		m, seen := truthMerchant(t, sim.URL)
		initiate(t, sim, initBody("TX-OOO-DUP", m.URL))
		main, ids := simulateIDs(t, sim, map[string]any{"apikey": apikey, "site_id": siteID, "transaction_id": "TX-OOO-DUP",
			"status": "REFUSED", "reason": "INSUFFICIENT_BALANCE",
			"scenario": map[string]any{"out_of_order": true, "duplicates": 1, "delay": "2s"}})
		if len(ids) != 2 || ids[0] != main {
			t.Fatalf("callback_id %s, callback_ids %v: want two, the REFUSED one first", main, ids)
		}
		final := sim.WaitStatus(ids[0], store.StatusDelivered, 10*time.Second)
		sim.WaitStatus(ids[1], store.StatusDelivered, 10*time.Second)
		var got []notified
		simtest.Eventually(t, 10*time.Second, func() bool { got = seen(); return len(got) >= 4 },
			func() string { return "the two notifications and their duplicates" })
		want := []notified{
			{Transaction: "TX-OOO-DUP", Message: "INSUFFICIENT_BALANCE", Checked: "REFUSED"},
			{Transaction: "TX-OOO-DUP", Message: "INSUFFICIENT_BALANCE", Checked: "REFUSED"},
			{Transaction: "TX-OOO-DUP", Message: "WAITING_CUSTOMER_TO_VALIDATE", Checked: "REFUSED"},
			{Transaction: "TX-OOO-DUP", Message: "WAITING_CUSTOMER_TO_VALIDATE", Checked: "REFUSED"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("notifications in the order the merchant got them (-want +got):\n%s", diff)
		}
		// delay 2s at time_scale 0.1 holds the first attempt 200 ms.
		if held := final.Attempts[0].At.Sub(final.CreatedAt); held < 200*time.Millisecond {
			t.Errorf("first attempt %s after the simulate, want >= 200ms", held)
		}
	})

	t.Run("a payment already notified WAITING_FOR_CUSTOMER gets only its final notification", func(t *testing.T) {
		sim := sim.With(t)
		m, seen := truthMerchant(t, sim.URL)
		initiate(t, sim, initBody("TX-OOO-PUSHED", m.URL))
		first, ids := simulateIDs(t, sim, map[string]any{"apikey": apikey, "site_id": siteID,
			"transaction_id": "TX-OOO-PUSHED", "status": "WAITING_FOR_CUSTOMER"})
		if diff := cmp.Diff([]string{first}, ids); diff != "" {
			t.Errorf("callback_ids of a plain simulate (-want +got):\n%s", diff)
		}
		sim.WaitStatus(first, store.StatusDelivered, 10*time.Second)
		second, ids := simulateIDs(t, sim, map[string]any{"apikey": apikey, "site_id": siteID,
			"transaction_id": "TX-OOO-PUSHED", "status": "ACCEPTED", "scenario": map[string]any{"out_of_order": true}})
		if diff := cmp.Diff([]string{second}, ids); diff != "" {
			t.Errorf("callback_ids (-want +got):\n%s", diff)
		}
		sim.WaitStatus(second, store.StatusDelivered, 10*time.Second)
		want := []notified{
			{Transaction: "TX-OOO-PUSHED", Message: "WAITING_CUSTOMER_TO_VALIDATE", Checked: "WAITING_FOR_CUSTOMER"},
			{Transaction: "TX-OOO-PUSHED", Message: "SUCCES", Checked: "ACCEPTED"},
		}
		if diff := cmp.Diff(want, seen()); diff != "" {
			t.Errorf("notifications (-want +got):\n%s", diff)
		}
	})
}
