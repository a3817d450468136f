package scheduler

import "time"

// Timing says how early a task is handed over before its due time and how
// long it may wait for it. asynq keeps due times in whole seconds and moves
// due tasks on a poll, so on its own it starts a task up to a second early
// or several seconds late; callbacksim hands a task over a little early and
// the dispatcher waits for the exact instant. Every figure derives from the
// workers' poll interval, in NewTiming, the one place that knows how they
// fit together.
type Timing struct {
	// ForwardInterval is how often asynq moves the due tasks of its
	// scheduled and retry sets to the pending list (its
	// DelayedTaskCheckInterval). The Waker moves retries and early tasks on
	// time without it, so it is slow, not to cost an idle worker: it
	// bounds how late such a task runs when the process that would have
	// woken it died.
	ForwardInterval time.Duration
	// EnqueueLead is how much earlier than its due time a held first
	// attempt (and each of its duplicates) is put in asynq's scheduled set,
	// so that asynq's whole seconds and its forwarding never make it late:
	// more than ForwardInterval.
	EnqueueLead time.Duration
	// WakeLead is how long before its due time the Waker moves a task to the
	// pending list: the time a pending task takes to reach a worker (up to
	// one and a half poll intervals when the workers are idle).
	WakeLead time.Duration
	// Hold is how long an automatic task that reaches a worker before its
	// due time waits there; one that is earlier still goes back to the
	// queue, to be woken at its time. It covers the wake lead twice over.
	Hold time.Duration
	// DuplicateWait is how long a duplicate, which cannot go back to the
	// queue, may wait in its worker: asynq hands a scheduled task over up to
	// a second (its whole seconds) and EnqueueLead early, and a second more
	// on a busy poll.
	DuplicateWait time.Duration
}

// Bounds of the timing.
const (
	// forwardInterval is Timing.ForwardInterval.
	forwardInterval = time.Second
	// enqueueLead is Timing.EnqueueLead beyond ForwardInterval.
	enqueueLead = 150 * time.Millisecond
	// minHold is the least Timing.Hold.
	minHold = 50 * time.Millisecond
)

// NewTiming returns the timing of workers that poll for due work every
// pollInterval (worker.poll_interval).
func NewTiming(pollInterval time.Duration) Timing {
	wake := 2 * pollInterval
	lead := forwardInterval + enqueueLead
	return Timing{
		ForwardInterval: forwardInterval,
		EnqueueLead:     lead,
		WakeLead:        wake,
		Hold:            max(minHold, 2*wake),
		DuplicateWait:   2*time.Second + lead,
	}
}
