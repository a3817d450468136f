package qris_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// signedHit is a callback a verifying merchant received.
type signedHit struct {
	Header http.Header
	Body   []byte
	Valid  bool
}

// verifier is a merchant endpoint that checks each callback with its own
// code (check), answers 401 to a forged one, and to a genuine one the n-th
// code of its script (200 once it runs out).
type verifier struct {
	URL   string
	check func(h http.Header, body []byte) bool
	codes []int

	mu   sync.Mutex
	hits []signedHit
}

func newVerifier(t *testing.T, check func(http.Header, []byte) bool, codes ...int) *verifier {
	t.Helper()
	v := &verifier{check: check, codes: codes}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := signedHit{Header: r.Header.Clone(), Body: body, Valid: v.check(r.Header, body)}
		v.mu.Lock()
		n := len(v.hits)
		v.hits = append(v.hits, h)
		v.mu.Unlock()
		code := http.StatusOK
		switch {
		case !h.Valid:
			code = http.StatusUnauthorized
		case n < len(v.codes):
			code = v.codes[n]
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	v.URL = srv.URL + "/qris"
	return v
}

func (v *verifier) Hits() []signedHit {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]signedHit(nil), v.hits...)
}

// hmacCheck is what a Tripay-style merchant does: HMAC-SHA256 of the raw
// body, hex, in X-Callback-Signature.
func hmacCheck(secret string) func(http.Header, []byte) bool {
	return func(h http.Header, body []byte) bool {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		got, err := hex.DecodeString(h.Get("X-Callback-Signature"))
		return err == nil && hmac.Equal(mac.Sum(nil), got)
	}
}

// standardWebhooksCheck follows the Standard Webhooks specification: the
// key is the base64 after whsec_; the signed content is id.timestamp.body;
// any v1 signature may match; the timestamp must be recent.
func standardWebhooksCheck(secret string) func(http.Header, []byte) bool {
	return func(h http.Header, body []byte) bool {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if err != nil {
			return false
		}
		id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute || id == "" {
			return false
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "."))
		mac.Write(body)
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		for _, sig := range strings.Fields(h.Get("webhook-signature")) {
			if v, ok := strings.CutPrefix(sig, "v1,"); ok && hmac.Equal([]byte(v), []byte(want)) {
				return true
			}
		}
		return false
	}
}

func TestQRISSignedCallbacks(t *testing.T) {
	const (
		hmacSecret = "qris-callback-secret"
		swSecret   = "whsec_c2lnbmluZy1rZXktZm9yLXRoZS10ZXN0cw=="
	)
	r := redistest.Start(t)
	cfg := simtest.Config(r.URL())
	cfg.Merchants = append(cfg.Merchants,
		config.Merchant{ID: "m-hmac", QRIS: &config.QRISMerchant{Token: "t-hmac", SigningSecret: hmacSecret, Signing: "hmac-sha256"}},
		config.Merchant{ID: "m-sw", QRIS: &config.QRISMerchant{Token: "t-sw", SigningSecret: swSecret, Signing: "standard-webhooks"}},
	)
	sim := simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)

	run := func(t *testing.T, token, orderID, url string) string {
		t.Helper()
		s := sim.With(t)
		auth := []string{"Authorization", "Bearer " + token}
		if r := s.Do(http.MethodPost, "/api/qris/initiate", map[string]any{"amount": 50000, "order_id": orderID, "callback_url": url}, auth...); r.Status != 201 {
			t.Fatalf("initiate: %d %s", r.Status, r.Body)
		}
		r := s.Do(http.MethodPost, "/api/qris/simulate", map[string]any{"order_id": orderID, "status": "SUCCESS"}, auth...)
		var ans struct {
			CallbackID string `json:"callback_id"`
		}
		r.JSON(t, &ans)
		if r.Status != 202 {
			t.Fatalf("simulate: %d %s", r.Status, r.Body)
		}
		return ans.CallbackID
	}

	t.Run("X-Callback-Signature", func(t *testing.T) {
		v := newVerifier(t, hmacCheck(hmacSecret))
		id := run(t, "t-hmac", "ORDER-HMAC", v.URL)
		sim.With(t).WaitStatus(id, store.StatusDelivered, 10*time.Second)
		if hits := v.Hits(); len(hits) != 1 || !hits[0].Valid {
			t.Errorf("merchant's check: %+v", hits)
		}
	})

	t.Run("X-Callback-Signature, wrong secret", func(t *testing.T) {
		v := newVerifier(t, hmacCheck("another-secret"))
		id := run(t, "t-hmac", "ORDER-HMAC-WRONG", v.URL)
		cb := sim.With(t).WaitStatus(id, store.StatusRetrying, 10*time.Second)
		if hits := v.Hits(); len(hits) == 0 || hits[0].Valid || cb.Attempts[0].Response.Status != 401 {
			t.Errorf("a callback passed a check with the wrong secret: %+v", hits)
		}
	})

	t.Run("Standard Webhooks, across a retry", func(t *testing.T) {
		v := newVerifier(t, standardWebhooksCheck(swSecret), http.StatusServiceUnavailable)
		id := run(t, "t-sw", "ORDER-SW", v.URL)
		sim.With(t).WaitStatus(id, store.StatusDelivered, 10*time.Second)
		hits := v.Hits()
		if len(hits) != 2 {
			t.Fatalf("%d requests, want 2 (a 503, then a 200)", len(hits))
		}
		for i, h := range hits {
			if !h.Valid || h.Header.Get("webhook-id") != id || h.Header.Get("X-Callback-Signature") != "" {
				t.Errorf("attempt %d: valid %t, webhook-id %q, headers %v", i+1, h.Valid, h.Header.Get("webhook-id"), h.Header)
			}
		}
	})

	t.Run("Standard Webhooks, wrong secret", func(t *testing.T) {
		v := newVerifier(t, standardWebhooksCheck("whsec_d3Jvbmcta2V5"))
		id := run(t, "t-sw", "ORDER-SW-WRONG", v.URL)
		sim.With(t).WaitStatus(id, store.StatusRetrying, 10*time.Second)
		if hits := v.Hits(); len(hits) == 0 || hits[0].Valid {
			t.Errorf("a callback passed a check with the wrong secret: %+v", hits)
		}
	})

	t.Run("no secret: unsigned", func(t *testing.T) {
		v := newVerifier(t, func(h http.Header, _ []byte) bool {
			return h.Get("X-Callback-Signature") == "" && h.Get("webhook-signature") == ""
		})
		id := run(t, token, "ORDER-UNSIGNED", v.URL)
		sim.With(t).WaitStatus(id, store.StatusDelivered, 10*time.Second)
	})
}
