package reliability_test

import (
	"net/http"
	"testing"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
)

// TestCollidingIDsStayApart: merchant ids, sites and orders that the old
// "qris:<merchant>:<order>" keys confused stay apart. Merchant "m" asking
// for order "3:ORD" reached merchant "m:3"'s order "ORD" (read it,
// simulated it, and could not make its own "3:ORD"); CinetPay site "1"
// asking for transaction "2:TX" reached site "1:2"'s "TX".
func TestCollidingIDsStayApart(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	cfg := simtest.Config(r.URL())
	cfg.Merchants = []config.Merchant{
		{ID: "m", QRIS: &config.QRISMerchant{Token: "tok-m"}, CinetPay: &config.CinetPayMerchant{APIKey: "ak-m", SiteID: "1", SecretKey: "s"}},
		{ID: "m:3", QRIS: &config.QRISMerchant{Token: "tok-m3"}, CinetPay: &config.CinetPayMerchant{APIKey: "ak-m3", SiteID: "1:2", SecretKey: "s"}},
	}
	sim := simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)
	m := newMerchant(t, http.StatusOK)
	victim := []string{"Authorization", "Bearer tok-m3"}
	other := []string{"Authorization", "Bearer tok-m"}

	if r := sim.Do(http.MethodPost, "/api/qris/initiate", map[string]any{"amount": 50000, "order_id": "ORD", "callback_url": m.URL}, victim...); r.Status != http.StatusCreated {
		t.Fatalf("m:3 initiates ORD: %d %s", r.Status, r.Body)
	}
	if r := sim.Do(http.MethodGet, "/api/qris/transactions/3:ORD", nil, other...); r.Status != http.StatusNotFound {
		t.Errorf("m reads 3:ORD: %d %s; want 404, not m:3's ORD", r.Status, r.Body)
	}
	if r := sim.Do(http.MethodPost, "/api/qris/simulate", map[string]any{"order_id": "3:ORD", "status": "SUCCESS"}, other...); r.Status != http.StatusNotFound {
		t.Errorf("m simulates 3:ORD: %d %s; want 404, not m:3's ORD", r.Status, r.Body)
	}
	if r := sim.Do(http.MethodPost, "/api/qris/initiate", map[string]any{"amount": 70000, "order_id": "3:ORD", "callback_url": m.URL}, other...); r.Status != http.StatusCreated {
		t.Errorf("m initiates its own 3:ORD: %d %s; want 201", r.Status, r.Body)
	}
	var own struct {
		Amount int `json:"amount"`
	}
	sim.Do(http.MethodGet, "/api/qris/transactions/ORD", nil, victim...).JSON(t, &own)
	if own.Amount != 50000 {
		t.Errorf("m:3's ORD has amount %d, want its own 50000", own.Amount)
	}

	if r := sim.Do(http.MethodPost, "/v2/payment", map[string]any{
		"apikey": "ak-m3", "site_id": "1:2", "transaction_id": "TX", "amount": 100, "currency": "XOF",
		"description": "Test", "notify_url": m.URL, "return_url": "https://shop.example/", "channels": "ALL",
	}); r.Status != http.StatusOK {
		t.Fatalf("site 1:2 initialises TX: %d %s", r.Status, r.Body)
	}
	if r := sim.Do(http.MethodPost, "/v2/simulate", map[string]any{"apikey": "ak-m", "site_id": "1", "transaction_id": "2:TX", "status": "ACCEPTED"}); r.Status != http.StatusNotFound {
		t.Errorf("site 1 simulates 2:TX: %d %s; want 404, not site 1:2's TX", r.Status, r.Body)
	}
}
