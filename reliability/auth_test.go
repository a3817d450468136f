package reliability_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/app"
	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
)

const (
	tokenA = "shop-a-qris-token"
	tokenB = "shop-b-qris-token"
)

// twoMerchants returns a test configuration with merchants shop-a and
// shop-b, each with a QRIS token.
func twoMerchants(redisURL string) config.Config {
	cfg := simtest.Config(redisURL)
	cfg.Merchants = []config.Merchant{
		{ID: "shop-a", QRIS: &config.QRISMerchant{Token: tokenA, Signing: config.SigningHMACSHA256}},
		{ID: "shop-b", QRIS: &config.QRISMerchant{Token: tokenB, Signing: config.SigningHMACSHA256}},
	}
	return cfg
}

// endpoint is a route and the credential it requires.
type endpoint struct {
	method, path string
	body         any
	admin        bool // the admin token; else a merchant's QRIS token
}

// protectedEndpoints lists every endpoint that needs credentials. A new
// endpoint belongs here.
func protectedEndpoints(callbackID string) []endpoint {
	return []endpoint{
		{http.MethodGet, "/v1/callbacks", nil, true},
		{http.MethodGet, "/v1/callbacks/" + callbackID, nil, true},
		{http.MethodPost, "/v1/callbacks/" + callbackID + "/resend", nil, true},
		{http.MethodPost, "/v1/callbacks/" + callbackID + "/retry-now", nil, true},
		{http.MethodPost, "/api/qris/initiate", map[string]any{"amount": 1000, "order_id": "AUTH-NEW", "callback_url": "http://127.0.0.1:9/cb"}, false},
		{http.MethodPost, "/api/qris/simulate", map[string]any{"order_id": "AUTH-1", "status": "SUCCESS"}, false},
		{http.MethodGet, "/api/qris/transactions/AUTH-1", nil, false},
	}
}

// TestEveryEndpointNeedsItsCredentials: no credentials, a wrong token, the
// wrong kind of token (the admin token on a gateway, a merchant's on the
// operator API) and a wrong scheme all get 401 with a JSON error; the right
// one does not.
func TestEveryEndpointNeedsItsCredentials(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	sim := simtest.StartConfig(t, twoMerchants(r.URL()), app.Roles{API: true, Worker: true}, r)
	m := newMerchant(t, http.StatusOK)
	id := submit(t, sim, tokenA, "AUTH-0", m.URL)
	if r := sim.Do(http.MethodPost, "/api/qris/initiate", map[string]any{"amount": 1000, "order_id": "AUTH-1", "callback_url": m.URL}, "Authorization", "Bearer "+tokenA); r.Status != http.StatusCreated {
		t.Fatalf("initiate AUTH-1: %d %s", r.Status, r.Body)
	}

	for _, e := range protectedEndpoints(id) {
		right, wrongKind := "Bearer "+tokenA, "Bearer "+simtest.AdminToken
		if e.admin {
			right, wrongKind = "Bearer "+simtest.AdminToken, "Bearer "+tokenA
		}
		for name, header := range map[string][]string{
			"no credentials":   nil,
			"wrong token":      {"Authorization", right + "x"},
			"token prefix":     {"Authorization", right[:len(right)-1]},
			"empty token":      {"Authorization", "Bearer "},
			"wrong kind":       {"Authorization", wrongKind},
			"wrong scheme":     {"Authorization", "Basic " + right[len("Bearer "):]},
			"token in a query": nil,
		} {
			path := e.path
			if name == "token in a query" {
				path += "?token=" + right[len("Bearer "):]
			}
			resp := sim.Do(e.method, path, e.body, header...)
			var body map[string]any
			if resp.Status != http.StatusUnauthorized || json.Unmarshal(resp.Body, &body) != nil || body["error"] == nil {
				t.Errorf("%s %s with %s: %d %s; want 401 with a JSON error", e.method, e.path, name, resp.Status, resp.Body)
			}
		}
		if resp := sim.Do(e.method, e.path, e.body, "Authorization", right); resp.Status == http.StatusUnauthorized || resp.Status >= 500 {
			t.Errorf("%s %s with the right credentials: %d %s", e.method, e.path, resp.Status, resp.Body)
		}
	}

	// A merchant's token reaches only its own payments.
	if resp := sim.Do(http.MethodGet, "/api/qris/transactions/AUTH-1", nil, "Authorization", "Bearer "+tokenB); resp.Status != http.StatusNotFound {
		t.Errorf("shop-b reading shop-a's transaction: %d %s, want 404", resp.Status, resp.Body)
	}
	if resp := sim.Do(http.MethodPost, "/api/qris/simulate", map[string]any{"order_id": "AUTH-1", "status": "SUCCESS"}, "Authorization", "Bearer "+tokenB); resp.Status != http.StatusNotFound {
		t.Errorf("shop-b completing shop-a's payment: %d %s, want 404", resp.Status, resp.Body)
	}
}

// TestRateLimitPerCredential: over ratelimit.per_second (with bursts of
// ratelimit.burst) a credential gets 429 with Retry-After and a JSON error,
// while other credentials go on unhindered; within Retry-After it is
// served again.
func TestRateLimitPerCredential(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	cfg := twoMerchants(r.URL())
	cfg.RateLimit = config.RateLimit{PerSecond: 1, Burst: 3}
	sim := simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)

	for _, c := range []struct{ name, path, token string }{
		{"shop-a", "/api/qris/transactions/NONE", tokenA},
		{"admin", "/v1/callbacks", simtest.AdminToken},
	} {
		for i := range 3 {
			if resp := sim.Do(http.MethodGet, c.path, nil, "Authorization", "Bearer "+c.token); resp.Status == http.StatusTooManyRequests {
				t.Fatalf("%s: request %d of a burst of 3 got 429", c.name, i+1)
			}
		}
		resp := sim.Do(http.MethodGet, c.path, nil, "Authorization", "Bearer "+c.token)
		if resp.Status != http.StatusTooManyRequests {
			t.Fatalf("%s: 4th request at once: %d %s, want 429", c.name, resp.Status, resp.Body)
		}
		var body map[string]any
		if json.Unmarshal(resp.Body, &body) != nil || body["error"] == nil {
			t.Errorf("%s: 429 body %s is not a JSON error", c.name, resp.Body)
		}
		wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || wait < 1 {
			t.Fatalf("%s: Retry-After = %q, want whole seconds >= 1", c.name, resp.Header.Get("Retry-After"))
		}
		if c.name == "shop-a" {
			if resp := sim.Do(http.MethodGet, c.path, nil, "Authorization", "Bearer "+tokenB); resp.Status == http.StatusTooManyRequests {
				t.Errorf("shop-b got 429 while only shop-a went over its limit")
			}
			if resp := sim.Do(http.MethodGet, c.path, nil, "Authorization", "Bearer wrong"); resp.Status != http.StatusUnauthorized {
				t.Errorf("a bad token got %d, want 401 (the limit counts authenticated credentials)", resp.Status)
			}
		}
		simtest.Eventually(t, time.Duration(wait)*time.Second+2*time.Second, func() bool {
			return sim.Do(http.MethodGet, c.path, nil, "Authorization", "Bearer "+c.token).Status != http.StatusTooManyRequests
		}, func() string { return c.name + " to be served again within Retry-After" })
	}
}
