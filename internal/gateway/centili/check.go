package centili

import (
	"context"
	"fmt"

	"github.com/callbacksim/callbacksim/internal/gateway"
	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/store"
)

// CheckNotification is a notification a handler check (internal/check)
// asks of Centili. Fields left empty get realistic values, as on POST
// /centili/simulate.
type CheckNotification struct {
	Status         string // success, failed or canceled
	EventType      string // one_off (""), opt_in, recurring_billing or opt_out
	Reference      string // the merchant's reference
	SubscriptionID string // recurring_billing and opt_out: the opt_in's
}

// Notified is the notification Notify queued (what POST /centili/simulate
// answers).
type Notified struct {
	CallbackID     string
	TransactionID  string
	SubscriptionID string
}

// Notify makes the notification n of merchant merchantID's service (and
// the subscription event it is, if any) and queues it as d says.
func (g *Gateway) Notify(ctx context.Context, merchantID string, n CheckNotification, d gateway.CheckDelivery) (Notified, error) {
	m, ok := g.byID[merchantID]
	if !ok {
		return Notified{}, fmt.Errorf("centili: merchant %s has no centili block: %w", merchantID, store.ErrNotFound)
	}
	req := simulateRequest{
		Service: m.Centili.Service, Status: n.Status, EventType: n.EventType,
		Reference: httpapi.Text(n.Reference), SubscriptionID: httpapi.Text(n.SubscriptionID),
	}
	ans, err := g.notify(ctx, m, &req, d)
	if err != nil {
		return Notified{}, err
	}
	return Notified(ans), nil
}
