package cinetpay_test

import (
	"net/http"
	"testing"

	"github.com/callbacksim/callbacksim/internal/simtest"
)

// With Redis down, CinetPay's endpoints still answer in CinetPay's shape,
// with a 503, and the simulator's own endpoint in its own.
func TestCinetPayRedisUnreachable(t *testing.T) {
	sim := simtest.Start(t)
	sim.Redis.Stop()
	defer sim.Redis.Restart()

	a := post(t, sim, "/v2/payment", initBody("TX-DOWN", "https://shop.example/notify"))
	wantCinetPayError(t, a, http.StatusServiceUnavailable, "624", "PROCESSING_ERROR", "redis")
	a = check(t, sim, "TX-DOWN")
	wantCinetPayError(t, a, http.StatusServiceUnavailable, "624", "PROCESSING_ERROR", "redis")
	r := sim.Do(http.MethodPost, "/v2/simulate", map[string]any{
		"apikey": apikey, "site_id": siteID, "transaction_id": "TX-DOWN", "status": "ACCEPTED"})
	var e map[string]string
	r.JSON(t, &e)
	if r.Status != http.StatusServiceUnavailable || e["error"] == "" {
		t.Errorf("simulate with Redis down: %d %s", r.Status, r.Body)
	}
}
