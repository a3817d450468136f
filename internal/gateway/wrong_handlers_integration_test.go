package gateway_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/merchant"
	"github.com/callbacksim/callbacksim/payloads"
)

// Handlers with the mistakes that pass against a careless simulator and
// fail against the real gateway must fail here too.

// unsortedCentiliHandler checks sign over the values in the order it
// received them, forgetting Centili's sort by name, and rejects what does
// not verify with 406, as Centili's guide tells merchants to.
func unsortedCentiliHandler(key string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m := hmac.New(sha1.New, []byte(key))
		for part := range strings.SplitSeq(r.URL.RawQuery, "&") {
			name, v, _ := strings.Cut(part, "=")
			if name == "sign" {
				continue
			}
			v, _ = url.QueryUnescape(v)
			m.Write([]byte(v))
		}
		if hex.EncodeToString(m.Sum(nil)) != r.URL.Query().Get("sign") {
			w.WriteHeader(http.StatusNotAcceptable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

func TestWrongHandlerSkippingCentiliSortFails(t *testing.T) {
	wrong := httptest.NewServer(unsortedCentiliHandler("demo-sign-key"))
	t.Cleanup(wrong.Close)
	sample, err := merchant.New(merchant.Options{CentiliKey: "demo-sign-key"})
	if err != nil {
		t.Fatal(err)
	}
	right := httptest.NewServer(sample)
	t.Cleanup(right.Close)
	sim := start(t, wrong.URL, func(cfg *config.Config) {
		cfg.Merchants = append(cfg.Merchants, config.Merchant{ID: "sorting", Centili: &config.CentiliMerchant{
			Service: "sorting-service", SignatureKey: "demo-sign-key", NotificationURL: right.URL + "/centili"}})
	})

	// The handler that forgets to sort computes another sign and rejects
	// a genuine notification: Centili stops notifying, the payment is lost.
	id := callbackID(t, sim.Do(http.MethodPost, "/centili/simulate", map[string]any{"service": "demo-service", "status": "success"}))
	cb := sim.WaitStatus(id, store.StatusRejected, 10*time.Second)
	if len(cb.Attempts) != 1 || cb.Attempts[0].Response.Status != http.StatusNotAcceptable {
		t.Errorf("attempts %+v, want one, rejected with 406", cb.Attempts)
	}
	// The sample merchant, which sorts, takes the same kind of notification.
	id = callbackID(t, sim.Do(http.MethodPost, "/centili/simulate", map[string]any{"service": "sorting-service", "status": "success"}))
	sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)
}

// creditor is a QRIS handler that credits each order once, de-duplicating
// on key(request, callback).
type creditor struct {
	key func(r *http.Request, cb payloads.QRISCallback) string

	mu       sync.Mutex
	seen     map[string]bool
	credited []string
	requests int
}

func (c *creditor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var cb payloads.QRISCallback
	if err := json.Unmarshal(body, &cb); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	if k := c.key(r, cb); !c.seen[k] {
		c.seen[k] = true
		c.credited = append(c.credited, cb.OrderID)
	}
	w.WriteHeader(http.StatusOK)
}

func (c *creditor) result() (int, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests, slices.Clone(c.credited)
}

// TestWrongHandlerKeyedOnCallbackIDFails: a handler that de-duplicates on
// X-Callback-Id, which no gateway sends, takes every callback after the
// first for a copy of it: the second order is never credited, as in
// production. Keyed on the gateway's transaction_id, both orders are
// credited once, copies and all. Only the tracing header, off by default,
// would hide the mistake.
func TestWrongHandlerKeyedOnCallbackIDFails(t *testing.T) {
	byCallbackID := func(r *http.Request, _ payloads.QRISCallback) string { return r.Header.Get("X-Callback-Id") }
	byTransactionID := func(_ *http.Request, cb payloads.QRISCallback) string { return cb.TransactionID }
	tests := []struct {
		name    string
		key     func(*http.Request, payloads.QRISCallback) string
		tracing bool
		want    []string
	}{
		{"keyed on X-Callback-Id: the second order is lost", byCallbackID, false, []string{"ORDER-A"}},
		{"keyed on transaction_id: both, once each", byTransactionID, false, []string{"ORDER-A", "ORDER-B"}},
		{"keyed on X-Callback-Id with tracing on: the mistake hidden", byCallbackID, true, []string{"ORDER-A", "ORDER-B"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &creditor{key: tt.key, seen: map[string]bool{}}
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			sim := start(t, srv.URL, func(cfg *config.Config) { cfg.Delivery.CallbackIDHeader = tt.tracing })
			for _, order := range []string{"ORDER-A", "ORDER-B"} {
				id := qrisPayment(t, sim, order, srv.URL+"/payment-callback", map[string]any{"duplicates": 1})
				simtest.Eventually(t, 10*time.Second, func() bool {
					return len(sim.Callback(id).Attempts) == 2
				}, func() string { return "the callback of " + order + " and its copy" })
			}
			requests, credited := h.result()
			if requests != 4 || !slices.Equal(credited, tt.want) {
				t.Errorf("%d requests, credited %v; want 4 requests, credited %v", requests, credited, tt.want)
			}
		})
	}
}
