package cinetpay_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
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

	"github.com/callbacksim/callbacksim/internal/simtest"
)

// The demo merchant's credentials (config.DemoMerchant).
const (
	apikey    = "demo-apikey"
	siteID    = "445160"
	secretKey = "demo-secret"
)

// xTokenOrder is the order of the notification fields in the x-token, as
// CinetPay documents it. The test merchant's check is written from the
// documentation, independently of package payloads.
var xTokenOrder = []string{
	"cpm_site_id", "cpm_trans_id", "cpm_trans_date", "cpm_amount", "cpm_currency", "signature",
	"payment_method", "cel_phone_num", "cpm_phone_prefixe", "cpm_language", "cpm_version",
	"cpm_payment_config", "cpm_page_action", "cpm_custom", "cpm_designation", "cpm_error_message",
}

// hit is one request a test merchant received.
type hit struct {
	At     time.Time
	Method string
	Header http.Header
	Body   []byte
	Form   url.Values
	Valid  bool // the x-token checked out (POST only)
}

// merchant is a CinetPay merchant's notify_url: it checks the x-token of
// every POST with its own secret, as the gateway's documentation tells
// merchants to, and answers with answer(n, hit) (n counts from 0 over all
// requests); by default 200 to a valid notification and to a ping, 401 to
// an invalid one.
type merchant struct {
	URL    string
	secret string
	answer func(n int, h hit) int

	mu   sync.Mutex
	hits []hit
}

func newMerchant(t *testing.T, secret string, answer func(n int, h hit) int) *merchant {
	t.Helper()
	m := &merchant{secret: secret, answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(srv.Close)
	m.URL = srv.URL + "/notify"
	return m
}

func (m *merchant) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h := hit{At: time.Now(), Method: r.Method, Header: r.Header.Clone(), Body: body}
	if r.Method == http.MethodPost {
		h.Form, _ = url.ParseQuery(string(body))
		h.Valid = validXToken(m.secret, h.Form, r.Header.Get("x-token"))
	}
	m.mu.Lock()
	n := len(m.hits)
	m.hits = append(m.hits, h)
	code := http.StatusOK
	switch {
	case m.answer != nil:
		code = m.answer(n, h) // under the lock: answer may keep state
	case r.Method == http.MethodPost && !h.Valid:
		code = http.StatusUnauthorized
	}
	m.mu.Unlock()
	w.WriteHeader(code)
}

// validXToken is the merchant's check: HMAC-SHA256, keyed with the secret
// key, of the 16 values concatenated in order.
func validXToken(secret string, form url.Values, token string) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	for _, name := range xTokenOrder {
		mac.Write([]byte(form.Get(name)))
	}
	got, err := hex.DecodeString(token)
	return err == nil && hmac.Equal(mac.Sum(nil), got)
}

func (m *merchant) Hits() []hit {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]hit(nil), m.hits...)
}

func (m *merchant) Posts() []hit {
	var out []hit
	for _, h := range m.Hits() {
		if h.Method == http.MethodPost {
			out = append(out, h)
		}
	}
	return out
}

// cinetPayAnswer is an answer of CinetPay's endpoints, decoded loosely so
// that null and missing fields can be told apart.
type cinetPayAnswer struct {
	Status int
	Raw    []byte
	Map    map[string]any
}

func (a cinetPayAnswer) code() string { s, _ := a.Map["code"].(string); return s }

func (a cinetPayAnswer) data() map[string]any { d, _ := a.Map["data"].(map[string]any); return d }

func post(t *testing.T, sim *simtest.Sim, path string, body any, header ...string) cinetPayAnswer {
	t.Helper()
	r := sim.Do(http.MethodPost, path, body, header...)
	a := cinetPayAnswer{Status: r.Status, Raw: r.Body}
	r.JSON(t, &a.Map)
	return a
}

func postForm(t *testing.T, sim *simtest.Sim, path string, form url.Values) cinetPayAnswer {
	t.Helper()
	return post(t, sim, path, form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
}

// initBody is a valid initialisation notifying notifyURL.
func initBody(transactionID, notifyURL string) map[string]any {
	return map[string]any{
		"apikey": apikey, "site_id": siteID, "transaction_id": transactionID,
		"amount": 100, "currency": "XOF", "description": "Paiement abonnement",
		"notify_url": notifyURL, "return_url": "https://shop.example/return", "channels": "ALL",
		"metadata": "order-42",
	}
}

// initiate initialises a payment and returns its token and payment_url.
func initiate(t *testing.T, sim *simtest.Sim, body map[string]any) (token, paymentURL string) {
	t.Helper()
	a := post(t, sim, "/v2/payment", body)
	if a.Status != http.StatusOK || a.code() != "201" {
		t.Fatalf("init: %d %s", a.Status, a.Raw)
	}
	token, _ = a.data()["payment_token"].(string)
	paymentURL, _ = a.data()["payment_url"].(string)
	return token, paymentURL
}

// simulate posts to /v2/simulate and returns the callback id.
func simulate(t *testing.T, sim *simtest.Sim, transactionID, status string, extra ...any) string {
	t.Helper()
	body := map[string]any{"apikey": apikey, "site_id": siteID, "transaction_id": transactionID, "status": status}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i].(string)] = extra[i+1]
	}
	r := sim.Do(http.MethodPost, "/v2/simulate", body)
	if r.Status != http.StatusAccepted {
		t.Fatalf("simulate %s %s: %d %s", transactionID, status, r.Status, r.Body)
	}
	var ans struct {
		CallbackID string `json:"callback_id"`
	}
	r.JSON(t, &ans)
	return ans.CallbackID
}

func check(t *testing.T, sim *simtest.Sim, transactionID string) cinetPayAnswer {
	t.Helper()
	return post(t, sim, "/v2/payment/check", map[string]any{"apikey": apikey, "site_id": siteID, "transaction_id": transactionID})
}

// objectKeys returns the keys of a JSON object in the order they appear.
func objectKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// formNames returns the names of a form body in the order they appear.
func formNames(body []byte) []string {
	var names []string
	for _, kv := range strings.Split(string(body), "&") {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	return names
}
