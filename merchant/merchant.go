// Package merchant is a sample merchant endpoint: the other side of every
// callback the simulator sends. It verifies each gateway's signature the way
// a correct merchant handler does, answers as scripted (fail twice then 200,
// always 406, slowly), prints one line per callback, and for CinetPay asks
// the check API for the payment's real status, since a CinetPay notification
// carries no status a merchant should trust.
//
// Like a merchant in production, it knows a notification only by the
// gateway's own ids (QRIS transaction_id, CinetPay cpm_trans_id, Centili
// transactionid): no gateway sends a callback id. It keys its script on
// them, and notes a notification of a status it has already processed as
// a duplicate, as an idempotent handler must.
//
// It is the demo of the README and the reference for integrators: read
// qris, cinetpay and centili below for what a handler must do.
package merchant

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callbacksim/callbacksim/payloads"
)

// MaxBody is the largest callback body the merchant reads.
const MaxBody = 1 << 20

// maxTracked bounds how many transactions the script counters and the
// processed statuses remember.
const maxTracked = 10_000

// Signature verdicts, as printed.
const (
	SigValid     = "valid"     // signed, and the signature matches the configured secret
	SigInvalid   = "invalid"   // signed, and it does not match
	SigMissing   = "missing"   // a secret is configured but the callback is not signed
	SigUnsigned  = "unsigned"  // not signed, and no secret is configured
	SigUnchecked = "unchecked" // signed, but no secret is configured to check it
)

// Options configure a Merchant. The zero value answers 200 to everything,
// checks no signature and calls no check API.
type Options struct {
	// QRISSecret verifies X-Callback-Signature (HMAC-SHA256 of the body) or,
	// written whsec_<base64>, the Standard Webhooks headers.
	QRISSecret string
	// CinetPaySecret verifies CinetPay's x-token header (the site's secret
	// key, not the apikey).
	CinetPaySecret string
	// CinetPayAPIKey and CinetPaySiteID authenticate the check call.
	CinetPayAPIKey string
	CinetPaySiteID string
	// CentiliKey and CentiliAlgorithm verify Centili's sign parameter.
	CentiliKey       string
	CentiliAlgorithm payloads.SignAlgorithm
	// API is the simulator's base URL, where CinetPay's check API is
	// (POST <API>/v2/payment/check). Empty: no check is made.
	API string
	// Script is the answers to each transaction's notifications in turn
	// (per gateway id: QRIS transaction_id, CinetPay cpm_trans_id, Centili
	// transactionid): the n-th delivery gets Script[n], and once the script
	// runs out, its last code. Empty: always 200.
	Script []int
	// Delay holds every answer this long.
	Delay time.Duration
	// AcceptInvalid answers as scripted even when a signature is invalid or
	// missing; by default such a callback is answered 401 (Centili: 406,
	// its stop code), as a correct merchant does.
	AcceptInvalid bool
	// JSON prints one JSON object per callback instead of a line of text.
	JSON bool
	// Out receives the lines; nil discards them.
	Out io.Writer
	// Client makes the check calls; nil means a client with a 10 s timeout.
	Client *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Merchant is the sample merchant's HTTP handler. Its zero value is not
// usable: call New.
type Merchant struct {
	opts  Options
	mux   *http.ServeMux
	outMu sync.Mutex

	mu        sync.Mutex
	count     map[string]int    // notifications seen, by gateway and transaction id
	processed map[string]string // the status last processed (answered 2xx), likewise
}

// New returns a Merchant.
func New(o Options) (*Merchant, error) {
	for _, code := range o.Script {
		if code < 100 || code > 599 {
			return nil, fmt.Errorf("merchant: script code %d is not an HTTP status (100-599)", code)
		}
	}
	if o.API != "" {
		u, err := url.Parse(o.API)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("merchant: the API address must be an http(s) base URL, got %q", o.API)
		}
		o.API = strings.TrimRight(o.API, "/")
	}
	if o.CentiliAlgorithm == "" {
		o.CentiliAlgorithm = payloads.SignSHA1
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Merchant{opts: o, count: map[string]int{}, processed: map[string]string{}}
	m.mux = http.NewServeMux()
	m.mux.HandleFunc("POST /qris", m.qris)
	m.mux.HandleFunc("GET /cinetpay", m.cinetpayPing)
	m.mux.HandleFunc("POST /cinetpay", m.cinetpay)
	m.mux.HandleFunc("GET /centili", m.centili)
	m.mux.HandleFunc("GET "+ReturnPath, m.returnPage)
	m.mux.HandleFunc("POST "+ReturnPath, m.returnPage)
	m.mux.HandleFunc("POST /", m.qris) // any other path: a QRIS callback
	m.mux.HandleFunc("/", m.unknown)
	return m, nil
}

// ServeHTTP implements http.Handler.
func (m *Merchant) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }

// Line is what the merchant prints about one request.
type Line struct {
	At      time.Time `json:"at"`
	Gateway string    `json:"gateway"`
	// Transaction is the gateway's id of the payment notified: QRIS
	// transaction_id, CinetPay cpm_trans_id, Centili transactionid; ""
	// for a ping, which carries no data.
	Transaction string `json:"transaction_id"`
	Kind        string `json:"kind"` // notification, ping, return (a customer back from checkout), or unexpected
	// Duplicate: a notification of a status already processed for this
	// transaction (a retry of one answered 2xx, or a copy).
	Duplicate bool              `json:"duplicate,omitempty"`
	Signature string            `json:"signature,omitempty"`
	Answered  int               `json:"answered"`
	Method    string            `json:"method"`
	Path      string            `json:"path"`
	Fields    map[string]string `json:"fields,omitempty"` // what the notification says
	Check     *Check            `json:"check,omitempty"`  // CinetPay: what the check API says
	Note      string            `json:"note,omitempty"`
}

// Check is the truth CinetPay's check API told.
type Check struct {
	Code          string `json:"code"`
	Message       string `json:"message"`
	Status        string `json:"status"`
	Amount        string `json:"amount"`
	Currency      string `json:"currency"`
	PaymentMethod string `json:"payment_method"`
	Error         string `json:"error,omitempty"`
}

// key is what the merchant knows a notification by: the gateway and its
// transaction id.
func (l Line) key() string { return l.Gateway + "\x00" + l.Transaction }

// nextCode is the scripted answer to the next notification of l's
// transaction.
func (m *Merchant) nextCode(l Line) int {
	if len(m.opts.Script) == 0 {
		return http.StatusOK
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.count) >= maxTracked {
		clear(m.count)
	}
	n := m.count[l.key()]
	m.count[l.key()] = n + 1
	return m.opts.Script[min(n, len(m.opts.Script)-1)]
}

// settle records that l's transaction was processed in status, once it
// was answered 2xx, and marks l a duplicate when that status had already
// been processed: an idempotent handler does the work once.
func (m *Merchant) settle(l *Line, status string) {
	if l.Answered < 200 || l.Answered > 299 || l.Transaction == "" || status == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.processed[l.key()] == status {
		l.Duplicate = true
		l.Note = strings.TrimSpace(l.Note + " duplicate: " + status + " already processed for this transaction, nothing done again")
		return
	}
	if len(m.processed) >= maxTracked {
		clear(m.processed)
	}
	m.processed[l.key()] = status
}

// answer waits the configured delay, then answers code with a short body,
// and prints the line. status is the payment's status the notification
// makes the merchant process ("" for none), for the duplicate check.
func (m *Merchant) answer(w http.ResponseWriter, r *http.Request, code int, l Line, status string) {
	if m.opts.Delay > 0 {
		t := time.NewTimer(m.opts.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			l.Note = strings.TrimSpace(l.Note + " (the gateway gave up waiting)")
		}
	}
	l.Answered = code
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	body := "ok"
	if code < 200 || code > 299 {
		body = "error"
	}
	_, _ = fmt.Fprintf(w, "{\"status\":%q}\n", body)
	m.settle(&l, status)
	m.print(l)
}

// verdictCode is the answer to a notification: reject for a bad signature
// (unless told to accept it), else the script's.
func (m *Merchant) verdictCode(sig string, reject int, l *Line) int {
	code := m.nextCode(*l)
	if (sig == SigInvalid || sig == SigMissing) && !m.opts.AcceptInvalid {
		l.Note = strings.TrimSpace(l.Note + " rejected: signature " + sig)
		return reject
	}
	return code
}

func (m *Merchant) line(r *http.Request, gateway, kind string) Line {
	return Line{At: m.opts.Now(), Gateway: gateway, Kind: kind, Method: r.Method, Path: r.URL.Path}
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
}

// qris handles a QRIS callback: a JSON POST, optionally signed.
func (m *Merchant) qris(w http.ResponseWriter, r *http.Request) {
	l := m.line(r, "qris", "notification")
	body, err := readBody(w, r)
	if err != nil {
		l.Note = "unreadable body: " + err.Error()
		m.answer(w, r, http.StatusBadRequest, l, "")
		return
	}
	l.Signature = m.qrisSignature(r.Header, body)
	var cb payloads.QRISCallback
	if err := json.Unmarshal(body, &cb); err != nil {
		l.Note = "body is not the JSON expected"
		m.answer(w, r, http.StatusBadRequest, l, "")
		return
	}
	l.Transaction = cb.TransactionID
	l.Fields = map[string]string{"order_id": cb.OrderID, "status": cb.Status, "amount": strconv.FormatInt(cb.Amount, 10)}
	m.answer(w, r, m.verdictCode(l.Signature, http.StatusUnauthorized, &l), l, cb.Status)
}

func (m *Merchant) qrisSignature(h http.Header, body []byte) string {
	secret := m.opts.QRISSecret
	switch {
	case h.Get(payloads.SignatureHeader) != "":
		if secret == "" {
			return SigUnchecked
		}
		if payloads.VerifyBodySignature(secret, body, h.Get(payloads.SignatureHeader)) {
			return SigValid
		}
		return SigInvalid
	case h.Get(payloads.WebhookSignatureHeader) != "":
		if secret == "" {
			return SigUnchecked
		}
		if payloads.VerifyStandardWebhook(secret, h, body, m.opts.Now(), 5*time.Minute) == nil {
			return SigValid
		}
		return SigInvalid
	case secret != "":
		return SigMissing
	}
	return SigUnsigned
}

// cinetpayPing answers CinetPay's reachability check: a GET with no data.
func (m *Merchant) cinetpayPing(w http.ResponseWriter, r *http.Request) {
	l := m.line(r, "cinetpay", "ping")
	l.Answered = http.StatusOK
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "OK\n")
	m.print(l)
}

// cinetpay handles a CinetPay notification: a form POST signed with
// x-token. The form's status is not to be trusted: a correct merchant asks
// the check API, and updates its order from that answer only.
func (m *Merchant) cinetpay(w http.ResponseWriter, r *http.Request) {
	l := m.line(r, "cinetpay", "notification")
	body, err := readBody(w, r)
	if err != nil {
		l.Note = "unreadable body: " + err.Error()
		m.answer(w, r, http.StatusBadRequest, l, "")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		l.Note = "body is not a form"
		m.answer(w, r, http.StatusBadRequest, l, "")
		return
	}
	switch token := r.Header.Get("x-token"); {
	case token == "" && m.opts.CinetPaySecret == "":
		l.Signature = SigUnsigned
	case token == "":
		l.Signature = SigMissing
	case m.opts.CinetPaySecret == "":
		l.Signature = SigUnchecked
	case payloads.VerifyCinetPayXToken(m.opts.CinetPaySecret, form, token):
		l.Signature = SigValid
	default:
		l.Signature = SigInvalid
	}
	f := payloads.CinetPayFieldsFromForm(form)
	l.Transaction = f.TransID
	l.Fields = map[string]string{
		"cpm_trans_id": f.TransID, "cpm_amount": f.Amount, "cpm_currency": f.Currency,
		"payment_method": f.PaymentMethod, "cpm_error_message": f.ErrorMessage,
	}
	code := m.verdictCode(l.Signature, http.StatusUnauthorized, &l)
	if code == http.StatusUnauthorized && (l.Signature == SigInvalid || l.Signature == SigMissing) {
		m.answer(w, r, code, l, "")
		return
	}
	status := f.ErrorMessage // without a check, the notification's word is all there is
	if m.opts.API != "" && f.TransID != "" {
		l.Check = m.check(r.Context(), f.TransID)
		switch {
		case l.Check.Error != "":
			// Without the truth the order cannot be updated: ask the
			// gateway to notify again later.
			l.Note = strings.TrimSpace(l.Note + " check failed, answering 503 so that the gateway retries")
			code = http.StatusServiceUnavailable
		case l.Check.Amount != "" && f.Amount != "" && l.Check.Amount != f.Amount:
			l.Note = strings.TrimSpace(l.Note + " amount differs between notification and check: trust the check")
		}
		status = l.Check.Status
	}
	m.answer(w, r, code, l, status)
}

// check asks CinetPay's check API for the status of transaction id.
func (m *Merchant) check(ctx context.Context, id string) *Check {
	body, _ := json.Marshal(map[string]string{
		"apikey": m.opts.CinetPayAPIKey, "site_id": m.opts.CinetPaySiteID, "transaction_id": id,
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.opts.API+"/v2/payment/check", bytes.NewReader(body))
	if err != nil {
		return &Check{Error: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := m.opts.Client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return &Check{Error: err.Error()}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if err != nil {
		return &Check{Error: err.Error()}
	}
	var ans struct {
		Code    any    `json:"code"`
		Message string `json:"message"`
		Data    *struct {
			Amount        any    `json:"amount"`
			Currency      string `json:"currency"`
			Status        string `json:"status"`
			PaymentMethod string `json:"payment_method"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		return &Check{Error: fmt.Sprintf("HTTP %d, not JSON", resp.StatusCode)}
	}
	c := &Check{Code: scalar(ans.Code), Message: ans.Message}
	if ans.Data == nil {
		c.Error = fmt.Sprintf("HTTP %d, code %s %s, no data", resp.StatusCode, c.Code, c.Message)
		return c
	}
	c.Status, c.Amount, c.Currency, c.PaymentMethod = ans.Data.Status, scalar(ans.Data.Amount), ans.Data.Currency, ans.Data.PaymentMethod
	return c
}

// scalar prints a JSON string or number as CinetPay writes either.
func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// centili handles a Centili notification: a GET with everything in the
// query, signed with sign.
func (m *Merchant) centili(w http.ResponseWriter, r *http.Request) {
	l := m.line(r, "centili", "notification")
	q := r.URL.Query()
	switch {
	case q.Get("sign") == "" && m.opts.CentiliKey == "":
		l.Signature = SigUnsigned
	case q.Get("sign") == "":
		l.Signature = SigMissing
	case m.opts.CentiliKey == "":
		l.Signature = SigUnchecked
	case payloads.VerifyCentiliSign(m.opts.CentiliKey, m.opts.CentiliAlgorithm, q):
		l.Signature = SigValid
	default:
		l.Signature = SigInvalid
	}
	l.Transaction = q.Get("transactionid")
	l.Fields = map[string]string{}
	for _, k := range []string{"transactionid", "status", "reference", "event_type", "amount", "errormessage"} {
		if v := q.Get(k); v != "" {
			l.Fields[k] = v
		}
	}
	// 406 is Centili's stop code: a forged notification is not retried.
	m.answer(w, r, m.verdictCode(l.Signature, http.StatusNotAcceptable, &l), l, q.Get("status"))
}

// unknown answers what no route takes: a GET elsewhere than /cinetpay or
// /centili.
func (m *Merchant) unknown(w http.ResponseWriter, r *http.Request) {
	l := m.line(r, "?", "unexpected")
	l.Note = "no route: POST to /qris (or any path), GET or POST /cinetpay, GET /centili, GET or POST /return"
	l.Answered = http.StatusNotFound
	http.Error(w, "no such route", http.StatusNotFound)
	m.print(l)
}

func (m *Merchant) print(l Line) {
	m.outMu.Lock()
	defer m.outMu.Unlock()
	if m.opts.JSON {
		enc := json.NewEncoder(m.opts.Out)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(l)
		return
	}
	_, _ = io.WriteString(m.opts.Out, l.String()+"\n")
}

// String is the line as the merchant prints it.
func (l Line) String() string {
	var b strings.Builder
	id := l.Transaction
	if id == "" {
		id = "-"
	}
	fmt.Fprintf(&b, "%s  %-8s  %-30s  ", l.At.Local().Format("15:04:05.000"), l.Gateway, clean(id))
	switch l.Kind {
	case "notification":
		fmt.Fprintf(&b, "signature %-9s  ", l.Signature)
	default:
		fmt.Fprintf(&b, "%-19s  ", l.Kind)
	}
	fmt.Fprintf(&b, "answered %d  %s %s", l.Answered, l.Method, clean(l.Path))
	keys := make([]string, 0, len(l.Fields))
	for k := range l.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if l.Fields[k] != "" {
			fmt.Fprintf(&b, " %s=%s", k, clean(l.Fields[k]))
		}
	}
	if c := l.Check; c != nil {
		if c.Error != "" {
			fmt.Fprintf(&b, "  check: failed (%s)", clean(c.Error))
		} else {
			fmt.Fprintf(&b, "  check: %s (code %s %s, %s %s)", clean(c.Status), clean(c.Code), clean(c.Message), clean(c.Amount), clean(c.Currency))
		}
	}
	if l.Note != "" {
		fmt.Fprintf(&b, "  [%s]", clean(l.Note))
	}
	return b.String()
}

// clean keeps what a callback says from steering the terminal: control
// characters are written escaped.
func clean(s string) string {
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}
