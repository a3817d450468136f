package cinetpay_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/callbacksim/callbacksim/internal/simtest"
)

// with returns a copy of the valid initialisation body with changes; a nil
// value removes the field.
func with(changes map[string]any) map[string]any {
	b := initBody("TX-ERR", "https://shop.example/notify")
	for k, v := range changes {
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
	}
	return b
}

// wantCinetPayError checks an error answer's HTTP status, code, message
// and shape: {code, message, description, api_response_id}, no data.
func wantCinetPayError(t *testing.T, a cinetPayAnswer, status int, code, message, inDescription string) {
	t.Helper()
	if a.Status != status || a.code() != code || a.Map["message"] != message {
		t.Errorf("answer %d %s, want %d with code %s %s", a.Status, a.Raw, status, code, message)
	}
	desc, _ := a.Map["description"].(string)
	if !strings.Contains(desc, inDescription) {
		t.Errorf("description %q does not mention %q", desc, inDescription)
	}
	if _, ok := a.Map["data"]; ok {
		t.Errorf("an error answer has data: %s", a.Raw)
	}
	if id, _ := a.Map["api_response_id"].(string); id == "" {
		t.Errorf("no api_response_id: %s", a.Raw)
	}
}

func TestCinetPayInitErrors(t *testing.T) {
	sim := simtest.Start(t)
	first := post(t, sim, "/v2/payment", with(map[string]any{"transaction_id": "TX-USED"}))
	if first.code() != "201" {
		t.Fatalf("first initialisation: %s", first.Raw)
	}
	tests := []struct {
		name          string
		body          any
		status        int
		code, message string
		inDescription string
	}{
		{"no fields", map[string]any{}, 400, "608", "MINIMUM_REQUIRED_FIELDS",
			"apikey, site_id, transaction_id, amount, currency, description, notify_url, return_url"},
		{"no amount", with(map[string]any{"amount": nil}), 400, "608", "MINIMUM_REQUIRED_FIELDS", "amount"},
		{"empty description", with(map[string]any{"description": ""}), 400, "608", "MINIMUM_REQUIRED_FIELDS", "description"},
		{"no notify_url", with(map[string]any{"notify_url": nil}), 400, "608", "MINIMUM_REQUIRED_FIELDS", "notify_url"},
		{"unknown apikey", with(map[string]any{"apikey": "nope"}), 401, "609", "AUTH_NOT_FOUND", "apikey"},
		{"site of another apikey", with(map[string]any{"site_id": 999}), 401, "609", "AUTH_NOT_FOUND", "site_id"},
		{"amount not a multiple of 5", with(map[string]any{"amount": 102}), 400, "608", "MINIMUM_REQUIRED_FIELDS", "multiple of 5"},
		{"amount not a number", with(map[string]any{"amount": "cent"}), 400, "608", "MINIMUM_REQUIRED_FIELDS", "amount"},
		{"amount with cents", with(map[string]any{"amount": 100.5}), 400, "608", "MINIMUM_REQUIRED_FIELDS", "amount"},
		{"amount zero", with(map[string]any{"amount": 0}), 400, "608", "MINIMUM_REQUIRED_FIELDS", "positive"},
		{"amount negative", with(map[string]any{"amount": -5}), 400, "608", "MINIMUM_REQUIRED_FIELDS", "positive"},
		{"currency EUR", with(map[string]any{"currency": "EUR"}), 400, "608", "MINIMUM_REQUIRED_FIELDS", "XOF, XAF, CDF, GNF, USD"},
		{"currency lower case", with(map[string]any{"currency": "xof"}), 400, "608", "MINIMUM_REQUIRED_FIELDS", "currency"},
		{"unknown channel", with(map[string]any{"channels": "BITCOIN"}), 400, "608", "MINIMUM_REQUIRED_FIELDS", "channels"},
		{"one bad channel of two", with(map[string]any{"channels": "MOBILE_MONEY,CASH"}), 400, "608", "MINIMUM_REQUIRED_FIELDS", "channels"},
		{"notify_url not http", with(map[string]any{"notify_url": "ftp://shop.example/n"}), 400, "608", "MINIMUM_REQUIRED_FIELDS", "notify_url"},
		{"return_url relative", with(map[string]any{"return_url": "/return"}), 400, "608", "MINIMUM_REQUIRED_FIELDS", "return_url"},
		{"lang de", with(map[string]any{"lang": "de"}), 400, "608", "MINIMUM_REQUIRED_FIELDS", "lang"},
		{"transaction_id with a newline", with(map[string]any{"transaction_id": "a\nb"}), 400, "608", "MINIMUM_REQUIRED_FIELDS", "transaction_id"},
		{"transaction_id reused", with(map[string]any{"transaction_id": "TX-USED"}), 409, "624", "PROCESSING_ERROR", "TX-USED"},
		{"malformed JSON", `{"apikey":`, 400, "608", "MINIMUM_REQUIRED_FIELDS", "JSON"},
		{"JSON array", `[1,2]`, 400, "608", "MINIMUM_REQUIRED_FIELDS", "object"},
		{"JSON null", `null`, 400, "608", "MINIMUM_REQUIRED_FIELDS", "object"},
		{"empty body", ``, 400, "608", "MINIMUM_REQUIRED_FIELDS", "empty"},
		{"body over 1 MiB", `{"description":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "608", "MINIMUM_REQUIRED_FIELDS", "larger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := sim.With(t)
			wantCinetPayError(t, post(t, sim, "/v2/payment", tt.body), tt.status, tt.code, tt.message, tt.inDescription)
		})
	}
	t.Run("form with missing fields", func(t *testing.T) {
		sim := sim.With(t)
		a := postForm(t, sim, "/v2/payment", url.Values{"apikey": {apikey}, "amount": {"100"}})
		wantCinetPayError(t, a, 400, "608", "MINIMUM_REQUIRED_FIELDS", "site_id, transaction_id, currency")
	})
	t.Run("malformed form", func(t *testing.T) {
		sim := sim.With(t)
		a := post(t, sim, "/v2/payment", "apikey=%zz", "Content-Type", "application/x-www-form-urlencoded")
		wantCinetPayError(t, a, 400, "608", "MINIMUM_REQUIRED_FIELDS", "form")
	})
	t.Run("multipart without boundary", func(t *testing.T) {
		sim := sim.With(t)
		a := post(t, sim, "/v2/payment", "x", "Content-Type", "multipart/form-data")
		wantCinetPayError(t, a, 400, "608", "MINIMUM_REQUIRED_FIELDS", "boundary")
	})
	t.Run("GET", func(t *testing.T) {
		sim := sim.With(t)
		r := sim.Do(http.MethodGet, "/v2/payment", nil)
		a := cinetPayAnswer{Status: r.Status, Raw: r.Body}
		r.JSON(t, &a.Map)
		wantCinetPayError(t, a, 405, "608", "MINIMUM_REQUIRED_FIELDS", "POST")
	})
}

func TestCinetPayCheckErrors(t *testing.T) {
	sim := simtest.Start(t)
	tests := []struct {
		name          string
		body          any
		status        int
		code, message string
		inDescription string
	}{
		{"no transaction_id nor token", map[string]any{"apikey": apikey, "site_id": siteID}, 400, "608", "MINIMUM_REQUIRED_FIELDS", "transaction_id (or token)"},
		{"no apikey", map[string]any{"site_id": siteID, "transaction_id": "X"}, 400, "608", "MINIMUM_REQUIRED_FIELDS", "apikey"},
		{"unknown apikey", map[string]any{"apikey": "nope", "site_id": siteID, "transaction_id": "X"}, 401, "609", "AUTH_NOT_FOUND", "apikey"},
		{"unknown transaction", map[string]any{"apikey": apikey, "site_id": siteID, "transaction_id": "NOPE"}, 404, "624", "PROCESSING_ERROR", siteID},
		{"unknown token", map[string]any{"apikey": apikey, "site_id": siteID, "token": "abc"}, 404, "624", "PROCESSING_ERROR", "token"},
		{"site_id an object", `{"apikey":"demo-apikey","site_id":{},"transaction_id":"X"}`, 401, "609", "AUTH_NOT_FOUND", "site_id"},
		{"malformed JSON", `{`, 400, "608", "MINIMUM_REQUIRED_FIELDS", "JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := sim.With(t)
			wantCinetPayError(t, post(t, sim, "/v2/payment/check", tt.body), tt.status, tt.code, tt.message, tt.inDescription)
		})
	}
	r := sim.Do(http.MethodPut, "/v2/payment/check", nil)
	if r.Status != http.StatusMethodNotAllowed || !strings.Contains(string(r.Body), `"code":"608"`) {
		t.Errorf("PUT /v2/payment/check: %d %s", r.Status, r.Body)
	}
}

func TestCinetPaySimulateErrors(t *testing.T) {
	sim := simtest.Start(t)
	initiate(t, sim, initBody("TX-SIM", "https://shop.example/notify"))
	valid := func(changes map[string]any) map[string]any {
		b := map[string]any{"apikey": apikey, "site_id": siteID, "transaction_id": "TX-SIM", "status": "ACCEPTED"}
		for k, v := range changes {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	tests := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"malformed JSON", `{"apikey"`, 400, ""},
		{"not an object", `"x"`, 400, ""},
		{"unknown apikey", valid(map[string]any{"apikey": "nope"}), 401, ""},
		{"wrong site", valid(map[string]any{"site_id": "1"}), 401, "site_id"},
		{"site_id an array", valid(map[string]any{"site_id": []int{1}}), 400, "site_id"},
		{"no transaction", valid(map[string]any{"transaction_id": nil}), 400, "transaction_id"},
		{"unknown status", valid(map[string]any{"status": "SUCCESS"}), 400, "status"},
		{"lower-case status", valid(map[string]any{"status": "accepted"}), 400, "status"},
		{"reason when accepted", valid(map[string]any{"reason": "PAYMENT_FAILED"}), 400, "reason"},
		{"unknown reason", valid(map[string]any{"status": "REFUSED", "reason": "NO"}), 400, "reason"},
		{"bad payment_method", valid(map[string]any{"payment_method": "orange money"}), 400, "payment_method"},
		{"bad phone", valid(map[string]any{"phone_number": "+2250700"}), 400, "phone_number"},
		{"bad prefix", valid(map[string]any{"phone_prefix": "22555"}), 400, "phone_prefix"},
		{"scenario out_of_order with no final status", valid(map[string]any{"status": "WAITING_FOR_CUSTOMER", "scenario": map[string]any{"out_of_order": true}}), 400, "scenario.out_of_order"},
		{"scenario out_of_order not a boolean", valid(map[string]any{"scenario": map[string]any{"out_of_order": "yes"}}), 400, "scenario.out_of_order"},
		{"scenario too many duplicates", valid(map[string]any{"scenario": map[string]any{"duplicates": 11}}), 400, "scenario.duplicates"},
		{"scenario negative delay", valid(map[string]any{"scenario": map[string]any{"delay": "-1s"}}), 400, "scenario.delay"},
		{"unknown transaction", valid(map[string]any{"transaction_id": "NOPE"}), 404, ""},
		{"body over 1 MiB", `{"reason":"` + strings.Repeat("x", 1<<20) + `"}`, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := sim.With(t)
			r := sim.Do(http.MethodPost, "/v2/simulate", tt.body)
			r.WantError(t, tt.status, tt.field)
		})
	}
	// None of those changed the payment.
	if a := check(t, sim, "TX-SIM"); a.code() != "662" {
		t.Errorf("after refused simulations the payment answers %s", a.Raw)
	}
}

// The npm package @azinakou/cinetpay sends both calls form-encoded, with
// every field of its config (undefined ones empty), a numeric site_id, and
// the check's transaction_id and token set to the same value: a
// transaction_id or a payment_token.
func TestCinetPayFormEncodedClient(t *testing.T) {
	sim := simtest.Start(t)
	config := url.Values{"apikey": {apikey}, "site_id": {siteID}, "notify_url": {"https://shop.example/notify"},
		"return_url": {"https://shop.example/return"}, "lang": {"fr"}}
	initForm := url.Values{"transaction_id": {"c2181edf-041b-0a61-3651-79d671fa3db7"}, "amount": {"300"},
		"currency": {"XOF"}, "description": {"Test de paiement"}, "customer_id": {""}, "customer_name": {""},
		"customer_surname": {""}, "channels": {"ALL"}, "metadata": {""}, "customer_phone_number": {""},
		"customer_email": {""}, "customer_address": {""}, "customer_city": {""}, "customer_country": {""},
		"customer_state": {""}, "customer_zip_code": {""}}
	for k, v := range config {
		initForm[k] = v
	}
	a := postForm(t, sim, "/v2/payment", initForm)
	if a.Status != http.StatusOK || a.code() != "201" || a.Map["message"] != "CREATED" {
		t.Fatalf("form init: %d %s", a.Status, a.Raw)
	}
	token, _ := a.data()["payment_token"].(string)
	payURL, _ := a.data()["payment_url"].(string)
	if token == "" || !strings.HasPrefix(payURL, sim.URL+"/") || !strings.HasSuffix(payURL, token) {
		t.Errorf("data = %v, want a payment_token and a payment_url on the simulator ending with it", a.data())
	}
	if diff := objectKeys(t, a.Raw); strings.Join(diff, ",") != "code,message,description,data,api_response_id" {
		t.Errorf("init answer keys %v", diff)
	}

	for _, value := range []string{"c2181edf-041b-0a61-3651-79d671fa3db7", token} {
		checkForm := url.Values{"transaction_id": {value}, "token": {value}}
		for k, v := range config {
			checkForm[k] = v
		}
		a := postForm(t, sim, "/v2/payment/check", checkForm)
		if a.Status != http.StatusOK || a.code() != "662" || a.data()["amount"] != "300" || a.data()["metadata"] != nil {
			t.Errorf("form check with %q in both fields: %d %s", value, a.Status, a.Raw)
		}
	}

	// PHP's curl sends an array of fields as multipart/form-data.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"apikey": apikey, "site_id": siteID, "transaction_id": "TX-MULTIPART",
		"amount": "500", "currency": "XAF", "description": "Multipart", "notify_url": "https://shop.example/n",
		"return_url": "https://shop.example/r", "channels": "MOBILE_MONEY, CREDIT_CARD"} {
		_ = mw.WriteField(k, v)
	}
	mw.Close()
	a = post(t, sim, "/v2/payment", body.Bytes(), "Content-Type", mw.FormDataContentType())
	if a.Status != http.StatusOK || a.code() != "201" {
		t.Errorf("multipart init: %d %s", a.Status, a.Raw)
	}
}
