package reliability_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// TestCallbackURLWithUserinfoRefused: a callback URL holding a user name
// and password is refused with a 400 naming the field and the problem,
// wherever one enters through the API, and the password is not repeated.
// Before, it was stored, sent as Basic auth and shown in every record.
func TestCallbackURLWithUserinfoRefused(t *testing.T) {
	t.Parallel()
	sim := simtest.Start(t)
	const secret = "s3cret-pass"
	withUser := "http://user:" + secret + "@127.0.0.1:9/callback"
	cinetpay := func(field string) map[string]any {
		body := map[string]any{
			"apikey": "demo-apikey", "site_id": "445160", "transaction_id": "TX-USER-" + field, "amount": 100, "currency": "XOF",
			"description": "Test", "notify_url": "http://127.0.0.1:9/notify", "return_url": "https://shop.example/", "channels": "ALL",
		}
		body[field] = withUser
		return body
	}
	tests := []struct {
		name, path, field string
		body              map[string]any
		header            []string
	}{
		{"QRIS initiate", "/api/qris/initiate", "callback_url",
			map[string]any{"amount": 50000, "order_id": "ORD-USER", "callback_url": withUser},
			[]string{"Authorization", "Bearer demo-qris-token"}},
		{"CinetPay notify_url", "/v2/payment", "notify_url", cinetpay("notify_url"), nil},
		{"CinetPay return_url", "/v2/payment", "return_url", cinetpay("return_url"), nil},
		{"handler check", "/v1/checks", "url",
			map[string]any{"provider": "qris", "url": withUser},
			[]string{"Authorization", "Bearer " + simtest.AdminToken}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sim.Do(http.MethodPost, tt.path, tt.body, tt.header...)
			body := string(r.Body)
			if r.Status != http.StatusBadRequest || !strings.Contains(body, tt.field) || !strings.Contains(body, "user name or password") {
				t.Errorf("POST %s with %s %s: %d %s; want 400 naming %s and the user name or password", tt.path, tt.field, withUser, r.Status, body, tt.field)
			}
			if strings.Contains(body, secret) {
				t.Errorf("POST %s: the answer repeats the password: %s", tt.path, body)
			}
		})
	}
	if r := sim.Admin(http.MethodGet, "/v1/callbacks", nil); strings.Contains(string(r.Body), secret) {
		t.Errorf("the operator API shows the password: %s", r.Body)
	}
}

// TestCallbackURLQuerySentEncoded: a space and other bytes a query may not
// hold raw reach the merchant percent-encoded on the request line, as a
// gateway's HTTP client sends them, while the merchant's own escapes and
// parameter order are kept; the attempt records the URL as sent. Before,
// the space went out raw ("POST /callback?note=a b&... HTTP/1.1").
func TestCallbackURLQuerySentEncoded(t *testing.T) {
	t.Parallel()
	m := simtest.NewWireMerchant(t, nil)
	sim := simtest.Start(t)
	id := submit(t, sim, "demo-qris-token", "ORD-SPACE", m.URL+"?z=1&note=a b&name=Zoé&keep=%2f|x")
	cb := sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)
	got := m.WaitRequests(1, 5*time.Second)[0]
	const want = "z=1&note=a%20b&name=Zo%C3%A9&keep=%2f%7Cx"
	if got.Query() != want || got.Line != "POST /?"+want+" HTTP/1.1" {
		t.Errorf("request line %q, want the query %q", got.Line, want)
	}
	if u := cb.Attempts[0].Request.URL; !strings.HasSuffix(u, "?"+want) {
		t.Errorf("attempt records %q, want the URL as sent, ending ?%s", u, want)
	}
}
