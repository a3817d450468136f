package cinetpay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
)

// Currencies are the currencies CinetPay's checkout takes.
var Currencies = []string{"XOF", "XAF", "CDF", "GNF", "USD"}

// Channels are the payment universes a checkout can offer.
var Channels = []string{"ALL", "MOBILE_MONEY", "CREDIT_CARD", "WALLET"}

// requiredFields are the initialisation fields without which CinetPay
// answers 608, in the order its documentation lists them.
var requiredFields = []string{
	"apikey", "site_id", "transaction_id", "amount", "currency", "description", "notify_url", "return_url",
}

// Limits of the simulator (CinetPay documents none).
const (
	maxTransactionID = 100
	maxText          = 1000
)

// initData is the data of a successful initialisation.
type initData struct {
	PaymentToken string `json:"payment_token"`
	PaymentURL   string `json:"payment_url"`
}

// initiate serves POST /v2/payment.
func (g *Gateway) initiate(w http.ResponseWriter, r *http.Request) {
	now := g.now()
	p, err := g.createPayment(w, r, now)
	if err != nil {
		writeError(w, err, now)
		return
	}
	writeAnswer(w, http.StatusOK, answer{
		Code: CodeCreated, Description: "Transaction created with success",
		Data: initData{PaymentToken: p.Token, PaymentURL: baseURL(r) + checkoutPath + p.Token},
	}, now)
}

func (g *Gateway) createPayment(w http.ResponseWriter, r *http.Request, now time.Time) (Payment, error) {
	f, err := readFields(w, r)
	if err != nil {
		return Payment{}, err
	}
	var missing []string
	for _, name := range requiredFields {
		if strings.TrimSpace(f[name]) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return Payment{}, missingFields(missing)
	}
	m, err := g.authenticate(w, r, f["apikey"], f["site_id"])
	if err != nil {
		return Payment{}, err
	}
	if err := g.throttle(w, m); err != nil {
		return Payment{}, err
	}
	p, err := newPayment(m, f, now)
	if err != nil {
		return Payment{}, err
	}
	return p, g.save(r.Context(), p)
}

// newPayment is the pending payment of merchant m that the initialisation
// fields f make at now.
func newPayment(m config.Merchant, f map[string]string, now time.Time) (Payment, error) {
	p := Payment{
		MerchantID: m.ID, SiteID: m.CinetPay.SiteID, TransactionID: f["transaction_id"],
		Currency: f["currency"], Description: f["description"], NotifyURL: f["notify_url"],
		ReturnURL: f["return_url"], Channels: f["channels"], Lang: f["lang"],
		Signature: randomHex(20), Token: randomHex(32), Status: StatusPending,
		CreatedAt: now.UTC().Truncate(time.Second), CallbackIDs: []string{},
	}
	p.UpdatedAt = p.CreatedAt
	if meta := f["metadata"]; meta != "" {
		p.Metadata = &meta
	}
	var err error
	if p.Amount, err = parseAmount(f["amount"]); err != nil {
		return Payment{}, err
	}
	if err := p.validate(); err != nil {
		return Payment{}, err
	}
	return p, nil
}

// pending is the payment as the pending index has it.
func (p Payment) pending() store.PendingPayment {
	return store.PendingPayment{Provider: config.CinetPay, MerchantID: p.MerchantID, Reference: p.TransactionID, CreatedAt: p.CreatedAt}
}

// save stores a new payment and its token.
func (g *Gateway) save(ctx context.Context, p Payment) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("cinetpay: encode payment: %w", err)
	}
	key := paymentKey(p.SiteID, p.TransactionID)
	if _, err := g.store.CreatePendingPayment(ctx, key, raw, p.pending()); err != nil {
		if errors.Is(err, store.ErrExists) {
			return &apiError{http.StatusConflict, CodeProcessingError, fmt.Sprintf(
				"transaction_id %q is already used on site %s: every payment needs a new transaction_id", p.TransactionID, p.SiteID)}
		}
		return err
	}
	ref, _ := json.Marshal(tokenRef{SiteID: p.SiteID, TransactionID: p.TransactionID})
	if _, err := g.store.CreatePayment(ctx, tokenKey(p.Token), ref); err != nil {
		return err
	}
	g.metrics.PaymentInitiated(config.CinetPay)
	return nil
}

// authenticate finds the merchant of apikey and checks that site_id is its
// site.
func (g *Gateway) authenticate(w http.ResponseWriter, r *http.Request, apikey, siteID string) (config.Merchant, error) {
	m, ok, locked := g.merchant(w, r, apikey)
	if locked != nil {
		return config.Merchant{}, &apiError{locked.Status, CodeTooManyRequests, locked.Message}
	}
	if !ok {
		return config.Merchant{}, authNotFound("apikey is not known")
	}
	if siteID != m.CinetPay.SiteID {
		return config.Merchant{}, authNotFound(fmt.Sprintf("site_id %q does not belong to this apikey", siteID))
	}
	return m, nil
}

// parseAmount reads an integer amount, written as an integer or as a number
// without a fractional part, that is a positive multiple of 5.
func parseAmount(s string) (int64, error) {
	amount, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1e15 {
			return 0, badField("amount", "must be an integer, got %q", s)
		}
		amount = int64(f)
	}
	if amount <= 0 {
		return 0, badField("amount", "must be positive, got %d", amount)
	}
	if amount%5 != 0 {
		return 0, badField("amount", "must be a multiple of 5, got %d", amount)
	}
	return amount, nil
}

func (p *Payment) validate() error {
	if !slices.Contains(Currencies, p.Currency) {
		return badField("currency", "must be one of %s, got %q", strings.Join(Currencies, ", "), p.Currency)
	}
	if p.Channels == "" {
		p.Channels = "ALL"
	}
	for _, c := range strings.Split(p.Channels, ",") {
		if !slices.Contains(Channels, strings.TrimSpace(c)) {
			return badField("channels", "must be %s (or several, comma-separated), got %q", strings.Join(Channels, ", "), p.Channels)
		}
	}
	switch p.Lang {
	case "":
		p.Lang = "fr"
	case "fr", "en":
	default:
		return badField("lang", `must be "fr" or "en", got %q`, p.Lang)
	}
	if n := utf8.RuneCountInString(p.TransactionID); n > maxTransactionID || !printable(p.TransactionID) {
		return badField("transaction_id", "must be 1 to %d printable characters", maxTransactionID)
	}
	for _, f := range [...]struct{ name, v string }{{"description", p.Description}, {"metadata", deref(p.Metadata)}} {
		if utf8.RuneCountInString(f.v) > maxText || !utf8.ValidString(f.v) {
			return badField(f.name, "must be valid UTF-8 of at most %d characters", maxText)
		}
	}
	for _, f := range [...]struct{ name, v string }{{"notify_url", p.NotifyURL}, {"return_url", p.ReturnURL}} {
		if err := config.CheckCallbackURL(f.v); err != nil {
			return badField(f.name, "%v", err)
		}
	}
	return nil
}

func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// baseURL is the simulator's own address as the client reached it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// checkData is the data of a verification answer.
type checkData struct {
	Amount        string `json:"amount"`
	Currency      string `json:"currency"`
	Status        string `json:"status"`
	PaymentMethod string `json:"payment_method"`
	// PhoneNumber and PhonePrefix are the payer's, read by CinetPay's PHP
	// SDK (a missing key throws in Laravel); "" until someone paid.
	PhoneNumber          string  `json:"phone_number"`
	PhonePrefix          string  `json:"phone_prefix"`
	Description          string  `json:"description"`
	Metadata             *string `json:"metadata"`
	OperatorID           *string `json:"operator_id"`
	PaymentDate          string  `json:"payment_date"`
	FundAvailabilityDate string  `json:"fund_availability_date"`
}

// check serves POST /v2/payment/check.
// The call is logged as an event of the payment, so that a handler check
// sees whether the merchant verifies its notifications.
func (g *Gateway) check(w http.ResponseWriter, r *http.Request) {
	now := g.now()
	key, p, err := g.findForCheck(w, r)
	if err != nil {
		writeError(w, err, now)
		return
	}
	if ev, err := json.Marshal(verificationEvent{At: now.UTC()}); err == nil {
		_ = g.store.LogPaymentEvent(r.Context(), key, ev) // the answer matters more than its log
	}
	writeAnswer(w, http.StatusOK, p.verification(), now)
}

// verificationEvent is the payment event of a call to the verification API.
type verificationEvent struct {
	At time.Time `json:"verified_at"`
}

func (g *Gateway) findForCheck(w http.ResponseWriter, r *http.Request) (string, Payment, error) {
	f, err := readFields(w, r)
	if err != nil {
		return "", Payment{}, err
	}
	var missing []string
	for _, name := range []string{"apikey", "site_id"} {
		if strings.TrimSpace(f[name]) == "" {
			missing = append(missing, name)
		}
	}
	if f["transaction_id"] == "" && f["token"] == "" {
		missing = append(missing, "transaction_id (or token)")
	}
	if len(missing) > 0 {
		return "", Payment{}, missingFields(missing)
	}
	m, err := g.authenticate(w, r, f["apikey"], f["site_id"])
	if err != nil {
		return "", Payment{}, err
	}
	if err := g.throttle(w, m); err != nil {
		return "", Payment{}, err
	}
	key, p, err := g.find(r.Context(), m, f["transaction_id"], f["token"])
	if errors.Is(err, store.ErrNotFound) {
		return "", Payment{}, &apiError{http.StatusNotFound, CodeProcessingError, "no transaction with this transaction_id or token on site " + m.CinetPay.SiteID}
	}
	return key, p, err
}

// tokenRef is what the token index holds: the payment a token opens.
type tokenRef struct {
	SiteID        string `json:"site_id"`
	TransactionID string `json:"transaction_id"`
}

// find loads a merchant's payment by transaction_id, or else by payment
// token, and returns it with its store key. Either may be empty; a client
// may send the same value in both (the npm package @azinakou/cinetpay does).
func (g *Gateway) find(ctx context.Context, m config.Merchant, transactionID, token string) (string, Payment, error) {
	if transactionID != "" {
		key := paymentKey(m.CinetPay.SiteID, transactionID)
		raw, err := g.store.GetPayment(ctx, key)
		if err == nil {
			p, err := decodePayment(raw)
			return key, p, err
		}
		if !errors.Is(err, store.ErrNotFound) || token == "" {
			return "", Payment{}, err
		}
	}
	key, p, err := g.findByToken(ctx, token)
	if err == nil && p.SiteID != m.CinetPay.SiteID {
		return "", Payment{}, fmt.Errorf("cinetpay: token of another site: %w", store.ErrNotFound)
	}
	return key, p, err
}

// findByToken loads the payment a payment token opens.
func (g *Gateway) findByToken(ctx context.Context, token string) (string, Payment, error) {
	raw, err := g.store.GetPayment(ctx, tokenKey(token))
	if err != nil {
		return "", Payment{}, err
	}
	var ref tokenRef
	if err := json.Unmarshal(raw, &ref); err != nil {
		return "", Payment{}, fmt.Errorf("cinetpay: decode token index: %w", err)
	}
	key := paymentKey(ref.SiteID, ref.TransactionID)
	if raw, err = g.store.GetPayment(ctx, key); err != nil {
		return "", Payment{}, err
	}
	p, err := decodePayment(raw)
	return key, p, err
}

func decodePayment(raw []byte) (Payment, error) {
	var p Payment
	if err := json.Unmarshal(raw, &p); err != nil {
		return Payment{}, fmt.Errorf("cinetpay: decode payment: %w", err)
	}
	return p, nil
}

// verification is the payment as the verification API answers it.
func (p Payment) verification() answer {
	d := checkData{
		Amount: strconv.FormatInt(p.Amount, 10), Currency: p.Currency, Status: p.Status,
		PaymentMethod: p.PaymentMethod, PhoneNumber: p.PhoneNumber, PhonePrefix: p.PhonePrefix,
		Description: p.Description, Metadata: p.Metadata,
		PaymentDate: " ", FundAvailabilityDate: fundDate(p.CreatedAt),
	}
	var a answer
	switch p.Status {
	case StatusPending:
		a.Code, d.Status = CodeWaitingPayment, StatusWaiting
	case StatusWaiting:
		a.Code = CodeWaitingValidate
	case StatusAccepted:
		a.Code = CodeSuccess
		op := p.OperatorID
		d.OperatorID = &op
		if p.PaidAt != nil {
			d.PaymentDate = p.PaidAt.UTC().Format(payloads.CinetPayDateLayout)
			d.FundAvailabilityDate = fundDate(*p.PaidAt)
		}
	case StatusRefused:
		a.Code, a.Message = refusalCodes[p.Reason], p.Reason
		if a.Code == "" {
			a.Code, a.Message = CodeCancel, messages[CodeCancel]
		}
	}
	a.Data = d
	return a
}

// fundDate is when the funds of a payment made at t become available:
// midnight two days later, as in CinetPay's examples.
func fundDate(t time.Time) string {
	y, mo, d := t.UTC().Date()
	return time.Date(y, mo, d+2, 0, 0, 0, 0, time.UTC).Format(payloads.CinetPayDateLayout)
}
