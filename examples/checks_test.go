//go:build unix

package examples_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	handler "github.com/callbacksim/callbacksim/internal/check"
	"github.com/callbacksim/callbacksim/internal/simtest"
)

// handlerChecks returns a check of the suite that runs callbacksim's
// handler checks of gateway (POST /v1/checks, what `callbacksim check`
// does) on orders the app created through POST /orders, against the
// instance the merchant's notifications reach, and requires every check
// to pass: none failed, warned or skipped.
func handlerChecks(gateway, merchantID string, orders int, app func(*harness) *merchantApp) func(t *testing.T, h *harness) {
	return func(t *testing.T, h *harness) {
		a := app(h)
		refs := make([]string, orders)
		for i := range refs {
			refs[i] = a.order(t, gateway)
		}
		sim := h.sim.With(t)
		r := sim.Admin(http.MethodPost, "/v1/checks", map[string]any{
			"provider": gateway, "url": a.URL + "/" + gateway, "merchant_id": merchantID, "orders": refs,
		})
		if r.Status != http.StatusAccepted {
			t.Fatalf("POST /v1/checks: %d %s", r.Status, r.Body)
		}
		var started struct{ ID string }
		r.JSON(t, &started)
		var run handler.Run
		simtest.Eventually(t, time.Minute, func() bool {
			run = handler.Run{}
			sim.Admin(http.MethodGet, "/v1/checks/"+started.ID, nil).JSON(t, &run)
			return run.Status != handler.Running
		}, func() string { return "check run " + started.ID + " to end" })

		var report strings.Builder
		bad := run.Error != "" || len(run.Results) != len(handler.Names(gateway))
		for _, res := range run.Results {
			fmt.Fprintf(&report, "  %s %s: %s %s\n", res.Status, res.Name, res.Detail, res.Hint)
			bad = bad || res.Status != handler.Pass
		}
		if bad {
			t.Errorf("the %s handler checks of orders %v, run %s: %s %s\n%s", gateway, refs, run.ID, run.Status, run.Error, &report)
		}
	}
}
