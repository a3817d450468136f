package check_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/payloads"
)

// bugs are the mistakes a merchant app can be planted with; the zero value
// is a correct handler of all three gateways.
type bugs struct {
	acceptForged  bool          // processes a callback whose signature does not verify
	noSort        bool          // Centili: signs the values in the order they arrive
	postOnly      bool          // CinetPay: the route takes POST only (the GET ping gets 405)
	noVerify      bool          // CinetPay: trusts the notification, never calls the verification API
	answer201     bool          // answers 201 Created instead of 200
	redirect      bool          // answers 301 to the URL with a trailing slash
	lookup        bool          // answers 404 to a payment the app did not create (correct, with --order)
	slow          time.Duration // takes this long to answer
	notIdempotent bool          // answers 409 to a notification it has processed already
	refuseFailed  bool          // answers 400 to a failed (or refused) payment
	waitingFinal  bool          // CinetPay: takes WAITING_FOR_CUSTOMER as a definite failure
	oneOffOnly    bool          // Centili: answers 400 to a subscription event
	sign401       bool          // Centili: refuses a bad sign with 401, not 406
}

// Secrets of the simulator's demo merchant in these tests.
const (
	qrisSecret     = "qris-test-secret"
	cinetpaySecret = "demo-secret"
	cinetpayAPIKey = "demo-apikey"
	cinetpaySite   = "445160"
	centiliKey     = "demo-sign-key"
)

// app is a merchant's app with the handlers of the three gateways, and
// the bugs planted in it.
type app struct {
	t    *testing.T
	bugs bugs
	api  string // the simulator, for CinetPay's verification API
	URL  string
	// qrisSecret verifies QRIS signatures; "" for an unsigned merchant.
	qrisSecret string

	mu    sync.Mutex
	known map[string]bool   // payments the app created
	state map[string]string // what it recorded of each payment
}

func newApp(t *testing.T, api string, b bugs) *app {
	a := &app{t: t, bugs: b, api: api, qrisSecret: qrisSecret, known: map[string]bool{}, state: map[string]string{}}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// created records a payment the app created through the gateway's API.
func (a *app) created(refs ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ref := range refs {
		a.known[ref] = true
	}
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.bugs.redirect && !strings.HasSuffix(r.URL.Path, "/") {
		http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
		return
	}
	if a.bugs.slow > 0 {
		select {
		case <-time.After(a.bugs.slow):
		case <-r.Context().Done():
			return
		}
	}
	code := http.StatusOK
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case "/qris":
		code = a.qris(r)
	case "/cinetpay":
		code = a.cinetpay(r)
	case "/centili":
		code = a.centili(r)
	default:
		code = http.StatusNotFound
	}
	ping := r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/cinetpay")
	if code == http.StatusOK && a.bugs.answer201 && !ping {
		code = http.StatusCreated
	}
	w.WriteHeader(code)
}

// lookupFails reports whether the app, looking up its payments, does not
// know ref.
func (a *app) lookupFails(ref string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.bugs.lookup && !a.known[ref]
}

// record moves a payment to status, unless it was already final; it
// reports whether the notification was a repeat of what it knew.
func (a *app) record(key, status string) (repeat bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state[key] == status {
		return true
	}
	a.state[key] = status
	return false
}

func (a *app) qris(r *http.Request) int {
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed
	}
	body, _ := io.ReadAll(r.Body)
	if a.qrisSecret != "" && !a.bugs.acceptForged && !payloads.VerifyBodySignature(a.qrisSecret, body, r.Header.Get(payloads.SignatureHeader)) {
		return http.StatusUnauthorized
	}
	var cb payloads.QRISCallback
	if json.Unmarshal(body, &cb) != nil {
		return http.StatusBadRequest
	}
	if a.lookupFails(cb.OrderID) {
		return http.StatusNotFound
	}
	if cb.Status == "FAILED" && a.bugs.refuseFailed {
		return http.StatusBadRequest
	}
	if a.record("qris:"+cb.OrderID, cb.Status) && a.bugs.notIdempotent {
		return http.StatusConflict
	}
	return http.StatusOK
}

func (a *app) cinetpay(r *http.Request) int {
	if r.Method == http.MethodGet {
		if a.bugs.postOnly {
			return http.StatusMethodNotAllowed
		}
		return http.StatusOK
	}
	if err := r.ParseForm(); err != nil {
		return http.StatusBadRequest
	}
	id := r.PostForm.Get("cpm_trans_id")
	key := "cinetpay:" + id
	if !payloads.VerifyCinetPayXToken(cinetpaySecret, r.PostForm, r.Header.Get("x-token")) {
		if !a.bugs.acceptForged {
			return http.StatusUnauthorized
		}
		a.record(key, "ACCEPTED") // trusts what the forgery says
		return http.StatusOK
	}
	if a.lookupFails(id) {
		return http.StatusNotFound
	}
	a.mu.Lock()
	known := a.state[key]
	a.mu.Unlock()
	switch {
	case known == "ACCEPTED" && a.bugs.notIdempotent:
		return http.StatusConflict
	case known == "ACCEPTED", known == "FAILED": // final: "you are no longer updating"
		return http.StatusOK
	}
	status := "ACCEPTED"
	if !a.bugs.noVerify {
		var err error
		if status, err = a.verify(id); err != nil {
			a.t.Errorf("app: verification of %s: %v", id, err)
			return http.StatusServiceUnavailable
		}
	}
	switch {
	case status == "REFUSED" && a.bugs.refuseFailed:
		return http.StatusBadRequest
	case status == "WAITING_FOR_CUSTOMER" && a.bugs.waitingFinal:
		status = "FAILED"
	case status == "WAITING_FOR_CUSTOMER":
		return http.StatusOK // still pending
	}
	a.record(key, status)
	return http.StatusOK
}

// verify asks CinetPay's verification API for a transaction's status.
func (a *app) verify(id string) (string, error) {
	raw, _ := json.Marshal(map[string]string{"apikey": cinetpayAPIKey, "site_id": cinetpaySite, "transaction_id": id})
	resp, err := http.Post(a.api+"/v2/payment/check", "application/json", bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var ans struct {
		Data struct {
			Status string `json:"status"`
		} `json:"data"`
	}
	err = json.NewDecoder(resp.Body).Decode(&ans)
	return ans.Data.Status, err
}

func (a *app) centili(r *http.Request) int {
	q := r.URL.Query()
	if !a.signOK(r.URL.RawQuery, q) {
		switch {
		case a.bugs.sign401:
			return http.StatusUnauthorized
		case !a.bugs.acceptForged:
			return http.StatusNotAcceptable
		}
	}
	if a.lookupFails(q.Get("reference")) {
		return http.StatusNotFound
	}
	if q.Get("event_type") != "one_off" && a.bugs.oneOffOnly {
		return http.StatusBadRequest
	}
	if q.Get("status") == "failed" && a.bugs.refuseFailed {
		return http.StatusBadRequest
	}
	if a.record("centili:"+q.Get("transactionid"), q.Get("status")) && a.bugs.notIdempotent {
		return http.StatusConflict
	}
	return http.StatusOK
}

// signOK checks Centili's sign; with the noSort bug, over the values in the
// order they came.
func (a *app) signOK(raw string, q url.Values) bool {
	if !a.bugs.noSort {
		return payloads.VerifyCentiliSign(centiliKey, payloads.SignSHA1, q)
	}
	m := hmac.New(sha1.New, []byte(centiliKey))
	for pair := range strings.SplitSeq(raw, "&") {
		name, value, _ := strings.Cut(pair, "=")
		if name != "sign" {
			v, _ := url.QueryUnescape(value)
			m.Write([]byte(v))
		}
	}
	return hex.EncodeToString(m.Sum(nil)) == q.Get("sign")
}
