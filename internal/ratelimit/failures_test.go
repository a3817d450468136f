package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

func newTestFailures(perMinute int) (*Failures, *clock) {
	f := NewFailures(perMinute)
	c := &clock{t: time.Date(2024, 1, 20, 10, 0, 0, 0, time.UTC)}
	f.now = c.now
	return f, c
}

func TestFailuresLockOutAfterTheBudget(t *testing.T) {
	f, c := newTestFailures(10)
	for i := range 10 {
		if w := f.Wait("10.0.0.1"); w != 0 {
			t.Fatalf("before failure %d: locked out for %s, want free (budget 10)", i+1, w)
		}
		f.Fail("10.0.0.1")
	}
	if w := f.Wait("10.0.0.1"); w != 6*time.Second {
		t.Fatalf("after 10 failures: wait %s, want 6s (10 a minute)", w)
	}
	if w := f.Wait("10.0.0.2"); w != 0 {
		t.Errorf("another client is locked out for %s: budgets must be per client", w)
	}
	c.t = c.t.Add(2 * time.Second)
	if w := f.Wait("10.0.0.1"); w != 4*time.Second {
		t.Errorf("2s later: wait %s, want 4s", w)
	}
	c.t = c.t.Add(4 * time.Second)
	if w := f.Wait("10.0.0.1"); w != 0 {
		t.Fatalf("6s later: wait %s, want free for one more try", w)
	}
	f.Fail("10.0.0.1")
	if w := f.Wait("10.0.0.1"); w != 6*time.Second {
		t.Errorf("one more failure: wait %s, want 6s again", w)
	}
}

func TestFailuresStayBounded(t *testing.T) {
	f, c := newTestFailures(5)
	for i := range MaxTrackedClients {
		f.Fail(fmt.Sprint("old-", i))
	}
	c.t = c.t.Add(time.Minute) // every old budget is full again
	f.Fail("attacker")
	f.Fail("attacker")
	if n := len(f.clients); n != 1 {
		t.Errorf("%d clients tracked after the refilled ones were due to go, want 1", n)
	}
	for i := range MaxTrackedClients + 100 {
		f.Fail(fmt.Sprint("new-", i))
	}
	if n := len(f.clients); n > MaxTrackedClients {
		t.Errorf("%d clients tracked, want at most %d", n, MaxTrackedClients)
	}
}

func TestNilFailuresNeverLockOut(t *testing.T) {
	var f *Failures = NewFailures(0)
	f.Fail("x")
	if w := f.Wait("x"); w != 0 {
		t.Errorf("disabled limit locked out for %s", w)
	}
}

func TestFailReportsTheBudget(t *testing.T) {
	f, _ := newTestFailures(3)
	for i := range 3 {
		if !f.Fail("10.0.0.1") {
			t.Fatalf("failure %d of a budget of 3 reported as over it", i+1)
		}
	}
	if f.Fail("10.0.0.1") {
		t.Error("a 4th failure of a budget of 3 reported as within it")
	}
	if !(*Failures)(nil).Fail("10.0.0.1") {
		t.Error("a nil Failures (no limit) reported a failure as over the budget")
	}
}
