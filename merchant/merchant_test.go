package merchant_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/syncbuf"

	"github.com/callbacksim/callbacksim/merchant"
	"github.com/callbacksim/callbacksim/payloads"
)

// lines returns the JSON lines printed so far.
func lines(t *testing.T, s *syncbuf.Buffer) []merchant.Line {
	t.Helper()
	var out []merchant.Line
	for _, raw := range strings.Split(strings.TrimSpace(s.String()), "\n") {
		if raw == "" {
			continue
		}
		var l merchant.Line
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("line %q: %v", raw, err)
		}
		out = append(out, l)
	}
	return out
}

func start(t *testing.T, o merchant.Options) (*httptest.Server, *syncbuf.Buffer) {
	t.Helper()
	out := &syncbuf.Buffer{}
	o.Out = out
	m, err := merchant.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return srv, out
}

func send(t *testing.T, method, url string, body []byte, header ...string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

var qrisBody = qrisCallback("TXN-1", "SUCCESS")

// qrisCallback is the body of a QRIS callback of transaction txn.
func qrisCallback(txn, status string) []byte {
	return []byte(`{"order_id":"ORDER-1","transaction_id":"` + txn + `","status":"` + status + `","amount":50000,"currency":"IDR"}`)
}

func TestQRISSignatures(t *testing.T) {
	const secret = "s3cret"
	whsec := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	now := time.Now()
	swSig, err := payloads.StandardWebhookSignature(whsec, "cb_sw", now.Unix(), qrisBody)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		secret   string
		path     string
		header   []string
		wantCode int
		wantSig  string
	}{
		{"valid HMAC", secret, "/qris", []string{"X-Callback-Signature", payloads.BodySignature(secret, qrisBody)}, 200, merchant.SigValid},
		{"valid HMAC on another path", secret, "/payment-callback", []string{"X-Callback-Signature", payloads.BodySignature(secret, qrisBody)}, 200, merchant.SigValid},
		{"wrong HMAC: 401", secret, "/qris", []string{"X-Callback-Signature", payloads.BodySignature("other", qrisBody)}, 401, merchant.SigInvalid},
		{"missing signature while a secret is set: 401", secret, "/qris", nil, 401, merchant.SigMissing},
		{"unsigned, no secret", "", "/qris", nil, 200, merchant.SigUnsigned},
		{"signed, no secret to check", "", "/qris", []string{"X-Callback-Signature", "abc"}, 200, merchant.SigUnchecked},
		{"valid Standard Webhooks", whsec, "/qris", []string{
			"webhook-id", "cb_sw", "webhook-timestamp", strconvI(now.Unix()), "webhook-signature", swSig}, 200, merchant.SigValid},
		{"Standard Webhooks, stale timestamp", whsec, "/qris", []string{
			"webhook-id", "cb_sw", "webhook-timestamp", strconvI(now.Add(-time.Hour).Unix()), "webhook-signature", swSig}, 401, merchant.SigInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, out := start(t, merchant.Options{QRISSecret: tt.secret, JSON: true})
			h := append([]string{"Content-Type", "application/json"}, tt.header...)
			if code := send(t, http.MethodPost, srv.URL+tt.path, qrisBody, h...); code != tt.wantCode {
				t.Errorf("answered %d, want %d", code, tt.wantCode)
			}
			lines := lines(t, out)
			if len(lines) != 1 {
				t.Fatalf("%d lines printed, want 1: %s", len(lines), out)
			}
			l := lines[0]
			if l.Gateway != "qris" || l.Transaction != "TXN-1" || l.Signature != tt.wantSig || l.Answered != tt.wantCode {
				t.Errorf("line = %+v, want qris TXN-1 signature %s answered %d", l, tt.wantSig, tt.wantCode)
			}
			if l.Fields["order_id"] != "ORDER-1" || l.Fields["status"] != "SUCCESS" {
				t.Errorf("fields = %v, want the order and its status", l.Fields)
			}
		})
	}
	t.Run("accept invalid", func(t *testing.T) {
		srv, _ := start(t, merchant.Options{QRISSecret: secret, AcceptInvalid: true})
		if code := send(t, http.MethodPost, srv.URL+"/qris", qrisBody, "X-Callback-Signature", "00"); code != 200 {
			t.Errorf("answered %d, want 200 with AcceptInvalid", code)
		}
	})
	t.Run("not JSON: 400", func(t *testing.T) {
		srv, _ := start(t, merchant.Options{})
		if code := send(t, http.MethodPost, srv.URL+"/qris", []byte("order=1")); code != 400 {
			t.Errorf("answered %d, want 400", code)
		}
	})
}

func strconvI(n int64) string { return strconv.FormatInt(n, 10) }

// TestScriptPerTransaction: the script runs per gateway id, as a merchant
// knows a notification in production; an X-Callback-Id, which no gateway
// sends, counts for nothing.
func TestScriptPerTransaction(t *testing.T) {
	srv, out := start(t, merchant.Options{Script: []int{500, 500, 200}, JSON: true})
	post := func(txn string) int {
		return send(t, http.MethodPost, srv.URL+"/qris", qrisCallback(txn, "SUCCESS"), "X-Callback-Id", "cb_same")
	}
	got := []int{post("TXN-A"), post("TXN-A"), post("TXN-B"), post("TXN-A"), post("TXN-A"), post("TXN-B")}
	want := []int{500, 500, 500, 200, 200, 500}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("answers = %v, want %v (each transaction has its own script; the last code repeats)", got, want)
		}
	}
	var dups []bool
	for _, l := range lines(t, out) {
		dups = append(dups, l.Duplicate)
	}
	// TXN-A is processed by its first 200; the next 200 is a duplicate.
	if want := []bool{false, false, false, false, true, false}; !slices.Equal(dups, want) {
		t.Errorf("duplicate marks = %v, want %v", dups, want)
	}
}

// TestDuplicatesByGatewayIDs: the sample merchant processes a status once
// per transaction whatever the copies, and tells apart two transactions
// that a callback-id header would confuse.
func TestDuplicatesByGatewayIDs(t *testing.T) {
	srv, out := start(t, merchant.Options{JSON: true})
	params := func(txn, status string) string {
		return url.Values{"transactionid": {txn}, "status": {status}}.Encode()
	}
	send(t, http.MethodGet, srv.URL+"/centili?"+params("T1", "failed"), nil)
	send(t, http.MethodGet, srv.URL+"/centili?"+params("T1", "failed"), nil)
	send(t, http.MethodGet, srv.URL+"/centili?"+params("T2", "success"), nil)
	send(t, http.MethodGet, srv.URL+"/centili?"+params("T1", "success"), nil)
	send(t, http.MethodPost, srv.URL+"/qris", qrisCallback("TXN-9", "SUCCESS"))
	send(t, http.MethodPost, srv.URL+"/qris", qrisCallback("TXN-9", "SUCCESS"))
	var got []string
	for _, l := range lines(t, out) {
		got = append(got, fmt.Sprintf("%s %s %t", l.Gateway, l.Transaction, l.Duplicate))
	}
	want := []string{"centili T1 false", "centili T1 true", "centili T2 false", "centili T1 false", "qris TXN-9 false", "qris TXN-9 true"}
	if !slices.Equal(got, want) {
		t.Errorf("lines = %v, want %v", got, want)
	}
}

func TestAlwaysAndDelay(t *testing.T) {
	srv, out := start(t, merchant.Options{Script: []int{406}, Delay: 150 * time.Millisecond})
	start := time.Now()
	if code := send(t, http.MethodPost, srv.URL+"/anything", qrisBody); code != 406 {
		t.Errorf("answered %d, want 406", code)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("answered after %s, want at least the 150ms delay", d)
	}
	if line := out.String(); !strings.Contains(line, "answered 406") || !strings.Contains(line, "TXN-1") || !strings.Contains(line, "qris") {
		t.Errorf("printed %q, want the gateway, the transaction id and the answer", line)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	if _, err := merchant.New(merchant.Options{Script: []int{200, 42}}); err == nil {
		t.Error("New accepted script code 42")
	}
	if _, err := merchant.New(merchant.Options{API: "localhost:8080"}); err == nil {
		t.Error("New accepted an API address without a scheme")
	}
}

// cinetpayForm is a signed CinetPay notification.
func cinetpayForm(secret string) (url.Values, string) {
	f := payloads.CinetPayFields{
		SiteID: "445160", TransID: "TX123", TransDate: "2024-01-15 10:30:00", Amount: "100", Currency: "XOF",
		Signature: "abc", PaymentMethod: "OM", CelPhoneNum: "0700000000", PhonePrefixe: "225", Language: "fr",
		Version: "V4", PaymentConfig: "SINGLE", PageAction: "PAYMENT", Custom: "", Designation: "Test", ErrorMessage: "SUCCES",
	}
	return f.Form(), f.XToken(secret)
}

// fakeCheck is CinetPay's check API as the simulator serves it.
type fakeCheck struct {
	mu   sync.Mutex
	got  []map[string]string
	srv  *httptest.Server
	data map[string]any
}

func newFakeCheck(t *testing.T, status string) *fakeCheck {
	f := &fakeCheck{data: map[string]any{
		"amount": "100", "currency": "XOF", "status": status, "payment_method": "OM", "description": "Test",
		"metadata": nil, "operator_id": "MP220915.2257.A76307", "payment_date": "2022-09-15 22:57:15",
	}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v2/payment/check" {
			http.NotFound(w, r)
			return
		}
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.got = append(f.got, body)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"code": "00", "message": "SUCCES", "data": f.data, "api_response_id": "1663323067.7677"})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeCheck) calls() []map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]string(nil), f.got...)
}

func TestCinetPay(t *testing.T) {
	const secret = "demo-secret"
	opts := func(api string) merchant.Options {
		return merchant.Options{CinetPaySecret: secret, CinetPayAPIKey: "demo-apikey", CinetPaySiteID: "445160", API: api, JSON: true}
	}
	t.Run("ping", func(t *testing.T) {
		srv, out := start(t, opts(""))
		if code := send(t, http.MethodGet, srv.URL+"/cinetpay", nil); code != 200 {
			t.Errorf("ping answered %d, want 200", code)
		}
		if l := lines(t, out); len(l) != 1 || l[0].Kind != "ping" || l[0].Gateway != "cinetpay" {
			t.Errorf("lines = %+v, want one cinetpay ping", l)
		}
	})
	t.Run("valid notification: the check API tells the truth", func(t *testing.T) {
		check := newFakeCheck(t, "ACCEPTED")
		srv, out := start(t, opts(check.srv.URL))
		form, token := cinetpayForm(secret)
		code := send(t, http.MethodPost, srv.URL+"/cinetpay", []byte(form.Encode()),
			"Content-Type", "application/x-www-form-urlencoded", "x-token", token)
		if code != 200 {
			t.Errorf("answered %d, want 200", code)
		}
		calls := check.calls()
		if len(calls) != 1 || calls[0]["transaction_id"] != "TX123" || calls[0]["apikey"] != "demo-apikey" || calls[0]["site_id"] != "445160" {
			t.Fatalf("check calls = %v, want one for TX123 with the apikey and site_id", calls)
		}
		l := lines(t, out)[0]
		if l.Signature != merchant.SigValid || l.Check == nil || l.Check.Status != "ACCEPTED" || l.Check.Code != "00" {
			t.Errorf("line = %+v, want a valid signature and the check's ACCEPTED", l)
		}
	})
	t.Run("text line shows the truth", func(t *testing.T) {
		check := newFakeCheck(t, "REFUSED")
		o := opts(check.srv.URL)
		o.JSON = false
		srv, out := start(t, o)
		form, token := cinetpayForm(secret)
		send(t, http.MethodPost, srv.URL+"/cinetpay", []byte(form.Encode()), "x-token", token)
		line := out.String()
		for _, want := range []string{"cinetpay", "TX123", "signature valid", "answered 200", "check: REFUSED"} {
			if !strings.Contains(line, want) {
				t.Errorf("line %q does not say %q", line, want)
			}
		}
	})
	t.Run("invalid x-token: 401, no check", func(t *testing.T) {
		check := newFakeCheck(t, "ACCEPTED")
		srv, out := start(t, opts(check.srv.URL))
		form, token := cinetpayForm("wrong-secret")
		if code := send(t, http.MethodPost, srv.URL+"/cinetpay", []byte(form.Encode()), "x-token", token); code != 401 {
			t.Errorf("answered %d, want 401", code)
		}
		if n := len(check.calls()); n != 0 {
			t.Errorf("%d check calls for a forged notification, want 0", n)
		}
		if l := lines(t, out)[0]; l.Signature != merchant.SigInvalid {
			t.Errorf("signature = %s, want invalid", l.Signature)
		}
	})
	t.Run("check API unreachable: 503 so that the gateway retries", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		srv, out := start(t, opts(dead.URL))
		form, token := cinetpayForm(secret)
		if code := send(t, http.MethodPost, srv.URL+"/cinetpay", []byte(form.Encode()), "x-token", token); code != 503 {
			t.Errorf("answered %d, want 503", code)
		}
		if l := lines(t, out)[0]; l.Check == nil || l.Check.Error == "" {
			t.Errorf("line = %+v, want the check's error", l)
		}
	})
}

func TestCentili(t *testing.T) {
	params := url.Values{
		"country": {"rs"}, "enduserprice": {"1.00"}, "mnocode": {"RS_VIP"}, "phone": {"4366124567"},
		"reference": {"12345678"}, "revenue": {"8.0564"}, "service": {"fc865026b76093fa8cae153740af25c8"},
		"status": {"failed"}, "transactionid": {"1488787"},
	}
	signed := func(key string, alg payloads.SignAlgorithm) string {
		sign, err := payloads.CentiliSign(key, alg, params)
		if err != nil {
			t.Fatal(err)
		}
		return payloads.CentiliQuery(params, sign)
	}
	tests := []struct {
		name     string
		key      string
		alg      payloads.SignAlgorithm
		query    string
		wantCode int
		wantSig  string
	}{
		{"the PROVIDERS.md vector", "Centili", "", signed("Centili", payloads.SignSHA1), 200, merchant.SigValid},
		{"sha256", "k", payloads.SignSHA256, signed("k", payloads.SignSHA256), 200, merchant.SigValid},
		{"wrong key: 406, Centili's stop code", "other", "", signed("Centili", payloads.SignSHA1), 406, merchant.SigInvalid},
		{"algorithm mismatch: 406", "Centili", payloads.SignMD5, signed("Centili", payloads.SignSHA1), 406, merchant.SigInvalid},
		{"no key to check", "", "", signed("Centili", payloads.SignSHA1), 200, merchant.SigUnchecked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, out := start(t, merchant.Options{CentiliKey: tt.key, CentiliAlgorithm: tt.alg, JSON: true})
			if code := send(t, http.MethodGet, srv.URL+"/centili?"+tt.query, nil); code != tt.wantCode {
				t.Errorf("answered %d, want %d", code, tt.wantCode)
			}
			l := lines(t, out)[0]
			if l.Gateway != "centili" || l.Signature != tt.wantSig || l.Fields["transactionid"] != "1488787" || l.Fields["status"] != "failed" {
				t.Errorf("line = %+v, want centili, signature %s, the transaction and its status", l, tt.wantSig)
			}
		})
	}
}

func TestUnknownRouteAndTerminalSafety(t *testing.T) {
	srv, out := start(t, merchant.Options{})
	if code := send(t, http.MethodGet, srv.URL+"/elsewhere", nil); code != 404 {
		t.Errorf("GET /elsewhere answered %d, want 404", code)
	}
	hostile := []byte(`{"order_id":"ORDER\u001b]0;pwned\u0007","status":"SUCCESS"}`)
	send(t, http.MethodPost, srv.URL+"/qris", hostile)
	printed := out.String()
	if strings.ContainsAny(printed, "\x1b\x07") {
		t.Errorf("printed raw control characters: %q", printed)
	}
	if !strings.Contains(printed, `order_id=ORDER\x1b]0;pwned\a`) {
		t.Errorf("printed %q, want the order id with its control characters escaped", printed)
	}
}
