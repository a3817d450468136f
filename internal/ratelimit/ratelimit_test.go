package ratelimit

import (
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/config"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestLimiter(perSecond float64, burst int) (*Limiter, *clock) {
	l := New(perSecond, burst)
	c := &clock{t: time.Date(2024, 1, 20, 10, 0, 0, 0, time.UTC)}
	l.now = c.now
	return l, c
}

func TestAllow(t *testing.T) {
	l, c := newTestLimiter(2, 3)
	for i := range 3 {
		if ok, _ := l.Allow("qris:shop"); !ok {
			t.Fatalf("request %d of a burst of 3 refused", i+1)
		}
	}
	ok, wait := l.Allow("qris:shop")
	if ok {
		t.Fatal("4th request of a burst of 3 allowed, want refused")
	}
	if wait != 500*time.Millisecond {
		t.Errorf("wait = %s, want 500ms (one token at 2/s)", wait)
	}
	if ok, _ := l.Allow("qris:other"); !ok {
		t.Error("another credential was refused: buckets must be per credential")
	}
	if ok, _ := l.Allow("admin"); !ok {
		t.Error("the admin token was refused: buckets must be per credential")
	}
	// A refused request takes no token: half a second later exactly one
	// request goes through.
	c.t = c.t.Add(500 * time.Millisecond)
	if ok, _ := l.Allow("qris:shop"); !ok {
		t.Fatal("request after the refill wait refused")
	}
	if ok, _ := l.Allow("qris:shop"); ok {
		t.Fatal("second request after one token's refill allowed")
	}
	c.t = c.t.Add(10 * time.Second)
	for i := range 3 {
		if ok, _ := l.Allow("qris:shop"); !ok {
			t.Fatalf("after a long pause, request %d of the burst refused", i+1)
		}
	}
}

func TestDisabled(t *testing.T) {
	for _, c := range []config.RateLimit{{PerSecond: 0, Burst: 10}, {PerSecond: -1}} {
		l := FromConfig(c)
		if l != nil {
			t.Fatalf("FromConfig(%+v) = %v, want nil (no limit)", c, l)
		}
		for range 10_000 {
			if ok, _ := l.Allow("k"); !ok {
				t.Fatalf("a nil Limiter refused a request")
			}
		}
	}
}
