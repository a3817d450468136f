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
// A task whose host is at its limit waits up to a short while (hostWait)
// for a slot, unless the host is slow: none of its attempts came back
// within that while (and, for a host whose last attempt was fast, its
// oldest attempt in flight has run for hostSlowAfter: a process starved of
// CPU for a moment does not make a fast host look dead). With no slot, the
// task goes back to the queue without using up a retry: for hostBusyDelay
// while the host is not slow, else until the oldest attempt in flight to
// that host reaches its timeout (within [hostBusyDelay, maxHostBusyDelay]),
// so that a backlog for an endpoint that hangs does not go round the queue
// every second; and then a random part of one more timeout, so that the
// backlog does not come back all at once and hold up the other merchants'
// callbacks (BENCHMARKS.md, isolation).
//
// The zero value is not usable: call NewHostLimiter.
type HostLimiter struct {
	limit  int
	wait   time.Duration
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

// Timing of the host limit.
const (
	// hostWait is how recently one of a host's attempts must have come
	// back for the host to count as answering, and how long a task waits
	// for a slot of such a host.
	hostWait = 100 * time.Millisecond
	// hostSlowAfter is how long a host's oldest attempt in flight must have
	// run, with nothing coming back, for the host to count as slow.
	hostSlowAfter = time.Second
	// hostBusyDelay and maxHostBusyDelay bound how long an attempt to a
	// saturated host waits in the queue before it tries again.
	hostBusyDelay    = time.Second
	maxHostBusyDelay = 30 * time.Second
)

// Wait is how long an attempt to a saturated host waits in the queue
// before it tries again, and why.
type Wait struct {
	In time.Duration
	// Slow: the host's attempts in flight do not come back (else they do,
	// and all its slots are taken).
	Slow bool
}

// NewHostLimiter returns a limiter of limit attempts in flight per host.
func NewHostLimiter(limit int) *HostLimiter { return newHostLimiter(limit, hostWait) }

// newHostLimiter is NewHostLimiter with tasks that wait up to wait for a
// slot of a host whose attempts come back.
func newHostLimiter(limit int, wait time.Duration) *HostLimiter {
	return &HostLimiter{limit: max(limit, 1), wait: wait, spread: rand.N[time.Duration], hosts: map[string]*hostSlots{}}
}

// Acquire takes a slot of the host of rawURL for an attempt that gives up
// after timeout, and returns the function that gives the slot back; or,
// when the host is saturated, a nil release and how long to wait before
// trying again. It fails only when ctx ends.
func (l *HostLimiter) Acquire(ctx context.Context, rawURL string, timeout time.Duration) (release func(), wait Wait, err error) {
	key := hostKey(rawURL)
	h := l.ref(key)
	select {
	case h.slots <- struct{}{}:
		return l.releaser(key, h, timeout), Wait{}, nil
	default:
	}
	if l.slow(h) {
		wait := Wait{In: l.parkFor(h, timeout), Slow: true}
		l.unref(key, h)
		return nil, wait, nil
	}
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return l.releaser(key, h, timeout), Wait{}, nil
	case <-t.C:
		wait := Wait{In: hostBusyDelay}
		if l.slow(h) {
			wait = Wait{In: l.parkFor(h, timeout), Slow: true}
		}
		l.unref(key, h)
		return nil, wait, nil
	case <-ctx.Done():
		l.unref(key, h)
		return nil, Wait{}, ctx.Err()
	}
}

// slow reports whether host h is slow: nothing came back within the last
// wait and, if its last attempt was fast, its oldest attempt in flight has
// run for hostSlowAfter.
func (l *HostLimiter) slow(h *hostSlots) bool {
	now := time.Now()
	if now.Sub(time.Unix(0, h.lastDone.Load())) <= l.wait {
		return false
	}
	if took := time.Duration(h.lastTook.Load()); took == 0 || took > l.wait {
		return true // new, or its last attempt was slow itself
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range h.flights {
		if now.Sub(f.start) >= hostSlowAfter {
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
	if n := min(timeout, maxHostBusyDelay); n > 0 {
		d += l.spread(n)
	}
	return d
}

// busyDelay is how long until the first attempt in flight to h times out,
// within [hostBusyDelay, maxHostBusyDelay].
func (l *HostLimiter) busyDelay(h *hostSlots) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := maxHostBusyDelay
	now := time.Now()
	for _, f := range h.flights {
		d = min(d, f.end.Sub(now))
	}
	return max(d, hostBusyDelay)
}

func (l *HostLimiter) ref(key string) *hostSlots {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.hosts[key]
	if !ok {
		h = &hostSlots{slots: make(chan struct{}, l.limit)}
		h.lastDone.Store(time.Now().UnixNano()) // a new host gets the benefit of the doubt
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
	start := time.Now()
	f := flight{start: start, end: start.Add(timeout)}
	l.mu.Lock()
	h.flights = append(h.flights, f)
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			done := time.Now()
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
