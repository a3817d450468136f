package qris_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/callbacksim/callbacksim/internal/simtest"
)

// fuzzRequest builds a request to the simulator with a fuzzed body.
func fuzzRequest(method, target string, body []byte, contentType string) *http.Request {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

// FuzzInitiate sends any body to POST /api/qris/initiate: the answer is a
// success or a 4xx with a JSON error, never a 5xx or a panic.
func FuzzInitiate(f *testing.F) {
	sim := simtest.FuzzTarget(f)
	for _, seed := range []string{
		`{"amount":50000,"order_id":"ORDER-12345","callback_url":"https://shop.example/cb","customer_name":"John Doe","customer_email":"john@example.com","customer_phone":"+62812345678","description":"Order 12345"}`,
		`{"amount":"50000","order_id":"A","callback_url":"http://x/"}`,
		`{"amount":1.5,"order_id":"A","callback_url":"ftp://x/"}`,
		`{"amount":99999999999999999999,"order_id":"\u0000","callback_url":"http://[::1]:80/"}`,
		`{"amount":-1,"order_id":"` + string(bytes.Repeat([]byte("é"), 65)) + `"}`,
		`{"amount":1,"order_id":"B","callback_url":"http://x/","customer_email":"no-at-sign"}`,
		`[1,2,3]`, `null`, `{"amount":{}}`, "\xff\xfe", ``,
	} {
		f.Add([]byte(seed), "application/json")
	}
	f.Add([]byte("amount=1&order_id=A"), "application/x-www-form-urlencoded")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		sim.Serve(t, fuzzRequest(http.MethodPost, "/api/qris/initiate", body, contentType))
	})
}

// FuzzSimulate sends any body to POST /api/qris/simulate, against payments
// that exist (pending, then final) and payments that do not.
func FuzzSimulate(f *testing.F) {
	sim := simtest.FuzzTarget(f)
	for _, id := range []string{"FUZZ-1", "FUZZ-2"} {
		r := sim.Do(http.MethodPost, "/api/qris/initiate", map[string]any{"amount": 1000, "order_id": id, "callback_url": "http://127.0.0.1:9/cb"}, "Authorization", "Bearer "+token)
		if r.Status != http.StatusCreated {
			f.Fatalf("initiate %s: %d %s", id, r.Status, r.Body)
		}
	}
	for _, seed := range []string{
		`{"order_id":"FUZZ-1","status":"SUCCESS"}`,
		`{"order_id":"FUZZ-2","status":"FAILED","payment_method":"GOPAY","scenario":{"delay":"30s","duplicates":2,"out_of_order":true}}`,
		`{"order_id":"FUZZ-2","status":"success"}`,
		`{"order_id":"NOPE","status":"SUCCESS"}`,
		`{"order_id":"FUZZ-1","status":"SUCCESS","scenario":{"delay":1e300,"duplicates":10}}`,
		`{"order_id":"FUZZ-1","status":"SUCCESS","scenario":"now"}`,
		`{"order_id":123}`, `{`, ``,
	} {
		f.Add([]byte(seed), "application/json")
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		sim.Serve(t, fuzzRequest(http.MethodPost, "/api/qris/simulate", body, contentType))
	})
}

// FuzzTransaction looks up any order id.
func FuzzTransaction(f *testing.F) {
	sim := simtest.FuzzTarget(f)
	r := sim.Do(http.MethodPost, "/api/qris/initiate", map[string]any{"amount": 1000, "order_id": "FUZZ-1", "callback_url": "http://127.0.0.1:9/cb"}, "Authorization", "Bearer "+token)
	if r.Status != http.StatusCreated {
		f.Fatalf("initiate: %d %s", r.Status, r.Body)
	}
	for _, seed := range []string{"FUZZ-1", "NOPE", "", "a/b", "..", "%00", "\x00", string(bytes.Repeat([]byte("x"), 65)), "é"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, orderID string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL = &url.URL{Path: "/api/qris/transactions/" + orderID, RawPath: "/api/qris/transactions/" + url.PathEscape(orderID)}
		req.RequestURI = req.URL.RequestURI()
		req.Header.Set("Authorization", "Bearer "+token)
		sim.Serve(t, req)
	})
}
