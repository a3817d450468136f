// Package scheduler decides when callbacks are attempted: each provider's
// retry policy (the delay before retry n, and when to give up), scaled by
// the simulator's time scale, and the glue that hands those delays to asynq.
package scheduler

import (
	"slices"
	"time"
)

// Policy is a retry schedule: Delay(n) is the wait before the n-th retry
// (n from 1), measured from the end of the failed attempt or, for a policy
// FromFirstFailure, added up from the start of the first failed attempt
// (see RetryAt). The zero value never retries.
type Policy struct {
	schedule []time.Duration
	// fromFirstFailure anchors the schedule at the first failed attempt
	// instead of the end of each failed attempt.
	fromFirstFailure bool
}

// Scale multiplies a simulated delay by the time scale (time_scale 0.01
// turns 5 s into 50 ms). Every retry delay and simulated wait is scaled
// here; the per-attempt timeout never is.
func Scale(d time.Duration, scale float64) time.Duration {
	return time.Duration(float64(d) * scale)
}

// NewPolicy returns the policy of a configured schedule with every delay
// scaled by scale.
func NewPolicy(schedule []time.Duration, scale float64) Policy {
	scaled := make([]time.Duration, len(schedule))
	for i, d := range schedule {
		scaled[i] = Scale(d, scale)
	}
	return Policy{schedule: scaled}
}

// Delay returns the wait before retry n (1 = the first retry) and whether
// that retry happens at all: after the last delay of the schedule the
// callback has failed.
func (p Policy) Delay(n int) (time.Duration, bool) {
	if n < 1 || n > len(p.schedule) {
		return 0, false
	}
	return p.schedule[n-1], true
}

// FromFirstFailure returns p anchored at the first failed attempt: retry n
// is due at the start of the first failed attempt plus the first n delays,
// so that however long the attempts take, the last retry is due within the
// schedule's total of the first failure (Centili's "3 times during the next
// 30 minutes"). A retry is never due before the failed attempt ended.
func (p Policy) FromFirstFailure() Policy {
	p.fromFirstFailure = true
	return p
}

// Failed is an automatic attempt that failed, as RetryAt sees it.
type Failed struct {
	// Due is when the attempt was due: for a retry, the time the policy
	// gave it (or the time "retry now" moved it to); zero for a first
	// attempt, whose start anchors a policy FromFirstFailure.
	Due   time.Time
	Start time.Time
	End   time.Time
}

// RetryAt returns when retry n (1 = the first retry) is due after the
// failed attempt f, and whether that retry happens at all. By default the
// delay runs from f's end. FromFirstFailure, retry 1 is due Delay(1) after
// f started and retry n Delay(n) after retry n-1 was due, but never before
// f ended.
func (p Policy) RetryAt(n int, f Failed) (time.Time, bool) {
	d, ok := p.Delay(n)
	switch {
	case !ok:
		return time.Time{}, false
	case !p.fromFirstFailure:
		return f.End.Add(d), true
	}
	base := f.Start
	if n > 1 && !f.Due.IsZero() {
		base = f.Due
	}
	at := base.Add(d)
	if at.Before(f.End) {
		at = f.End
	}
	return at, true
}

// MaxAttempts is the number of automatic attempts a callback gets: the first
// one and one per retry.
func (p Policy) MaxAttempts() int { return len(p.schedule) + 1 }

// Schedule returns the scaled delays.
func (p Policy) Schedule() []time.Duration { return slices.Clone(p.schedule) }
