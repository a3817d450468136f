package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/store"
)

// TestProgress feeds trigger's progress the states a callback goes
// through: off a terminal it prints when the next attempt is due once per
// due time, a hint once, the duplicates and only then the final line; on
// a terminal the due time is a countdown rewritten in place.
func TestProgress(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	due := func(d time.Duration) *time.Time { at := t0.Add(d); return &at }
	hint := "500: your handler failed"
	a1 := store.Attempt{N: 1, At: t0, Kind: store.Automatic, Outcome: store.OutcomeRetry, Hint: hint}
	a2 := store.Attempt{N: 2, At: t0.Add(5 * time.Second), Kind: store.Automatic, Outcome: store.OutcomeRetry, Hint: hint}
	a3 := store.Attempt{N: 3, At: t0.Add(35 * time.Second), Kind: store.Automatic, Outcome: store.OutcomeDelivered}
	dup := store.Attempt{N: 4, At: t0.Add(35 * time.Second), Kind: store.Duplicate, Outcome: store.OutcomeDelivered}
	states := []store.Callback{
		{ID: "cb_1", Event: "SUCCESS", Status: store.StatusRetrying, Attempts: []store.Attempt{a1}, NextAttemptAt: due(5 * time.Second)},
		{ID: "cb_1", Event: "SUCCESS", Status: store.StatusRetrying, Attempts: []store.Attempt{a1}, NextAttemptAt: due(5 * time.Second)},
		{ID: "cb_1", Event: "SUCCESS", Status: store.StatusRetrying, Attempts: []store.Attempt{a1, a2}, NextAttemptAt: due(35 * time.Second)},
		{ID: "cb_1", Event: "SUCCESS", Status: store.StatusDelivered, Attempts: []store.Attempt{a1, a2, a3}},
		{ID: "cb_1", Event: "SUCCESS", Status: store.StatusDelivered, Attempts: []store.Attempt{a1, a2, a3, dup}},
	}
	settled := func(cb store.Callback, _ time.Time) bool { return len(cb.Attempts) == 4 } // one duplicate
	run := func(tty bool) string {
		var b bytes.Buffer
		p := &progress{w: &b, tty: tty, seen: map[string]int{}, hints: map[string]bool{},
			due: map[string]time.Time{}, final: map[string]time.Time{}, done: map[string]bool{}}
		for i, cb := range states {
			p.update(cb, t0.Add(time.Duration(i)*time.Second), settled)
			p.countdown(map[string]store.Callback{cb.ID: cb}, []string{cb.ID}, t0.Add(time.Duration(i)*time.Second))
		}
		return b.String()
	}

	plain := run(false)
	lines := strings.Split(strings.TrimSuffix(plain, "\n"), "\n")
	if got := strings.Count(plain, "next attempt"); got != 2 || strings.Contains(plain, "\r") {
		t.Errorf("plain output has %d next-attempt lines, want 2 (one per due time) and no countdown:\n%s", got, plain)
	}
	if !strings.Contains(plain, "next attempt "+clock(*due(5 * time.Second))+" (in 5s)") {
		t.Errorf("plain output does not say when the first retry is due:\n%s", plain)
	}
	if got := strings.Count(plain, "hint: "+hint); got != 1 {
		t.Errorf("the hint is printed %d times, want once:\n%s", got, plain)
	}
	if last := lines[len(lines)-1]; last != "callback cb_1 delivered after 4 attempt(s)" || !strings.Contains(lines[len(lines)-2], "duplicate") {
		t.Errorf("want the duplicate, then the final line last:\n%s", plain)
	}

	tty := run(true)
	if !strings.Contains(tty, "\r\x1b[K  next attempt "+clock(*due(5 * time.Second))+" (in 4s)") {
		t.Errorf("terminal output has no countdown rewritten in place:\n%q", tty)
	}
	if strings.Contains(tty, "\n  next attempt") {
		t.Errorf("terminal output prints next-attempt lines besides the countdown:\n%q", tty)
	}
	if !strings.Contains(tty, "\r\x1b[K  #3") || !strings.HasSuffix(tty, "duplicate  delivered  -  (0.0 ms)\ncallback cb_1 delivered after 4 attempt(s)\n") {
		t.Errorf("the countdown is not cleared before the next attempt's line, or the final line is not last:\n%q", tty)
	}
}
