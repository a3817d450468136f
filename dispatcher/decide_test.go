package dispatcher

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/scheduler"
)

// asynqEnd is what asynq is told by a decision's error.
type asynqEnd string

const (
	endDone  asynqEnd = "done"  // nil: completed
	endRetry asynqEnd = "retry" // a *scheduler.DueError at the next attempt
	endStop  asynqEnd = "stop"  // wraps asynq.SkipRetry: archived
)

func endOf(t *testing.T, err error) asynqEnd {
	t.Helper()
	var due *scheduler.DueError
	switch {
	case err == nil:
		return endDone
	case errors.As(err, &due):
		if due.Err == nil {
			t.Errorf("a retry's DueError has no cause: asynq would not count it as a failure")
		}
		return endRetry
	case errors.Is(err, asynq.SkipRetry):
		return endStop
	}
	t.Fatalf("decision error %v is neither nil, a DueError nor SkipRetry", err)
	return ""
}

// TestDecide covers every attempt kind against every verdict outcome, with
// retries left and with none.
func TestDecide(t *testing.T) {
	policy := scheduler.NewPolicy([]time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute}, 1)
	centili := scheduler.NewPolicy([]time.Duration{10 * time.Minute, 10 * time.Minute, 10 * time.Minute}, 1).FromFirstFailure()
	end := time.Date(2024, 1, 20, 10, 30, 45, 0, time.UTC)
	start := end.Add(-8 * time.Second) // a slow attempt
	due := start.Add(-time.Millisecond)
	retryAt := func(d time.Duration) *time.Time { at := end.Add(d); return &at }
	retryAfter := func(from time.Time, d time.Duration) *time.Time { at := from.Add(d); return &at }

	type want struct {
		outcome   store.Outcome
		to        store.Status
		keepNext  bool
		next      *time.Time
		countsTry bool
		end       asynqEnd
	}
	const (
		left = 1 // tries so far: two retries are left
		none = 3 // tries so far: the schedule is used up
	)
	tests := []struct {
		name    string
		kind    store.Kind
		outcome store.Outcome // the verdict's
		from    store.Status
		tries   int
		want    want
	}{
		{"automatic delivered", store.Automatic, store.OutcomeDelivered, store.StatusRetrying, left,
			want{store.OutcomeDelivered, store.StatusDelivered, false, nil, true, endDone}},
		{"automatic delivered on its last try", store.Automatic, store.OutcomeDelivered, store.StatusRetrying, none,
			want{store.OutcomeDelivered, store.StatusDelivered, false, nil, true, endDone}},
		{"automatic rejected", store.Automatic, store.OutcomeRejected, store.StatusPending, 0,
			want{store.OutcomeRejected, store.StatusRejected, false, nil, true, endStop}},
		{"automatic rejected with none left", store.Automatic, store.OutcomeRejected, store.StatusRetrying, none,
			want{store.OutcomeRejected, store.StatusRejected, false, nil, true, endStop}},
		{"first automatic failure: retry after the first delay", store.Automatic, store.OutcomeRetry, store.StatusPending, 0,
			want{store.OutcomeRetry, store.StatusRetrying, false, retryAt(5 * time.Second), true, endRetry}},
		{"automatic failure with retries left: the next delay", store.Automatic, store.OutcomeRetry, store.StatusRetrying, left,
			want{store.OutcomeRetry, store.StatusRetrying, false, retryAt(30 * time.Second), true, endRetry}},
		{"automatic failure with none left: failed", store.Automatic, store.OutcomeRetry, store.StatusRetrying, none,
			want{store.OutcomeFailed, store.StatusFailed, false, nil, true, endStop}},
		{"automatic to a forbidden target: failed at once", store.Automatic, store.OutcomeFailed, store.StatusPending, 0,
			want{store.OutcomeFailed, store.StatusFailed, false, nil, true, endStop}},

		{"manual delivered", store.Manual, store.OutcomeDelivered, store.StatusFailed, none,
			want{store.OutcomeDelivered, store.StatusDelivered, false, nil, false, endDone}},
		{"manual delivered while a retry waits: the retry is dropped", store.Manual, store.OutcomeDelivered, store.StatusRetrying, left,
			want{store.OutcomeDelivered, store.StatusDelivered, false, nil, false, endDone}},
		{"manual rejected", store.Manual, store.OutcomeRejected, store.StatusRetrying, left,
			want{store.OutcomeRejected, store.StatusRejected, false, nil, false, endDone}},
		{"manual failure leaves a retrying callback as it was", store.Manual, store.OutcomeRetry, store.StatusRetrying, left,
			want{store.OutcomeFailed, store.StatusRetrying, true, nil, false, endDone}},
		{"manual failure leaves a failed callback failed", store.Manual, store.OutcomeRetry, store.StatusFailed, none,
			want{store.OutcomeFailed, store.StatusFailed, true, nil, false, endDone}},
		{"manual failure leaves a delivered callback delivered", store.Manual, store.OutcomeRetry, store.StatusDelivered, 1,
			want{store.OutcomeFailed, store.StatusDelivered, true, nil, false, endDone}},
		{"manual to a forbidden target", store.Manual, store.OutcomeFailed, store.StatusDelivered, 1,
			want{store.OutcomeFailed, store.StatusDelivered, true, nil, false, endDone}},

		{"duplicate delivered changes nothing", store.Duplicate, store.OutcomeDelivered, store.StatusPending, 0,
			want{store.OutcomeDelivered, store.StatusPending, true, nil, false, endDone}},
		{"duplicate rejected changes nothing", store.Duplicate, store.OutcomeRejected, store.StatusDelivered, 1,
			want{store.OutcomeRejected, store.StatusDelivered, true, nil, false, endDone}},
		{"duplicate failure is failed, not retried", store.Duplicate, store.OutcomeRetry, store.StatusRetrying, left,
			want{store.OutcomeFailed, store.StatusRetrying, true, nil, false, endDone}},
		{"duplicate failure with none left", store.Duplicate, store.OutcomeRetry, store.StatusFailed, none,
			want{store.OutcomeFailed, store.StatusFailed, true, nil, false, endDone}},
		{"duplicate to a forbidden target", store.Duplicate, store.OutcomeFailed, store.StatusPending, 0,
			want{store.OutcomeFailed, store.StatusPending, true, nil, false, endDone}},

		// Centili's policy, anchored at the first failure (the others are
		// measured from the attempt's end).
		{"centili first failure: from the attempt's start, not its end", store.Automatic, store.OutcomeRetry, store.StatusPending, 0,
			want{store.OutcomeRetry, store.StatusRetrying, false, retryAfter(start, 10*time.Minute), true, endRetry}},
		{"centili failed retry: from that retry's due time", store.Automatic, store.OutcomeRetry, store.StatusRetrying, left,
			want{store.OutcomeRetry, store.StatusRetrying, false, retryAfter(due, 10*time.Minute), true, endRetry}},
		{"centili failure with none left: failed", store.Automatic, store.OutcomeRetry, store.StatusRetrying, none,
			want{store.OutcomeFailed, store.StatusFailed, false, nil, true, endStop}},

		// A callback that takes no retry (a handler check's).
		{"no-retry automatic delivered", store.Automatic, store.OutcomeDelivered, store.StatusPending, 0,
			want{store.OutcomeDelivered, store.StatusDelivered, false, nil, true, endDone}},
		{"no-retry automatic failure: failed at once, retries left or not", store.Automatic, store.OutcomeRetry, store.StatusPending, 0,
			want{store.OutcomeFailed, store.StatusFailed, false, nil, true, endStop}},
		{"no-retry automatic rejected", store.Automatic, store.OutcomeRejected, store.StatusPending, 0,
			want{store.OutcomeRejected, store.StatusRejected, false, nil, true, endStop}},
		{"no-retry manual failure leaves the status", store.Manual, store.OutcomeRetry, store.StatusFailed, 1,
			want{store.OutcomeFailed, store.StatusFailed, true, nil, false, endDone}},
		{"no-retry duplicate failure changes nothing", store.Duplicate, store.OutcomeRetry, store.StatusDelivered, 1,
			want{store.OutcomeFailed, store.StatusDelivered, true, nil, false, endDone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy
			if strings.HasPrefix(tt.name, "centili ") {
				p = centili
			}
			d := decide(attemptEnd{
				verdict: Verdict{Outcome: tt.outcome}, kind: tt.kind, from: tt.from, tries: tt.tries,
				due: &due, start: start, end: end, noRetry: strings.HasPrefix(tt.name, "no-retry "),
				summary: "callback cb_1: answered 500",
			}, p)
			got := want{d.outcome, d.to, d.keepNext, d.next, d.countsTry, endOf(t, d.err)}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("decide (-want +got):\n%s", diff)
			}
			var due *scheduler.DueError
			if errors.As(d.err, &due) && (d.next == nil || !due.At.Equal(*d.next)) {
				t.Errorf("asynq is told to retry at %s, the store at %v", due.At, d.next)
			}
			u := d.update(store.Attempt{N: 1}, tt.from)
			if u.From != tt.from || u.To != d.to || u.KeepNext != d.keepNext || u.Next != d.next || u.CountsTry != d.countsTry {
				t.Errorf("update %+v does not carry decision %+v", u, d)
			}
		})
	}
}

// An empty schedule never retries: the first failure fails the callback.
func TestDecideWithoutRetries(t *testing.T) {
	d := decide(attemptEnd{verdict: Verdict{Outcome: store.OutcomeRetry}, kind: store.Automatic, from: store.StatusPending},
		scheduler.NewPolicy(nil, 1))
	if d.outcome != store.OutcomeFailed || d.to != store.StatusFailed || endOf(t, d.err) != endStop {
		t.Errorf("decide = %+v, want failed and stopped", d)
	}
}

// TestDecideCentiliRetriesWithinThirtyMinutes drives decide through a
// Centili callback whose every attempt takes the whole 10 s timeout:
// anchored at the first failure, the three retries start 10, 20 and 30
// minutes after the first attempt started, within Centili's 30 minutes
// however slow the attempts; measured from each attempt's end, as QRIS
// does, the third would start 30 s past the mark.
func TestDecideCentiliRetriesWithinThirtyMinutes(t *testing.T) {
	schedule := []time.Duration{10 * time.Minute, 10 * time.Minute, 10 * time.Minute}
	const slow = 10 * time.Second // every attempt times out
	first := time.Date(2024, 1, 20, 10, 0, 0, 0, time.UTC)
	// starts returns when each automatic attempt starts under policy, each
	// starting exactly when due and failing after slow.
	starts := func(policy scheduler.Policy) []time.Time {
		var (
			out   []time.Time
			due   *time.Time
			start = first
		)
		for tries := 0; ; tries++ {
			out = append(out, start)
			d := decide(attemptEnd{
				verdict: Verdict{Outcome: store.OutcomeRetry, Cause: CauseTimeout}, kind: store.Automatic,
				from: store.StatusRetrying, tries: tries, due: due, start: start, end: start.Add(slow),
				summary: "callback cb_1: no answer",
			}, policy)
			if d.next == nil {
				if d.outcome != store.OutcomeFailed || len(out) != 4 {
					t.Fatalf("after %d attempts: %+v, want failed after 4", len(out), d)
				}
				return out
			}
			due, start = d.next, *d.next
		}
	}

	got := starts(scheduler.NewPolicy(schedule, 1).FromFirstFailure())
	for i, want := range []time.Duration{0, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute} {
		if d := got[i].Sub(first); d != want {
			t.Errorf("anchored at the first failure: attempt %d starts %s after the first, want %s", i+1, d, want)
		}
	}
	if late := got[3].Sub(first); late > 30*time.Minute {
		t.Errorf("the third retry starts %s after the first failed attempt, past Centili's 30 minutes", late)
	}

	fromEnd := starts(scheduler.NewPolicy(schedule, 1))
	if d := fromEnd[3].Sub(first); d != 30*time.Minute+3*slow {
		t.Errorf("measured from each end, the third retry starts %s after the first attempt, want %s", d, 30*time.Minute+3*slow)
	}
}
