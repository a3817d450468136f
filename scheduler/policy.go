// Package scheduler decides when callbacks are attempted: each provider's
// retry policy (the delay before retry n, and when to give up), scaled by
// the simulator's time scale, and the glue that hands those delays to asynq.
package scheduler

import (
	"slices"
	"time"
)

// Policy is a retry schedule: Delay(n) is the wait before the n-th retry
// (n from 1), measured from the end of the failed attempt. The zero value
// never retries.
type Policy struct {
	schedule []time.Duration
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

// MaxAttempts is the number of automatic attempts a callback gets: the first
// one and one per retry.
func (p Policy) MaxAttempts() int { return len(p.schedule) + 1 }

// Schedule returns the scaled delays.
func (p Policy) Schedule() []time.Duration { return slices.Clone(p.schedule) }
