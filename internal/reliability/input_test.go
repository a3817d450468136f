package reliability_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/simtest"
)

// TestOversizedBodiesAnswer413: a body over 1 MiB gets 413 with a JSON
// error (in CinetPay's shape on CinetPay's own endpoints) on every endpoint
// that reads one, whether it is JSON, a form, multipart or garbage; an
// endpoint that takes JSON only answers a form or multipart body 415 before
// reading it; a body just under the limit is read and judged on its fields.
func TestOversizedBodiesAnswer413(t *testing.T) {
	t.Parallel()
	sim := simtest.Start(t)
	long := strings.Repeat("x", httpapi.MaxBody)
	multipart := "--b\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n" + long + "\r\n--b--\r\n"
	endpoints := []struct {
		path     string
		jsonOnly bool
		header   []string
	}{
		{"/api/qris/initiate", true, []string{"Authorization", "Bearer demo-qris-token"}},
		{"/api/qris/simulate", true, []string{"Authorization", "Bearer demo-qris-token"}},
		{"/v2/payment", false, nil},
		{"/v2/payment/check", false, nil},
		{"/v2/simulate", true, nil},
		{"/centili/simulate", true, nil},
		{"/v1/callbacks/resend", true, []string{"Authorization", "Bearer " + simtest.AdminToken}},
	}
	for _, e := range endpoints {
		for name, body := range map[string][2]string{
			"JSON":         {`{"order_id":"BIG","apikey":"demo-apikey","service":"demo-service","description":"` + long + `"}`, "application/json"},
			"garbage":      {long + "!", "application/json"},
			"form encoded": {"order_id=BIG&apikey=demo-apikey&description=" + long, "application/x-www-form-urlencoded"},
			"multipart":    {multipart, "multipart/form-data; boundary=b"},
		} {
			header := append([]string{"Content-Type", body[1]}, e.header...)
			resp := sim.Do(http.MethodPost, e.path, body[0], header...)
			want := http.StatusRequestEntityTooLarge
			if e.jsonOnly && body[1] != "application/json" {
				want = http.StatusUnsupportedMediaType
			}
			var ans map[string]any
			if resp.Status != want || json.Unmarshal(resp.Body, &ans) != nil || ans["error"] == nil && ans["code"] == nil {
				t.Errorf("POST %s with %d bytes of %s: %d %s; want %d with a JSON error", e.path, len(body[0]), name, resp.Status, cut(resp.Body), want)
			}
		}
	}
	auth := []string{"Authorization", "Bearer demo-qris-token"}
	for _, path := range []string{"/api/qris/initiate", "/api/qris/simulate"} {
		justUnder := `{"order_id":"BIG","description":"` + long[:httpapi.MaxBody-100] + `"}`
		if resp := sim.Do(http.MethodPost, path, justUnder, auth...); resp.Status != http.StatusBadRequest {
			t.Errorf("POST %s with %d bytes: %d %s; want 400 naming a field", path, len(justUnder), resp.Status, cut(resp.Body))
		}
	}
}

// TestOverlongFieldsAnswer400 sends each field one character over its
// limit and expects a 400 that names it.
func TestOverlongFieldsAnswer400(t *testing.T) {
	t.Parallel()
	sim := simtest.Start(t)
	auth := []string{"Authorization", "Bearer demo-qris-token"}
	valid := map[string]any{"amount": 1000, "order_id": "LONG-1", "callback_url": "http://127.0.0.1:9/cb"}
	if resp := sim.Do(http.MethodPost, "/api/qris/initiate", valid, auth...); resp.Status != http.StatusCreated {
		t.Fatalf("initiate: %d %s", resp.Status, resp.Body)
	}
	with := func(base map[string]any, key string, v any) map[string]any {
		out := map[string]any{}
		for k, x := range base {
			out[k] = x
		}
		out[key] = v
		return out
	}
	simulate := map[string]any{"order_id": "LONG-1", "status": "SUCCESS"}
	tests := []struct {
		path, field string
		body        map[string]any
	}{
		{"/api/qris/initiate", "order_id", with(valid, "order_id", strings.Repeat("O", 65))},
		{"/api/qris/initiate", "callback_url", with(valid, "callback_url", "http://127.0.0.1:9/"+strings.Repeat("p", 2048))},
		{"/api/qris/initiate", "customer_name", with(valid, "customer_name", strings.Repeat("é", 256))},
		{"/api/qris/initiate", "customer_email", with(valid, "customer_email", strings.Repeat("e", 250)+"@x.com")},
		{"/api/qris/initiate", "customer_phone", with(valid, "customer_phone", strings.Repeat("6", 256))},
		{"/api/qris/initiate", "description", with(valid, "description", strings.Repeat("d", 256))},
		{"/api/qris/initiate", "amount", with(valid, "amount", json.Number("1"+strings.Repeat("0", 40)))},
		{"/api/qris/simulate", "order_id", with(simulate, "order_id", strings.Repeat("O", 65))},
		{"/api/qris/simulate", "payment_method", with(simulate, "payment_method", strings.Repeat("m", 33))},
		{"/api/qris/simulate", "scenario.duplicates", with(simulate, "scenario", map[string]any{"duplicates": 11})},
		{"/api/qris/simulate", "scenario.delay", with(simulate, "scenario", map[string]any{"delay": "25h"})},
	}
	for _, tt := range tests {
		resp := sim.Do(http.MethodPost, tt.path, tt.body, auth...)
		var ans struct {
			Error string `json:"error"`
			Field string `json:"field"`
		}
		if resp.Status != http.StatusBadRequest || json.Unmarshal(resp.Body, &ans) != nil || ans.Field != tt.field {
			t.Errorf("POST %s with %s over its limit: %d %s; want 400 naming %s", tt.path, tt.field, resp.Status, cut(resp.Body), tt.field)
		}
	}
	if resp := sim.Do(http.MethodGet, "/api/qris/transactions/"+strings.Repeat("O", 65), nil, auth...); resp.Status != http.StatusBadRequest {
		t.Errorf("GET a transaction with a 65-character order_id: %d, want 400", resp.Status)
	}
	if resp := sim.Admin(http.MethodGet, "/v1/callbacks?cursor="+strings.Repeat("A", 4096), nil); resp.Status != http.StatusBadRequest {
		t.Errorf("GET /v1/callbacks with a 4 KiB cursor: %d, want 400", resp.Status)
	}
}

func cut(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}
