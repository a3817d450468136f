package httpapi

import (
	"math"
	"net/http"
	"strconv"

	"github.com/callbacksim/callbacksim/internal/ratelimit"
)

// Throttle takes one request of credential key from l. Over the limit it
// sets Retry-After on w (whole seconds, at least 1) and returns the 429
// error to answer, which each gateway writes in its own shape; nil means
// the request may go on. A nil l allows everything.
func Throttle(w http.ResponseWriter, l *ratelimit.Limiter, key string) *Error {
	ok, wait := l.Allow(key)
	if ok {
		return nil
	}
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return Errorf(http.StatusTooManyRequests,
		"rate limit exceeded: %s requests per second per credential (ratelimit.per_second); retry after %ds",
		strconv.FormatFloat(l.PerSecond(), 'f', -1, 64), secs)
}
