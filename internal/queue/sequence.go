package queue

import (
	"context"
	"slices"
	"time"

	"github.com/callbacksim/callbacksim/internal/store"
)

// Plan says how the notifications of one simulate call are delivered. The
// zero value delivers each one at once, in order, with no copies.
type Plan struct {
	// Hold delays the first notification's first attempt (already scaled
	// by time_scale).
	Hold time.Duration
	// Duplicates sends each notification this many extra times, the same
	// request as the notification it copies.
	Duplicates int
	// OutOfOrder delivers the notifications in reverse: the last (final)
	// status first.
	OutOfOrder bool
	// Gap separates the first attempts of successive notifications (already
	// scaled), so that they reach the merchant in the intended order.
	Gap time.Duration
}

// SubmitSequence stores and queues the successive notifications of one
// payment, given in the order the gateway produced them (intermediate
// statuses first, the final one last): the n-th one delivered (from 0) is
// held for Hold + n*Gap, in that order or, with OutOfOrder, in reverse. Each
// notification is a callback of its own, with its own id, attempts and
// retries.
//
// This is the hook of the out_of_order scenario: a gateway whose simulate
// call produces several notifications (CinetPay: WAITING_FOR_CUSTOMER, then
// ACCEPTED or REFUSED) builds them all, with the same CreatedAt, and calls
// SubmitSequence with scenario.Scenario.Plan.
func (q *Queue) SubmitSequence(ctx context.Context, cbs []*store.Callback, p Plan) error {
	order := slices.Clone(cbs)
	if p.OutOfOrder {
		slices.Reverse(order)
	}
	for i, cb := range order {
		if err := q.Submit(ctx, cb, p.Hold+time.Duration(i)*p.Gap, p.Duplicates); err != nil {
			return err
		}
	}
	return nil
}
