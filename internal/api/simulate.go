package api

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/store"
)

// The payment simulator of the dashboard: the operator picks a merchant, a
// payment and an outcome, and the operator API does what that merchant's
// app and the gateway would: it calls the gateway's own endpoints, with
// the merchant's credentials, in process. Every rule of those endpoints
// (fields, scenario limits, a payment already final) applies as it does to
// a merchant, and their errors come back naming the simulator's fields.

// Limits of GET /v1/payments.
const (
	DefaultPaymentsLimit = 50
	MaxPaymentsLimit     = 200
)

// Merchants gives the operator API the configured merchants, for
// GET /v1/merchants and POST /v1/simulate, and returns o.
func (o *Operator) Merchants(ms []config.Merchant) *Operator {
	o.merchants = ms
	return o
}

// merchantView is a merchant as GET /v1/merchants shows it: no credential,
// no secret.
type merchantView struct {
	ID       string   `json:"id"`
	Gateways []string `json:"gateways"`
	// CentiliNotificationURL is where its Centili notifications go: set in
	// the configuration, not per payment.
	CentiliNotificationURL string `json:"centili_notification_url,omitempty"`
}

func (o *Operator) listMerchants(w http.ResponseWriter, _ *http.Request) error {
	out := make([]merchantView, 0, len(o.merchants))
	for _, m := range o.merchants {
		v := merchantView{ID: m.ID, Gateways: []string{}}
		if m.QRIS != nil {
			v.Gateways = append(v.Gateways, config.QRIS)
		}
		if m.CinetPay != nil {
			v.Gateways = append(v.Gateways, config.CinetPay)
		}
		if m.Centili != nil {
			v.Gateways = append(v.Gateways, config.Centili)
			v.CentiliNotificationURL = m.Centili.NotificationURL
		}
		out = append(out, v)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"merchants": out})
	return nil
}

// paymentsProviders are the gateways whose payments wait for an outcome:
// a Centili payment is made and ended by one simulate.
var paymentsProviders = []string{config.QRIS, config.CinetPay}

func (o *Operator) listPayments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if s := q.Get("status"); s != "pending" {
		return httpapi.BadField("status", `must be "pending" (the payments waiting for an outcome), got %q`, s)
	}
	providers := paymentsProviders
	if p := q.Get("provider"); p != "" {
		if !slices.Contains(paymentsProviders, p) {
			return httpapi.BadField("provider", "must be qris or cinetpay (a Centili payment has no pending state), got %q", p)
		}
		providers = []string{p}
	}
	limit := DefaultPaymentsLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPaymentsLimit {
			return httpapi.BadField("limit", "must be an integer from 1 to %d, got %q", MaxPaymentsLimit, s)
		}
		limit = n
	}
	all := []paymentView{}
	for _, p := range providers {
		ps, err := o.store.ListPending(r.Context(), p, q.Get("merchant_id"), limit)
		if err != nil {
			return err
		}
		for _, x := range ps {
			all = append(all, paymentView{PendingPayment: x, Status: "pending"})
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"payments": all})
	return nil
}

// paymentView is a payment as GET /v1/payments shows it.
type paymentView struct {
	store.PendingPayment
	Status string `json:"status"`
}

// simulateRequest is the body of POST /v1/simulate.
type simulateRequest struct {
	Provider   string `json:"provider"`
	MerchantID string `json:"merchant_id"`
	// Reference names the payment: a pending one, or, with Create, the
	// new one's (default: a new reference).
	Reference string         `json:"reference"`
	Create    *createPayment `json:"create"`
	Outcome   string         `json:"outcome"`
	Scenario  map[string]any `json:"scenario"`
}

// createPayment is a payment to make before its outcome.
type createPayment struct {
	CallbackURL string `json:"callback_url"`
	Amount      int64  `json:"amount"`
}

// simulateAnswer is the 202 answer of POST /v1/simulate.
type simulateAnswer struct {
	Provider    string   `json:"provider"`
	MerchantID  string   `json:"merchant_id"`
	Reference   string   `json:"reference"`
	CallbackID  string   `json:"callback_id"`
	CallbackIDs []string `json:"callback_ids"`
}

func (o *Operator) simulate(w http.ResponseWriter, r *http.Request) error {
	var req simulateRequest
	if err := httpapi.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if !slices.Contains(config.ProviderNames, req.Provider) {
		return httpapi.BadField("provider", "must be one of qris, cinetpay, centili; got %q", req.Provider)
	}
	i := slices.IndexFunc(o.merchants, func(m config.Merchant) bool { return m.ID == req.MerchantID })
	if i < 0 {
		return httpapi.BadField("merchant_id", "no merchant %q in the configuration", req.MerchantID)
	}
	m := o.merchants[i]
	if req.Outcome == "" {
		return httpapi.BadField("outcome", "is required: the status the payment ends in")
	}
	if req.Create == nil && req.Reference == "" && req.Provider != config.Centili {
		return httpapi.BadField("reference", "give a pending payment's reference, or create one")
	}
	if req.Create != nil && req.Reference == "" {
		req.Reference = "SIM-" + rand.Text()[:10]
	}
	ans := simulateAnswer{Provider: req.Provider, MerchantID: m.ID, Reference: req.Reference}
	var err error
	switch req.Provider {
	case config.QRIS:
		err = o.simulateQRIS(r, m, req, &ans)
	case config.CinetPay:
		err = o.simulateCinetPay(r, m, req, &ans)
	default:
		err = o.simulateCentili(r, m, req, &ans)
	}
	if err != nil {
		return err
	}
	if ans.CallbackIDs == nil {
		ans.CallbackIDs = []string{ans.CallbackID}
	}
	w.Header().Set("Location", "/v1/callbacks/"+url.PathEscape(ans.CallbackID))
	httpapi.WriteJSON(w, http.StatusAccepted, ans)
	return nil
}

func (o *Operator) simulateQRIS(r *http.Request, m config.Merchant, req simulateRequest, ans *simulateAnswer) error {
	if m.QRIS == nil {
		return httpapi.BadField("merchant_id", "merchant %s has no qris block in the configuration", m.ID)
	}
	auth := "Bearer " + m.QRIS.Token
	if c := req.Create; c != nil {
		body := map[string]any{"order_id": req.Reference, "amount": cmp.Or(c.Amount, 50000), "callback_url": c.CallbackURL}
		if err := o.gateway(r.Context(), "/api/qris/initiate", auth, body, fields{"order_id": "reference", "": "create."}, nil); err != nil {
			return err
		}
	}
	body := map[string]any{"order_id": req.Reference, "status": req.Outcome}
	if req.Scenario != nil {
		body["scenario"] = req.Scenario
	}
	return o.gateway(r.Context(), "/api/qris/simulate", auth, body, fields{"order_id": "reference", "status": "outcome"}, ans)
}

func (o *Operator) simulateCinetPay(r *http.Request, m config.Merchant, req simulateRequest, ans *simulateAnswer) error {
	if m.CinetPay == nil {
		return httpapi.BadField("merchant_id", "merchant %s has no cinetpay block in the configuration", m.ID)
	}
	creds := map[string]any{"apikey": m.CinetPay.APIKey, "site_id": m.CinetPay.SiteID, "transaction_id": req.Reference}
	if c := req.Create; c != nil {
		body := map[string]any{"amount": cmp.Or(c.Amount, 100), "currency": "XOF", "description": "Simulated payment " + req.Reference,
			"notify_url": c.CallbackURL, "return_url": returnURL(c.CallbackURL), "channels": "ALL"}
		for k, v := range creds {
			body[k] = v
		}
		if err := o.gateway(r.Context(), "/v2/payment", "", body, fields{"transaction_id": "reference", "notify_url": "create.callback_url", "": "create."}, nil); err != nil {
			return err
		}
	}
	body := map[string]any{"status": req.Outcome}
	for k, v := range creds {
		body[k] = v
	}
	if req.Scenario != nil {
		body["scenario"] = req.Scenario
	}
	return o.gateway(r.Context(), "/v2/simulate", "", body, fields{"transaction_id": "reference", "status": "outcome"}, ans)
}

func (o *Operator) simulateCentili(r *http.Request, m config.Merchant, req simulateRequest, ans *simulateAnswer) error {
	if m.Centili == nil {
		return httpapi.BadField("merchant_id", "merchant %s has no centili block in the configuration", m.ID)
	}
	if req.Create != nil && req.Create.CallbackURL != "" {
		return httpapi.BadField("create.callback_url", "Centili notifies the service's notification_url (%s), set in the configuration", m.Centili.NotificationURL)
	}
	body := map[string]any{"service": m.Centili.Service, "status": req.Outcome}
	if req.Reference != "" {
		body["reference"] = req.Reference
	}
	if req.Create != nil && req.Create.Amount > 0 {
		body["amount"] = req.Create.Amount
	}
	if req.Scenario != nil {
		body["scenario"] = req.Scenario
	}
	var got struct {
		CallbackID string `json:"callback_id"`
	}
	if err := o.gateway(r.Context(), "/centili/simulate", "", body, fields{"status": "outcome", "amount": "create.amount"}, &got); err != nil {
		return err
	}
	ans.CallbackID = got.CallbackID
	if ans.Reference == "" {
		if cb, err := o.store.Load(r.Context(), got.CallbackID); err == nil {
			ans.Reference = cb.Reference // the one the gateway made up
		}
	}
	return nil
}

// returnURL is where CinetPay sends the customer back after checkout: the
// sample merchant's return page on the notify URL's host.
func returnURL(notify string) string {
	u, err := url.Parse(notify)
	if err != nil || u.Host == "" {
		return notify
	}
	return u.Scheme + "://" + u.Host + "/return"
}

// fields renames the fields a gateway names in its errors to the
// simulator's; the key "" is a prefix for the others.
type fields map[string]string

func (f fields) rename(name string) string {
	if to, ok := f[name]; ok {
		return to
	}
	if name == "" || strings.HasPrefix(name, "scenario") {
		return name
	}
	return f[""] + name
}

// gateway POSTs body as JSON to a gateway endpoint of this process, with
// auth as its Authorization header when not empty, and decodes a 2xx
// answer into out (nil: ignored). An error answer comes back as an API
// error with its status and its field renamed.
func (o *Operator) gateway(ctx context.Context, path, auth string, body any, f fields, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := &recorder{header: http.Header{}}
	o.mux.ServeHTTP(rec, req)
	if rec.status >= 200 && rec.status < 300 {
		if out == nil {
			return nil
		}
		return json.Unmarshal(rec.body.Bytes(), out)
	}
	var e struct {
		Error       string `json:"error"`
		Field       string `json:"field"`
		Message     string `json:"message"`
		Description string `json:"description"`
	}
	_ = json.Unmarshal(rec.body.Bytes(), &e)
	msg := e.Error
	if msg == "" { // CinetPay's own shape: a code, a message, a description that starts with the field
		msg = strings.TrimSpace(e.Message + ": " + e.Description)
		if name, _, ok := strings.Cut(e.Description, ": "); ok && fieldName.MatchString(name) {
			e.Field = name
		}
	}
	field := ""
	if e.Field != "" {
		field = f.rename(e.Field)
	}
	status := rec.status
	if status == http.StatusUnauthorized {
		status = http.StatusBadRequest // the configured credentials: the operator's, not the caller's
		field = "merchant_id"
	}
	return &httpapi.Error{Status: status, Field: field, Message: msg}
}

// fieldName is a field as CinetPay's error descriptions begin with it.
var fieldName = regexp.MustCompile(`^[a-z_]+$`)

// recorder is the http.ResponseWriter of a call to a gateway endpoint in
// process.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}
