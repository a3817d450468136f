// Package queue puts callbacks on the asynq queue: the first automatic
// attempt when a callback is created, a manual resend, or a retry pulled
// forward. A task carries only the callback id and the attempt's kind; the
// record in the store says everything else, so a task renders from the one
// record whenever it runs.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/scheduler"
)

// TypeDeliver is the asynq task type of a delivery.
const TypeDeliver = "callback:deliver"

// Name is the asynq queue callbacks go through.
const Name = "callbacks"

// MaxRetry is asynq's retry limit for automatic tasks. The provider's
// schedule decides when to give up; this only bounds a task that keeps
// meeting an unreachable Redis.
const MaxRetry = 10_000

// ErrNotScheduled: retry-now on a callback with no scheduled attempt.
var ErrNotScheduled = errors.New("queue: no attempt is scheduled")

// ErrBusy: retry-now while an attempt of the callback is running.
var ErrBusy = errors.New("queue: an attempt is running")

// ErrUnavailable wraps failures to reach the queue.
var ErrUnavailable = errors.New("queue: redis unavailable")

// ErrBadTask: a task payload that Decode cannot read.
var ErrBadTask = errors.New("queue: bad task payload")

// Task is the payload of a delivery task.
type Task struct {
	ID string `json:"id"`
	// Kind is the attempt's: an automatic one (omitted), a manual resend, or
	// a duplicate (scenario "duplicates"), which is sent once at Due,
	// whatever the callback's status, and changes nothing in it.
	Kind store.Kind `json:"kind,omitempty"`
	// Due is when a duplicate is sent, in Unix nanoseconds.
	Due int64 `json:"due,omitempty"`
}

// Decode reads a task's payload.
func Decode(t *asynq.Task) (Task, error) {
	var task Task
	if err := json.Unmarshal(t.Payload(), &task); err != nil || task.ID == "" {
		return Task{}, fmt.Errorf("%w: %q", ErrBadTask, t.Payload())
	}
	return task, nil
}

// Enqueuer is the part of an asynq client Queue uses.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Runner is the part of asynq's Inspector Queue uses.
type Runner interface {
	RunTask(queue, id string) error
	GetTaskInfo(queue, id string) (*asynq.TaskInfo, error)
	DeleteTask(queue, id string) error
}

var (
	_ Enqueuer = (*asynq.Client)(nil)
	_ Runner   = (*asynq.Inspector)(nil)
)

// Queue creates callbacks and queues their attempts.
type Queue struct {
	store  *store.Store
	client Enqueuer
	runner Runner
	lead   time.Duration // scheduler.Timing.EnqueueLead
}

// New returns a Queue writing records to st and tasks through client,
// handing held attempts to asynq timing.EnqueueLead before they are due.
func New(st *store.Store, client Enqueuer, runner Runner, timing scheduler.Timing) *Queue {
	return &Queue{store: st, client: client, runner: runner, lead: timing.EnqueueLead}
}

// Submit stores a new callback and queues its first attempt, held for
// hold, and the scenario's duplicates at the same time.
func (q *Queue) Submit(ctx context.Context, cb *store.Callback, hold time.Duration, duplicates int) error {
	due := cb.CreatedAt
	if hold > 0 {
		due = cb.CreatedAt.Add(hold)
		cb.NextAttemptAt = &due
	}
	if err := q.store.Create(ctx, cb); err != nil {
		return err
	}
	at := asynq.ProcessAt(due.Add(-q.lead))
	if err := q.enqueue(ctx, Task{ID: cb.ID}, asynq.TaskID(cb.ID), asynq.MaxRetry(MaxRetry), at); err != nil {
		return err
	}
	for range duplicates {
		if err := q.enqueue(ctx, Task{ID: cb.ID, Kind: store.Duplicate, Due: due.UnixNano()}, asynq.MaxRetry(0), at); err != nil {
			return err
		}
	}
	return nil
}

// Resend queues one manual attempt of callback id, now.
func (q *Queue) Resend(ctx context.Context, id string) error {
	if _, err := q.store.Load(ctx, id); err != nil {
		return err
	}
	return q.enqueue(ctx, Task{ID: id, Kind: store.Manual}, asynq.MaxRetry(0))
}

// Repeat queues one more copy of callback id's notification, now: a
// duplicate attempt, which changes nothing in the callback, as a gateway's
// repeated notification would (the handler checks send it).
func (q *Queue) Repeat(ctx context.Context, id string) error {
	if _, err := q.store.Load(ctx, id); err != nil {
		return err
	}
	return q.enqueue(ctx, Task{ID: id, Kind: store.Duplicate, Due: time.Now().UnixNano()}, asynq.MaxRetry(0))
}

// Settle brings the automatic task of callback id (the task id is the
// callback's) in step with status, the final status a manual attempt gave
// the callback, so that asynq's archive holds exactly the failed and
// rejected callbacks: an archived task of a delivered callback is deleted;
// a task still waiting in the scheduled or retry set runs now, and ends as
// the status says (the dispatcher completes a delivered callback's task,
// archives a rejected one's); a failed or rejected callback whose task is
// gone (it was delivered before) gets one again, which archives itself.
// A pending or active task ends as the status says on its own.
func (q *Queue) Settle(ctx context.Context, id string, status store.Status) error {
	info, err := q.runner.GetTaskInfo(Name, id)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		if status == store.StatusDelivered {
			return nil
		}
		err := q.enqueue(ctx, Task{ID: id}, asynq.TaskID(id), asynq.MaxRetry(MaxRetry))
		if errors.Is(err, asynq.ErrTaskIDConflict) {
			return nil // queued meanwhile
		}
		return err
	case err != nil:
		return fmt.Errorf("queue: inspect %s: %w: %w", id, ErrUnavailable, err)
	}
	switch {
	case info.State == asynq.TaskStateArchived && status == store.StatusDelivered:
		err = q.runner.DeleteTask(Name, id)
	case info.State == asynq.TaskStateScheduled, info.State == asynq.TaskStateRetry:
		err = q.runner.RunTask(Name, id)
	default:
		return nil
	}
	if err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
		return fmt.Errorf("queue: settle %s: %w: %w", id, ErrUnavailable, err)
	}
	return nil
}

// busyWait bounds how long RetryNow waits for an attempt in progress (or a
// task waiting in a worker for its due time) to end.
const busyWait = 3 * time.Second

// RetryNow runs the scheduled attempt of callback id now: a retry, or a
// first attempt held by the delay scenario. It returns ErrNotScheduled when
// none is scheduled, and ErrBusy when an attempt of the callback is still
// running after a short wait.
func (q *Queue) RetryNow(ctx context.Context, id string) error {
	cb, err := q.store.Load(ctx, id)
	if err != nil {
		return err
	}
	if cb.Status.Final() || cb.NextAttemptAt == nil {
		return ErrNotScheduled
	}
	// The automatic task's id is the callback's. While it is active (an
	// attempt is being sent, or the worker waits for its due time), moving
	// the schedule would be undone by the attempt's own record: wait for it.
	info, err := q.settledTask(ctx, id)
	if err != nil {
		return err
	}
	switch info.State {
	case asynq.TaskStateScheduled, asynq.TaskStateRetry, asynq.TaskStatePending:
	default:
		return ErrNotScheduled
	}
	ok, err := q.store.ScheduleNow(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotScheduled
	}
	if info.State == asynq.TaskStatePending {
		return nil // a worker takes it next, and it is due now
	}
	if err := q.runner.RunTask(Name, id); err != nil {
		if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
			return ErrNotScheduled
		}
		// It became pending or active meanwhile: it is running now anyway.
		if again, ierr := q.runner.GetTaskInfo(Name, id); ierr == nil &&
			(again.State == asynq.TaskStatePending || again.State == asynq.TaskStateActive) {
			return nil
		}
		return fmt.Errorf("queue: run %s: %w: %w", id, ErrUnavailable, err)
	}
	return nil
}

// settledTask returns the automatic task of callback id once it is not
// active, waiting up to busyWait.
func (q *Queue) settledTask(ctx context.Context, id string) (*asynq.TaskInfo, error) {
	deadline := time.Now().Add(busyWait)
	for {
		info, err := q.runner.GetTaskInfo(Name, id)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
			return nil, ErrNotScheduled
		case err != nil:
			return nil, fmt.Errorf("queue: inspect %s: %w: %w", id, ErrUnavailable, err)
		case info.State != asynq.TaskStateActive:
			return info, nil
		case time.Now().After(deadline):
			return nil, ErrBusy
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (q *Queue) enqueue(ctx context.Context, t Task, opts ...asynq.Option) error {
	payload, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("queue: encode task: %w", err)
	}
	opts = append(opts, asynq.Queue(Name), asynq.Timeout(10*time.Minute))
	if _, err := q.client.EnqueueContext(ctx, asynq.NewTask(TypeDeliver, payload), opts...); err != nil {
		return fmt.Errorf("queue: enqueue %s: %w: %w", t.ID, ErrUnavailable, err)
	}
	return nil
}
