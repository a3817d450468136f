package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

type page struct {
	Callbacks  []store.Callback `json:"callbacks"`
	NextCursor *string          `json:"next_cursor"`
}

// simulate creates and completes a QRIS payment to url, returning the
// callback id.
func simulate(t *testing.T, sim *simtest.Sim, orderID, url string) string {
	t.Helper()
	auth := []string{"Authorization", "Bearer demo-qris-token"}
	if r := sim.Do("POST", "/api/qris/initiate", map[string]any{"amount": 100, "order_id": orderID, "callback_url": url}, auth...); r.Status != 201 {
		t.Fatalf("initiate: %d %s", r.Status, r.Body)
	}
	r := sim.Do("POST", "/api/qris/simulate", map[string]any{"order_id": orderID, "status": "SUCCESS"}, auth...)
	var ans struct {
		CallbackID string `json:"callback_id"`
	}
	r.JSON(t, &ans)
	return ans.CallbackID
}

func TestListCallbacksPagesNewestFirst(t *testing.T) {
	sim := simtest.Start(t)
	ok := simtest.NewMerchant(t, 200)
	bad := simtest.NewMerchant(t, 406) // not a QRIS stop code: retried, then failed
	var delivered, failed []string
	for i := range 5 {
		delivered = append(delivered, simulate(t, sim, fmt.Sprintf("OK-%d", i), ok.URL))
	}
	for i := range 2 {
		failed = append(failed, simulate(t, sim, fmt.Sprintf("BAD-%d", i), bad.URL))
	}
	for _, id := range delivered {
		sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)
	}
	for _, id := range failed {
		sim.WaitStatus(id, store.StatusFailed, 20*time.Second)
	}

	var seen []store.Callback
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("more than 3 pages of 3 for 7 callbacks")
		}
		q := url.Values{"limit": {"3"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := sim.Admin("GET", "/v1/callbacks?"+q.Encode(), nil)
		if r.Status != http.StatusOK {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		var p page
		r.JSON(t, &p)
		seen = append(seen, p.Callbacks...)
		for _, cb := range p.Callbacks {
			if cb.Attempts != nil {
				t.Errorf("listing carries attempts of %s", cb.ID)
			}
		}
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	if len(seen) != 7 {
		t.Fatalf("paged through %d callbacks, want 7", len(seen))
	}
	all := append(append([]string{}, delivered...), failed...)
	for i, cb := range seen {
		if want := all[len(all)-1-i]; cb.ID != want {
			t.Errorf("position %d: %s, want %s (newest first)", i, cb.ID, want)
		}
		if i > 0 && cb.CreatedAt.After(seen[i-1].CreatedAt) {
			t.Errorf("position %d is newer than position %d", i, i-1)
		}
	}

	tests := []struct {
		query string
		want  int
	}{
		{"status=delivered", 5},
		{"status=failed", 2},
		{"status=retrying", 0},
		{"provider=qris", 7},
		{"provider=centili", 0},
		{"provider=qris&status=failed", 2},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var p page
			r := sim.Admin("GET", "/v1/callbacks?"+tt.query, nil)
			r.JSON(t, &p)
			if r.Status != http.StatusOK || len(p.Callbacks) != tt.want || p.NextCursor != nil {
				t.Errorf("GET /v1/callbacks?%s = %d with %d callbacks, want %d and no next page", tt.query, r.Status, len(p.Callbacks), tt.want)
			}
		})
	}
}

func TestOperatorAPIErrors(t *testing.T) {
	sim := simtest.Start(t)
	tests := []struct {
		name, method, path string
		admin              bool
		want               int
		field              string
	}{
		{"list without token", "GET", "/v1/callbacks", false, 401, ""},
		{"show without token", "GET", "/v1/callbacks/cb_x", false, 401, ""},
		{"resend without token", "POST", "/v1/callbacks/cb_x/resend", false, 401, ""},
		{"retry-now without token", "POST", "/v1/callbacks/cb_x/retry-now", false, 401, ""},
		{"limit zero", "GET", "/v1/callbacks?limit=0", true, 400, "limit"},
		{"limit too large", "GET", "/v1/callbacks?limit=501", true, 400, "limit"},
		{"limit not a number", "GET", "/v1/callbacks?limit=ten", true, 400, "limit"},
		{"unknown status", "GET", "/v1/callbacks?status=lost", true, 400, "status"},
		{"unknown provider", "GET", "/v1/callbacks?provider=paypal", true, 400, "provider"},
		{"malformed query", "GET", "/v1/callbacks?cursor=%%%", true, 400, ""},
		{"garbage cursor", "GET", "/v1/callbacks?cursor=***", true, 400, "cursor"},
		{"forged cursor", "GET", "/v1/callbacks?cursor=bm90LWEtY3Vyc29y", true, 400, "cursor"},
		{"unknown callback", "GET", "/v1/callbacks/cb_nope", true, 404, ""},
		{"resend unknown", "POST", "/v1/callbacks/cb_nope/resend", true, 404, ""},
		{"retry-now unknown", "POST", "/v1/callbacks/cb_nope/retry-now", true, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r simtest.Response
			if tt.admin {
				r = sim.Admin(tt.method, tt.path, nil)
			} else {
				r = sim.Do(tt.method, tt.path, nil, "Authorization", "Bearer wrong")
			}
			var e struct{ Error, Field string }
			r.JSON(t, &e)
			if r.Status != tt.want || e.Field != tt.field || e.Error == "" {
				t.Errorf("%s %s = %d %s, want %d with field %q", tt.method, tt.path, r.Status, r.Body, tt.want, tt.field)
			}
		})
	}
	limit := sim.Admin("GET", "/v1/callbacks?limit=500", nil)
	if limit.Status != http.StatusOK {
		t.Errorf("limit=500 = %d, want 200", limit.Status)
	}
}

func TestOperationsEndpoints(t *testing.T) {
	sim := simtest.Start(t)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if r := sim.Do("GET", path, nil); r.Status != http.StatusOK {
			t.Errorf("GET %s = %d %s", path, r.Status, r.Body)
		}
	}
	sim.Redis.Stop()
	if r := sim.Do("GET", "/readyz", nil); r.Status != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz with Redis down = %d, want 503", r.Status)
	}
	if r := sim.Do("GET", "/healthz", nil); r.Status != http.StatusOK {
		t.Errorf("GET /healthz with Redis down = %d, want 200", r.Status)
	}
	r := sim.Admin("GET", "/v1/callbacks", nil)
	var e struct{ Error string }
	r.JSON(t, &e)
	if r.Status != http.StatusServiceUnavailable || e.Error == "" {
		t.Errorf("GET /v1/callbacks with Redis down = %d %s, want 503 with a JSON error", r.Status, r.Body)
	}
}

// Every callback's reference is the merchant's own id of the payment (for
// Centili its reference, or clientid, not the gateway's transactionid,
// which is transaction_id), and ?search= finds a callback by either, or by
// its id.
func TestListSearchesReferences(t *testing.T) {
	sim := simtest.Start(t)
	ok := simtest.NewMerchant(t, 200)
	qris := simulate(t, sim, "SHOP-ORDER-77", ok.URL)
	var centili, clientid struct {
		CallbackID    string `json:"callback_id"`
		TransactionID string `json:"transactionid"`
	}
	sim.Do("POST", "/centili/simulate", map[string]any{"service": "demo-service", "status": "success", "reference": "SHOP-REF-9"}).JSON(t, &centili)
	sim.Do("POST", "/centili/simulate", map[string]any{"service": "demo-service", "status": "failed", "clientid": "CLIENT-5"}).JSON(t, &clientid)
	if centili.CallbackID == "" || clientid.CallbackID == "" {
		t.Fatal("centili simulate answered no callback id")
	}
	txn := sim.Callback(qris).TransactionID
	if !strings.HasPrefix(txn, "TXN-") {
		t.Fatalf("QRIS callback's transaction_id = %q, want the gateway's TXN-...", txn)
	}
	for _, tt := range []struct {
		search, want, reference, transactionID string
	}{
		{"SHOP-REF-9", centili.CallbackID, "SHOP-REF-9", centili.TransactionID},
		{centili.TransactionID, centili.CallbackID, "SHOP-REF-9", centili.TransactionID},
		{"client-5", clientid.CallbackID, "CLIENT-5", clientid.TransactionID},
		{"shop-order-77", qris, "SHOP-ORDER-77", txn},
		{txn, qris, "SHOP-ORDER-77", txn},
		{qris, qris, "SHOP-ORDER-77", txn},
		{"  SHOP-REF-9 ", centili.CallbackID, "SHOP-REF-9", centili.TransactionID},
		{"NO-SUCH-REF", "", "", ""},
	} {
		t.Run(tt.search, func(t *testing.T) {
			var p page
			r := sim.Admin("GET", "/v1/callbacks?search="+url.QueryEscape(tt.search), nil)
			r.JSON(t, &p)
			var got []string
			for _, cb := range p.Callbacks {
				got = append(got, cb.ID)
			}
			if tt.want == "" {
				if r.Status != http.StatusOK || len(got) != 0 {
					t.Errorf("search %q = %d %v, want 200 and none", tt.search, r.Status, got)
				}
				return
			}
			if r.Status != http.StatusOK || len(got) != 1 || got[0] != tt.want {
				t.Fatalf("search %q = %d %v, want [%s]", tt.search, r.Status, got, tt.want)
			}
			if cb := p.Callbacks[0]; cb.Reference != tt.reference || cb.TransactionID != tt.transactionID {
				t.Errorf("reference %q, transaction_id %q; want %q, %q", cb.Reference, cb.TransactionID, tt.reference, tt.transactionID)
			}
			if cb := sim.Callback(tt.want); cb.Reference != tt.reference {
				t.Errorf("GET /v1/callbacks/%s: reference %q, want %q", tt.want, cb.Reference, tt.reference)
			}
		})
	}
	var p page
	sim.Admin("GET", "/v1/callbacks?provider=qris&search=SHOP-REF-9", nil).JSON(t, &p)
	if len(p.Callbacks) != 0 {
		t.Errorf("search with provider=qris found %d Centili callbacks", len(p.Callbacks))
	}
	sim.Admin("GET", "/v1/callbacks?search="+strings.Repeat("x", 256), nil).WantError(t, http.StatusBadRequest, "search")
}
