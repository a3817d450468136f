// Package ratelimit bounds how many requests each credential may make: a
// token bucket per credential (golang.org/x/time/rate), refilled at
// ratelimit.per_second up to ratelimit.burst. A request over the limit is
// answered 429 with a JSON error and Retry-After.
package ratelimit

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/httpapi"
)

// Limiter holds one token bucket per credential. A nil *Limiter allows
// everything.
type Limiter struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// New returns a Limiter of perSecond requests per second and credential,
// with bursts of burst; perSecond <= 0 returns nil, which allows everything.
func New(perSecond float64, burst int) *Limiter {
	if perSecond <= 0 || math.IsNaN(perSecond) {
		return nil
	}
	return &Limiter{limit: rate.Limit(perSecond), burst: max(burst, 1), now: time.Now, buckets: map[string]*rate.Limiter{}}
}

// FromConfig returns the Limiter the configuration asks for.
func FromConfig(c config.RateLimit) *Limiter { return New(c.PerSecond, c.Burst) }

// Allow takes one request of credential key from its bucket. When the
// bucket is empty it takes nothing and returns false and how long until a
// request would be allowed. Keys name a credential without holding it (e.g.
// "qris:<merchant id>"): they stay few, one per configured credential.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	b, ok := l.buckets[key]
	if !ok {
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[key] = b
	}
	l.mu.Unlock()
	now := l.now()
	r := b.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Deny is Allow for an HTTP handler that answers in its own shape: over
// the limit, it sets Retry-After on w (whole seconds, at least 1) and
// returns true and the message a 429 answer should carry.
func (l *Limiter) Deny(w http.ResponseWriter, key string) (bool, string) {
	ok, wait := l.Allow(key)
	if ok {
		return false, ""
	}
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return true, fmt.Sprintf("rate limit exceeded: %s requests per second per credential (ratelimit.per_second); retry after %ds",
		strconv.FormatFloat(float64(l.limit), 'f', -1, 64), secs)
}

// Check is Deny answering callbacksim's own shape: over the limit, it
// answers 429 with Retry-After and a JSON error, and returns false.
func (l *Limiter) Check(w http.ResponseWriter, key string) bool {
	denied, msg := l.Deny(w, key)
	if denied {
		httpapi.WriteError(w, &httpapi.Error{Status: http.StatusTooManyRequests, Message: msg})
	}
	return !denied
}
