package cinetpay_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

var (
	transDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`)
	opID      = regexp.MustCompile(`^MP\d{6}\.\d{4}\.[A-Z]\d{5}$`)
)

func TestCinetPayNotificationVerifiesWithTheMerchantsSecret(t *testing.T) {
	sim := simtest.Start(t)

	t.Run("right secret: ping, then a genuine form", func(t *testing.T) {
		sim := sim.With(t)
		m := newMerchant(t, secretKey, nil)
		initiate(t, sim, initBody("TX-OK", m.URL))
		id := simulate(t, sim, "TX-OK", "ACCEPTED")
		cb := sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)

		hits := m.Hits()
		if len(hits) != 2 || hits[0].Method != http.MethodGet || hits[1].Method != http.MethodPost {
			t.Fatalf("merchant got %d requests %v, want a GET ping then a POST", len(hits), methods(hits))
		}
		ping, n := hits[0], hits[1]
		if len(ping.Body) != 0 || ping.Header.Get("X-Callback-Id") != "" {
			t.Errorf("ping: body %q, X-Callback-Id %q; want no data and no callback id (CinetPay sends none)", ping.Body, ping.Header.Get("X-Callback-Id"))
		}
		if !n.Valid {
			t.Fatalf("the merchant's x-token check failed: x-token %s, body %s", n.Header.Get("X-Token"), n.Body)
		}
		if ct := n.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type = %q", ct)
		}
		if diff := cmp.Diff(xTokenOrder, formNames(n.Body)); diff != "" {
			t.Errorf("form fields are not the 16 fields in x-token order (-want +got):\n%s", diff)
		}
		f := n.Form
		want := map[string]string{
			"cpm_site_id": siteID, "cpm_trans_id": "TX-OK", "cpm_amount": "100", "cpm_currency": "XOF",
			"payment_method": "OM", "cpm_phone_prefixe": "225", "cpm_language": "fr", "cpm_version": "V4",
			"cpm_payment_config": "SINGLE", "cpm_page_action": "PAYMENT", "cpm_custom": "order-42",
			"cpm_designation": "Paiement abonnement", "cpm_error_message": "SUCCES",
		}
		for name, v := range want {
			if f.Get(name) != v {
				t.Errorf("%s = %q, want %q", name, f.Get(name), v)
			}
		}
		if !transDate.MatchString(f.Get("cpm_trans_date")) {
			t.Errorf("cpm_trans_date = %q, want like 2024-01-15 10:30:00", f.Get("cpm_trans_date"))
		}
		if sig := f.Get("signature"); sig == "" || sig == n.Header.Get("X-Token") {
			t.Errorf("signature = %q: want a token of its own, not the x-token", sig)
		}
		if !regexp.MustCompile(`^07\d{8}$`).MatchString(f.Get("cel_phone_num")) {
			t.Errorf("cel_phone_num = %q, want a Côte d'Ivoire number", f.Get("cel_phone_num"))
		}
		a := cb.Attempts[0]
		if a.Ping == nil || a.Ping.Request.Method != http.MethodGet || a.Ping.Response == nil || a.Ping.Response.Status != 200 {
			t.Errorf("attempt's ping = %+v, want the GET and its 200", a.Ping)
		}
		if a.Request.Method != http.MethodPost || a.Response.Status != 200 || a.Hint != "" {
			t.Errorf("attempt = %s answered %d, hint %q; want the POST answered 200, nothing to fix", a.Request.Method, a.Response.Status, a.Hint)
		}
	})

	t.Run("wrong secret: the merchant's check fails", func(t *testing.T) {
		sim := sim.With(t)
		m := newMerchant(t, "not-the-secret", nil)
		initiate(t, sim, initBody("TX-FORGED", m.URL))
		id := simulate(t, sim, "TX-FORGED", "ACCEPTED")
		cb := sim.WaitStatus(id, store.StatusFailed, 15*time.Second)
		for _, p := range m.Posts() {
			if p.Valid {
				t.Errorf("a notification passed a check with the wrong secret")
			}
		}
		if len(cb.Attempts) != 4 || cb.Attempts[0].Response.Status != http.StatusUnauthorized {
			t.Errorf("attempts = %d, first answered %d; want 4 attempts refused with 401", len(cb.Attempts), cb.Attempts[0].Response.Status)
		}
	})
}

func methods(hits []hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.Method
	}
	return out
}

func TestCinetPayEveryAttemptPingsThenPosts(t *testing.T) {
	sim := simtest.Start(t)
	// The ping is always answered 404 (it decides nothing); the first POST
	// 500, the second 200.
	posts := 0
	m := newMerchant(t, secretKey, func(_ int, h hit) int {
		if h.Method == http.MethodGet {
			return http.StatusNotFound
		}
		posts++
		if posts == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	initiate(t, sim, initBody("TX-RETRY", m.URL))
	id := simulate(t, sim, "TX-RETRY", "REFUSED")
	cb := sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)

	if diff := cmp.Diff([]string{"GET", "POST", "GET", "POST"}, methods(m.Hits())); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	for _, h := range m.Hits() {
		if h.Header.Get("X-Callback-Id") != "" {
			t.Errorf("%s with X-Callback-Id %q, which CinetPay never sends", h.Method, h.Header.Get("X-Callback-Id"))
		}
	}
	if len(cb.Attempts) != 2 {
		t.Fatalf("%d attempts, want 2", len(cb.Attempts))
	}
	// The POST decides; the failed GET check is said on each attempt.
	const pingHint = "your notify_url answered 404 to CinetPay's GET check; it must answer 200 to GET and POST"
	for i, want := range []store.Outcome{store.OutcomeRetry, store.OutcomeDelivered} {
		a := cb.Attempts[i]
		if a.Outcome != want || a.Ping == nil || a.Ping.Response == nil || a.Ping.Response.Status != 404 {
			t.Errorf("attempt %d: outcome %s, ping %+v; want %s after a ping answered 404", i+1, a.Outcome, a.Ping, want)
		}
		if !strings.HasSuffix(a.Hint, pingHint) {
			t.Errorf("attempt %d: hint %q, want it to end %q", i+1, a.Hint, pingHint)
		}
	}
	if !strings.HasPrefix(cb.Attempts[0].Hint, "500: ") {
		t.Errorf("the failed POST's hint %q does not come first", cb.Attempts[0].Hint)
	}
	if got := m.Posts()[1].Form.Get("cpm_error_message"); got != "TRANSACTION_CANCEL" {
		t.Errorf("cpm_error_message = %q, want TRANSACTION_CANCEL", got)
	}
}

func TestCinetPayPushConfirmedPaymentNotifiesTwice(t *testing.T) {
	sim := simtest.Start(t)
	m := newMerchant(t, secretKey, nil)
	initiate(t, sim, initBody("TX-PUSH", m.URL))

	// Before anything: waiting for the customer's payment.
	a := check(t, sim, "TX-PUSH")
	wantWaiting := func(code, message, method, phone, prefix string) map[string]any {
		return map[string]any{
			"code": code, "message": message, "api_response_id": a.Map["api_response_id"],
			"data": map[string]any{
				"amount": "100", "currency": "XOF", "status": "WAITING_FOR_CUSTOMER", "payment_method": method,
				"phone_number": phone, "phone_prefix": prefix,
				"description": "Paiement abonnement", "metadata": "order-42", "operator_id": nil,
				"payment_date": " ", "fund_availability_date": a.data()["fund_availability_date"],
			},
		}
	}
	if diff := cmp.Diff(wantWaiting("662", "WAITING_CUSTOMER_PAYMENT", "", "", ""), a.Map); a.Status != 200 || diff != "" {
		t.Errorf("check of a new payment: %d (-want +got):\n%s", a.Status, diff)
	}

	first := simulate(t, sim, "TX-PUSH", "WAITING_FOR_CUSTOMER", "payment_method", "MOMO")
	sim.WaitStatus(first, store.StatusDelivered, 10*time.Second)
	a = check(t, sim, "TX-PUSH")
	// The payer's number, as the notification gave it: CinetPay's PHP SDK
	// reads data.phone_number and data.phone_prefix.
	waiting := m.WaitPosts(t, 1)[0].Form
	phone, prefix := waiting.Get("cel_phone_num"), waiting.Get("cpm_phone_prefixe")
	if phone == "" || prefix != "225" {
		t.Fatalf("notification's cel_phone_num %q, cpm_phone_prefixe %q", phone, prefix)
	}
	if diff := cmp.Diff(wantWaiting("623", "WAITING_CUSTOMER_TO_VALIDATE", "MOMO", phone, prefix), a.Map); diff != "" {
		t.Errorf("check while waiting for the push (-want +got):\n%s", diff)
	}

	second := simulate(t, sim, "TX-PUSH", "ACCEPTED")
	sim.WaitStatus(second, store.StatusDelivered, 10*time.Second)
	posts := m.Posts()
	if len(posts) != 2 || first == second {
		t.Fatalf("merchant got %d notifications (callbacks %s, %s), want 2", len(posts), first, second)
	}
	for i, want := range []string{"WAITING_CUSTOMER_TO_VALIDATE", "SUCCES"} {
		if !posts[i].Valid || posts[i].Form.Get("cpm_error_message") != want || posts[i].Form.Get("payment_method") != "MOMO" {
			t.Errorf("notification %d: valid %t, cpm_error_message %q, payment_method %q; want %s by MOMO",
				i+1, posts[i].Valid, posts[i].Form.Get("cpm_error_message"), posts[i].Form.Get("payment_method"), want)
		}
	}
	if posts[0].Form.Get("cel_phone_num") != posts[1].Form.Get("cel_phone_num") {
		t.Errorf("the payer's number changed between notifications")
	}

	// Accepted: the documented shape, field for field and in order.
	a = check(t, sim, "TX-PUSH")
	d := a.data()
	wantAccepted := map[string]any{
		"code": "00", "message": "SUCCES", "api_response_id": a.Map["api_response_id"],
		"data": map[string]any{
			"amount": "100", "currency": "XOF", "status": "ACCEPTED", "payment_method": "MOMO",
			"phone_number": phone, "phone_prefix": prefix,
			"description": "Paiement abonnement", "metadata": "order-42", "operator_id": d["operator_id"],
			"payment_date": d["payment_date"], "fund_availability_date": d["fund_availability_date"],
		},
	}
	if diff := cmp.Diff(wantAccepted, a.Map); a.Status != 200 || diff != "" {
		t.Errorf("check of an accepted payment: %d (-want +got):\n%s", a.Status, diff)
	}
	op, _ := d["operator_id"].(string)
	pd, _ := d["payment_date"].(string)
	fd, _ := d["fund_availability_date"].(string)
	if !opID.MatchString(op) || !transDate.MatchString(pd) || !regexp.MustCompile(`^\d{4}-\d{2}-\d{2} 00:00:00$`).MatchString(fd) {
		t.Errorf("operator_id %q, payment_date %q, fund_availability_date %q: not in CinetPay's formats", op, pd, fd)
	}
	if !regexp.MustCompile(`^\d{10}\.\d{4}$`).MatchString(a.Map["api_response_id"].(string)) {
		t.Errorf("api_response_id = %v", a.Map["api_response_id"])
	}
	if diff := cmp.Diff([]string{"code", "message", "data", "api_response_id"}, objectKeys(t, a.Raw)); diff != "" {
		t.Errorf("answer key order (-want +got):\n%s", diff)
	}

	// A final status cannot be simulated again.
	r := sim.Do(http.MethodPost, "/v2/simulate", map[string]any{
		"apikey": apikey, "site_id": siteID, "transaction_id": "TX-PUSH", "status": "REFUSED"})
	if r.Status != http.StatusConflict {
		t.Errorf("simulating a final payment again: %d %s, want 409", r.Status, r.Body)
	}
}

func TestCinetPayCheckRefused(t *testing.T) {
	sim := simtest.Start(t)
	m := newMerchant(t, secretKey, nil)
	tests := []struct {
		tx, reason, code, message string
	}{
		{"TX-CANCEL", "", "627", "TRANSACTION_CANCEL"},
		{"TX-POOR", "INSUFFICIENT_BALANCE", "602", "INSUFFICIENT_BALANCE"},
	}
	for _, tt := range tests {
		body := initBody(tt.tx, m.URL)
		delete(body, "metadata")
		token, _ := initiate(t, sim, body)
		extra := []any{"payment_method", "MOMO"}
		if tt.reason != "" {
			extra = append(extra, "reason", tt.reason)
		}
		id := simulate(t, sim, tt.tx, "REFUSED", extra...)
		sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)

		// By token this time, as the documentation allows.
		a := post(t, sim, "/v2/payment/check", map[string]any{"apikey": apikey, "site_id": siteID, "token": token})
		want := map[string]any{
			"code": tt.code, "message": tt.message, "api_response_id": a.Map["api_response_id"],
			"data": map[string]any{
				"amount": "100", "currency": "XOF", "status": "REFUSED", "payment_method": "MOMO",
				"phone_number": m.Posts()[len(m.Posts())-1].Form.Get("cel_phone_num"), "phone_prefix": "225",
				"description": "Paiement abonnement", "metadata": nil, "operator_id": nil,
				"payment_date": " ", "fund_availability_date": a.data()["fund_availability_date"],
			},
		}
		if diff := cmp.Diff(want, a.Map); a.Status != 200 || diff != "" {
			t.Errorf("%s: check: %d (-want +got):\n%s", tt.tx, a.Status, diff)
		}
		if diff := cmp.Diff([]string{"amount", "currency", "status", "payment_method", "phone_number", "phone_prefix", "description", "metadata",
			"operator_id", "payment_date", "fund_availability_date"}, dataKeys(t, a.Raw)); diff != "" {
			t.Errorf("data key order (-want +got):\n%s", diff)
		}
		if got := m.Posts()[len(m.Posts())-1].Form.Get("cpm_error_message"); got != tt.message {
			t.Errorf("%s: cpm_error_message = %q, want %q", tt.tx, got, tt.message)
		}
	}
}

// dataKeys returns the keys of an answer's data object, in order.
func dataKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	start := regexp.MustCompile(`"data":`).FindIndex(raw)
	if start == nil {
		t.Fatalf("no data in %s", raw)
	}
	depth, end := 0, 0
	for i := start[1]; i < len(raw); i++ {
		switch raw[i] {
		case '{':
			depth++
		case '}':
			depth--
		}
		if depth == 0 {
			end = i + 1
			break
		}
	}
	return objectKeys(t, raw[start[1]:end])
}

func TestCinetPayScenario(t *testing.T) {
	sim := simtest.Start(t) // time_scale 0.01: a 10s delay holds the first attempt 100ms
	m := newMerchant(t, secretKey, nil)
	initiate(t, sim, initBody("TX-DUP", m.URL))
	id := simulate(t, sim, "TX-DUP", "ACCEPTED", "scenario", map[string]any{"delay": "10s", "duplicates": 1})
	cb := sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)
	posts := m.WaitPosts(t, 2)
	for _, p := range posts {
		if p.Form.Get("cpm_trans_id") != "TX-DUP" || !p.Valid {
			t.Errorf("copy: cpm_trans_id %q valid %t; want the same transaction, genuine", p.Form.Get("cpm_trans_id"), p.Valid)
		}
	}
	if string(posts[0].Body) != string(posts[1].Body) {
		t.Errorf("the duplicate differs:\n%s\n%s", posts[0].Body, posts[1].Body)
	}
	if held := cb.Attempts[0].At.Sub(cb.CreatedAt); held < 100*time.Millisecond {
		t.Errorf("first attempt %s after the callback was made, want >= 100ms", held)
	}
}

func (m *merchant) WaitPosts(t *testing.T, n int) []hit {
	t.Helper()
	var got []hit
	simtest.Eventually(t, 10*time.Second, func() bool { got = m.Posts(); return len(got) >= n },
		func() string { return "the merchant to receive the notifications" })
	return got
}
