// Package centili plays Centili's carrier billing notifications
// (PROVIDERS.md §3): POST /centili/simulate, callbacksim's own endpoint,
// makes a one-off payment or a subscription event (opt_in,
// recurring_billing, opt_out) and queues its notification: a GET to the
// service's configured notification_url, signed when the service has a
// signature key. Fields the tester leaves out get realistic values; the
// ones given are sent as given (a country's letter case, an interval's).
package centili

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"regexp"
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

// Event types.
const (
	EventOneOff           = "one_off"
	EventOptIn            = "opt_in"
	EventRecurringBilling = "recurring_billing"
	EventOptOut           = "opt_out"
)

// Notification statuses.
const (
	StatusSuccess  = "success"
	StatusFailed   = "failed"
	StatusCanceled = "canceled"
)

var (
	// EventTypes lists the event types, one-off first.
	EventTypes = []string{EventOneOff, EventOptIn, EventRecurringBilling, EventOptOut}
	// Statuses lists the statuses of a notification.
	Statuses = []string{StatusSuccess, StatusFailed, StatusCanceled}
	// ErrorMessages lists the failure reasons Centili sends.
	ErrorMessages = []string{"CHARGING_FAILED", "PIN_MAX_ATTEMPTS_EXCEEDED", "TRANSACTION_TIMEOUT",
		"NOT_ENOUGH_CREDIT", "TRANSACTION_CANCELED_BY_USER"}
	// Intervals lists the billing intervals of a subscription, as
	// Centili's table writes them; its example writes "day", and any
	// letter case is taken and sent as given.
	Intervals = []string{"DAY", "WEEK", "MONTH"}
	// OptInChannels lists where a subscription can start.
	OptInChannels = []string{"web", "wap", "android"}
)

// Gateway serves the Centili simulate endpoint. Its zero value is not
// usable: call New.
type Gateway struct {
	merchants map[string]config.Merchant // by service
	byID      map[string]config.Merchant
	// countryCase is the letter case of the countries the simulator fills
	// in: config.CountryUpper or config.CountryLower.
	countryCase string
	store       *store.Store
	queue       *queue.Queue
	metrics     *metrics.Metrics
	limit       *ratelimit.Limiter
	timeScale   float64
	now         func() time.Time
}

// New returns the Centili gateway of the merchants in cfg that have a
// Centili block.
func New(cfg config.Config, st *store.Store, q *queue.Queue, m *metrics.Metrics) *Gateway {
	g := &Gateway{merchants: map[string]config.Merchant{}, byID: map[string]config.Merchant{}, countryCase: cfg.Providers.Centili.CountryCase,
		store: st, queue: q, metrics: m, limit: ratelimit.FromConfig(cfg.RateLimit), timeScale: cfg.TimeScale, now: time.Now}
	for _, m := range cfg.Merchants {
		if m.Centili != nil {
			g.merchants[m.Centili.Service] = m
			g.byID[m.ID] = m
		}
	}
	return g
}

// Register adds the Centili route to mux.
func (g *Gateway) Register(mux *http.ServeMux) {
	mux.Handle("POST /centili/simulate", httpapi.HandlerFunc(g.simulate))
}

// simulateRequest is the body of POST /centili/simulate. Every field but
// service and status is optional.
type simulateRequest struct {
	Service         string           `json:"service"`
	Status          string           `json:"status"`
	EventType       string           `json:"event_type"`
	TransactionID   httpapi.Text     `json:"transactionid"`
	Reference       httpapi.Text     `json:"reference"`
	ClientID        httpapi.Text     `json:"clientid"`
	UserID          httpapi.Text     `json:"userid"`
	Phone           httpapi.Text     `json:"phone"`
	Country         string           `json:"country"`
	MNO             httpapi.Text     `json:"mno"`
	OmitMNO         bool             `json:"omit_mno"` // no mno, as in some flows (WAP)
	MNOCode         string           `json:"mnocode"`
	Amount          httpapi.Text     `json:"amount"`
	EndUserPrice    httpapi.Text     `json:"enduserprice"`
	Revenue         httpapi.Text     `json:"revenue"`
	RevenueCurrency string           `json:"revenuecurrency"`
	ErrorMessage    string           `json:"errormessage"`
	SubscriptionID  httpapi.Text     `json:"subscriptionid"`
	Interval        string           `json:"interval"`
	OptInChannel    string           `json:"opt_in_channel"`
	OriginalMessage string           `json:"originalmessage"`
	Shortcode       httpapi.Text     `json:"shortcode"`
	MOMessage       string           `json:"momessage"`
	Scenario        gateway.Scenario `json:"scenario"`
}

// simulateAnswer is the 202 answer of POST /centili/simulate.
type simulateAnswer struct {
	CallbackID     string `json:"callback_id"`
	TransactionID  string `json:"transactionid"`
	SubscriptionID string `json:"subscriptionid,omitempty"`
}

func (g *Gateway) simulate(w http.ResponseWriter, r *http.Request) error {
	if err := httpapi.CheckSameOrigin(r); err != nil {
		return err
	}
	var req simulateRequest
	if err := httpapi.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	m, ok := g.merchant(req.Service)
	if !ok {
		return &httpapi.Error{Status: http.StatusUnauthorized, Field: "service", Message: "missing or unknown service"}
	}
	if err := httpapi.Throttle(w, g.limit, "centili:"+m.ID); err != nil {
		return err
	}
	ans, err := g.notify(r.Context(), m, &req, gateway.CheckDelivery{})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, ans)
	return nil
}

// notify makes the notification that req asks for, records the
// subscription event it is, if any, and queues it as d says.
func (g *Gateway) notify(ctx context.Context, m config.Merchant, req *simulateRequest, d gateway.CheckDelivery) (simulateAnswer, error) {
	if err := req.validate(); err != nil {
		return simulateAnswer{}, err
	}
	if req.EventType == EventRecurringBilling || req.EventType == EventOptOut {
		sub, err := g.subscription(ctx, m, string(req.SubscriptionID))
		if err != nil {
			return simulateAnswer{}, err
		}
		if err := req.inherit(sub); err != nil {
			return simulateAnswer{}, err
		}
	}
	params, err := req.params(m.Centili.Service, g.countryCase)
	if err != nil {
		return simulateAnswer{}, err
	}
	now := g.now().UTC()
	cb := &store.Callback{
		ID: store.NewID(), Provider: config.Centili, MerchantID: m.ID,
		Reference: cmp.Or(params["reference"], params["clientid"]), TransactionID: params["transactionid"],
		Event: params["event_type"] + ":" + params["status"], Method: http.MethodGet,
		URL: m.Centili.NotificationURL, CreatedAt: now,
	}
	d.Apply(cb)
	var undo func()
	if req.EventType != EventOneOff {
		if undo, err = g.subscribe(ctx, m, req, params, cb.ID); err != nil {
			return simulateAnswer{}, err
		}
	}
	n := payloads.CentiliNotification{Params: params}
	if req.Scenario.ShuffleParams {
		n.Order = shuffled(params)
	}
	if cb.Payload, err = json.Marshal(n); err != nil {
		return simulateAnswer{}, fmt.Errorf("centili: encode notification: %w", err)
	}
	if err := g.queue.Submit(ctx, cb, req.Scenario.HeldFor(g.timeScale), req.Scenario.Duplicates); err != nil {
		if undo != nil {
			undo()
		}
		return simulateAnswer{}, err
	}
	if req.EventType != EventOptOut { // every other event is a charge
		g.metrics.PaymentInitiated(config.Centili)
	}
	return simulateAnswer{
		CallbackID: cb.ID, TransactionID: params["transactionid"], SubscriptionID: params["subscriptionid"],
	}, nil
}

// merchant finds the merchant of a service, comparing every service in
// constant time.
func (g *Gateway) merchant(service string) (config.Merchant, bool) {
	return httpapi.LookupSecret(g.merchants, service)
}

var (
	decimalPattern  = regexp.MustCompile(`^[0-9]{1,9}(\.[0-9]{1,4})?$`)
	mnoCodePattern  = regexp.MustCompile(`^[A-Z]{2}_[A-Z0-9_]{1,30}$`)
	countryPattern  = regexp.MustCompile(`^[A-Za-z]{2}$`)
	mccmncPattern   = regexp.MustCompile(`^[0-9]{5,6}$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	digitsPattern   = regexp.MustCompile(`^[0-9]{1,20}$`)
)

const maxText = 255

// field is a request field by name, for checks in a stable order.
type field struct{ name, value string }

// validate checks the fields as given, and fills the event type and the
// error message.
func (req *simulateRequest) validate() error {
	if !slices.Contains(Statuses, req.Status) {
		return httpapi.BadField("status", "must be one of %s, got %q", strings.Join(Statuses, ", "), req.Status)
	}
	if req.EventType == "" {
		req.EventType = EventOneOff
	}
	if !slices.Contains(EventTypes, req.EventType) {
		return httpapi.BadField("event_type", "must be one of %s, got %q", strings.Join(EventTypes, ", "), req.EventType)
	}
	switch {
	case req.Status == StatusSuccess && req.ErrorMessage != "":
		return httpapi.BadField("errormessage", "is only sent on failure (status failed or canceled)")
	case req.ErrorMessage != "" && !slices.Contains(ErrorMessages, req.ErrorMessage):
		return httpapi.BadField("errormessage", "must be one of %s, got %q", strings.Join(ErrorMessages, ", "), req.ErrorMessage)
	case req.Status == StatusFailed && req.ErrorMessage == "":
		req.ErrorMessage = "CHARGING_FAILED"
	case req.Status == StatusCanceled && req.ErrorMessage == "":
		req.ErrorMessage = "TRANSACTION_CANCELED_BY_USER"
	}
	if req.EventType == EventOneOff {
		for _, f := range [...]field{{"subscriptionid", string(req.SubscriptionID)}, {"interval", req.Interval}, {"opt_in_channel", req.OptInChannel}} {
			if f.value != "" {
				return httpapi.BadField(f.name, "is only for subscription events (event_type opt_in, recurring_billing or opt_out)")
			}
		}
	} else if req.EventType != EventOptIn && req.SubscriptionID == "" {
		return httpapi.BadField("subscriptionid", "is required for %s: use the subscriptionid of the opt_in", req.EventType)
	}
	if req.Interval != "" && !slices.ContainsFunc(Intervals, func(i string) bool { return strings.EqualFold(i, req.Interval) }) {
		return httpapi.BadField("interval", "must be one of %s (in any letter case), got %q", strings.Join(Intervals, ", "), req.Interval)
	}
	if req.OmitMNO && req.MNO != "" {
		return httpapi.BadField("omit_mno", "give mno or omit_mno, not both")
	}
	if req.OptInChannel != "" && !slices.Contains(OptInChannels, req.OptInChannel) {
		return httpapi.BadField("opt_in_channel", "must be one of %s, got %q", strings.Join(OptInChannels, ", "), req.OptInChannel)
	}
	if req.Reference != "" && req.ClientID != "" {
		return httpapi.BadField("clientid", "send reference or clientid (the name some services use for it), not both")
	}
	for _, f := range [...]field{
		{"transactionid", string(req.TransactionID)}, {"reference", string(req.Reference)}, {"clientid", string(req.ClientID)},
		{"userid", string(req.UserID)}, {"subscriptionid", string(req.SubscriptionID)}, {"originalmessage", req.OriginalMessage},
		{"momessage", req.MOMessage}, {"shortcode", string(req.Shortcode)},
	} {
		if utf8.RuneCountInString(f.value) > maxText || !printable(f.value) {
			return httpapi.BadField(f.name, "must be printable text of at most %d characters", maxText)
		}
	}
	// One notification per simulate: out_of_order has no order to reverse.
	return req.Scenario.ValidateFor(gateway.Accepts{ShuffleParams: true})
}

func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// params builds the notification's parameters, filling what the request
// leaves out; a country it fills is written in countryCase.
func (req *simulateRequest) params(service, countryCase string) (map[string]string, error) {
	p := map[string]string{
		"service": service, "status": req.Status, "event_type": req.EventType,
		"transactionid": string(req.TransactionID), "revenuecurrency": req.RevenueCurrency,
	}
	if p["transactionid"] == "" {
		p["transactionid"] = randomHex(16)
	}
	if p["revenuecurrency"] == "" {
		p["revenuecurrency"] = "EUR"
	} else if !currencyPattern.MatchString(p["revenuecurrency"]) {
		return nil, httpapi.BadField("revenuecurrency", "must be an ISO 4217 code such as EUR, got %q", req.RevenueCurrency)
	}
	if err := req.where(p, countryCase); err != nil {
		return nil, err
	}
	if err := req.money(p); err != nil {
		return nil, err
	}
	switch {
	case req.ClientID != "":
		p["clientid"] = string(req.ClientID)
	case req.Reference != "":
		p["reference"] = string(req.Reference)
	default:
		p["reference"] = strconv.Itoa(10_000_000 + mrand.IntN(90_000_000))
	}
	if req.ErrorMessage != "" {
		p["errormessage"] = req.ErrorMessage
	}
	for name, v := range map[string]string{"originalmessage": req.OriginalMessage, "shortcode": string(req.Shortcode), "momessage": req.MOMessage} {
		if v != "" {
			p[name] = v
		}
	}
	if req.EventType != EventOneOff {
		p["subscriptionid"] = cmp.Or(string(req.SubscriptionID), strconv.Itoa(1_000_000_000+mrand.IntN(9_000_000_000)))
		p["interval"] = cmp.Or(req.Interval, "MONTH") // as given: DAY or day
		p["opt_in_channel"] = cmp.Or(req.OptInChannel, "web")
	}
	return p, nil
}

// where fills phone, userid, country, mno and mnocode, which must agree. A
// country given keeps its letter case; one filled in is written in
// countryCase.
func (req *simulateRequest) where(p map[string]string, countryCase string) error {
	phone := strings.TrimPrefix(string(req.Phone), "+")
	if phone != "" && (!digitsPattern.MatchString(phone) || len(phone) < 8 || len(phone) > 15) {
		return httpapi.BadField("phone", "must be an E.164 number of 8 to 15 digits, without +")
	}
	country := req.Country
	if country != "" && !countryPattern.MatchString(country) {
		return httpapi.BadField("country", "must be an ISO 3166 country code such as FR, got %q", req.Country)
	}
	fill := func(code string) string {
		if countryCase == config.CountryLower {
			return strings.ToLower(code)
		}
		return strings.ToUpper(code)
	}
	mnocode := req.MNOCode
	switch {
	case mnocode != "":
		if !mnoCodePattern.MatchString(mnocode) {
			return httpapi.BadField("mnocode", "must be a country and an operator such as FR_ORANGE, got %q", mnocode)
		}
		if country == "" {
			country = fill(mnocode[:2])
		} else if !strings.EqualFold(mnocode[:2], country) {
			return httpapi.BadField("mnocode", "%s is not an operator of country %q", mnocode, country)
		}
	case country != "":
		m, ok := markets[strings.ToLower(country)]
		if !ok {
			return httpapi.BadField("mnocode", "is required for country %q (the simulator fills it for %s)", country, strings.Join(countryCodes(), ", "))
		}
		mnocode = m.operators[mrand.IntN(len(m.operators))].code
	default:
		cc, _ := countryOfPhone(phone)
		if cc == "" {
			cc = randomCountry()
		}
		m := markets[cc]
		country, mnocode = fill(cc), m.operators[mrand.IntN(len(m.operators))].code
	}
	if phone == "" {
		m, ok := markets[strings.ToLower(country)]
		if !ok {
			return httpapi.BadField("phone", "is required for country %q (the simulator fills it for %s)", country, strings.Join(countryCodes(), ", "))
		}
		phone = m.phone()
	}
	p["phone"], p["country"], p["mnocode"] = phone, country, mnocode
	p["userid"] = string(req.UserID)
	if p["userid"] == "" {
		p["userid"] = phone
	}
	switch mno := string(req.MNO); {
	case req.OmitMNO:
	case mno != "" && !mccmncPattern.MatchString(mno):
		return httpapi.BadField("mno", "must be an MCC and MNC of 5 or 6 digits, such as 20801, got %q", mno)
	case mno != "":
		p["mno"] = mno
	default:
		if op, ok := operatorOf(mnocode); ok {
			p["mno"] = op.mccmnc
		}
	}
	return nil
}

// charges reports whether the notification is for money taken: a
// successful one-off payment, opt_in or recurring_billing. A failed or
// canceled payment and an opt_out take nothing, and pay out nothing.
func (req *simulateRequest) charges() bool {
	return req.Status == StatusSuccess && req.EventType != EventOptOut
}

// noRevenue is the revenue of a notification that charged nothing.
const noRevenue = "0.0000"

// money fills amount, enduserprice and revenue. The price is in the
// country's currency (what the customer paid, or would have paid had the
// payment gone through); the revenue is the merchant's payout in
// revenuecurrency, nothing when nothing was charged.
func (req *simulateRequest) money(p map[string]string) error {
	amount := string(req.Amount)
	if amount == "" {
		amount = "1"
	}
	if n, err := strconv.Atoi(amount); err != nil || n < 1 || n > 1_000_000 {
		return httpapi.BadField("amount", "must be a whole quantity of virtual goods from 1 to 1000000, got %q", amount)
	}
	m := marketOf(p["country"])
	price := string(req.EndUserPrice)
	if price == "" {
		price = m.price
	} else if !decimalPattern.MatchString(price) {
		return httpapi.BadField("enduserprice", "must be a decimal such as 1.99, got %q", price)
	}
	revenue := string(req.Revenue)
	switch {
	case revenue != "" && !decimalPattern.MatchString(revenue):
		return httpapi.BadField("revenue", "must be a decimal such as 1.1940, got %q", revenue)
	case revenue != "":
	case !req.charges():
		revenue = noRevenue
	default:
		f, _ := strconv.ParseFloat(price, 64)
		payout := convert(f, m.currency, p["revenuecurrency"]) * 0.6 // a typical carrier billing payout
		revenue = strconv.FormatFloat(payout, 'f', 4, 64)
	}
	p["amount"], p["enduserprice"], p["revenue"] = amount, price, revenue
	return nil
}

// shuffled is a random order of the parameters and sign, neither
// Centili's nor sorted by name, for the shuffle_params scenario.
func shuffled(params map[string]string) []string {
	names := make([]string, 0, len(params)+1)
	for name := range params {
		names = append(names, name)
	}
	names = append(names, "sign")
	slices.Sort(names)
	sorted := slices.Clone(names)
	table := slices.DeleteFunc(slices.Clone(payloads.CentiliParamOrder), func(n string) bool {
		_, ok := params[n]
		return !ok && n != "sign"
	})
	for range 100 { // with a dozen names, the first shuffle nearly always does
		mrand.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
		if !slices.Equal(names, sorted) && !slices.Equal(names, table) {
			break
		}
	}
	return names
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
