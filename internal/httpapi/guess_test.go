package httpapi

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/callbacksim/callbacksim/internal/ratelimit"
)

func TestClientKey(t *testing.T) {
	for _, tt := range []struct{ remote, want string }{
		{"192.0.2.7:5555", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:5555", "192.0.2.7"},
		{"[2001:db8:1:2:aaaa::1]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:bbbb::9]:443", "2001:db8:1:2::/64"},
		{"not-an-address", "not-an-address"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tt.remote
		if got := ClientKey(r); got != tt.want {
			t.Errorf("ClientKey(%q) = %q, want %q", tt.remote, got, tt.want)
		}
	}
}

// Wrong guesses sent in parallel from one client get exactly the budget's
// number of answers (401s) and then 429s, the right credential included;
// under -race this also checks that Guess is safe for concurrent use.
func TestGuessBudgetThenLockout(t *testing.T) {
	f := ratelimit.NewFailures(5)
	var wg sync.WaitGroup
	var answered, locked atomic.Int32
	start := make(chan struct{})
	for range 200 {
		wg.Go(func() {
			<-start
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = "192.0.2.7:1234"
			w := httptest.NewRecorder()
			if err := Guess(w, r, f, "wrong", false); err == nil {
				answered.Add(1)
			} else if err.Status == http.StatusTooManyRequests && w.Header().Get("Retry-After") != "" {
				locked.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if answered.Load() != 5 || locked.Load() != 195 {
		t.Errorf("200 parallel wrong guesses, budget 5: %d answered, %d locked out (429 with Retry-After); want 5 and 195",
			answered.Load(), locked.Load())
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "192.0.2.7:1234"
	if err := Guess(httptest.NewRecorder(), r, f, "right", true); err == nil || err.Status != http.StatusTooManyRequests {
		t.Errorf("the right credential from the locked-out client: %v, want a 429", err)
	}
	if err := Guess(httptest.NewRecorder(), r, f, "", false); err != nil {
		t.Errorf("no credential from the locked-out client: %v, want no guess (nil)", err)
	}
}
