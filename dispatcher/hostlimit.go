package dispatcher

import (
	"context"
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
// A task whose host is at its limit waits for a slot if the host's attempts
// are coming back (one finished within the last Wait); if none has for that
// long, the host is slow and the task goes back to the queue at once, to try
// again later, without using up a retry: when the oldest attempt in flight
// to that host reaches its timeout (at least HostBusyDelay, at most
// MaxHostBusyDelay away), so that a backlog for an endpoint that hangs does
// not go round the queue every second.
//
// The zero value is not usable: call NewHostLimiter.
type HostLimiter struct {
	limit int
	wait  time.Duration
	now   func() time.Time

	mu    sync.Mutex
	hosts map[string]*hostSlots
}

type hostSlots struct {
	slots    chan struct{}
	refs     int          // users, under HostLimiter.mu: the entry goes when none is left
	ends     []time.Time  // when each attempt in flight times out, under HostLimiter.mu
	lastDone atomic.Int64 // Unix nanoseconds of the last attempt that finished (or of the entry's creation)
}

// DefaultHostWait is how long a task waits for a slot of a host whose
// attempts are coming back.
const DefaultHostWait = 100 * time.Millisecond

// NewHostLimiter returns a limiter of limit attempts in flight per host,
// whose tasks wait up to wait for a slot of a host whose attempts come back.
// now is the clock (nil: time.Now).
func NewHostLimiter(limit int, wait time.Duration, now func() time.Time) *HostLimiter {
	if now == nil {
		now = time.Now
	}
	return &HostLimiter{limit: max(limit, 1), wait: wait, now: now, hosts: map[string]*hostSlots{}}
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
	if l.now().Sub(time.Unix(0, h.lastDone.Load())) > l.wait {
		retryIn := l.busyDelay(h)
		l.unref(key, h)
		return nil, retryIn, nil
	}
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return l.releaser(key, h, timeout), 0, nil
	case <-t.C:
		retryIn := l.busyDelay(h)
		l.unref(key, h)
		return nil, retryIn, nil
	case <-ctx.Done():
		l.unref(key, h)
		return nil, 0, ctx.Err()
	}
}

// busyDelay is how long until the first attempt in flight to h times out,
// within [HostBusyDelay, MaxHostBusyDelay].
func (l *HostLimiter) busyDelay(h *hostSlots) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := MaxHostBusyDelay
	now := l.now()
	for _, end := range h.ends {
		d = min(d, end.Sub(now))
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
	end := l.now().Add(timeout)
	l.mu.Lock()
	h.ends = append(h.ends, end)
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			h.lastDone.Store(l.now().UnixNano())
			l.mu.Lock()
			if i := slices.Index(h.ends, end); i >= 0 {
				h.ends = slices.Delete(h.ends, i, i+1)
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
