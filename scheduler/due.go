package scheduler

import (
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// DueError asks for the task that returned it to run again at At. The
// dispatcher returns it when an attempt failed and a retry is scheduled, and
// when a task reached it before its due time.
type DueError struct {
	At  time.Time
	Err error // why; nil for a task that came early
}

// Error implements error.
func (e *DueError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("scheduler: due at %s", e.At.Format(time.RFC3339Nano))
	}
	return fmt.Sprintf("scheduler: retry at %s: %v", e.At.Format(time.RFC3339Nano), e.Err)
}

// Unwrap returns the cause.
func (e *DueError) Unwrap() error { return e.Err }

// TransientBackoff is the wait after a failure that was not the merchant's
// (Redis unreachable): no attempt was made, so no retry is used up.
const TransientBackoff = time.Second

// RetryDelay returns asynq's RetryDelayFunc for the dispatcher's errors:
// anything but a DueError runs again after TransientBackoff; a DueError
// waits in asynq's retry set until the first whole second at or after its
// due time. asynq keeps that set in whole seconds and moves a task once its
// second has begun, so rounding down would hand the task over up to a
// second early, to hold a worker while it waits. Rounded up, asynq never
// runs it early, and a Waker brings it forward to its exact time (or,
// without one, it runs up to a second late). now is the clock.
func RetryDelay(now func() time.Time) asynq.RetryDelayFunc {
	return func(_ int, err error, _ *asynq.Task) time.Duration {
		var due *DueError
		if errors.As(err, &due) {
			return max(ceilSecond(due.At).Sub(now()), 0)
		}
		return TransientBackoff
	}
}

// ceilSecond is t rounded up to a whole second.
func ceilSecond(t time.Time) time.Time {
	if s := t.Truncate(time.Second); s.Before(t) {
		return s.Add(time.Second)
	}
	return t
}
