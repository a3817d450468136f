package scheduler

import (
	"errors"
	"sync"
	"time"

	"github.com/hibiken/asynq"
)

// Waker runs tasks that wait in asynq's retry set at their due time, to the
// millisecond. asynq keeps that set in whole seconds, so on its own it hands
// a task over up to a second early (and the task holds a worker while it
// waits for its time) or up to a second late. With a Waker, a retry is
// parked in asynq until the whole second after its due time (see
// scheduler.RetryDelay), and a timer in this process moves it to the
// pending list Lead before it is due; should this process die, asynq still
// runs it, at most a second late.
//
// The Waker moves tasks through a TaskRunner (asynq's Inspector), so the
// scheduler knows nothing of the queue package that enqueues them.
//
// The zero value is not usable: call NewWaker.
type Waker struct {
	runner TaskRunner
	queue  string
	lead   time.Duration

	mu     sync.Mutex
	wakes  map[string]*wake
	closed bool
}

// wake is one waiting wake-up; its timer is set under Waker.mu.
type wake struct{ timer *time.Timer }

// wakeTries bounds how often a wake-up tries to move a task that is not in
// the retry set yet: the worker that scheduled it moves it there right after
// its handler returns.
const wakeTries = 6

// TaskRunner moves a task that waits in an asynq queue's scheduled or retry
// set to its pending list, and tells a task's state: the part of asynq's
// Inspector a Waker uses.
type TaskRunner interface {
	RunTask(queue, id string) error
	GetTaskInfo(queue, id string) (*asynq.TaskInfo, error)
}

var _ TaskRunner = (*asynq.Inspector)(nil)

// NewWaker returns a Waker that runs the tasks of the named asynq queue
// through runner, lead before they are due: the time a pending task takes
// to reach a worker (up to one and a half worker.poll_interval when the
// workers are idle).
func NewWaker(runner TaskRunner, queue string, lead time.Duration) *Waker {
	return &Waker{runner: runner, queue: queue, lead: lead, wakes: map[string]*wake{}}
}

// Wake makes task id run at at (minus the lead). A
// later Wake of the same task replaces the earlier one.
func (w *Waker) Wake(id string, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	if old, ok := w.wakes[id]; ok {
		old.timer.Stop()
	}
	// Never at once: the task reaches the retry set only after the handler
	// that asked for this returns.
	d := max(time.Until(at)-w.lead, time.Millisecond)
	wk := &wake{}
	w.wakes[id] = wk
	wk.timer = time.AfterFunc(d, func() { w.fire(id, wk) })
}

func (w *Waker) fire(id string, wk *wake) {
	backoff := time.Millisecond
	for try := range wakeTries {
		if w.runOnce(id) || try == wakeTries-1 {
			break
		}
		// Still active (its worker has not parked it yet), or Redis is
		// unreachable: try again shortly. asynq runs it anyway once its
		// whole second has come.
		time.Sleep(backoff)
		backoff *= 2
	}
	w.mu.Lock()
	if w.wakes[id] == wk {
		delete(w.wakes, id)
	}
	w.mu.Unlock()
}

// runOnce moves task id to pending if it waits in the scheduled or retry
// set, and reports whether the wake-up is over: the task was moved, or is
// pending, archived or gone. asynq's RunTask alone would also move an
// archived task: one that ended failed or rejected while the wake-up tried
// again would run once more, and, its callback being final, complete
// instead of staying archived.
func (w *Waker) runOnce(id string) (done bool) {
	info, err := w.runner.GetTaskInfo(w.queue, id)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return true
	case err != nil:
		return false
	}
	switch info.State {
	case asynq.TaskStateScheduled, asynq.TaskStateRetry:
	case asynq.TaskStateActive:
		return false
	default:
		return true
	}
	err = w.runner.RunTask(w.queue, id)
	// Moved, or gone meanwhile; else it became pending or active meanwhile,
	// or Redis failed: look again.
	return err == nil || errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound)
}

// Stop cancels every wake-up still waiting; asynq runs those tasks on its
// own. Wake does nothing after Stop.
func (w *Waker) Stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for id, wk := range w.wakes {
		wk.timer.Stop()
		delete(w.wakes, id)
	}
}
