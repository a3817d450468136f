// Package dispatcher sends callback attempts: the asynq handler that loads a
// callback, renders this attempt's requests, sends them, classifies the
// answer (Classifier), decides what follows (decide, one pure function),
// records the attempt as decided and tells asynq: nothing, a retry at the
// scheduled time, or SkipRetry for a permanent end.
package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/callbacksim/callbacksim/internal/metrics"
	"github.com/callbacksim/callbacksim/internal/queue"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
	"github.com/callbacksim/callbacksim/scheduler"
)

// ErrUnknownProvider: a callback whose provider or merchant is not in the
// configuration (any more).
var ErrUnknownProvider = errors.New("dispatcher: provider or merchant not configured")

// Policy is one provider's delivery rules.
type Policy struct {
	Retry      scheduler.Policy
	Timeout    time.Duration // per request; not scaled
	Classifier Classifier
}

// Providers gives the dispatcher each provider's rules and each merchant's
// renderer.
type Providers interface {
	Policy(provider string) (Policy, bool)
	Renderer(provider, merchantID string) (payloads.Renderer, bool)
}

// Store is the part of the callback store the dispatcher uses.
type Store interface {
	Load(ctx context.Context, id string) (*store.Callback, error)
	Record(ctx context.Context, cb *store.Callback, u store.Update) error
}

var _ Store = (*store.Store)(nil)

// Waker runs a queued task at its due time, more exactly than asynq's
// whole seconds (scheduler.Waker).
type Waker interface {
	Wake(taskID string, at time.Time)
}

var _ Waker = (*scheduler.Waker)(nil)

// Settler keeps a callback's automatic task in step with the final status
// a manual attempt gave it: archived while it is failed or rejected, gone
// once it is delivered (queue.Queue.Settle).
type Settler interface {
	Settle(ctx context.Context, id string, status store.Status) error
}

var _ Settler = (*queue.Queue)(nil)

// Dispatcher is the asynq handler of delivery tasks.
type Dispatcher struct {
	store     Store
	providers Providers
	sender    *Sender
	metrics   *metrics.Metrics
	log       *slog.Logger
	now       func() time.Time
	waker     Waker
	hosts     *HostLimiter
	timing    scheduler.Timing
	settler   Settler
}

var _ asynq.Handler = (*Dispatcher)(nil)

// Options are the dispatcher's dependencies. Now defaults to time.Now.
type Options struct {
	Store     Store
	Providers Providers
	Sender    *Sender
	Metrics   *metrics.Metrics
	Log       *slog.Logger
	Now       func() time.Time
	// Waker wakes retries and early tasks at their due time; nil leaves them
	// to asynq (up to a second late).
	Waker Waker
	// Timing bounds how long a task that comes before its due time waits
	// in its worker (Hold for an automatic one, DuplicateWait for a
	// duplicate); the zero value sends every early automatic task back to
	// the queue.
	Timing scheduler.Timing
	// Hosts bounds the attempts in flight per merchant host; nil: no bound.
	// An automatic attempt to a saturated host goes back to the queue for a
	// while, without using up a retry; manual and duplicate ones, which
	// cannot go back, are not bounded.
	Hosts *HostLimiter
	// Settler is told of every callback a manual attempt settled; nil
	// leaves asynq's archive as the automatic attempts made it.
	Settler Settler
}

// New returns a Dispatcher.
func New(o Options) *Dispatcher {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Dispatcher{
		store: o.Store, providers: o.Providers, sender: o.Sender, metrics: o.Metrics,
		log: o.Log, now: now, waker: o.Waker, hosts: o.Hosts, timing: o.Timing, settler: o.Settler,
	}
}

// ProcessTask implements asynq.Handler: one attempt of one callback. A
// task that goes back to the queue until a due time (a *scheduler.DueError:
// a retry, an early task, a saturated host) is woken at that time.
func (d *Dispatcher) ProcessTask(ctx context.Context, t *asynq.Task) error {
	err := d.process(ctx, t)
	d.wake(ctx, err)
	return err
}

func (d *Dispatcher) process(ctx context.Context, t *asynq.Task) error {
	task, err := queue.Decode(t)
	if err != nil {
		return fmt.Errorf("dispatcher: %w: %w", err, asynq.SkipRetry)
	}
	var cb *store.Callback
	err = d.whileRedisDown(ctx, func() (err error) {
		cb, err = d.store.Load(ctx, task.ID)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("dispatcher: callback %s expired or unknown: %w: %w", task.ID, err, asynq.SkipRetry)
	case err != nil:
		return err // Redis unreachable: asynq tries again soon; no retry is used up
	}
	switch task.Kind {
	case store.Automatic:
		switch {
		case cb.Status == store.StatusDelivered:
			return nil // delivered meanwhile by a manual resend
		case cb.Status.Final():
			// Rejected by a manual resend meanwhile, or run again after it
			// was archived: the task of a failed or rejected callback stays
			// archived.
			return fmt.Errorf("dispatcher: callback %s is %s already: %w", cb.ID, cb.Status, asynq.SkipRetry)
		}
		if cb.NextAttemptAt != nil {
			if err := d.waitUntil(ctx, *cb.NextAttemptAt, d.timing.Hold); err != nil {
				return err
			}
		}
	case store.Manual: // at once
	case store.Duplicate:
		if err := d.waitUntil(ctx, time.Unix(0, task.Due), d.timing.DuplicateWait); err != nil {
			return err
		}
	}
	policy, ok := d.providers.Policy(cb.Provider)
	renderer, ok2 := d.providers.Renderer(cb.Provider, cb.MerchantID)
	if !ok || !ok2 {
		return fmt.Errorf("dispatcher: callback %s (%s, merchant %s): %w: %w",
			cb.ID, cb.Provider, cb.MerchantID, ErrUnknownProvider, asynq.SkipRetry)
	}
	if d.hosts != nil && task.Kind == store.Automatic {
		release, wait, err := d.hosts.Acquire(ctx, cb.URL, policy.Timeout)
		if err != nil {
			return err
		}
		if release == nil {
			// Not a failure: no attempt was made. Woken at its time, not at
			// asynq's whole second: a dead host's backlog, spread over a
			// timeout, would come back in batches a second apart.
			reason := metrics.DeferHostBusy
			if wait.Slow {
				reason = metrics.DeferHostSlow
			}
			d.metrics.Deferred(cb.Provider, reason)
			return &scheduler.DueError{At: d.now().Add(wait.In)}
		}
		defer release()
	}
	return d.attempt(ctx, cb, task.Kind, policy, renderer)
}

// waitUntil holds an attempt until its due time, if that is at most limit
// away: the waker hands a task over a little early, and asynq up to a
// second early (a held first attempt, see scheduler.Timing). A task
// earlier than that goes back to the queue: a *scheduler.DueError.
func (d *Dispatcher) waitUntil(ctx context.Context, due time.Time, limit time.Duration) error {
	wait := due.Sub(d.now())
	if wait <= 0 {
		return nil
	}
	if wait > limit {
		return &scheduler.DueError{At: due}
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// attempt sends one attempt, records it and tells asynq what follows.
func (d *Dispatcher) attempt(ctx context.Context, cb *store.Callback, kind store.Kind, policy Policy, r payloads.Renderer) error {
	defer d.metrics.AttemptStarted(cb.Provider)()
	start := d.now()
	d.observeStart(cb, kind, start)
	reqs, err := r.Render(payloads.Notification{ID: cb.ID, URL: cb.URL, Payload: cb.Payload, At: start, Variant: cb.Variant})
	if err != nil {
		return fmt.Errorf("dispatcher: render %s: %w: %w", cb.ID, err, asynq.SkipRetry)
	}
	res := d.sender.deliver(ctx, reqs, policy.Timeout)
	end := d.now()
	verdict := policy.Classifier.Classify(res.code(), res.err())
	a := res.attempt(start, end.Sub(start), verdict.Cause)
	a.Kind = kind
	dec := decide(attemptEnd{
		verdict: verdict, kind: kind, from: cb.Status, tries: cb.Tries, due: cb.NextAttemptAt, start: start, end: end, noRetry: cb.NoRetry,
		summary: fmt.Sprintf("callback %s: %s", cb.ID, res.summary()),
	}, policy.Retry)
	a.Outcome = dec.outcome
	a.Hint = attemptHint(res, verdict.Cause, a.Outcome)
	from := cb.Status
	if err := d.whileRedisDown(ctx, func() error { return d.store.Record(ctx, cb, dec.update(a, from)) }); err != nil {
		// The attempt went out but is not recorded: asynq runs it again,
		// and the merchant may see it twice (at-least-once).
		return err
	}
	d.observe(cb, a, verdict, end, from)
	if kind == store.Manual && cb.Status != from && d.settler != nil {
		if err := d.settler.Settle(ctx, cb.ID, cb.Status); err != nil {
			d.log.Warn("the archive does not match a resent callback", "callback", cb.ID, "status", cb.Status, "error", err)
		}
	}
	return dec.err
}

// observeStart records how late an automatic attempt of cb starts: a
// retry after its scheduled time, a first attempt after the callback's
// creation or, when the scenario held it, its due time.
func (d *Dispatcher) observeStart(cb *store.Callback, kind store.Kind, start time.Time) {
	if kind != store.Automatic {
		return
	}
	switch {
	case cb.Tries > 0 && cb.NextAttemptAt != nil:
		d.metrics.RetryStarted(cb.Provider, start.Sub(*cb.NextAttemptAt))
	case cb.Tries == 0 && cb.NextAttemptAt != nil:
		d.metrics.FirstAttempt(cb.Provider, start.Sub(*cb.NextAttemptAt))
	case cb.Tries == 0:
		d.metrics.FirstAttempt(cb.Provider, start.Sub(cb.CreatedAt))
	}
}

// wake asks the waker to run the task of ctx again when err, a
// *scheduler.DueError about to go back to asynq, is due.
func (d *Dispatcher) wake(ctx context.Context, err error) {
	var due *scheduler.DueError
	if d.waker == nil || !errors.As(err, &due) {
		return
	}
	if id, ok := asynq.GetTaskID(ctx); ok {
		d.waker.Wake(id, due.At)
	}
}

// observe counts an attempt recorded on cb, which was in status from.
func (d *Dispatcher) observe(cb *store.Callback, a store.Attempt, v Verdict, end time.Time, from store.Status) {
	d.metrics.AttemptDone(cb.Provider, string(a.Outcome), v.CodeClass, time.Duration(a.DurationMS*float64(time.Millisecond)))
	d.log.Debug("attempt", "callback", cb.ID, "provider", cb.Provider, "kind", a.Kind,
		"outcome", a.Outcome, "code_class", v.CodeClass, "error", a.Error, "duration_ms", a.DurationMS)
	to := cb.Status
	if to == from || !to.Final() {
		return
	}
	if !from.Final() { // counted once, at its first final status
		d.metrics.CallbackFinished(cb.Provider, string(to), end.Sub(cb.CreatedAt), a.Kind == store.Automatic)
	}
	d.log.Info("callback finished", "callback", cb.ID, "provider", cb.Provider, "status", to, "tries", cb.Tries)
}

// Backoff bounds of whileRedisDown.
const (
	redisBackoffMin = 50 * time.Millisecond
	redisBackoffMax = time.Second
)

// whileRedisDown runs op, and again with a growing pause for as long as it
// fails only because Redis is unreachable and ctx lasts. An attempt that
// meets a Redis outage thus resumes as soon as Redis is back, instead of
// leaving its task to asynq's bookkeeping, which cannot reach Redis either;
// asynq cancels ctx when the task's lease runs out (about 30 s without
// Redis), and the task is then recovered from its lease. No retry of the
// callback is used up.
func (d *Dispatcher) whileRedisDown(ctx context.Context, op func() error) error {
	pause := redisBackoffMin
	for {
		err := op()
		if err == nil || !errors.Is(err, store.ErrUnavailable) {
			return err
		}
		d.log.Debug("redis unavailable; the attempt waits", "error", err, "pause", pause)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		pause = min(2*pause, redisBackoffMax)
	}
}

// IsFailure tells asynq which errors count as failed deliveries: an attempt
// that failed and will be retried does; a task that came early, or met an
// unreachable Redis, does not.
func IsFailure(err error) bool {
	if err == nil {
		return false
	}
	var due *scheduler.DueError
	if errors.As(err, &due) {
		return due.Err != nil
	}
	return !errors.Is(err, store.ErrUnavailable)
}
