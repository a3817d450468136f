package cinetpay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/gateway"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
)

// What the handler checks (internal/check) ask of CinetPay: the merchant's
// payments, as its app initialised them, or payments of the check's own;
// their notifications, delivered as a gateway.CheckDelivery says; and the
// calls the merchant made to the verification API about them.

// PaymentStatus returns the status of merchant merchantID's payment
// (PENDING, WAITING_FOR_CUSTOMER, ACCEPTED or REFUSED), or an error wrapping
// store.ErrNotFound.
func (g *Gateway) PaymentStatus(ctx context.Context, merchantID, transactionID string) (string, error) {
	_, p, err := g.payment(ctx, merchantID, transactionID)
	return p.Status, err
}

// CreatePayment initialises a pending payment as a merchant's app would,
// with its notifications going to notifyURL.
func (g *Gateway) CreatePayment(ctx context.Context, merchantID, transactionID, notifyURL string) error {
	m, ok := g.byID[merchantID]
	if !ok {
		return fmt.Errorf("cinetpay: merchant %s has no cinetpay block: %w", merchantID, store.ErrNotFound)
	}
	p, err := newPayment(m, map[string]string{
		"transaction_id": transactionID, "amount": "100", "currency": "XOF",
		"description": "Handler check payment " + transactionID, "notify_url": notifyURL,
		"return_url": notifyURL, "channels": "ALL",
	}, g.now())
	if err != nil {
		return err
	}
	return g.save(ctx, p)
}

// Complete moves a payment to status (WAITING_FOR_CUSTOMER, ACCEPTED or
// REFUSED) and queues its notification as d says; a payment already final
// in that status gets its notification once more. It returns the
// notification's callback id; a payment final in another status is an
// error.
func (g *Gateway) Complete(ctx context.Context, merchantID, transactionID, status string, d gateway.CheckDelivery) (string, error) {
	key, _, err := g.payment(ctx, merchantID, transactionID)
	if err != nil {
		return "", err
	}
	q, err := g.transition(ctx, g.byID[merchantID], key, outcome{Status: status, Again: true, Check: d})
	return q.main, err
}

// Forge queues a notification of the payment as if its status were status,
// as d says, without changing the payment: what an attacker would send (d's
// variant forges the x-token). It returns the callback's id.
func (g *Gateway) Forge(ctx context.Context, merchantID, transactionID, status string, d gateway.CheckDelivery) (string, error) {
	_, p, err := g.payment(ctx, merchantID, transactionID)
	if err != nil {
		return "", err
	}
	now := g.now().UTC()
	claimed := p
	claimed.apply(outcome{Status: status}, now)
	payload, err := json.Marshal(payloads.CinetPayNotification{Fields: g.fields(claimed, status)})
	if err != nil {
		return "", fmt.Errorf("cinetpay: encode notification: %w", err)
	}
	cb := &store.Callback{
		ID: store.NewID(), Provider: config.CinetPay, MerchantID: merchantID, Reference: p.TransactionID,
		TransactionID: p.TransactionID, Event: status, Method: http.MethodPost, URL: p.NotifyURL, CreatedAt: now, Payload: payload,
	}
	d.Apply(cb)
	if err := g.queue.Submit(ctx, cb, 0, 0); err != nil {
		return "", err
	}
	return cb.ID, nil
}

// Verifications returns when the merchant called the verification API
// (POST /v2/payment/check) about the payment, oldest first.
func (g *Gateway) Verifications(ctx context.Context, merchantID, transactionID string) ([]time.Time, error) {
	key, _, err := g.payment(ctx, merchantID, transactionID)
	if err != nil {
		return nil, err
	}
	events, err := g.store.PaymentEvents(ctx, key)
	if err != nil {
		return nil, err
	}
	var out []time.Time
	for _, raw := range events {
		var ev verificationEvent
		if json.Unmarshal(raw, &ev) == nil && !ev.At.IsZero() {
			out = append(out, ev.At)
		}
	}
	return out, nil
}

// payment loads merchant merchantID's payment by transaction id.
func (g *Gateway) payment(ctx context.Context, merchantID, transactionID string) (string, Payment, error) {
	m, ok := g.byID[merchantID]
	if !ok {
		return "", Payment{}, fmt.Errorf("cinetpay: merchant %s has no cinetpay block: %w", merchantID, store.ErrNotFound)
	}
	key := paymentKey(m.CinetPay.SiteID, transactionID)
	raw, err := g.store.GetPayment(ctx, key)
	if err != nil {
		return "", Payment{}, err
	}
	p, err := decodePayment(raw)
	return key, p, err
}
