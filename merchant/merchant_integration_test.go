package merchant_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/internal/syncbuf"
	"github.com/callbacksim/callbacksim/merchant"
)

// The sample merchant against a real simulator: CinetPay notifications are
// verified with the demo merchant's secret key, and the merchant asks the
// simulator's own check API for the truth.

// cinetpayPayment initialises a CinetPay payment notifying notifyURL and
// simulates status; it returns the callback id.
func cinetpayPayment(t *testing.T, sim *simtest.Sim, transactionID, notifyURL, status string) string {
	t.Helper()
	r := sim.Do(http.MethodPost, "/v2/payment", map[string]any{
		"apikey": "demo-apikey", "site_id": "445160", "transaction_id": transactionID, "amount": 250, "currency": "XOF",
		"description": "Order " + transactionID, "notify_url": notifyURL, "return_url": "https://shop.example/", "channels": "ALL",
	})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"code":"201"`) {
		t.Fatalf("init %s: %d %s", transactionID, r.Status, r.Body)
	}
	r = sim.Do(http.MethodPost, "/v2/simulate", map[string]any{
		"apikey": "demo-apikey", "site_id": "445160", "transaction_id": transactionID, "status": status,
	})
	var ans struct {
		CallbackID string `json:"callback_id"`
	}
	r.JSON(t, &ans)
	if r.Status != http.StatusAccepted || ans.CallbackID == "" {
		t.Fatalf("simulate %s: %d %s", transactionID, r.Status, r.Body)
	}
	return ans.CallbackID
}

// waitNotifications waits until the merchant has printed n notification
// lines about CinetPay transaction tx, the id it knows a notification by
// (it prints once it has answered, so a line can come just after the
// simulator recorded the attempt), and returns them, each after the ping
// printed just before it.
func waitNotifications(t *testing.T, out *syncbuf.Buffer, tx string, n int) (notifications, pings []merchant.Line) {
	t.Helper()
	simtest.Eventually(t, 5*time.Second, func() bool {
		notifications, pings = notifications[:0], pings[:0]
		all := lines(t, out)
		for i, l := range all {
			if l.Kind == "notification" && l.Transaction == tx {
				notifications = append(notifications, l)
				if i > 0 {
					pings = append(pings, all[i-1])
				}
			}
		}
		return len(notifications) >= n
	}, func() string { return fmt.Sprintf("%d notification lines about %s, got %d", n, tx, len(notifications)) })
	return notifications, pings
}

func TestMerchantCinetPayAgainstTheSimulator(t *testing.T) {
	sim := simtest.Start(t)
	demo := merchant.Options{
		CinetPaySecret: "demo-secret", CinetPayAPIKey: "demo-apikey", CinetPaySiteID: "445160", API: sim.URL, JSON: true,
	}

	t.Run("x-token verified, check API's status printed", func(t *testing.T) {
		sim := sim.With(t)
		srv, out := start(t, demo)
		for _, tt := range []struct{ tx, status, code, message string }{
			{"TX-M-OK", "ACCEPTED", "00", "SUCCES"},
			{"TX-M-WAIT", "WAITING_FOR_CUSTOMER", "623", "WAITING_CUSTOMER_TO_VALIDATE"},
			{"TX-M-NO", "REFUSED", "627", "TRANSACTION_CANCEL"},
		} {
			id := cinetpayPayment(t, sim, tt.tx, srv.URL+"/cinetpay", tt.status)
			sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)
			notifications, pings := waitNotifications(t, out, tt.tx, 1)
			if len(notifications) != 1 || len(pings) != 1 || pings[0].Kind != "ping" || pings[0].Transaction != "" {
				t.Fatalf("%s: notifications %+v after %+v, want one, after a ping with no data", tt.tx, notifications, pings)
			}
			l := notifications[0]
			want := merchant.Check{Code: tt.code, Message: tt.message, Status: tt.status, Amount: "250", Currency: "XOF", PaymentMethod: "OM"}
			if l.Signature != merchant.SigValid || l.Answered != http.StatusOK || l.Check == nil || *l.Check != want {
				t.Errorf("%s: signature %s, answered %d, check %+v; want valid, 200, %+v", tt.tx, l.Signature, l.Answered, l.Check, want)
			}
			if l.Fields["cpm_trans_id"] != tt.tx || l.Fields["cpm_error_message"] != tt.message {
				t.Errorf("%s: fields %v", tt.tx, l.Fields)
			}
		}
	})

	t.Run("wrong secret key: x-token invalid, 401, no check", func(t *testing.T) {
		sim := sim.With(t)
		o := demo
		o.CinetPaySecret = "not-the-secret"
		srv, out := start(t, o)
		id := cinetpayPayment(t, sim, "TX-M-FORGED", srv.URL+"/cinetpay", "ACCEPTED")
		sim.WaitStatus(id, store.StatusFailed, 10*time.Second)
		notifications, _ := waitNotifications(t, out, "TX-M-FORGED", 4)
		for _, l := range notifications {
			if l.Signature != merchant.SigInvalid || l.Answered != http.StatusUnauthorized || l.Check != nil {
				t.Errorf("line %+v, want an invalid signature answered 401 without a check", l)
			}
		}
	})

	t.Run("wrong apikey for the check: 503 until the gateway gives up", func(t *testing.T) {
		sim := sim.With(t)
		o := demo
		o.CinetPayAPIKey = "not-the-apikey"
		srv, out := start(t, o)
		id := cinetpayPayment(t, sim, "TX-M-NOKEY", srv.URL+"/cinetpay", "ACCEPTED")
		cb := sim.WaitStatus(id, store.StatusFailed, 10*time.Second)
		if n := len(cb.Attempts); n != 4 || cb.Attempts[0].Response == nil || cb.Attempts[0].Response.Status != http.StatusServiceUnavailable {
			t.Errorf("%d attempts, want 4 answered 503", n)
		}
		notifications, _ := waitNotifications(t, out, "TX-M-NOKEY", 4)
		for _, l := range notifications {
			if l.Signature != merchant.SigValid || l.Answered != http.StatusServiceUnavailable ||
				l.Check == nil || l.Check.Code != "609" || !strings.Contains(l.Check.Error, "609 AUTH_NOT_FOUND") {
				t.Errorf("line %+v (check %+v), want a valid signature answered 503 after the check's 609", l, l.Check)
			}
		}
	})
}

// After paying on CinetPay's checkout page, the browser lands on the
// README's return_url: the sample merchant answers an HTML page showing the
// status its check API call found, not a QRIS answer in JSON.
func TestMerchantReturnPage(t *testing.T) {
	sim := simtest.Start(t)
	demo := merchant.Options{CinetPaySecret: "demo-secret", CinetPayAPIKey: "demo-apikey", CinetPaySiteID: "445160", API: sim.URL, JSON: true}
	srv, out := start(t, demo)
	r := sim.Do(http.MethodPost, "/v2/payment", map[string]any{
		"apikey": "demo-apikey", "site_id": "445160", "transaction_id": "TX-M-RETURN", "amount": 100, "currency": "XOF",
		"description": "Return page", "notify_url": srv.URL + "/cinetpay", "return_url": srv.URL + merchant.ReturnPath, "channels": "ALL",
	})
	var init struct {
		Data struct {
			Token string `json:"payment_token"`
			URL   string `json:"payment_url"`
		} `json:"data"`
	}
	r.JSON(t, &init)
	if init.Data.URL == "" {
		t.Fatalf("init: %d %s", r.Status, r.Body)
	}
	// The checkout form's POST; its 307 takes the browser, and the form, to return_url.
	resp, err := http.PostForm(init.Data.URL, url.Values{"transaction_id": {"TX-M-RETURN"}, "token": {init.Data.Token}, "choice": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != merchant.ReturnPath ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("after checkout: %d %s at %s, want 200 HTML at %s:\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Request.URL, merchant.ReturnPath, page)
	}
	for _, want := range []string{`<dd id="transaction">TX-M-RETURN</dd>`, `<dd id="status">ACCEPTED</dd>`, "check API"} {
		if !strings.Contains(page, want) {
			t.Errorf("return page lacks %q:\n%s", want, page)
		}
	}
	simtest.Eventually(t, 5*time.Second, func() bool {
		for _, l := range lines(t, out) {
			if l.Kind == "return" && l.Transaction == "TX-M-RETURN" && l.Check != nil && l.Check.Status == "ACCEPTED" {
				return true
			}
		}
		return false
	}, func() string { return "a return line with the check's status, got:\n" + out.String() })

	t.Run("without a check API it says where the status comes from", func(t *testing.T) {
		srv, _ := start(t, merchant.Options{})
		resp, err := http.Get(srv.URL + merchant.ReturnPath + "?transaction_id=" + url.QueryEscape("<b>X"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "&lt;b&gt;X") || !strings.Contains(string(body), "notify_url") {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
}
