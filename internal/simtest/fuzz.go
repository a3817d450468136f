package simtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redistest"
)

// FuzzTarget starts an API-only simulator for a fuzz target: a real Redis,
// no workers (fuzzed callback URLs are never called), no rate limit (the
// fuzzer sends thousands of requests a second).
func FuzzTarget(f *testing.F) *Sim {
	f.Helper()
	r := redistest.Start(f)
	cfg := Config(r.URL())
	cfg.RateLimit.PerSecond = 0
	return StartConfig(f, cfg, app.Roles{API: true}, r)
}

// Serve sends req to the simulator's handler without a network round trip
// and checks the answer: never a 5xx, and a 4xx is a JSON error, in
// callbacksim's shape ({"error"}) or in CinetPay's ({"code", "message"}),
// except on the pages a browser reads (the dashboard, CinetPay's checkout).
func (s *Sim) Serve(t *testing.T, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s answered %d: %s", req.Method, req.URL, rec.Code, rec.Body)
	}
	if rec.Code >= 400 && !browserPage(req.URL.Path) {
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["error"] == nil && (body["code"] == nil || body["message"] == nil) {
			t.Fatalf("%s %s answered %d without a JSON error: %q", req.Method, req.URL, rec.Code, rec.Body)
		}
	}
	return rec
}

// browserPage reports whether path is a page for a browser, whose errors
// are HTML or text.
func browserPage(path string) bool {
	return path == "/" || path == "/login" || path == "/logout" ||
		strings.HasPrefix(path, "/assets/") || strings.HasPrefix(path, "/cinetpay/payment/")
}
