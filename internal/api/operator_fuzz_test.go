package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/callbacksim/callbacksim/internal/simtest"
)

// operatorSim is a fuzz target's simulator holding a few callbacks to list.
func operatorSim(f *testing.F) (*simtest.Sim, string) {
	f.Helper()
	sim := simtest.FuzzTarget(f)
	var id string
	for _, order := range []string{"OP-1", "OP-2", "OP-3"} {
		auth := []string{"Authorization", "Bearer demo-qris-token"}
		if r := sim.Do("POST", "/api/qris/initiate", map[string]any{"amount": 100, "order_id": order, "callback_url": "http://127.0.0.1:9/cb"}, auth...); r.Status != http.StatusCreated {
			f.Fatalf("initiate: %d %s", r.Status, r.Body)
		}
		r := sim.Do("POST", "/api/qris/simulate", map[string]any{"order_id": order, "status": "SUCCESS"}, auth...)
		var ans struct {
			CallbackID string `json:"callback_id"`
		}
		if r.JSON(f, &ans); ans.CallbackID == "" {
			f.Fatalf("simulate: %d %s", r.Status, r.Body)
		}
		id = ans.CallbackID
	}
	return sim, id
}

// FuzzListQuery sends any query string to GET /v1/callbacks: filters,
// limits and cursors, valid or not, get a 200 or a 400, never a 5xx.
func FuzzListQuery(f *testing.F) {
	sim, _ := operatorSim(f)
	page := sim.Admin(http.MethodGet, "/v1/callbacks?limit=1", nil)
	var first struct {
		NextCursor string `json:"next_cursor"`
	}
	page.JSON(f, &first)
	for _, seed := range []string{
		"", "limit=1", "limit=500", "limit=0", "limit=501", "limit=-1", "limit=1e3", "limit=" + "9999999999999999999999",
		"provider=qris&status=pending", "provider=paypal", "status=lost", "provider=qris&provider=centili",
		"cursor=" + first.NextCursor, "cursor=!!!", "cursor=MTox", "cursor=OmE", "cursor=MTpfX18&limit=2",
		"%zz", "limit=%00", ";;;&&&==",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		req := httptest.NewRequest(http.MethodGet, "/v1/callbacks", nil)
		req.URL.RawQuery = rawQuery
		req.RequestURI = req.URL.RequestURI()
		req.Header.Set("Authorization", "Bearer "+simtest.AdminToken)
		rec := sim.Serve(t, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("GET /v1/callbacks?%s answered %d, want 200 or 400: %s", rawQuery, rec.Code, rec.Body)
		}
	})
}

// FuzzCallbackPath sends any id to the per-callback operator endpoints.
func FuzzCallbackPath(f *testing.F) {
	sim, id := operatorSim(f)
	for _, seed := range []string{id, "cb_nope", "", "{idx}", "cb_" + id, "..", "\x00", "{" + id + "}:attempts"} {
		for action := range uint8(3) {
			f.Add(seed, action)
		}
	}
	f.Fuzz(func(t *testing.T, callbackID string, action uint8) {
		method, suffix := http.MethodGet, ""
		switch action % 3 {
		case 1:
			method, suffix = http.MethodPost, "/resend"
		case 2:
			method, suffix = http.MethodPost, "/retry-now"
		}
		req := httptest.NewRequest(method, "/", nil)
		req.URL = &url.URL{Path: "/v1/callbacks/" + callbackID + suffix, RawPath: "/v1/callbacks/" + url.PathEscape(callbackID) + suffix}
		req.RequestURI = req.URL.RequestURI()
		req.Header.Set("Authorization", "Bearer "+simtest.AdminToken)
		sim.Serve(t, req)
	})
}

// FuzzBulkResend sends any body to POST /v1/callbacks/resend: ids or a
// filter, valid or not.
func FuzzBulkResend(f *testing.F) {
	sim, id := operatorSim(f)
	for _, seed := range []string{
		`{"ids":["` + id + `","cb_gone","` + id + `"]}`,
		`{"filter":{"provider":"qris","status":"pending","since":"2024-01-01T00:00:00Z","until":"2999-01-01T00:00:00.5Z"}}`,
		`{"filter":{}}`, `{"ids":[]}`, `{"ids":["x"],"filter":{"provider":"qris"}}`,
		`{"filter":{"since":"yesterday"}}`, `{"filter":{"provider":"paypal","status":"lost"}}`,
		`{"ids":[1,2]}`, `{"ids":"` + id + `"}`, `[]`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/callbacks/resend", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+simtest.AdminToken)
		sim.Serve(t, req)
	})
}
