// Package qris plays the QRIS gateway's merchant API (PROVIDERS.md §1):
// initiate a payment, look it up, and simulate its outcome, which queues a
// JSON callback to the payment's callback_url.
package qris

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/gateway"
	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/metrics"
	"github.com/callbacksim/callbacksim/internal/queue"
	"github.com/callbacksim/callbacksim/internal/ratelimit"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
)

// Payment statuses.
const (
	StatusPending = "PENDING"
	StatusSuccess = "SUCCESS"
	StatusFailed  = "FAILED"
)

// Transaction is a simulated QRIS payment, as the API answers it.
type Transaction struct {
	TransactionID string    `json:"transaction_id"`
	OrderID       string    `json:"order_id"`
	Status        string    `json:"status"`
	Amount        int64     `json:"amount"`
	Currency      string    `json:"currency"`
	QRString      string    `json:"qr_string"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	PaidAt        string    `json:"paid_at,omitempty"`
	CallbackURL   string    `json:"callback_url"`
	CustomerName  string    `json:"customer_name,omitempty"`
	CustomerEmail string    `json:"customer_email,omitempty"`
	CustomerPhone string    `json:"customer_phone,omitempty"`
	Description   string    `json:"description,omitempty"`
	CallbackIDs   []string  `json:"callback_ids"`
}

// Gateway serves the QRIS API. Its zero value is not usable: call New.
type Gateway struct {
	merchants map[string]config.Merchant // by access token
	byID      map[string]config.Merchant
	store     *store.Store
	queue     *queue.Queue
	metrics   *metrics.Metrics
	limit     *ratelimit.Limiter
	fails     *ratelimit.Failures // wrong bearer tokens, per client
	timeScale float64
	now       func() time.Time
}

// New returns the QRIS gateway of the merchants in cfg that have a QRIS
// block; fails (nil: no limit) counts the wrong bearer tokens each client
// presents.
func New(cfg config.Config, st *store.Store, q *queue.Queue, m *metrics.Metrics, fails *ratelimit.Failures) *Gateway {
	g := &Gateway{
		merchants: map[string]config.Merchant{}, byID: map[string]config.Merchant{}, store: st, queue: q, metrics: m,
		limit: ratelimit.FromConfig(cfg.RateLimit), fails: fails, timeScale: cfg.TimeScale, now: time.Now,
	}
	for _, mc := range cfg.Merchants {
		if mc.QRIS != nil {
			g.merchants[mc.QRIS.Token] = mc
			g.byID[mc.ID] = mc
		}
	}
	return g
}

// Register adds the QRIS routes to mux.
func (g *Gateway) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/qris/initiate", g.auth(g.initiate))
	mux.HandleFunc("POST /api/qris/simulate", g.auth(g.simulate))
	mux.HandleFunc("GET /api/qris/transactions/{order_id}", g.auth(g.transaction))
}

type handler func(w http.ResponseWriter, r *http.Request, m config.Merchant) error

// auth refuses a request a browser sent cross-site, then finds the
// merchant of the Bearer token, in constant time per token; a client that
// presented too many wrong tokens gets 429 whatever it presents.
func (g *Gateway) auth(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := httpapi.CheckSameOrigin(r); err != nil {
			httpapi.WriteError(w, err)
			return
		}
		token := httpapi.BearerToken(r)
		found, ok := httpapi.LookupSecret(g.merchants, token)
		if err := httpapi.Guess(w, r, g.fails, token, ok); err != nil {
			httpapi.WriteError(w, err)
			return
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="qris"`)
			httpapi.WriteError(w, httpapi.Errorf(http.StatusUnauthorized, "missing or invalid bearer token"))
			return
		}
		if err := httpapi.Throttle(w, g.limit, "qris:"+found.ID); err != nil {
			httpapi.WriteError(w, err)
			return
		}
		if err := h(w, r, found); err != nil {
			httpapi.WriteError(w, err)
		}
	}
}

// initiateRequest is the body of POST /api/qris/initiate.
type initiateRequest struct {
	Amount        json.RawMessage `json:"amount"`
	OrderID       string          `json:"order_id"`
	CallbackURL   string          `json:"callback_url"`
	CustomerName  string          `json:"customer_name"`
	CustomerEmail string          `json:"customer_email"`
	CustomerPhone string          `json:"customer_phone"`
	Description   string          `json:"description"`
}

const maxTextField = 255

func (req initiateRequest) validate() (int64, error) {
	if len(req.Amount) == 0 || string(req.Amount) == "null" {
		return 0, httpapi.BadField("amount", "is required: a positive integer amount in IDR")
	}
	amount, err := strconv.ParseInt(string(req.Amount), 10, 64) // a JSON string or fraction does not parse
	if err != nil || amount <= 0 {
		return 0, httpapi.BadField("amount", "must be a positive integer amount in IDR, got %s", req.Amount)
	}
	if err := validateOrderID(req.OrderID); err != nil {
		return 0, err
	}
	if req.CallbackURL == "" {
		return 0, httpapi.BadField("callback_url", "is required")
	}
	if err := config.CheckCallbackURL(req.CallbackURL); err != nil {
		return 0, httpapi.BadField("callback_url", "%v", err)
	}
	for field, v := range map[string]string{
		"customer_name": req.CustomerName, "customer_email": req.CustomerEmail,
		"customer_phone": req.CustomerPhone, "description": req.Description,
	} {
		if utf8.RuneCountInString(v) > maxTextField || !utf8.ValidString(v) {
			return 0, httpapi.BadField(field, "must be valid UTF-8 of at most %d characters", maxTextField)
		}
	}
	if req.CustomerEmail != "" && !strings.Contains(req.CustomerEmail, "@") {
		return 0, httpapi.BadField("customer_email", "must be an email address")
	}
	return amount, nil
}

func validateOrderID(id string) error {
	n := utf8.RuneCountInString(id)
	if id == "" {
		return httpapi.BadField("order_id", "is required")
	}
	if n > 64 || !utf8.ValidString(id) || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return httpapi.BadField("order_id", "must be 1 to 64 printable characters")
	}
	return nil
}

func paymentKey(merchantID, orderID string) string {
	return store.PaymentKey("qris", merchantID, orderID)
}

func (g *Gateway) initiate(w http.ResponseWriter, r *http.Request, m config.Merchant) error {
	var req initiateRequest
	if err := httpapi.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	amount, err := req.validate()
	if err != nil {
		return err
	}
	txn := g.newTransaction(m, req, amount)
	existing, err := g.createTransaction(r.Context(), m, txn)
	if errors.Is(err, store.ErrExists) {
		var prev Transaction
		if err := json.Unmarshal(existing, &prev); err != nil {
			return fmt.Errorf("qris: decode transaction: %w", err)
		}
		if !prev.sameRequest(txn) {
			return &httpapi.Error{Status: http.StatusConflict, Field: "order_id",
				Message: fmt.Sprintf("order_id %q was already initiated with a different request", req.OrderID)}
		}
		httpapi.WriteJSON(w, http.StatusOK, prev)
		return nil
	}
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, txn)
	return nil
}

// newTransaction is the pending transaction an initiation request makes.
func (g *Gateway) newTransaction(m config.Merchant, req initiateRequest, amount int64) Transaction {
	now := g.now().UTC().Truncate(time.Second)
	txn := Transaction{
		TransactionID: newTransactionID(now), OrderID: req.OrderID, Status: StatusPending,
		Amount: amount, Currency: "IDR", CreatedAt: now, UpdatedAt: now,
		CallbackURL: req.CallbackURL, CustomerName: req.CustomerName, CustomerEmail: req.CustomerEmail,
		CustomerPhone: req.CustomerPhone, Description: req.Description, CallbackIDs: []string{},
	}
	txn.QRString = qrString(m.ID, txn.TransactionID, txn.OrderID, amount)
	return txn
}

// createTransaction stores a new transaction of merchant m. When its
// order_id is taken, it returns the stored transaction and an error
// wrapping store.ErrExists.
func (g *Gateway) createTransaction(ctx context.Context, m config.Merchant, txn Transaction) ([]byte, error) {
	raw, err := json.Marshal(txn)
	if err != nil {
		return nil, fmt.Errorf("qris: encode transaction: %w", err)
	}
	existing, err := g.store.CreatePendingPayment(ctx, paymentKey(m.ID, txn.OrderID), raw, pending(m, txn))
	if err == nil {
		g.metrics.PaymentInitiated(config.QRIS)
	}
	return existing, err
}

// sameRequest reports whether two transactions were initiated with the same
// request.
func (t Transaction) sameRequest(o Transaction) bool {
	return t.OrderID == o.OrderID && t.Amount == o.Amount && t.CallbackURL == o.CallbackURL &&
		t.CustomerName == o.CustomerName && t.CustomerEmail == o.CustomerEmail &&
		t.CustomerPhone == o.CustomerPhone && t.Description == o.Description
}

func (g *Gateway) transaction(w http.ResponseWriter, r *http.Request, m config.Merchant) error {
	orderID := r.PathValue("order_id")
	if err := validateOrderID(orderID); err != nil {
		return err
	}
	raw, err := g.store.GetPayment(r.Context(), paymentKey(m.ID, orderID))
	if errors.Is(err, store.ErrNotFound) {
		return httpapi.Errorf(http.StatusNotFound, "no transaction with order_id %q", orderID)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(raw)
	return nil
}

// simulateRequest is the body of POST /api/qris/simulate.
type simulateRequest struct {
	OrderID       string           `json:"order_id"`
	Status        string           `json:"status"`
	PaymentMethod string           `json:"payment_method"`
	Scenario      gateway.Scenario `json:"scenario"`
}

func (g *Gateway) simulate(w http.ResponseWriter, r *http.Request, m config.Merchant) error {
	var req simulateRequest
	if err := httpapi.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := validateOrderID(req.OrderID); err != nil {
		return err
	}
	if req.Status != StatusSuccess && req.Status != StatusFailed {
		return httpapi.BadField("status", `must be "SUCCESS" or "FAILED", got %q`, req.Status)
	}
	method := req.PaymentMethod
	if method == "" {
		method = "QRIS"
	} else if len(method) > 32 {
		return httpapi.BadField("payment_method", "must be at most 32 characters")
	}
	if err := req.Scenario.ValidateFor(gateway.Accepts{}); err != nil {
		return err
	}

	id, err := g.complete(r.Context(), m, completion{
		orderID: req.OrderID, status: req.Status, method: method, scenario: req.Scenario,
	})
	var fe *finalError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return httpapi.Errorf(http.StatusNotFound, "no transaction with order_id %q; initiate it first", req.OrderID)
	case errors.As(err, &fe):
		return httpapi.Errorf(http.StatusConflict,
			"transaction %q is already %s; resend its callback with POST /v1/callbacks/{id}/resend", req.OrderID, fe.status)
	case err != nil:
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]string{"callback_id": id})
	return nil
}

// completion is an outcome to give an order, and how its callback goes.
type completion struct {
	orderID, status, method string
	scenario                gateway.Scenario
	// again allows an order already in status: its callback is sent once
	// more (a handler check on an order completed before).
	again bool
	check gateway.CheckDelivery
}

// finalError: an outcome asked of an order that already has another one
// (or the same, without completion.again).
type finalError struct{ status string }

func (e *finalError) Error() string { return "qris: transaction already " + e.status }

// complete gives a pending order its outcome and queues the callback that
// says so, or, for an order already in that outcome and c.again, queues
// that callback once more. It returns the callback's id.
func (g *Gateway) complete(ctx context.Context, m config.Merchant, c completion) (string, error) {
	now := g.now().UTC()
	id := store.NewID()
	key := paymentKey(m.ID, c.orderID)
	var txn Transaction
	err := g.store.UpdatePayment(ctx, key, func(old []byte) ([]byte, error) {
		if err := json.Unmarshal(old, &txn); err != nil {
			return nil, fmt.Errorf("qris: decode transaction: %w", err)
		}
		switch {
		case txn.Status == StatusPending:
			txn.Status, txn.UpdatedAt, txn.PaidAt = c.status, now.Truncate(time.Second), now.Format(time.RFC3339)
		case txn.Status != c.status || !c.again:
			return nil, &finalError{txn.Status}
		}
		txn.CallbackIDs = append(txn.CallbackIDs, id)
		return json.Marshal(txn)
	})
	if err != nil {
		return "", err
	}
	if err := g.store.ClearPending(ctx, config.QRIS, m.ID, txn.OrderID); err != nil {
		g.revert(m, key, id)
		return "", err
	}
	cb, err := g.callback(m, txn, c.status, c.method, now)
	if err != nil {
		return "", err
	}
	cb.ID = id
	c.check.Apply(cb)
	if err := g.queue.Submit(ctx, cb, c.scenario.HeldFor(g.timeScale), c.scenario.Duplicates); err != nil {
		g.revert(m, key, cb.ID)
		return "", err
	}
	return cb.ID, nil
}

// callback is the callback telling the outcome status of transaction txn,
// as made at now, before it is queued.
func (g *Gateway) callback(m config.Merchant, txn Transaction, status, method string, now time.Time) (*store.Callback, error) {
	body, err := json.Marshal(payloads.QRISCallback{
		OrderID: txn.OrderID, TransactionID: txn.TransactionID, Status: status, Amount: txn.Amount,
		Currency: txn.Currency, PaymentMethod: method, CustomerName: txn.CustomerName,
		CustomerEmail: txn.CustomerEmail, CustomerPhone: txn.CustomerPhone,
		Timestamp: now.Format(time.RFC3339), Description: cmp.Or(txn.Description, defaultDescription(txn.OrderID)),
	})
	if err != nil {
		return nil, fmt.Errorf("qris: encode callback: %w", err)
	}
	return &store.Callback{
		ID: store.NewID(), Provider: config.QRIS, MerchantID: m.ID, Reference: txn.OrderID,
		TransactionID: txn.TransactionID, Event: status, Method: http.MethodPost, URL: txn.CallbackURL, CreatedAt: now, Payload: body,
	}, nil
}

// revert takes a callback that could not be queued off its transaction,
// and puts a transaction it completed back to pending, so that the
// simulation can be sent again.
func (g *Gateway) revert(m config.Merchant, key, callbackID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var txn Transaction
	err := g.store.UpdatePayment(ctx, key, func(old []byte) ([]byte, error) {
		if err := json.Unmarshal(old, &txn); err != nil {
			return nil, err
		}
		txn.CallbackIDs = slices.DeleteFunc(txn.CallbackIDs, func(id string) bool { return id == callbackID })
		if len(txn.CallbackIDs) == 0 {
			txn.Status, txn.PaidAt = StatusPending, ""
		}
		return json.Marshal(txn)
	})
	if err == nil && txn.Status == StatusPending {
		_ = g.store.MarkPending(ctx, pending(m, txn))
	}
}

// pending is transaction txn of merchant m as the pending index has it.
func pending(m config.Merchant, txn Transaction) store.PendingPayment {
	return store.PendingPayment{Provider: config.QRIS, MerchantID: m.ID, Reference: txn.OrderID, CreatedAt: txn.CreatedAt}
}

// defaultDescription is the description of a callback whose initiation
// gave none, in the style of the gateway's example ("Payment for Order
// #12345" for ORDER-12345): the gateway's example always carries one, so a
// handler may rely on it (inferred).
func defaultDescription(orderID string) string {
	n := orderID
	if len(n) > len("ORDER-") && strings.EqualFold(n[:len("ORDER-")], "ORDER-") {
		n = n[len("ORDER-"):]
	}
	return "Payment for Order #" + n
}

// newTransactionID makes an id in the gateway's style: TXN-20240120-1A2B3C4D.
func newTransactionID(now time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "TXN-" + now.Format("20060102") + "-" + strings.ToUpper(hex.EncodeToString(b))
}
