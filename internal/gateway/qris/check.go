package qris

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/gateway"
	"github.com/callbacksim/callbacksim/internal/store"
)

// What the handler checks (internal/check) ask of the QRIS gateway: the
// merchant's orders, as its app created them, or orders of the check's own;
// and their callbacks, delivered as a gateway.CheckDelivery says.

// PaymentStatus returns the status of merchant merchantID's order (PENDING,
// SUCCESS or FAILED), or an error wrapping store.ErrNotFound.
func (g *Gateway) PaymentStatus(ctx context.Context, merchantID, orderID string) (string, error) {
	m, err := g.merchantByID(merchantID)
	if err != nil {
		return "", err
	}
	txn, err := g.load(ctx, m, orderID)
	return txn.Status, err
}

// CreatePayment initiates a pending order as a merchant's app would, with
// its callbacks going to callbackURL.
func (g *Gateway) CreatePayment(ctx context.Context, merchantID, orderID, callbackURL string) error {
	m, err := g.merchantByID(merchantID)
	if err != nil {
		return err
	}
	txn := g.newTransaction(m, initiateRequest{
		OrderID: orderID, CallbackURL: callbackURL, CustomerName: "callbacksim check",
		CustomerEmail: "check@callbacksim.invalid", CustomerPhone: "+6281200000000",
		Description: "Handler check order " + orderID,
	}, 50000)
	_, err = g.createTransaction(ctx, m, txn)
	return err
}

// Complete gives a pending order the outcome status (SUCCESS or FAILED) and
// queues its callback as d says; an order already in that outcome gets its
// callback once more. It returns the callback's id; an order with the other
// outcome is an error.
func (g *Gateway) Complete(ctx context.Context, merchantID, orderID, status string, d gateway.CheckDelivery) (string, error) {
	m, err := g.merchantByID(merchantID)
	if err != nil {
		return "", err
	}
	return g.complete(ctx, m, completion{orderID: orderID, status: status, method: "QRIS", again: true, check: d})
}

// Forge queues a callback claiming the outcome status for an order, as d
// says, without giving the order that outcome: what an attacker would send
// (d's variant forges the signature). It returns the callback's id.
func (g *Gateway) Forge(ctx context.Context, merchantID, orderID, status string, d gateway.CheckDelivery) (string, error) {
	m, err := g.merchantByID(merchantID)
	if err != nil {
		return "", err
	}
	txn, err := g.load(ctx, m, orderID)
	if err != nil {
		return "", err
	}
	cb, err := g.callback(m, txn, status, "QRIS", g.now().UTC())
	if err != nil {
		return "", err
	}
	d.Apply(cb)
	if err := g.queue.Submit(ctx, cb, 0, 0); err != nil {
		return "", err
	}
	return cb.ID, nil
}

func (g *Gateway) merchantByID(id string) (config.Merchant, error) {
	m, ok := g.byID[id]
	if !ok {
		return config.Merchant{}, fmt.Errorf("qris: merchant %s has no qris block: %w", id, store.ErrNotFound)
	}
	return m, nil
}

// load returns merchant m's transaction of orderID.
func (g *Gateway) load(ctx context.Context, m config.Merchant, orderID string) (Transaction, error) {
	raw, err := g.store.GetPayment(ctx, paymentKey(m.ID, orderID))
	if err != nil {
		return Transaction{}, err
	}
	var txn Transaction
	if err := json.Unmarshal(raw, &txn); err != nil {
		return Transaction{}, fmt.Errorf("qris: decode transaction: %w", err)
	}
	return txn, nil
}
