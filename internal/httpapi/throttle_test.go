package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/callbacksim/callbacksim/internal/ratelimit"
)

// throttled answers one request of credential key as callbacksim's own
// endpoints do.
func throttled(l *ratelimit.Limiter, key string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	if err := Throttle(rec, l, key); err != nil {
		WriteError(rec, err)
	}
	return rec
}

func TestThrottleAnswers429(t *testing.T) {
	l := ratelimit.New(0.25, 1)
	if rec := throttled(l, "admin"); rec.Code != http.StatusOK {
		t.Fatalf("first request answered %d, want it let through", rec.Code)
	}
	rec := throttled(l, "admin")
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("status = %d, want 429", rec.Code)
	}
	if got := rec.Header().Get("Retry-After"); got != "4" {
		t.Errorf("Retry-After = %q, want 4 (one token at 0.25/s)", got)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == "" {
		t.Errorf("body %q is not a JSON error (%v)", rec.Body, err)
	}
	if rec := throttled(l, "other"); rec.Code != http.StatusOK {
		t.Errorf("another credential answered %d, want its own bucket", rec.Code)
	}
}

func TestThrottleRetryAfterIsAtLeastOneSecond(t *testing.T) {
	l := ratelimit.New(1000, 1)
	throttled(l, "k")
	rec := throttled(l, "k")
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("second request at once answered %d, want 429", rec.Code)
	}
	if got := rec.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1 (whole seconds, rounded up)", got)
	}
}

func TestThrottleNilAllowsEverything(t *testing.T) {
	for range 1000 {
		if rec := throttled(nil, "k"); rec.Code != http.StatusOK {
			t.Fatalf("a nil limiter answered %d", rec.Code)
		}
	}
}
