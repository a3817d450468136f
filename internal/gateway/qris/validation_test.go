package qris_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/callbacksim/callbacksim/internal/simtest"
)

type apiError struct {
	Error string `json:"error"`
	Field string `json:"field"`
}

func TestQRISBadInput(t *testing.T) {
	sim := simtest.Start(t)
	valid := `{"amount":50000,"order_id":"O-1","callback_url":"http://127.0.0.1:1/cb"}`
	if r := sim.Do(http.MethodPost, "/api/qris/initiate", valid, bearer()...); r.Status != http.StatusCreated {
		t.Fatalf("initiate: %d %s", r.Status, r.Body)
	}
	long := strings.Repeat("x", 65)
	tests := []struct {
		name      string
		method    string
		path      string
		body      string
		header    []string
		wantCode  int
		wantField string
	}{
		{"no token", "POST", "/api/qris/initiate", valid, nil, 401, ""},
		{"wrong token", "POST", "/api/qris/initiate", valid, []string{"Authorization", "Bearer nope"}, 401, ""},
		{"basic auth is not bearer", "POST", "/api/qris/initiate", valid, []string{"Authorization", "Basic ZGVtbw=="}, 401, ""},
		{"wrong token on lookup", "GET", "/api/qris/transactions/O-1", "", []string{"Authorization", "Bearer nope"}, 401, ""},
		{"wrong token on simulate", "POST", "/api/qris/simulate", `{"order_id":"O-1","status":"SUCCESS"}`, []string{"Authorization", "Bearer nope"}, 401, ""},
		{"empty body", "POST", "/api/qris/initiate", "", bearer(), 400, ""},
		{"malformed JSON", "POST", "/api/qris/initiate", `{"amount":`, bearer(), 400, ""},
		{"not an object", "POST", "/api/qris/initiate", `[1,2]`, bearer(), 400, ""},
		{"amount missing", "POST", "/api/qris/initiate", `{"order_id":"O-2","callback_url":"http://x/cb"}`, bearer(), 400, "amount"},
		{"amount zero", "POST", "/api/qris/initiate", `{"amount":0,"order_id":"O-2","callback_url":"http://x/cb"}`, bearer(), 400, "amount"},
		{"amount negative", "POST", "/api/qris/initiate", `{"amount":-5,"order_id":"O-2","callback_url":"http://x/cb"}`, bearer(), 400, "amount"},
		{"amount fractional", "POST", "/api/qris/initiate", `{"amount":10.5,"order_id":"O-2","callback_url":"http://x/cb"}`, bearer(), 400, "amount"},
		{"amount a string", "POST", "/api/qris/initiate", `{"amount":"50000","order_id":"O-2","callback_url":"http://x/cb"}`, bearer(), 400, "amount"},
		{"amount too large", "POST", "/api/qris/initiate", `{"amount":99999999999999999999,"order_id":"O-2","callback_url":"http://x/cb"}`, bearer(), 400, "amount"},
		{"order_id missing", "POST", "/api/qris/initiate", `{"amount":1,"callback_url":"http://x/cb"}`, bearer(), 400, "order_id"},
		{"order_id too long", "POST", "/api/qris/initiate", `{"amount":1,"order_id":"` + long + `","callback_url":"http://x/cb"}`, bearer(), 400, "order_id"},
		{"order_id a number", "POST", "/api/qris/initiate", `{"amount":1,"order_id":12,"callback_url":"http://x/cb"}`, bearer(), 400, "order_id"},
		{"order_id control character", "POST", "/api/qris/initiate", `{"amount":1,"order_id":"a\u0000b","callback_url":"http://x/cb"}`, bearer(), 400, "order_id"},
		{"callback_url missing", "POST", "/api/qris/initiate", `{"amount":1,"order_id":"O-2"}`, bearer(), 400, "callback_url"},
		{"callback_url relative", "POST", "/api/qris/initiate", `{"amount":1,"order_id":"O-2","callback_url":"/cb"}`, bearer(), 400, "callback_url"},
		{"callback_url not http", "POST", "/api/qris/initiate", `{"amount":1,"order_id":"O-2","callback_url":"ftp://x/cb"}`, bearer(), 400, "callback_url"},
		{"customer_email not an email", "POST", "/api/qris/initiate", `{"amount":1,"order_id":"O-2","callback_url":"http://x/cb","customer_email":"nope"}`, bearer(), 400, "customer_email"},
		{"description too long", "POST", "/api/qris/initiate", `{"amount":1,"order_id":"O-2","callback_url":"http://x/cb","description":"` + strings.Repeat("d", 256) + `"}`, bearer(), 400, "description"},
		{"same order_id, other body", "POST", "/api/qris/initiate", `{"amount":60000,"order_id":"O-1","callback_url":"http://127.0.0.1:1/cb"}`, bearer(), 409, "order_id"},
		{"body over 1 MiB", "POST", "/api/qris/initiate", `{"description":"` + strings.Repeat("x", 1<<20) + `"}`, bearer(), 413, ""},
		{"unknown transaction", "GET", "/api/qris/transactions/NOPE", "", bearer(), 404, ""},
		{"simulate unknown order", "POST", "/api/qris/simulate", `{"order_id":"NOPE","status":"SUCCESS"}`, bearer(), 404, ""},
		{"simulate bad status", "POST", "/api/qris/simulate", `{"order_id":"O-1","status":"PAID"}`, bearer(), 400, "status"},
		{"simulate lower-case status", "POST", "/api/qris/simulate", `{"order_id":"O-1","status":"success"}`, bearer(), 400, "status"},
		{"simulate without order_id", "POST", "/api/qris/simulate", `{"status":"SUCCESS"}`, bearer(), 400, "order_id"},
		{"simulate bad delay", "POST", "/api/qris/simulate", `{"order_id":"O-1","status":"SUCCESS","scenario":{"delay":"soon"}}`, bearer(), 400, "scenario.delay"},
		{"simulate negative delay", "POST", "/api/qris/simulate", `{"order_id":"O-1","status":"SUCCESS","scenario":{"delay":"-1s"}}`, bearer(), 400, "scenario.delay"},
		{"simulate too many duplicates", "POST", "/api/qris/simulate", `{"order_id":"O-1","status":"SUCCESS","scenario":{"duplicates":1000}}`, bearer(), 400, "scenario.duplicates"},
		{"wrong method", "GET", "/api/qris/initiate", "", bearer(), 405, ""},
		{"unknown path", "GET", "/api/qris/nothing", "", bearer(), 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			r := sim.Do(tt.method, tt.path, body, tt.header...)
			if r.Status != tt.wantCode {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, r.Status, r.Body, tt.wantCode)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var e apiError
			r.JSON(t, &e)
			if e.Error == "" {
				t.Errorf("error body %s has no error message", r.Body)
			}
			if e.Field != tt.wantField {
				t.Errorf("field = %q, want %q (body %s)", e.Field, tt.wantField, r.Body)
			}
		})
	}
}

func TestQRISIdempotentInitiateAndFinalOutcome(t *testing.T) {
	sim := simtest.Start(t)
	body := map[string]any{"amount": 1000, "order_id": "IDEM-1", "callback_url": "http://127.0.0.1:1/cb"}
	first := sim.Do(http.MethodPost, "/api/qris/initiate", body, bearer()...)
	again := sim.Do(http.MethodPost, "/api/qris/initiate", body, bearer()...)
	if first.Status != http.StatusCreated || again.Status != http.StatusOK {
		t.Fatalf("initiate twice = %d, %d; want 201, 200", first.Status, again.Status)
	}
	var a, b map[string]any
	first.JSON(t, &a)
	again.JSON(t, &b)
	if a["transaction_id"] != b["transaction_id"] || a["qr_string"] != b["qr_string"] {
		t.Errorf("the same order_id and body gave another transaction: %s vs %s", first.Body, again.Body)
	}
	if a["status"] != "PENDING" || a["currency"] != "IDR" || a["amount"] != float64(1000) {
		t.Errorf("initiate answer %s", first.Body)
	}

	sim2 := sim.Do(http.MethodPost, "/api/qris/simulate", map[string]any{"order_id": "IDEM-1", "status": "SUCCESS"}, bearer()...)
	if sim2.Status != http.StatusAccepted {
		t.Fatalf("simulate: %d %s", sim2.Status, sim2.Body)
	}
	dup := sim.Do(http.MethodPost, "/api/qris/simulate", map[string]any{"order_id": "IDEM-1", "status": "FAILED"}, bearer()...)
	if dup.Status != http.StatusConflict {
		t.Errorf("simulating a final payment again = %d %s, want 409", dup.Status, dup.Body)
	}
}
