package dispatcher

import (
	"context"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// HostLimiter bounds the attempts in flight to each merchant host (host and
// port of the callback URL), so that one endpoint that never answers holds
// at most Limit workers for its timeout, and the others keep delivering.
//
// A task whose host is at its limit waits up to Wait for a slot, unless the
// host is slow: none of its attempts came back within the last Wait (and,
// for a host whose last attempt came back within Wait, its oldest attempt in
// flight has run for HostSlowAfter: a process starved of CPU for a moment
// does not make a fast host look dead). With no slot, the task goes back to
// the queue without using up a retry: for HostBusyDelay while the host is
// not slow, else until the oldest attempt in flight to that host reaches its
// timeout (at least HostBusyDelay, at most MaxHostBusyDelay away), so that a
// backlog for an endpoint that hangs does not go round the queue every
// second; and then a random part of one more timeout (at most
// MaxHostBusyDelay), so that the backlog does not come back all at once.
// It did: with 1,250 callbacks waiting for a dead endpoint, the healthy
// merchants' callbacks were held up to 300 ms at every timeout while the
// workers sent the whole backlog back to the queue.
//
// The zero value is not usable: call NewHostLimiter.
type HostLimiter struct {
	limit  int
	wait   time.Duration
	now    func() time.Time
	spread func(n time.Duration) time.Duration // a random duration in [0, n)

	mu    sync.Mutex
	hosts map[string]*hostSlots
}

type hostSlots struct {
	slots    chan struct{}
	refs     int          // users, under HostLimiter.mu: the entry goes when none is left
	flights  []flight     // the attempts in flight, under HostLimiter.mu
	lastDone atomic.Int64 // Unix nanoseconds of the last attempt that finished (or of the entry's creation)
	lastTook atomic.Int64 // how long that attempt took, in nanoseconds (0: none yet)
}

// flight is one attempt in flight: when it started and when it times out.
type flight struct{ start, end time.Time }

// DefaultHostWait is how recently one of a host's attempts must have come
// back for the host to count as answering.
const DefaultHostWait = 100 * time.Millisecond

// HostSlowAfter is how long a host's oldest attempt in flight must have run,
// with nothing coming back, for the host to count as slow.
const HostSlowAfter = time.Second

// NewHostLimiter returns a limiter of limit attempts in flight per host,
// whose tasks wait up to wait for a slot of a host whose attempts come back.
// now is the clock (nil: time.Now).
func NewHostLimiter(limit int, wait time.Duration, now func() time.Time) *HostLimiter {
	if now == nil {
		now = time.Now
	}
	return &HostLimiter{limit: max(limit, 1), wait: wait, now: now, spread: rand.N[time.Duration], hosts: map[string]*hostSlots{}}
}

// HostBusyDelay and MaxHostBusyDelay bound how long an attempt to a
// saturated host waits in the queue before it tries again: until the first
// attempt in flight to it times out (asynq rounds it up to a whole second).
const (
	HostBusyDelay    = time.Second
	MaxHostBusyDelay = 30 * time.Second
)

// Acquire takes a slot of the host of rawURL for an attempt that gives up
// after timeout, and returns the function that gives the slot back; or,
// when the host is saturated by attempts that do not come back, a nil
// release and how long to wait before trying again. It fails only when ctx
// ends.
func (l *HostLimiter) Acquire(ctx context.Context, rawURL string, timeout time.Duration) (release func(), retryIn time.Duration, err error) {
	key := hostKey(rawURL)
	h := l.ref(key)
	select {
	case h.slots <- struct{}{}:
		return l.releaser(key, h, timeout), 0, nil
	default:
	}
	if l.slow(h) {
		retryIn := l.parkFor(h, timeout)
		l.unref(key, h)
		return nil, retryIn, nil
	}
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return l.releaser(key, h, timeout), 0, nil
	case <-t.C:
		retryIn := HostBusyDelay
		if l.slow(h) {
			retryIn = l.parkFor(h, timeout)
		}
		l.unref(key, h)
		return nil, retryIn, nil
	case <-ctx.Done():
		l.unref(key, h)
		return nil, 0, ctx.Err()
	}
}

// slow reports whether host h is slow: nothing came back within the last
// Wait and, if its last attempt was fast, its oldest attempt in flight has
// run for HostSlowAfter.
func (l *HostLimiter) slow(h *hostSlots) bool {
	now := l.now()
	if now.Sub(time.Unix(0, h.lastDone.Load())) <= l.wait {
		return false
	}
	if took := time.Duration(h.lastTook.Load()); took == 0 || took > l.wait {
		return true // new, or its last attempt was slow itself
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range h.flights {
		if now.Sub(f.start) >= HostSlowAfter {
			return true
		}
	}
	return false
}

// parkFor is how long a task for slow host h, whose attempt would give up
// after timeout, waits in the queue: until the first attempt in flight to h
// times out, and a random part of one more timeout.
func (l *HostLimiter) parkFor(h *hostSlots, timeout time.Duration) time.Duration {
	d := l.busyDelay(h)
	if n := min(timeout, MaxHostBusyDelay); n > 0 {
		d += l.spread(n)
	}
	return d
}

// busyDelay is how long until the first attempt in flight to h times out,
// within [HostBusyDelay, MaxHostBusyDelay].
func (l *HostLimiter) busyDelay(h *hostSlots) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := MaxHostBusyDelay
	now := l.now()
	for _, f := range h.flights {
		d = min(d, f.end.Sub(now))
	}
	return max(d, HostBusyDelay)
}

// InFlight is the number of attempts in flight to the host of rawURL.
func (l *HostLimiter) InFlight(rawURL string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h, ok := l.hosts[hostKey(rawURL)]; ok {
		return len(h.slots)
	}
	return 0
}

func (l *HostLimiter) ref(key string) *hostSlots {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.hosts[key]
	if !ok {
		h = &hostSlots{slots: make(chan struct{}, l.limit)}
		h.lastDone.Store(l.now().UnixNano()) // a new host gets the benefit of the doubt
		l.hosts[key] = h
	}
	h.refs++
	return h
}

func (l *HostLimiter) unref(key string, h *hostSlots) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h.refs--; h.refs == 0 {
		delete(l.hosts, key)
	}
}

func (l *HostLimiter) releaser(key string, h *hostSlots, timeout time.Duration) func() {
	start := l.now()
	f := flight{start: start, end: start.Add(timeout)}
	l.mu.Lock()
	h.flights = append(h.flights, f)
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			done := l.now()
			h.lastDone.Store(done.UnixNano())
			h.lastTook.Store(int64(max(done.Sub(start), 1)))
			l.mu.Lock()
			if i := slices.Index(h.flights, f); i >= 0 {
				h.flights = slices.Delete(h.flights, i, i+1)
			}
			l.mu.Unlock()
			<-h.slots
			l.unref(key, h)
		})
	}
}

// hostKey is the host:port a URL connects to, lower case; the URL itself
// when it does not parse (its attempt fails anyway).
func hostKey(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return rawURL
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return host + ":" + port
}
