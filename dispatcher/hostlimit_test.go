package dispatcher

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// inFlight is the number of attempts in flight to the host of rawURL.
func (l *HostLimiter) inFlight(rawURL string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h, ok := l.hosts[hostKey(rawURL)]; ok {
		return len(h.slots)
	}
	return 0
}

func TestHostKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://Merchant.Example/cb", "merchant.example:80"},
		{"https://merchant.example/cb?x=1", "merchant.example:443"},
		{"http://127.0.0.1:9090/qris", "127.0.0.1:9090"},
		{"http://user:secret@merchant.example:8080/", "merchant.example:8080"},
		{"http://[::1]:9090/", "::1:9090"},
		{"::not a url", "::not a url"},
	}
	for _, tt := range tests {
		if got := hostKey(tt.in); got != tt.want {
			t.Errorf("hostKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestHostLimiter runs in a synctest bubble: time.Sleep moves the fake
// clock, and every wait is measured exactly.
func TestHostLimiter(t *testing.T) {
	ctx := context.Background()
	const url, other = "http://m.example/a", "http://m.example:80/b" // the same host

	t.Run("slots up to the limit, then freed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := newHostLimiter(2, 20*time.Millisecond)
			r1, _, _ := l.Acquire(ctx, url, time.Second)
			r2, _, _ := l.Acquire(ctx, other, time.Second)
			if r1 == nil || r2 == nil || l.inFlight(url) != 2 {
				t.Fatalf("two acquires: %v %v, in flight %d", r1 != nil, r2 != nil, l.inFlight(url))
			}
			if r, _, _ := l.Acquire(ctx, "http://elsewhere.example/", time.Second); r == nil {
				t.Error("another host is not limited by this one")
			} else {
				r()
			}
			r1()
			r1() // twice is once
			r2()
			if n := l.inFlight(url); n != 0 {
				t.Errorf("in flight after release = %d", n)
			}
			if len(l.hosts) != 0 {
				t.Errorf("%d host entries left", len(l.hosts))
			}
		})
	})

	t.Run("a host whose attempts come back: wait for a slot", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := newHostLimiter(1, time.Second)
			r1, _, _ := l.Acquire(ctx, url, time.Second)
			go func() { time.Sleep(20 * time.Millisecond); r1() }()
			start := time.Now()
			r2, wait, err := l.Acquire(ctx, url, time.Second)
			if r2 == nil || err != nil {
				t.Fatalf("second acquire = release %v, retry in %s, %v; want a slot", r2 != nil, wait.In, err)
			}
			if waited := time.Since(start); waited != 20*time.Millisecond {
				t.Errorf("got the slot after %s, want as soon as it was freed (20ms)", waited)
			}
			r2()
		})
	})

	// halfSpread makes the random part of a parked task's delay half of
	// its bound.
	halfSpread := func(l *HostLimiter) *HostLimiter {
		l.spread = func(n time.Duration) time.Duration { return n / 2 }
		return l
	}

	t.Run("a host whose attempts do not come back: back to the queue until one times out, and part of a timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := halfSpread(newHostLimiter(2, 50*time.Millisecond))
			r1, _, _ := l.Acquire(ctx, url, 10*time.Second)
			time.Sleep(time.Second)
			r2, _, _ := l.Acquire(ctx, url, 10*time.Second)
			time.Sleep(2 * time.Second) // nothing came back for 3 s
			start := time.Now()
			r3, wait, err := l.Acquire(ctx, url, 10*time.Second)
			if r3 != nil || err != nil || wait != (Wait{In: 12 * time.Second, Slow: true}) {
				t.Errorf("third acquire = release %v, wait %+v, %v; want none, 12s as a slow host (7s until the first times out, then half a timeout)", r3 != nil, wait, err)
			}
			if waited := time.Since(start); waited != 0 {
				t.Errorf("a slow host's task waited %s for a slot, want none", waited)
			}
			r1()
			time.Sleep(2 * time.Second) // the first came back 2 s ago; the second times out in 6 s
			r1b, _, _ := l.Acquire(ctx, url, 10*time.Second)
			time.Sleep(time.Second)
			if r, wait, _ := l.Acquire(ctx, url, 10*time.Second); r != nil || wait.In != 10*time.Second {
				t.Errorf("acquire = release %v, retry in %s; want none, 10s", r != nil, wait.In)
			}
			r2()
			r1b()
		})
	})

	t.Run("a dead host's backlog comes back spread over a timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := newHostLimiter(1, 50*time.Millisecond)
			r, _, _ := l.Acquire(ctx, url, 10*time.Second)
			defer r()
			time.Sleep(2 * time.Second) // the attempt in flight times out in 8 s
			seconds := map[time.Duration]int{}
			for range 200 {
				_, wait, _ := l.Acquire(ctx, url, 10*time.Second)
				if wait.In < 8*time.Second || wait.In >= 18*time.Second {
					t.Fatalf("retry in %s, want within [8s, 18s)", wait.In)
				}
				seconds[wait.In.Truncate(time.Second)]++
			}
			for s := 8 * time.Second; s < 18*time.Second; s += time.Second {
				if n := seconds[s]; n == 0 || n > 60 {
					t.Errorf("%d of 200 tasks come back in second %s, want about 20 in each of [8s, 18s): %v", n, s, seconds)
				}
			}
		})
	})

	t.Run("the delay is bounded", func(t *testing.T) {
		for _, tt := range []struct {
			timeout, want time.Duration
		}{{100 * time.Millisecond, hostBusyDelay + 50*time.Millisecond}, {time.Hour, maxHostBusyDelay + maxHostBusyDelay/2}} {
			synctest.Test(t, func(t *testing.T) {
				l := halfSpread(newHostLimiter(1, 50*time.Millisecond))
				r, _, _ := l.Acquire(ctx, url, tt.timeout)
				time.Sleep(time.Second)
				if _, wait, _ := l.Acquire(ctx, url, tt.timeout); wait.In != tt.want {
					t.Errorf("timeout %s: retry in %s, want %s", tt.timeout, wait.In, tt.want)
				}
				r()
			})
		}
	})

	t.Run("a fast host is not slow before its oldest attempt has run hostSlowAfter", func(t *testing.T) {
		// A process starved of CPU sees nothing come back for a while; its
		// host's attempts are young, so the task comes back soon instead
		// of waiting for the attempts' timeout.
		synctest.Test(t, func(t *testing.T) {
			l := newHostLimiter(2, 50*time.Millisecond)
			r1, _, _ := l.Acquire(ctx, url, 10*time.Second)
			r0, _, _ := l.Acquire(ctx, url, 10*time.Second)
			time.Sleep(5 * time.Millisecond)
			r0() // a fast host
			r2, _, _ := l.Acquire(ctx, url, 10*time.Second)
			time.Sleep(200 * time.Millisecond) // nothing back for 200ms: longer than wait
			if l.slow(l.hosts[hostKey(url)]) {
				t.Error("slow after 200ms, want not before the oldest attempt has run 1s")
			}
			time.Sleep(800 * time.Millisecond)
			if !l.slow(l.hosts[hostKey(url)]) {
				t.Error("not slow after 1s with nothing back")
			}
			r1()
			r2()
		})
	})

	t.Run("a full new host: a bounded wait, then back to the queue", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := newHostLimiter(1, 30*time.Millisecond)
			r1, _, _ := l.Acquire(ctx, url, time.Minute)
			start := time.Now()
			r2, wait, _ := l.Acquire(ctx, url, time.Minute)
			if r2 != nil || wait != (Wait{In: hostBusyDelay}) {
				t.Errorf("acquire on a full new host = release %v, wait %+v; want none, %s as a busy host, not a slow one", r2 != nil, wait, hostBusyDelay)
			}
			if waited := time.Since(start); waited != 30*time.Millisecond {
				t.Errorf("gave up after %s, want a wait of 30ms for a host that may yet answer", waited)
			}
			r1()
		})
	})

	t.Run("a cancelled wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := newHostLimiter(1, time.Minute)
			r1, _, _ := l.Acquire(ctx, url, time.Minute)
			cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			if _, _, err := l.Acquire(cctx, url, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want the context's", err)
			}
			r1()
			if len(l.hosts) != 0 {
				t.Errorf("%d host entries left", len(l.hosts))
			}
		})
	})
}
