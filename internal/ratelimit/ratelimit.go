// Package ratelimit bounds how many requests each credential may make (a
// token bucket per credential, golang.org/x/time/rate, refilled at
// ratelimit.per_second up to ratelimit.burst) and how many wrong
// credentials each client may present (Failures,
// http.auth_failures_per_minute). It only counts; how a request over a
// limit is answered is the HTTP layer's business (httpapi.Throttle,
// httpapi.Guess).
package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/callbacksim/callbacksim/config"
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

// PerSecond is the sustained rate allowed per credential.
func (l *Limiter) PerSecond() float64 { return float64(l.limit) }
