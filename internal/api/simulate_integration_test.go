package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

type simulated struct {
	Provider    string   `json:"provider"`
	MerchantID  string   `json:"merchant_id"`
	Reference   string   `json:"reference"`
	CallbackID  string   `json:"callback_id"`
	CallbackIDs []string `json:"callback_ids"`
}

type pendingList struct {
	Payments []struct {
		Provider, MerchantID, Reference, Status string
	} `json:"payments"`
}

func pendingRefs(t *testing.T, sim *simtest.Sim, query string) []string {
	t.Helper()
	var p pendingList
	r := sim.Admin(http.MethodGet, "/v1/payments?status=pending"+query, nil)
	r.JSON(t, &p)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /v1/payments: %d %s", r.Status, r.Body)
	}
	var refs []string
	for _, x := range p.Payments {
		refs = append(refs, x.Provider+":"+x.Reference)
	}
	return refs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The payment simulator's endpoints: the merchants without their secrets,
// the pending payments, and POST /v1/simulate, which completes a pending
// payment or makes one first, for each gateway, through the gateway's own
// endpoints and their rules.
func TestSimulateEndpoints(t *testing.T) {
	sim := simtest.Start(t)
	shop := simtest.NewMerchant(t, 200)

	t.Run("merchants, without credentials", func(t *testing.T) {
		r := sim.Admin(http.MethodGet, "/v1/merchants", nil)
		var ans struct {
			Merchants []struct {
				ID       string   `json:"id"`
				Gateways []string `json:"gateways"`
			} `json:"merchants"`
		}
		r.JSON(t, &ans)
		if r.Status != http.StatusOK || len(ans.Merchants) != 1 || ans.Merchants[0].ID != "demo" || strings.Join(ans.Merchants[0].Gateways, ",") != "qris,cinetpay,centili" {
			t.Fatalf("GET /v1/merchants = %d %s", r.Status, r.Body)
		}
		for _, secret := range []string{"demo-qris-token", "demo-apikey", "demo-secret", "demo-sign-key", "demo-service"} {
			if strings.Contains(string(r.Body), secret) {
				t.Errorf("GET /v1/merchants shows %q", secret)
			}
		}
	})

	t.Run("qris: a pending payment from the list", func(t *testing.T) {
		auth := []string{"Authorization", "Bearer " + qrisToken}
		if r := sim.Do(http.MethodPost, "/api/qris/initiate", map[string]any{"amount": 700, "order_id": "SIM-PENDING-1", "callback_url": shop.URL}, auth...); r.Status != http.StatusCreated {
			t.Fatalf("initiate: %d %s", r.Status, r.Body)
		}
		if refs := pendingRefs(t, sim, "&provider=qris&merchant_id=demo"); !contains(refs, "qris:SIM-PENDING-1") {
			t.Fatalf("pending payments %v lack qris:SIM-PENDING-1", refs)
		}
		var ans simulated
		r := sim.Admin(http.MethodPost, "/v1/simulate", map[string]any{
			"provider": "qris", "merchant_id": "demo", "reference": "SIM-PENDING-1", "outcome": "FAILED", "scenario": map[string]any{"duplicates": 1},
		})
		r.JSON(t, &ans)
		if r.Status != http.StatusAccepted || ans.CallbackID == "" || ans.Reference != "SIM-PENDING-1" {
			t.Fatalf("simulate: %d %s", r.Status, r.Body)
		}
		cb := sim.WaitStatus(ans.CallbackID, store.StatusDelivered, 10*time.Second)
		if cb.Event != "FAILED" || cb.Reference != "SIM-PENDING-1" {
			t.Errorf("callback %s of %s, want FAILED of SIM-PENDING-1", cb.Event, cb.Reference)
		}
		if refs := pendingRefs(t, sim, ""); contains(refs, "qris:SIM-PENDING-1") {
			t.Errorf("SIM-PENDING-1 still pending after its outcome: %v", refs)
		}
		sim.Admin(http.MethodPost, "/v1/simulate", map[string]any{
			"provider": "qris", "merchant_id": "demo", "reference": "SIM-PENDING-1", "outcome": "SUCCESS",
		}).WantError(t, http.StatusConflict, "")
	})

	t.Run("qris: a new payment", func(t *testing.T) {
		var ans simulated
		r := sim.Admin(http.MethodPost, "/v1/simulate", map[string]any{
			"provider": "qris", "merchant_id": "demo", "create": map[string]any{"callback_url": shop.URL + "/qris"}, "outcome": "SUCCESS",
		})
		r.JSON(t, &ans)
		if r.Status != http.StatusAccepted || !strings.HasPrefix(ans.Reference, "SIM-") || r.Header.Get("Location") != "/v1/callbacks/"+ans.CallbackID {
			t.Fatalf("simulate: %d %s (Location %q)", r.Status, r.Body, r.Header.Get("Location"))
		}
		cb := sim.WaitStatus(ans.CallbackID, store.StatusDelivered, 10*time.Second)
		if cb.URL != shop.URL+"/qris" || cb.Reference != ans.Reference {
			t.Errorf("callback to %s about %s", cb.URL, cb.Reference)
		}
	})

	t.Run("cinetpay: a new payment, out of order", func(t *testing.T) {
		var ans simulated
		r := sim.Admin(http.MethodPost, "/v1/simulate", map[string]any{
			"provider": "cinetpay", "merchant_id": "demo", "reference": "SIM-CP-1",
			"create":  map[string]any{"callback_url": shop.URL + "/cinetpay", "amount": 250},
			"outcome": "ACCEPTED", "scenario": map[string]any{"out_of_order": true},
		})
		r.JSON(t, &ans)
		if r.Status != http.StatusAccepted || len(ans.CallbackIDs) != 2 || ans.CallbackIDs[0] != ans.CallbackID {
			t.Fatalf("simulate: %d %s, want the final notification first of two", r.Status, r.Body)
		}
		for _, id := range ans.CallbackIDs {
			sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)
		}
		if refs := pendingRefs(t, sim, "&provider=cinetpay"); contains(refs, "cinetpay:SIM-CP-1") {
			t.Errorf("SIM-CP-1 still pending: %v", refs)
		}
		// WAITING_FOR_CUSTOMER is no outcome: the payment stays pending.
		r = sim.Admin(http.MethodPost, "/v1/simulate", map[string]any{
			"provider": "cinetpay", "merchant_id": "demo", "reference": "SIM-CP-2",
			"create": map[string]any{"callback_url": shop.URL + "/cinetpay"}, "outcome": "WAITING_FOR_CUSTOMER",
		})
		if r.Status != http.StatusAccepted {
			t.Fatalf("simulate waiting: %d %s", r.Status, r.Body)
		}
		if refs := pendingRefs(t, sim, "&provider=cinetpay"); !contains(refs, "cinetpay:SIM-CP-2") {
			t.Errorf("SIM-CP-2, waiting for the customer, is not pending: %v", refs)
		}
	})

	t.Run("centili: the merchant's reference", func(t *testing.T) {
		var ans simulated
		r := sim.Admin(http.MethodPost, "/v1/simulate", map[string]any{
			"provider": "centili", "merchant_id": "demo", "reference": "SIM-CE-1", "outcome": "success", "scenario": map[string]any{"delay": "1h"},
		})
		r.JSON(t, &ans)
		if r.Status != http.StatusAccepted || ans.Reference != "SIM-CE-1" {
			t.Fatalf("simulate: %d %s", r.Status, r.Body)
		}
		if cb := sim.Callback(ans.CallbackID); cb.Reference != "SIM-CE-1" || cb.Status != store.StatusPending || cb.NextAttemptAt == nil {
			t.Errorf("callback %+v, want SIM-CE-1 held", cb)
		}
	})

	t.Run("bad input names the field", func(t *testing.T) {
		for _, tt := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"provider", map[string]any{"provider": "paypal", "merchant_id": "demo", "outcome": "SUCCESS"}, "provider"},
			{"merchant", map[string]any{"provider": "qris", "merchant_id": "nobody", "reference": "X", "outcome": "SUCCESS"}, "merchant_id"},
			{"no payment", map[string]any{"provider": "qris", "merchant_id": "demo", "outcome": "SUCCESS"}, "reference"},
			{"no outcome", map[string]any{"provider": "qris", "merchant_id": "demo", "reference": "X"}, "outcome"},
			{"bad outcome", map[string]any{"provider": "qris", "merchant_id": "demo", "create": map[string]any{"callback_url": shop.URL}, "outcome": "PAID"}, "outcome"},
			{"bad callback url", map[string]any{"provider": "qris", "merchant_id": "demo", "create": map[string]any{"callback_url": "ftp://x"}, "outcome": "SUCCESS"}, "create.callback_url"},
			{"bad cinetpay amount", map[string]any{"provider": "cinetpay", "merchant_id": "demo", "create": map[string]any{"callback_url": shop.URL, "amount": 7}, "outcome": "ACCEPTED"}, "create.amount"},
			{"bad delay", map[string]any{"provider": "centili", "merchant_id": "demo", "outcome": "success", "scenario": map[string]any{"delay": "48h"}}, "scenario.delay"},
			{"centili url", map[string]any{"provider": "centili", "merchant_id": "demo", "create": map[string]any{"callback_url": shop.URL}, "outcome": "success"}, "create.callback_url"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				sim.Admin(http.MethodPost, "/v1/simulate", tt.body).WantError(t, http.StatusBadRequest, tt.field)
			})
		}
		sim.Admin(http.MethodPost, "/v1/simulate", map[string]any{"provider": "qris", "merchant_id": "demo", "reference": "NO-SUCH", "outcome": "SUCCESS"}).WantError(t, http.StatusNotFound, "")
		sim.Admin(http.MethodGet, "/v1/payments", nil).WantError(t, http.StatusBadRequest, "status")
		sim.Admin(http.MethodGet, "/v1/payments?status=pending&provider=centili", nil).WantError(t, http.StatusBadRequest, "provider")
	})
}
