package cinetpay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/gateway"
	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
)

// Statuses lists the statuses /v2/simulate takes.
var Statuses = []string{StatusAccepted, StatusRefused, StatusWaiting}

// simulateRequest is the body of POST /v2/simulate.
type simulateRequest struct {
	APIKey        string           `json:"apikey"`
	SiteID        httpapi.Text     `json:"site_id"`
	TransactionID string           `json:"transaction_id"`
	Token         string           `json:"token"`
	Status        string           `json:"status"`
	PaymentMethod string           `json:"payment_method"`
	PhoneNumber   string           `json:"phone_number"`
	PhonePrefix   string           `json:"phone_prefix"`
	Reason        string           `json:"reason"`
	Scenario      gateway.Scenario `json:"scenario"`
}

var (
	methodPattern = regexp.MustCompile(`^[A-Z0-9_]{1,32}$`)
	digits        = regexp.MustCompile(`^[0-9]+$`)
)

// outcome is a status change of a payment, from /v2/simulate or the
// checkout page.
type outcome struct {
	Status        string
	Reason        string // REFUSED only; "" = TRANSACTION_CANCEL
	PaymentMethod string // "" = the payment's, or the currency's usual one
	PhoneNumber   string
	PhonePrefix   string
	Scenario      gateway.Scenario
	// Again allows a payment whose final status is already Status: its
	// notification is sent once more (a handler check on a payment
	// completed before).
	Again bool
	// Check is how the notifications go out for a handler check.
	Check gateway.CheckDelivery
}

func (req simulateRequest) outcome() (outcome, error) {
	o := outcome{Status: req.Status, Reason: req.Reason, PaymentMethod: req.PaymentMethod,
		PhoneNumber: req.PhoneNumber, PhonePrefix: req.PhonePrefix, Scenario: req.Scenario}
	if !slices.Contains(Statuses, o.Status) {
		return o, httpapi.BadField("status", "must be one of %s, got %q", strings.Join(Statuses, ", "), o.Status)
	}
	if o.Reason != "" {
		if o.Status != StatusRefused {
			return o, httpapi.BadField("reason", "is only for status REFUSED")
		}
		if _, ok := refusalCodes[o.Reason]; !ok {
			return o, httpapi.BadField("reason", "must be PAYMENT_FAILED, INSUFFICIENT_BALANCE, OTP_CODE_ERROR or TRANSACTION_CANCEL, got %q", o.Reason)
		}
	}
	if o.PaymentMethod != "" && !methodPattern.MatchString(o.PaymentMethod) {
		return o, httpapi.BadField("payment_method", "must be 1 to 32 capital letters, digits or _ (e.g. OM, MOMO, FLOOZ)")
	}
	if o.PhoneNumber != "" && (!digits.MatchString(o.PhoneNumber) || len(o.PhoneNumber) < 6 || len(o.PhoneNumber) > 15) {
		return o, httpapi.BadField("phone_number", "must be 6 to 15 digits, without the country prefix")
	}
	if o.PhonePrefix != "" && (!digits.MatchString(o.PhonePrefix) || len(o.PhonePrefix) > 4) {
		return o, httpapi.BadField("phone_prefix", "must be a country calling code of 1 to 4 digits, e.g. 225")
	}
	if err := o.Scenario.ValidateFor(gateway.Accepts{OutOfOrder: true}); err != nil {
		return o, err
	}
	if o.Scenario.OutOfOrder && o.Status == StatusWaiting {
		return o, httpapi.BadField("scenario.out_of_order",
			"reverses a payment's WAITING_FOR_CUSTOMER notification and its final one: simulate status ACCEPTED or REFUSED with it")
	}
	return o, nil
}

// simulate serves POST /v2/simulate.
func (g *Gateway) simulate(w http.ResponseWriter, r *http.Request) error {
	if err := httpapi.CheckSameOrigin(r); err != nil {
		return err
	}
	var req simulateRequest
	if err := httpapi.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	m, ok, locked := g.merchant(w, r, req.APIKey)
	if locked != nil {
		return locked
	}
	if !ok {
		return httpapi.Errorf(http.StatusUnauthorized, "missing or unknown apikey")
	}
	if string(req.SiteID) != m.CinetPay.SiteID {
		return &httpapi.Error{Status: http.StatusUnauthorized, Field: "site_id", Message: "site_id does not belong to this apikey"}
	}
	if err := httpapi.Throttle(w, g.limit, "cinetpay:"+m.ID); err != nil {
		return err
	}
	if req.TransactionID == "" && req.Token == "" {
		return httpapi.BadField("transaction_id", "is required (or token, the payment_token)")
	}
	o, err := req.outcome()
	if err != nil {
		return err
	}
	key, _, err := g.find(r.Context(), m, req.TransactionID, req.Token)
	if errors.Is(err, store.ErrNotFound) {
		return httpapi.Errorf(http.StatusNotFound, "no transaction with this transaction_id or token on site %s; initialise it with POST /v2/payment first", m.CinetPay.SiteID)
	}
	if err != nil {
		return err
	}
	queued, err := g.transition(r.Context(), m, key, o)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, simulateAnswer{CallbackID: queued.main, CallbackIDs: queued.delivery})
	return nil
}

// simulateAnswer is the 202 answer of POST /v2/simulate.
type simulateAnswer struct {
	// CallbackID is the notification of the status asked for.
	CallbackID string `json:"callback_id"`
	// CallbackIDs are all the notifications queued, in delivery order: with
	// out_of_order, the final status first, then WAITING_FOR_CUSTOMER.
	CallbackIDs []string `json:"callback_ids"`
}

// queued are the notifications a status change queued.
type queued struct {
	main     string   // the notification of the status asked for
	delivery []string // every one, in delivery order
}

// finalError: a status change asked of a payment whose status is final.
type finalError struct{ transactionID, status string }

func (e *finalError) Error() string {
	return fmt.Sprintf("transaction %q is already %s: a final status cannot change; send its notification again with POST /v1/callbacks/{id}/resend",
		e.transactionID, e.status)
}

// transition moves the payment under key to the outcome's status and
// queues the notification of that change. With the out_of_order scenario, a
// final status reached straight from pending also queues the
// WAITING_FOR_CUSTOMER notification a push-confirmed payment sends before
// it, and the final one is delivered first; the payment's status (what the
// check API answers) is the final one from the start.
func (g *Gateway) transition(ctx context.Context, m config.Merchant, key string, o outcome) (queued, error) {
	now := g.now().UTC()
	callback := func(event string) *store.Callback {
		return &store.Callback{
			ID: store.NewID(), Provider: config.CinetPay, MerchantID: m.ID, Event: event,
			Method: http.MethodPost, CreatedAt: now,
		}
	}
	final := callback(o.Status)
	var waiting *store.Callback
	var p, prev Payment
	err := g.store.UpdatePayment(ctx, key, func(old []byte) ([]byte, error) {
		var err error
		if p, err = decodePayment(old); err != nil {
			return nil, err
		}
		again := p.Final() && o.Again && p.Status == o.Status
		if p.Final() && !again {
			return nil, &finalError{p.TransactionID, p.Status}
		}
		prev = p
		prev.CallbackIDs = slices.Clone(p.CallbackIDs)
		waiting = nil
		if o.Scenario.OutOfOrder && p.Status == StatusPending {
			waiting = callback(StatusWaiting)
			p.CallbackIDs = append(p.CallbackIDs, waiting.ID)
		}
		if !again {
			p.apply(o, now)
		}
		p.CallbackIDs = append(p.CallbackIDs, final.ID)
		return json.Marshal(p)
	})
	var fe *finalError
	switch {
	case errors.As(err, &fe):
		return queued{}, &httpapi.Error{Status: http.StatusConflict, Field: "status", Message: fe.Error()}
	case err != nil:
		return queued{}, err
	}
	if p.Final() {
		if err := g.store.ClearPending(ctx, config.CinetPay, p.MerchantID, p.TransactionID); err != nil {
			g.revert(key, final.ID, prev)
			return queued{}, err
		}
	}
	// The notifications in the order the gateway produces them.
	var cbs []*store.Callback
	if waiting != nil {
		cbs = append(cbs, waiting)
	}
	cbs = append(cbs, final)
	for _, cb := range cbs {
		payload, err := json.Marshal(payloads.CinetPayNotification{Fields: g.fields(p, cb.Event)})
		if err != nil {
			return queued{}, fmt.Errorf("cinetpay: encode notification: %w", err)
		}
		cb.URL, cb.Reference, cb.TransactionID, cb.Payload = p.NotifyURL, p.TransactionID, p.TransactionID, payload
		o.Check.Apply(cb)
	}
	plan := o.Scenario.Plan(g.timeScale)
	if err := g.queue.SubmitSequence(ctx, cbs, plan); err != nil {
		g.revert(key, final.ID, prev)
		return queued{}, err
	}
	q := queued{main: final.ID}
	for _, cb := range cbs {
		q.delivery = append(q.delivery, cb.ID)
	}
	if plan.OutOfOrder {
		slices.Reverse(q.delivery)
	}
	return q, nil
}

// apply moves the payment to the outcome's status at now.
func (p *Payment) apply(o outcome, now time.Time) {
	p.Status, p.UpdatedAt, p.Reason = o.Status, now.Truncate(time.Second), ""
	if o.Status == StatusRefused {
		p.Reason = o.Reason
		if p.Reason == "" {
			p.Reason = messages[CodeCancel]
		}
	}
	d := defaultsFor(p.Currency)
	p.PaymentMethod = firstNonEmpty(o.PaymentMethod, p.PaymentMethod, d.method)
	p.PhonePrefix = firstNonEmpty(o.PhonePrefix, p.PhonePrefix, d.prefix)
	p.PhoneNumber = firstNonEmpty(o.PhoneNumber, p.PhoneNumber)
	if p.PhoneNumber == "" {
		p.PhoneNumber = d.national()
	}
	if o.Status == StatusAccepted {
		paid := now.Truncate(time.Second)
		p.PaidAt = &paid
		p.OperatorID = operatorID(paid)
	}
}

// revert puts back the payment as it was before a status change whose
// notification could not be queued, so that the change can be made again;
// unless another change came after it.
func (g *Gateway) revert(key, callbackID string, prev Payment) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := g.store.UpdatePayment(ctx, key, func(old []byte) ([]byte, error) {
		p, err := decodePayment(old)
		if err != nil || len(p.CallbackIDs) == 0 || p.CallbackIDs[len(p.CallbackIDs)-1] != callbackID {
			return nil, errors.New("cinetpay: nothing to revert")
		}
		return json.Marshal(prev)
	})
	if err == nil && !prev.Final() {
		_ = g.store.MarkPending(ctx, prev.pending())
	}
}

// fields are the form fields of the payment's notification of status: the
// payment as it stands, telling that status.
func (g *Gateway) fields(p Payment, status string) payloads.CinetPayFields {
	msg := messages[CodeSuccess]
	switch status {
	case StatusWaiting:
		msg = messages[CodeWaitingValidate]
	case StatusRefused:
		msg = p.Reason
	}
	return payloads.CinetPayFields{
		SiteID: p.SiteID, TransID: p.TransactionID, TransDate: p.CreatedAt.UTC().Format(payloads.CinetPayDateLayout),
		Amount: strconv.FormatInt(p.Amount, 10), Currency: p.Currency, Signature: p.Signature,
		PaymentMethod: p.PaymentMethod, CelPhoneNum: p.PhoneNumber, PhonePrefixe: p.PhonePrefix,
		Language: p.Lang, Version: payloads.CinetPayVersion, PaymentConfig: g.paymentConfig,
		PageAction: g.pageAction, Custom: deref(p.Metadata), Designation: p.Description, ErrorMessage: msg,
	}
}

// currencyDefaults are the usual payment method and phone numbers of a
// currency's main market.
type currencyDefaults struct {
	method, prefix string
	lead           string // the national number's first digits
	length         int    // the national number's length
}

func (d currencyDefaults) national() string {
	var b strings.Builder
	b.WriteString(d.lead)
	for b.Len() < d.length {
		b.WriteByte(byte('0' + rand.IntN(10)))
	}
	return b.String()
}

func defaultsFor(currency string) currencyDefaults {
	switch currency {
	case "XAF": // Cameroon
		return currencyDefaults{method: "MTNCM", prefix: "237", lead: "67", length: 9}
	case "CDF", "USD": // DR Congo
		return currencyDefaults{method: "OMCD", prefix: "243", lead: "89", length: 9}
	case "GNF": // Guinea
		return currencyDefaults{method: "OMGN", prefix: "224", lead: "62", length: 9}
	}
	return currencyDefaults{method: "OM", prefix: "225", lead: "07", length: 10} // Côte d'Ivoire, XOF
}

// operatorID makes an operator transaction id in the style of CinetPay's
// examples: MP220915.2257.A76307.
func operatorID(t time.Time) string {
	return fmt.Sprintf("MP%s.%c%05d", t.UTC().Format("060102.1504"), 'A'+rand.IntN(26), rand.IntN(100000))
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
