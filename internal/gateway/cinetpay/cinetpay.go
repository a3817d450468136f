// Package cinetpay plays CinetPay's checkout API v2 (PROVIDERS.md §2):
// initialise a payment (POST /v2/payment), verify it (POST
// /v2/payment/check), pay or refuse it on a checkout page (payment_url), and
// simulate its status changes (POST /v2/simulate, callbacksim's own). Each
// status change queues a notification to the payment's notify_url: a GET
// ping, then the signed form POST.
//
// CinetPay's own endpoints take JSON and form-encoded bodies alike and
// answer in CinetPay's shape ({code, message, description, data,
// api_response_id}); /v2/simulate answers like the other simulate
// endpoints.
package cinetpay

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/metrics"
	"github.com/callbacksim/callbacksim/internal/queue"
	"github.com/callbacksim/callbacksim/internal/ratelimit"
	"github.com/callbacksim/callbacksim/internal/store"
)

// Payment statuses. A new payment is pending: CinetPay's verification
// answers it as WAITING_FOR_CUSTOMER with code 662.
const (
	StatusPending  = "PENDING"
	StatusWaiting  = "WAITING_FOR_CUSTOMER"
	StatusAccepted = "ACCEPTED"
	StatusRefused  = "REFUSED"
)

// Payment is a simulated CinetPay payment, as stored.
type Payment struct {
	MerchantID    string     `json:"merchant_id"`
	SiteID        string     `json:"site_id"`
	TransactionID string     `json:"transaction_id"`
	Token         string     `json:"payment_token"`
	Amount        int64      `json:"amount"`
	Currency      string     `json:"currency"`
	Description   string     `json:"description"`
	Metadata      *string    `json:"metadata"` // nil: none given
	NotifyURL     string     `json:"notify_url"`
	ReturnURL     string     `json:"return_url"`
	Channels      string     `json:"channels"`
	Lang          string     `json:"lang"`
	Signature     string     `json:"signature"` // the notifications' signature field
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	Status        string     `json:"status"`
	Reason        string     `json:"reason,omitempty"` // a refusal's message, e.g. TRANSACTION_CANCEL
	PaymentMethod string     `json:"payment_method,omitempty"`
	PhoneNumber   string     `json:"phone_number,omitempty"`
	PhonePrefix   string     `json:"phone_prefix,omitempty"`
	OperatorID    string     `json:"operator_id,omitempty"`
	PaidAt        *time.Time `json:"paid_at,omitempty"`
	CallbackIDs   []string   `json:"callback_ids"`
}

// Final reports whether the payment's status can no longer change.
func (p Payment) Final() bool { return p.Status == StatusAccepted || p.Status == StatusRefused }

// Gateway serves CinetPay's API. Its zero value is not usable: call New.
type Gateway struct {
	byAPIKey      map[string]config.Merchant
	byID          map[string]config.Merchant
	paymentConfig string // cpm_payment_config, in the configured letter case
	pageAction    string // cpm_page_action, likewise
	store         *store.Store
	queue         *queue.Queue
	metrics       *metrics.Metrics
	limit         *ratelimit.Limiter
	fails         *ratelimit.Failures // wrong apikeys, per client
	timeScale     float64
	now           func() time.Time
}

// checkoutPath is where payment_url points, followed by the payment token.
const checkoutPath = "/cinetpay/payment/"

// New returns the CinetPay gateway of the merchants in cfg that have a
// CinetPay block; fails (nil: no limit) counts the wrong apikeys each
// client presents.
func New(cfg config.Config, st *store.Store, q *queue.Queue, m *metrics.Metrics, fails *ratelimit.Failures) *Gateway {
	g := &Gateway{
		byAPIKey: map[string]config.Merchant{}, byID: map[string]config.Merchant{},
		paymentConfig: cfg.Providers.CinetPay.PaymentConfig, pageAction: cfg.Providers.CinetPay.PageAction,
		store: st, queue: q, metrics: m, limit: ratelimit.FromConfig(cfg.RateLimit), fails: fails, timeScale: cfg.TimeScale, now: time.Now,
	}
	for _, mc := range cfg.Merchants {
		if mc.CinetPay != nil {
			g.byAPIKey[mc.CinetPay.APIKey] = mc
			g.byID[mc.ID] = mc
		}
	}
	return g
}

// Register adds the CinetPay routes to mux.
func (g *Gateway) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /v2/payment", g.initiate)
	mux.HandleFunc("POST /v2/payment/check", g.check)
	mux.HandleFunc("/v2/payment", g.methodNotAllowed)
	mux.HandleFunc("/v2/payment/check", g.methodNotAllowed)
	mux.Handle("POST /v2/simulate", httpapi.HandlerFunc(g.simulate))
	mux.HandleFunc("GET "+checkoutPath+"{token}", g.checkoutPage)
	mux.HandleFunc("POST "+checkoutPath+"{token}", g.checkoutChoice)
}

func (g *Gateway) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", http.MethodPost)
	writeAnswer(w, http.StatusMethodNotAllowed, answer{
		Code: CodeMinimumRequired, Description: r.Method + " is not allowed here: send a POST",
	}, g.now())
}

// merchant finds the merchant of an apikey, comparing every key in constant
// time.
func (g *Gateway) merchant(w http.ResponseWriter, r *http.Request, apikey string) (config.Merchant, bool, *httpapi.Error) {
	m, ok := httpapi.LookupSecret(g.byAPIKey, apikey)
	if err := httpapi.Guess(w, r, g.fails, apikey, ok); err != nil {
		return config.Merchant{}, false, err
	}
	return m, ok, nil
}

func paymentKey(siteID, transactionID string) string {
	return store.PaymentKey("cinetpay", siteID, transactionID)
}

func tokenKey(token string) string { return "cinetpay-token:" + token }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// urlHost returns the host of an absolute URL.
func urlHost(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	return u.Host, nil
}
