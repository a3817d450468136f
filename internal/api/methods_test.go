package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/callbacksim/callbacksim/internal/simtest"
)

// routeTable is every route group's paths, one concrete path per route,
// with the methods each takes (HEAD wherever GET is). CinetPay's
// /v2/payment and /v2/payment/check answer other methods themselves, in
// CinetPay's shape, and are left out.
var routeTable = map[string][]string{
	// operations
	"/healthz": {"GET", "HEAD"}, "/readyz": {"GET", "HEAD"}, "/metrics": {"GET", "HEAD"},
	// QRIS
	"/api/qris/initiate": {"POST"}, "/api/qris/simulate": {"POST"}, "/api/qris/transactions/ORDER-1": {"GET", "HEAD"},
	// CinetPay, Centili
	"/v2/simulate": {"POST"}, "/cinetpay/payment/tok_1": {"GET", "HEAD", "POST"}, "/centili/simulate": {"POST"},
	// the operator API
	"/v1/callbacks": {"GET", "HEAD"}, "/v1/callbacks/cb_1": {"GET", "HEAD"}, "/v1/callbacks/cb_1/resend": {"POST"},
	"/v1/callbacks/cb_1/retry-now": {"POST"}, "/v1/callbacks/resend": {"POST"},
	"/v1/callbacks/cb_1/attempts/1/curl": {"GET", "HEAD"},
	"/v1/checks":                         {"GET", "HEAD", "POST"}, "/v1/checks/chk_1": {"GET", "HEAD"},
	"/v1/merchants": {"GET", "HEAD"}, "/v1/payments": {"GET", "HEAD"}, "/v1/simulate": {"POST"},
	// the dashboard
	"/": {"GET", "HEAD"}, "/checks": {"GET", "HEAD"}, "/simulate": {"GET", "HEAD"}, "/login": {"POST"}, "/logout": {"POST"},
	"/assets/app.js": {"GET", "HEAD"}, "/favicon.ico": {"GET", "HEAD"},
}

// TestMethodNotAllowedListsEveryMethod: on every route, a method the path
// does not take gets a JSON 405 whose Allow lists every method it takes
// (PUT /cinetpay/payment/{token}: GET, HEAD, POST), and a literal path
// beside a wildcard one is its own resource: GET /v1/callbacks/resend is a
// 405, not a 404 for a callback named "resend".
func TestMethodNotAllowedListsEveryMethod(t *testing.T) {
	sim := simtest.Start(t)
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	for path, allow := range routeTable {
		for _, m := range methods {
			resp := sim.Do(m, path, nil, "Authorization", "Bearer "+simtest.AdminToken)
			if slices.Contains(allow, m) {
				if resp.Status == http.StatusMethodNotAllowed {
					t.Errorf("%s %s: 405 (Allow %q), but the route takes %s", m, path, resp.Header.Get("Allow"), m)
				}
				continue
			}
			if resp.Status != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != strings.Join(allow, ", ") {
				t.Errorf("%s %s: %d, Allow %q; want 405, Allow %q", m, path, resp.Status, resp.Header.Get("Allow"), strings.Join(allow, ", "))
				continue
			}
			if m != "HEAD" {
				var body struct{ Error string }
				resp.JSON(t, &body)
				if !strings.Contains(body.Error, "not allowed") {
					t.Errorf("%s %s: body %s, want a JSON error saying the method is not allowed", m, path, resp.Body)
				}
			}
		}
	}
	if resp := sim.Do("GET", "/v1/no-such-thing", nil, "Authorization", "Bearer "+simtest.AdminToken); resp.Status != http.StatusNotFound {
		t.Errorf("GET of an unknown path: %d, want 404", resp.Status)
	}
}
