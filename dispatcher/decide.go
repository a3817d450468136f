package dispatcher

import (
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/scheduler"
)

// attemptEnd is what decide needs to know of an attempt that was sent.
type attemptEnd struct {
	verdict Verdict
	kind    store.Kind
	from    store.Status // the callback's status before the attempt
	tries   int          // automatic attempts made before this one
	due     *time.Time   // when this attempt was due (the callback's next attempt); nil when none was set
	start   time.Time    // when the attempt started
	noRetry bool         // the callback is never retried (store.Callback.NoRetry: a handler check's)
	end     time.Time    // when the answer (or the error) came
	// summary says what happened, for the error asynq logs, e.g.
	// "callback cb_1: attempt retry answered 500".
	summary string
}

// failed is the attempt as the retry policy sees it.
func (e attemptEnd) failed() scheduler.Failed {
	f := scheduler.Failed{Start: e.start, End: e.end}
	if e.due != nil {
		f.Due = *e.due // a first attempt's (a held one) is not used: its start anchors
	}
	return f
}

// decision is what follows an attempt: the outcome recorded on it, the
// change to its callback, and what asynq is told.
type decision struct {
	outcome store.Outcome
	to      store.Status // the callback's status after the attempt (from when it stays)
	// keepNext leaves the next automatic attempt as it is; otherwise next
	// replaces it (nil: none).
	keepNext  bool
	next      *time.Time
	countsTry bool
	// err is nil when the task is done (asynq marks it completed), a
	// *scheduler.DueError for a retry at its time, or an error wrapping
	// asynq.SkipRetry for a callback's permanent end: the task shows as
	// archived.
	err error
}

// update is the store's record of the decision about attempt a, made on a
// callback in status from.
func (d decision) update(a store.Attempt, from store.Status) store.Update {
	return store.Update{Attempt: a, From: from, To: d.to, KeepNext: d.keepNext, Next: d.next, CountsTry: d.countsTry}
}

// decide is the one place that says what follows an attempt. An automatic
// attempt follows the retry policy: delivered, rejected (a stop code),
// retried when the policy says (scheduler.Policy.RetryAt), or failed when
// no retry is left (or the callback takes none: noRetry) or the target is
// forbidden. A manual resend never touches the schedule;
// it moves the callback only when it delivers or is rejected, and a
// failure leaves the status as it was. A duplicate changes nothing in the
// callback.
//
// asynq's archive holds one task per failed or rejected callback: its
// automatic one (the task id is the callback's). An automatic attempt that
// fails or rejects the callback archives its task (SkipRetry); a manual or
// a duplicate one completes whatever its outcome, which its attempt
// records, since an archived resend of a failed callback would count it
// twice. A manual attempt that settles the callback leaves the automatic
// task to Settler.
//
// decide is pure: it reads nothing but its arguments.
func decide(e attemptEnd, retry scheduler.Policy) decision {
	outcome := e.verdict.Outcome
	switch e.kind {
	case store.Automatic:
		d := decision{outcome: outcome, countsTry: true}
		switch outcome {
		case store.OutcomeDelivered:
			d.to = store.StatusDelivered
			return d
		case store.OutcomeRejected:
			d.to = store.StatusRejected
			return d.stop(e)
		case store.OutcomeRetry:
			if at, ok := retry.RetryAt(e.tries+1, e.failed()); ok && !e.noRetry {
				d.to, d.next = store.StatusRetrying, &at
				d.err = &scheduler.DueError{At: at, Err: errors.New(e.summary)}
				return d
			}
		}
		d.outcome, d.to = store.OutcomeFailed, store.StatusFailed
		return d.stop(e)
	case store.Manual:
		d := decision{outcome: outcome}
		switch outcome {
		case store.OutcomeDelivered:
			d.to = store.StatusDelivered
		case store.OutcomeRejected:
			d.to = store.StatusRejected
		default:
			d.outcome, d.to, d.keepNext = store.OutcomeFailed, e.from, true
		}
		return d
	case store.Duplicate:
		d := decision{outcome: outcome, to: e.from, keepNext: true}
		if outcome == store.OutcomeRetry {
			d.outcome = store.OutcomeFailed // a copy is never retried
		}
		return d
	}
	panic(fmt.Sprintf("dispatcher: attempt kind %d", e.kind)) // Kind has three values; Decode refuses others
}

// stop ends the callback's automatic task for good: asynq archives it and
// does not retry it.
func (d decision) stop(e attemptEnd) decision {
	d.err = fmt.Errorf("dispatcher: %s: %w", e.summary, asynq.SkipRetry)
	return d
}
