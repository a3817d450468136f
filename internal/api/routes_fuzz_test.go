package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/callbacksim/callbacksim/internal/simtest"
)

var fuzzMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead, http.MethodOptions}

// FuzzRoutes sends any method, path, body and credential to the whole
// handler: unknown routes get a JSON 404 or 405, known ones their own
// answers, and nothing a 5xx.
func FuzzRoutes(f *testing.F) {
	sim, id := operatorSim(f)
	for _, path := range []string{
		"/", "/healthz", "/readyz", "/metrics", "/v1/callbacks", "/v1/callbacks/" + id, "/v1/callbacks/" + id + "/resend",
		"/v1/callbacks/" + id + "/retry-now", "/v1/callbacks/resend", "/api/qris/initiate", "/api/qris/simulate",
		"/api/qris/transactions/OP-1", "/v2/payment", "/centili/simulate", "/nope",
	} {
		for m := range uint8(2) {
			for cred := range uint8(3) {
				f.Add(m, path, []byte(`{"order_id":"OP-1","status":"SUCCESS","ids":["`+id+`"]}`), cred)
			}
		}
	}
	f.Fuzz(func(t *testing.T, method uint8, path string, body []byte, credential uint8) {
		u, err := url.Parse(path)
		if err != nil || u.Path == "" || u.Path[0] != '/' || u.Host != "" || u.Scheme != "" {
			return // not a request path a client can send
		}
		req := httptest.NewRequest(http.MethodGet, "/", bytes.NewReader(body))
		req.Method = fuzzMethods[int(method)%len(fuzzMethods)]
		req.URL = u
		req.RequestURI = u.RequestURI()
		req.Header.Set("Content-Type", "application/json")
		switch credential % 3 {
		case 1:
			req.Header.Set("Authorization", "Bearer "+simtest.AdminToken)
		case 2:
			req.Header.Set("Authorization", "Bearer demo-qris-token")
		}
		sim.Serve(t, req)
	})
}
