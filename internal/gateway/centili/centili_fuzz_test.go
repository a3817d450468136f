package centili_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/callbacksim/callbacksim/internal/simtest"
)

// FuzzSimulate sends any body to POST /centili/simulate: a 202, or a 4xx
// JSON error naming the problem, never a 5xx.
func FuzzSimulate(f *testing.F) {
	sim := simtest.FuzzTarget(f)
	for _, seed := range []string{
		`{"service":"demo-service","status":"success"}`,
		`{"service":"demo-service","status":"failed","reference":"R-1","phone":"+38164111222","country":"rs","mnocode":"TELENOR_RS","amount":"1.5","enduserprice":"1.5","revenue":"0.9","revenuecurrency":"EUR","errormessage":"NOT ENOUGH CREDIT"}`,
		`{"service":"demo-service","status":"success","event_type":"opt_in","scenario":{"duplicates":1}}`,
		`{"service":"demo-service","status":"success","event_type":"recurring_billing","subscriptionid":"S-1"}`,
		`{"service":"demo-service","status":"canceled","event_type":"opt_out","subscriptionid":"S-1"}`,
		`{"service":"demo-service","status":"success","amount":-1,"country":"zz","phone":"x"}`,
		`{"service":"nope","status":"success"}`,
		`{"service":["demo-service"]}`, `{`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/centili/simulate", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		sim.Serve(t, req)
	})
}
