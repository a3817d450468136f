package reliability_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/simtest"
)

// TestCrossSiteFormsSendNoCallback replays the attack of issue 15: a page on
// another origin auto-submits a form to /v2/payment and a text/plain body
// holding JSON to /v2/simulate of a default-config simulator (public demo
// credentials, private egress allowed). Both are refused, and no callback
// goes out; the same calls from a script, and the checkout page's own form,
// still work.
func TestCrossSiteFormsSendNoCallback(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer target.Close()
	sim := simtest.Start(t)
	browser := []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}
	form := url.Values{"apikey": {"demo-apikey"}, "site_id": {"445160"}, "transaction_id": {"EVIL-1"},
		"amount": {"100"}, "currency": {"XOF"}, "description": {"x"},
		"notify_url": {target.URL + "/lan"}, "return_url": {target.URL + "/back"}}.Encode()

	// The form POST to /v2/payment, as a browser sends it cross-site; and
	// with only the Origin (no Sec-Fetch-Site, as over plain HTTP to a LAN
	// address).
	for _, h := range [][]string{browser, browser[:2]} {
		r := sim.Do(http.MethodPost, "/v2/payment", form, append([]string{"Content-Type", "application/x-www-form-urlencoded"}, h...)...)
		var ans struct{ Code, Message string }
		r.JSON(t, &ans)
		if r.Status != http.StatusForbidden || ans.Code != "403" {
			t.Fatalf("cross-site form to /v2/payment (%v): %d %s, want 403 in CinetPay's shape", h, r.Status, r.Body)
		}
	}

	// A script initialises the payment; the page then tries to complete it.
	r := sim.Do(http.MethodPost, "/v2/payment", form, "Content-Type", "application/x-www-form-urlencoded")
	if r.Status != http.StatusOK {
		t.Fatalf("server-to-server /v2/payment: %d %s", r.Status, r.Body)
	}
	var created struct {
		Data struct {
			PaymentURL string `json:"payment_url"`
		} `json:"data"`
	}
	r.JSON(t, &created)
	simulate := `{"apikey":"demo-apikey","site_id":"445160","transaction_id":"EVIL-1","status":"ACCEPTED"}`
	sim.Do(http.MethodPost, "/v2/simulate", simulate, append([]string{"Content-Type", "text/plain"}, browser...)...).
		WantError(t, http.StatusForbidden, "")
	// Without the browser's headers, text/plain is still not JSON.
	sim.Do(http.MethodPost, "/v2/simulate", simulate, "Content-Type", "text/plain").
		WantError(t, http.StatusUnsupportedMediaType, "")
	sim.Do(http.MethodPost, "/centili/simulate", `{"service":"demo-service","status":"success"}`, "Content-Type", "text/plain").
		WantError(t, http.StatusUnsupportedMediaType, "")
	sim.Do(http.MethodPost, "/api/qris/simulate", `{"order_id":"x","status":"SUCCESS"}`,
		append([]string{"Authorization", "Bearer demo-qris-token"}, browser...)...).WantError(t, http.StatusForbidden, "")
	sim.Do(http.MethodPost, "/centili/simulate", map[string]string{"service": "demo-service", "status": "success"}, browser...).
		WantError(t, http.StatusForbidden, "")

	// DNS rebinding: the page's own name resolved to 127.0.0.1.
	u, _ := url.Parse(sim.URL)
	for host, want := range map[string]int{
		"evil.example:" + u.Port(): http.StatusForbidden, "localhost:" + u.Port(): http.StatusOK,
		u.Host: http.StatusOK, "[::1]:" + u.Port(): http.StatusOK, "app.localhost:" + u.Port(): http.StatusOK,
	} {
		req, _ := http.NewRequest(http.MethodGet, sim.URL+"/healthz", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("Host %s: %d %s, want %d JSON", host, resp.StatusCode, resp.Header.Get("Content-Type"), want)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the target got %d requests before any legitimate simulate", n)
	}

	// The checkout page's own form (same-origin) pays: one notification
	// (ping and POST), and it is the only callback there is.
	pay := url.Values{"choice": {"pay"}, "transaction_id": {"EVIL-1"}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, created.Data.PaymentURL, strings.NewReader(pay))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", sim.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("checkout pay: %d, want 307 to return_url", resp.StatusCode)
	}
	simtest.Eventually(t, 10*time.Second, func() bool { return hits.Load() == 2 }, func() string { return "the checkout's ping and notification" })
	var list struct {
		Callbacks []struct{ ID string } `json:"callbacks"`
	}
	sim.Admin(http.MethodGet, "/v1/callbacks", nil).JSON(t, &list)
	if len(list.Callbacks) != 1 {
		t.Fatalf("%d callbacks recorded, want the checkout's one", len(list.Callbacks))
	}
}
