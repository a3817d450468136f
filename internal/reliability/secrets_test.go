package reliability_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/hostile"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// TestSecretsNeverLeak runs a simulator with known secrets at debug log
// level through deliveries, retries, failures of every kind, manual
// resends, bad credentials and a Redis outage, then looks for each secret
// in everything it said: its logs, /metrics, and every JSON answer of the
// API (attempt records included). Signatures derived from the secrets are
// expected in the records; the secrets themselves must appear nowhere.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	webhookKey := base64.StdEncoding.EncodeToString([]byte("webhook-key-SECRET-material-0123"))
	secrets := map[string]string{
		"admin.token":                          "adm-SECRET-7f3a9c2e",
		"redis password":                       "redis-SECRET-pw-4411",
		"merchants[0].qris.token":              "qtok-SECRET-a-1b2c",
		"merchants[0].qris.signing_secret":     "sign-SECRET-a-9d8e",
		"merchants[0].cinetpay.apikey":         "cpkey-SECRET-3344",
		"merchants[0].cinetpay.secret_key":     "cpsec-SECRET-5566",
		"merchants[0].centili.service":         "ctsvc-SECRET-7788",
		"merchants[0].centili.signature_key":   "ctkey-SECRET-99aa",
		"merchants[1].qris.token":              "qtok-SECRET-b-ccdd",
		"merchants[1].qris.signing_secret":     "whsec_" + webhookKey,
		"merchants[1].qris.signing_secret key": webhookKey,
	}
	r := redistest.StartWith(t, redistest.Options{AOF: true, Password: secrets["redis password"]})
	ok := newMerchant(t, http.StatusOK)
	flaky := simtest.NewMerchant(t, http.StatusInternalServerError, http.StatusOK)
	c := baseConf(t, r.URL())
	c.set("admin.token", secrets["admin.token"])
	c.set("log.level", "debug")
	c.set("providers.qris.timeout", "500ms")
	c.set("merchants", []any{
		map[string]any{
			"id":       "shop-a",
			"qris":     map[string]any{"token": secrets["merchants[0].qris.token"], "signing_secret": secrets["merchants[0].qris.signing_secret"], "signing": "hmac-sha256"},
			"cinetpay": map[string]any{"apikey": secrets["merchants[0].cinetpay.apikey"], "site_id": "445160", "secret_key": secrets["merchants[0].cinetpay.secret_key"]},
			"centili": map[string]any{"service": secrets["merchants[0].centili.service"], "signature_key": secrets["merchants[0].centili.signature_key"],
				"sign_algorithm": "sha256", "notification_url": ok.URL + "?via=centili"},
		},
		map[string]any{
			"id":   "shop-b",
			"qris": map[string]any{"token": secrets["merchants[1].qris.token"], "signing_secret": secrets["merchants[1].qris.signing_secret"], "signing": "standard-webhooks"},
		},
	})
	p := start(t, c)

	var answers []string // every body the API answered
	do := func(method, path string, body any, header ...string) simtest.Response {
		resp := p.Do(method, path, body, header...)
		answers = append(answers, string(resp.Body))
		for k, vs := range resp.Header {
			answers = append(answers, k+": "+strings.Join(vs, ","))
		}
		return resp
	}
	admin := []string{"Authorization", "Bearer " + secrets["admin.token"]}
	pay := func(token, orderID, url string) string {
		auth := []string{"Authorization", "Bearer " + token}
		do(http.MethodPost, "/api/qris/initiate", map[string]any{"amount": 1000, "order_id": orderID, "callback_url": url}, auth...)
		resp := do(http.MethodPost, "/api/qris/simulate", map[string]any{"order_id": orderID, "status": "SUCCESS"}, auth...)
		var ans struct {
			CallbackID string `json:"callback_id"`
		}
		resp.JSON(t, &ans)
		do(http.MethodGet, "/api/qris/transactions/"+orderID, nil, auth...)
		return ans.CallbackID
	}

	cinetPay := func(tx, notifyURL string) string {
		do(http.MethodPost, "/v2/payment", map[string]any{
			"apikey": secrets["merchants[0].cinetpay.apikey"], "site_id": "445160", "transaction_id": tx, "amount": 300,
			"currency": "XOF", "description": "secrets", "notify_url": notifyURL, "return_url": "http://127.0.0.1:9/return",
		})
		resp := do(http.MethodPost, "/v2/simulate", map[string]any{
			"apikey": secrets["merchants[0].cinetpay.apikey"], "site_id": "445160", "transaction_id": tx, "status": "ACCEPTED",
		})
		var ans struct {
			CallbackID string `json:"callback_id"`
		}
		resp.JSON(t, &ans)
		do(http.MethodPost, "/v2/payment/check", map[string]any{"apikey": secrets["merchants[0].cinetpay.apikey"], "site_id": "445160", "transaction_id": tx})
		do(http.MethodPost, "/v2/payment/check", map[string]any{"apikey": secrets["merchants[0].cinetpay.apikey"] + "x", "site_id": "445160", "transaction_id": tx})
		return ans.CallbackID
	}
	centili := func(status string) string {
		resp := do(http.MethodPost, "/centili/simulate", map[string]any{"service": secrets["merchants[0].centili.service"], "status": status})
		var ans struct {
			CallbackID string `json:"callback_id"`
		}
		resp.JSON(t, &ans)
		do(http.MethodPost, "/centili/simulate", map[string]any{"service": secrets["merchants[0].centili.service"] + "x", "status": status})
		return ans.CallbackID
	}
	ids := []string{
		cinetPay("SEC-CP-OK", ok.URL),
		centili("success"),
		pay(secrets["merchants[0].qris.token"], "SEC-A-OK", ok.URL),
		pay(secrets["merchants[1].qris.token"], "SEC-B-OK", ok.URL+"?token=merchant-own-query"),
		pay(secrets["merchants[0].qris.token"], "SEC-A-FLAKY", flaky.URL),
		pay(secrets["merchants[1].qris.token"], "SEC-B-REFUSED", hostile.Refused(t)),
		pay(secrets["merchants[0].qris.token"], "SEC-A-DNS", hostile.Unresolvable),
		pay(secrets["merchants[1].qris.token"], "SEC-B-TLS", hostile.BadTLS(t).URL),
		pay(secrets["merchants[0].qris.token"], "SEC-A-SILENT", hostile.Silent(t).URL),
		pay(secrets["merchants[1].qris.token"], "SEC-B-METADATA", "http://169.254.169.254/latest/meta-data/"),
	}
	waitStatus(t, p, ids[:5], store.StatusDelivered, 20*time.Second)
	waitStatus(t, p, ids[5:], store.StatusFailed, 30*time.Second)
	do(http.MethodPost, "/v1/callbacks/"+ids[2]+"/resend", nil, admin...)
	do(http.MethodPost, "/v1/callbacks/"+ids[5]+"/resend", nil, admin...)
	simtest.Eventually(t, 10*time.Second, func() bool {
		cb, _ := callback(t, p, ids[2])
		return len(cb.Attempts) == 2
	}, func() string { return "the manual resend to be recorded" })
	cookie, _ := simtest.SignIn(t, p.URL, secrets["admin.token"])
	do(http.MethodGet, "/", nil, "Cookie", cookie)
	do(http.MethodGet, "/", nil)

	// Bad credentials and bad input: the errors must not echo a secret.
	do(http.MethodGet, "/v1/callbacks", nil, "Authorization", "Bearer "+secrets["admin.token"]+"x")
	do(http.MethodGet, "/v1/callbacks", nil, "Authorization", "Bearer "+secrets["merchants[0].qris.token"])
	do(http.MethodPost, "/api/qris/initiate", map[string]any{"amount": -1}, "Authorization", "Bearer "+secrets["merchants[0].qris.token"])
	do(http.MethodPost, "/api/qris/initiate", "{", "Authorization", "Bearer "+secrets["merchants[0].qris.token"])
	do(http.MethodGet, "/api/qris/transactions/NOPE", nil, "Authorization", "Bearer "+secrets["merchants[1].qris.token"])

	// A Redis outage, so that the connection errors are logged too.
	r.Stop()
	do(http.MethodGet, "/v1/callbacks", nil, admin...)
	do(http.MethodGet, "/readyz", nil)
	pay(secrets["merchants[0].qris.token"], "SEC-DOWN", ok.URL)
	simtest.Eventually(t, 10*time.Second, func() bool {
		return strings.Contains(p.out.String(), "redis") && strings.Contains(p.out.String(), "refused")
	}, func() string { return "the outage to be logged" })
	r.Restart()
	simtest.Eventually(t, 10*time.Second, func() bool { return p.Do(http.MethodGet, "/readyz", nil).Status == http.StatusOK },
		func() string { return "Redis to be back" })

	list := do(http.MethodGet, "/v1/callbacks?limit=500", nil, admin...)
	if list.Status != http.StatusOK {
		t.Fatalf("list: %d %s", list.Status, list.Body)
	}
	for _, id := range ids {
		do(http.MethodGet, "/v1/callbacks/"+id, nil, admin...)
	}
	metrics := do(http.MethodGet, "/metrics", nil)
	if !strings.Contains(string(metrics.Body), "callbacksim_delivery_attempts_total") {
		t.Fatalf("/metrics has no delivery metrics:\n%s", metrics.Body)
	}
	// The records do hold what is derived from the secrets.
	for i, derived := range map[int]string{0: "X-Token", 1: "sign=", 2: "X-Callback-Signature", 3: "Webhook-Signature"} {
		if detail := string(do(http.MethodGet, "/v1/callbacks/"+ids[i], nil, admin...).Body); !strings.Contains(detail, derived) {
			t.Errorf("the attempt record of callback %d has no %s: %s", i, derived, detail)
		}
	}

	if got := p.term(20 * time.Second); got != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", got)
	}
	logs := p.out.String()
	if !strings.Contains(logs, `"level":"DEBUG"`) || !strings.Contains(logs, `"msg":"attempt"`) {
		t.Fatalf("the logs have no debug lines about attempts; the test would prove nothing:\n%s", logs)
	}

	everything := map[string]string{"logs": logs, "/metrics": string(metrics.Body), "API answers": strings.Join(answers, "\n")}
	for where, text := range everything {
		for name, secret := range secrets {
			if name == "merchants[0].centili.service" && where == "API answers" {
				// Centili puts the service key in every notification's
				// query (PROVIDERS.md), so the attempt records show it, as
				// the merchant who owns it receives it. Logs and metrics
				// must not.
				continue
			}
			if strings.Contains(text, secret) {
				i := strings.Index(text, secret)
				t.Errorf("%s hold %s (%q), near: %q", where, name, secret, text[max(0, i-200):min(len(text), i+len(secret)+100)])
			}
		}
	}
	t.Logf("looked for %d secrets in %d bytes of logs and %d API answers (including /metrics and every attempt record)", len(secrets), len(logs), len(answers))
}
