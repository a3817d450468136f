package cinetpay_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/callbacksim/callbacksim/internal/simtest"
)

// fuzzPost builds a POST with a fuzzed body.
func fuzzPost(path string, body []byte, contentType string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	return req
}

// fuzzInitBody is a valid initialisation of the demo merchant.
func fuzzInitBody(transactionID string) []byte {
	b, _ := json.Marshal(map[string]any{
		"apikey": apikey, "site_id": siteID, "transaction_id": transactionID, "amount": 300, "currency": "XOF",
		"description": "Test", "notify_url": "http://127.0.0.1:9/notify", "return_url": "http://127.0.0.1:9/return", "channels": "ALL",
	})
	return b
}

// fuzzSim is an API-only simulator holding one pending payment, TX-FUZZ, and
// its payment token.
func fuzzSim(f *testing.F) (*simtest.Sim, string) {
	f.Helper()
	sim := simtest.FuzzTarget(f)
	r := sim.Do(http.MethodPost, "/v2/payment", fuzzInitBody("TX-FUZZ"))
	var a struct {
		Code string `json:"code"`
		Data struct {
			PaymentToken string `json:"payment_token"`
		} `json:"data"`
	}
	r.JSON(f, &a)
	if a.Code != "201" || a.Data.PaymentToken == "" {
		f.Fatalf("initialisation: %d %s", r.Status, r.Body)
	}
	return sim, a.Data.PaymentToken
}

// FuzzPayment sends any body, JSON, form or multipart, to POST
// /v2/payment: CinetPay's answer or error, never a 5xx.
func FuzzPayment(f *testing.F) {
	sim, _ := fuzzSim(f)
	f.Add(fuzzInitBody("TX-1"), "application/json")
	f.Add([]byte(`{"apikey":"demo-apikey","site_id":445160,"transaction_id":"TX-2","amount":"300.0","currency":"XOF"}`), "application/json")
	f.Add([]byte(`{"amount":1e400,"site_id":[],"notify_url":"javascript:alert(1)"}`), "application/json")
	f.Add([]byte("apikey=demo-apikey&site_id=445160&transaction_id=TX-3&amount=300&currency=XOF&description=x&notify_url=http%3A%2F%2Fx%2F&return_url=http%3A%2F%2Fx%2F"), "application/x-www-form-urlencoded")
	f.Add([]byte("apikey=%zz"), "application/x-www-form-urlencoded")
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"apikey\"\r\n\r\ndemo-apikey\r\n--b--\r\n"), "multipart/form-data; boundary=b")
	f.Add([]byte("x"), "multipart/form-data")
	f.Add([]byte(`null`), "")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		sim.Serve(t, fuzzPost("/v2/payment", body, contentType))
	})
}

// FuzzCheck sends any body to POST /v2/payment/check.
func FuzzCheck(f *testing.F) {
	sim, token := fuzzSim(f)
	for _, seed := range []string{
		`{"apikey":"demo-apikey","site_id":"445160","transaction_id":"TX-FUZZ"}`,
		`{"apikey":"demo-apikey","site_id":"445160","token":"` + token + `"}`,
		`{"apikey":"demo-apikey","site_id":"445160","token":"nope"}`,
		`{"apikey":"demo-apikey","site_id":"1","transaction_id":"TX-FUZZ"}`,
		`{"apikey":"demo-apikey"}`, `[]`, `{"transaction_id":{"$ne":1}}`,
	} {
		f.Add([]byte(seed), "application/json")
	}
	f.Add([]byte("apikey=demo-apikey&site_id=445160&token="+token), "application/x-www-form-urlencoded")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		sim.Serve(t, fuzzPost("/v2/payment/check", body, contentType))
	})
}

// FuzzSimulate sends any body to POST /v2/simulate.
func FuzzSimulate(f *testing.F) {
	sim, token := fuzzSim(f)
	for _, seed := range []string{
		`{"apikey":"demo-apikey","site_id":"445160","transaction_id":"TX-FUZZ","status":"ACCEPTED","payment_method":"OM"}`,
		`{"apikey":"demo-apikey","site_id":445160,"token":"` + token + `","status":"REFUSED","scenario":{"duplicates":2,"out_of_order":true}}`,
		`{"apikey":"demo-apikey","site_id":"445160","transaction_id":"TX-FUZZ","status":"WAITING_FOR_CUSTOMER","scenario":{"delay":"1s"}}`,
		`{"apikey":"demo-apikey","site_id":"445160","transaction_id":"TX-NONE","status":"ACCEPTED"}`,
		`{"apikey":"demo-apikey","site_id":"445160","status":"accepted"}`,
		`{"apikey":1}`, `{`,
	} {
		f.Add([]byte(seed), "application/json")
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		sim.Serve(t, fuzzPost("/v2/simulate", body, contentType))
	})
}

// FuzzCheckout opens and answers the checkout page with any token and form.
func FuzzCheckout(f *testing.F) {
	sim, token := fuzzSim(f)
	for _, seed := range []struct {
		token, form string
		post        bool
	}{
		{token, "", false},
		{token, "transaction_id=TX-FUZZ&token=" + token + "&choice=pay", true},
		{token, "choice=refuse&reason=PAYMENT_FAILED", true},
		{token, "choice=%zz", true},
		{"nope", "", false},
		{"", "choice=pay", true},
		{"../../v1/callbacks", "", false},
	} {
		f.Add(seed.token, seed.form, seed.post)
	}
	f.Fuzz(func(t *testing.T, tok, form string, post bool) {
		method := http.MethodGet
		if post {
			method = http.MethodPost
		}
		req := httptest.NewRequest(method, "/", bytes.NewReader([]byte(form)))
		req.URL = &url.URL{Path: "/cinetpay/payment/" + tok, RawPath: "/cinetpay/payment/" + url.PathEscape(tok)}
		req.RequestURI = req.URL.RequestURI()
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sim.Serve(t, req)
	})
}
