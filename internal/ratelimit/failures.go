package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// MaxTrackedClients bounds how many clients Failures remembers. Past it,
// clients whose budget has refilled are forgotten first, then any.
const MaxTrackedClients = 10000

// Failures counts failed authentications per client (an IP address, or an
// IPv6 /64): each client may fail perMinute times at once, then once every
// minute/perMinute. A client out of budget is locked out until a failure
// would be allowed again. A nil *Failures never locks anyone out.
type Failures struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	clients map[string]*rate.Limiter
}

// NewFailures returns a Failures of perMinute failures per minute and
// client; perMinute <= 0 returns nil, which never locks out.
func NewFailures(perMinute int) *Failures {
	if perMinute <= 0 {
		return nil
	}
	return &Failures{limit: rate.Limit(float64(perMinute) / 60), burst: perMinute, now: time.Now, clients: map[string]*rate.Limiter{}}
}

// Wait is how long client is locked out: zero when it may present a
// credential now.
func (f *Failures) Wait(client string) time.Duration {
	if f == nil {
		return 0
	}
	now := f.now()
	f.mu.Lock()
	b, ok := f.clients[client]
	f.mu.Unlock()
	if !ok {
		return 0
	}
	tokens := b.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) / float64(f.limit) * float64(time.Second))
}

// Fail records a failed authentication of client and reports whether it
// was within the client's budget. Checking and spending are one step, so
// that parallel failures cannot all pass a Wait made before any of them was
// counted: false means the client is locked out, and the caller answers as
// to a locked-out client.
func (f *Failures) Fail(client string) bool {
	if f == nil {
		return true
	}
	now := f.now()
	f.mu.Lock()
	b, ok := f.clients[client]
	if !ok {
		if len(f.clients) >= MaxTrackedClients {
			f.forget(now)
		}
		b = rate.NewLimiter(f.limit, f.burst)
		f.clients[client] = b
	}
	f.mu.Unlock()
	return b.AllowN(now, 1)
}

// forget drops the clients whose budget is full again, and if none is,
// one arbitrary client, so that the map stays within MaxTrackedClients.
// f.mu is held.
func (f *Failures) forget(now time.Time) {
	for k, b := range f.clients {
		if b.TokensAt(now) >= float64(f.burst) {
			delete(f.clients, k)
		}
	}
	for k := range f.clients {
		if len(f.clients) < MaxTrackedClients {
			break
		}
		delete(f.clients, k)
	}
}

// PerMinute is the sustained number of failures allowed per client.
func (f *Failures) PerMinute() int { return f.burst }
