package reliability_test

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/session"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/payloads"
)

const (
	tokenA = "shop-a-qris-token"
	tokenB = "shop-b-qris-token"
)

// twoMerchants returns a test configuration with merchants shop-a and
// shop-b, each with a QRIS token. Its tests send many wrong credentials
// on purpose, so guessing is not throttled (TestGuessingIsThrottledPerClient
// covers that).
func twoMerchants(redisURL string) config.Config {
	cfg := simtest.Config(redisURL)
	cfg.HTTP.AuthFailuresPerMinute = 0
	cfg.Merchants = []config.Merchant{
		{
			ID: "shop-a", QRIS: &config.QRISMerchant{Token: tokenA, Signing: payloads.QRISSigningHMAC},
			CinetPay: &config.CinetPayMerchant{APIKey: "shop-a-apikey", SiteID: "1001", SecretKey: "shop-a-secret"},
			Centili: &config.CentiliMerchant{Service: "shop-a-service", SignatureKey: "shop-a-sign", SignAlgorithm: "sha1",
				NotificationURL: "http://127.0.0.1:9/centili"},
		},
		{
			ID: "shop-b", QRIS: &config.QRISMerchant{Token: tokenB, Signing: payloads.QRISSigningHMAC},
			CinetPay: &config.CinetPayMerchant{APIKey: "shop-b-apikey", SiteID: "1002", SecretKey: "shop-b-secret"},
			Centili: &config.CentiliMerchant{Service: "shop-b-service", SignatureKey: "shop-b-sign", SignAlgorithm: "sha1",
				NotificationURL: "http://127.0.0.1:9/centili"},
		},
	}
	return cfg
}

// cinetPayInit is an initialisation body of transaction tx with apikey and
// siteID.
func cinetPayInit(apikey, siteID, tx string) map[string]any {
	return map[string]any{
		"apikey": apikey, "site_id": siteID, "transaction_id": tx, "amount": 300, "currency": "XOF",
		"description": "auth", "notify_url": "http://127.0.0.1:9/notify", "return_url": "http://127.0.0.1:9/return",
	}
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
		{http.MethodPost, "/v1/callbacks/resend", map[string]any{"ids": []string{callbackID}}, true},
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

// TestBodyCredentialGateways: CinetPay and Centili carry their credentials
// in the body. A wrong or missing credential, another merchant's site, or
// the admin token in its place is refused (401, or CinetPay's 400 for a
// missing field); the right one is served.
func TestBodyCredentialGateways(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	sim := simtest.StartConfig(t, twoMerchants(r.URL()), app.Roles{API: true, Worker: true}, r)
	if resp := sim.Do(http.MethodPost, "/v2/payment", cinetPayInit("shop-a-apikey", "1001", "TX-AUTH")); resp.Status != http.StatusOK {
		t.Fatalf("initialisation with the right apikey: %d %s", resp.Status, resp.Body)
	}
	check := map[string]any{"apikey": "shop-a-apikey", "site_id": "1001", "transaction_id": "TX-AUTH"}
	simulate := map[string]any{"apikey": "shop-a-apikey", "site_id": "1001", "transaction_id": "TX-AUTH", "status": "WAITING_FOR_CUSTOMER"}
	centili := map[string]any{"service": "shop-a-service", "status": "success"}
	with := func(m map[string]any, k string, v any) map[string]any {
		out := map[string]any{}
		for key, x := range m {
			out[key] = x
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		path string
		good map[string]any
		key  string // the credential field
		also string // a second field that must match it (CinetPay's site_id), or ""
	}{
		{"/v2/payment", cinetPayInit("shop-a-apikey", "1001", "TX-AUTH-2"), "apikey", "site_id"},
		{"/v2/payment/check", check, "apikey", "site_id"},
		{"/v2/simulate", simulate, "apikey", "site_id"},
		{"/centili/simulate", centili, "service", ""},
	}
	for _, tt := range tests {
		bad := map[string]map[string]any{
			"missing credential": with(tt.good, tt.key, nil),
			"wrong credential":   with(tt.good, tt.key, "nope"),
			"admin token":        with(tt.good, tt.key, simtest.AdminToken),
			"QRIS token":         with(tt.good, tt.key, tokenA),
			"credential prefix":  with(tt.good, tt.key, tt.good[tt.key].(string)[:5]),
		}
		if tt.also != "" {
			bad["another merchant's site"] = with(tt.good, tt.also, "1002")
		}
		for name, body := range bad {
			resp := sim.Do(http.MethodPost, tt.path, body)
			if resp.Status != http.StatusUnauthorized && resp.Status != http.StatusBadRequest {
				t.Errorf("POST %s with %s: %d %s; want 401 (or 400 for a missing field)", tt.path, name, resp.Status, resp.Body)
			}
			if name != "missing credential" && resp.Status != http.StatusUnauthorized {
				t.Errorf("POST %s with %s: %d, want 401", tt.path, name, resp.Status)
			}
		}
		if resp := sim.Do(http.MethodPost, tt.path, tt.good); resp.Status >= 300 {
			t.Errorf("POST %s with the right credential: %d %s", tt.path, resp.Status, resp.Body)
		}
	}
	// shop-b's apikey does not reach shop-a's payment.
	if resp := sim.Do(http.MethodPost, "/v2/payment/check", map[string]any{"apikey": "shop-b-apikey", "site_id": "1002", "transaction_id": "TX-AUTH"}); resp.Status != http.StatusNotFound {
		t.Errorf("shop-b checking shop-a's payment: %d %s, want 404", resp.Status, resp.Body)
	}
}

// TestDashboardNeedsTheAdminToken: without the session the admin token
// opens, the dashboard shows only its sign-in form; a wrong token is
// refused; with the session, the operator API answers, but a change made
// with the cookie also needs the session's CSRF header. The cookie is a
// random session id, not the token: the old cookie (the token in base64)
// opens nothing, and a session ends for good on sign-out.
func TestDashboardNeedsTheAdminToken(t *testing.T) {
	t.Parallel()
	sim := simtest.Start(t)
	m := newMerchant(t, http.StatusOK)
	id := submit(t, sim, "demo-qris-token", "DASH-1", m.URL)
	oldCookie := session.Cookie + "=" + base64.RawURLEncoding.EncodeToString([]byte(simtest.AdminToken))
	for name, header := range map[string][]string{
		"no session":                nil,
		"wrong session":             {"Cookie", session.Cookie + "=wrong"},
		"the admin token as cookie": {"Cookie", oldCookie},
		"bearer token":              {"Authorization", "Bearer " + simtest.AdminToken}, // the page signs in by its form only
	} {
		resp := sim.Do(http.MethodGet, "/", nil, header...)
		if resp.Status != http.StatusOK || strings.Contains(string(resp.Body), "csrf-token") || !strings.Contains(string(resp.Body), "token") {
			t.Errorf("GET / with %s: %d; want the sign-in form and nothing of the dashboard", name, resp.Status)
		}
		if resp := sim.Do(http.MethodGet, "/v1/callbacks/"+id, nil, header...); name != "bearer token" && resp.Status != http.StatusUnauthorized {
			t.Errorf("GET a callback with %s: %d, want 401", name, resp.Status)
		}
	}
	if resp := sim.Do(http.MethodPost, "/login", "token=wrong", "Content-Type", "application/x-www-form-urlencoded"); resp.Status != http.StatusUnauthorized {
		t.Errorf("sign-in with a wrong token: %d, want 401", resp.Status)
	}
	cookie, csrf := simtest.SignIn(t, sim.URL, simtest.AdminToken)
	if strings.Contains(cookie, base64.RawURLEncoding.EncodeToString([]byte(simtest.AdminToken))) {
		t.Errorf("session cookie %q holds the admin token", cookie)
	}
	signedIn := []string{"Cookie", cookie}
	if resp := sim.Do(http.MethodGet, "/v1/callbacks/"+id, nil, signedIn...); resp.Status != http.StatusOK {
		t.Errorf("GET a callback with the session: %d, want 200", resp.Status)
	}
	if resp := sim.Do(http.MethodPost, "/v1/callbacks/"+id+"/resend", nil, signedIn...); resp.Status != http.StatusForbidden {
		t.Errorf("resend with the session but no CSRF header: %d, want 403", resp.Status)
	}
	_, otherCSRF := simtest.SignIn(t, sim.URL, simtest.AdminToken)
	if resp := sim.Do(http.MethodPost, "/v1/callbacks/"+id+"/resend", nil, append(signedIn, session.CSRFHeader, otherCSRF)...); resp.Status != http.StatusForbidden {
		t.Errorf("resend with another session's CSRF token: %d, want 403", resp.Status)
	}
	if resp := sim.Do(http.MethodPost, "/v1/callbacks/"+id+"/resend", nil, append(signedIn, session.CSRFHeader, csrf)...); resp.Status != http.StatusAccepted {
		t.Errorf("resend with the session and the CSRF header: %d %s, want 202", resp.Status, resp.Body)
	}

	if resp := sim.Do(http.MethodPost, "/logout", nil, signedIn...); resp.Status != http.StatusOK { // 303 followed to /
		t.Fatalf("sign out: %d", resp.Status)
	}
	if resp := sim.Do(http.MethodGet, "/v1/callbacks/"+id, nil, signedIn...); resp.Status != http.StatusUnauthorized || !strings.Contains(string(resp.Body), "sign in again") {
		t.Errorf("the signed-out cookie replayed on the API: %d %s, want 401 saying to sign in again", resp.Status, resp.Body)
	}
	page := sim.Do(http.MethodGet, "/", nil, signedIn...)
	if page.Status != http.StatusOK || strings.Contains(string(page.Body), "csrf-token") || !strings.Contains(string(page.Body), "session ended") {
		t.Errorf("GET / with the signed-out cookie: %d; want the sign-in form saying the session ended\n%s", page.Status, page.Body)
	}
}

// TestGuessingIsThrottledPerClient: after http.auth_failures_per_minute
// wrong credentials (the admin token by its header or the sign-in form, a
// QRIS bearer token, a CinetPay apikey: one budget), a client gets 429
// with Retry-After and a JSON error, even with the right credential; a
// signed-in dashboard and other clients go on.
func TestGuessingIsThrottledPerClient(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	cfg := simtest.Config(r.URL())
	cfg.HTTP.AuthFailuresPerMinute = 4
	sim := simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)
	cookie, _ := simtest.SignIn(t, sim.URL, simtest.AdminToken)

	guesses := []func() simtest.Response{
		func() simtest.Response {
			return sim.Do(http.MethodGet, "/v1/callbacks", nil, "Authorization", "Bearer guess-1")
		},
		func() simtest.Response {
			return sim.Do(http.MethodPost, "/login", "token=guess-2", "Content-Type", "application/x-www-form-urlencoded")
		},
		func() simtest.Response {
			return sim.Do(http.MethodGet, "/api/qris/transactions/X", nil, "Authorization", "Bearer guess-3")
		},
		func() simtest.Response {
			return sim.Do(http.MethodPost, "/v2/payment/check", map[string]any{"apikey": "guess-4", "site_id": "1", "transaction_id": "X"})
		},
	}
	for i, guess := range guesses {
		if resp := guess(); resp.Status != http.StatusUnauthorized {
			t.Fatalf("wrong credential %d of a budget of 4: %d %s, want 401", i+1, resp.Status, resp.Body)
		}
	}
	right := map[string]func() simtest.Response{
		"admin token": func() simtest.Response { return sim.Admin(http.MethodGet, "/v1/callbacks", nil) },
		"QRIS token": func() simtest.Response {
			return sim.Do(http.MethodGet, "/api/qris/transactions/X", nil, "Authorization", "Bearer demo-qris-token")
		},
		"CinetPay apikey": func() simtest.Response {
			return sim.Do(http.MethodPost, "/v2/payment/check", map[string]any{"apikey": "demo-apikey", "site_id": "demo-site", "transaction_id": "X"})
		},
		"sign-in": func() simtest.Response {
			return sim.Do(http.MethodPost, "/login", "token="+simtest.AdminToken, "Content-Type", "application/x-www-form-urlencoded")
		},
	}
	for name, do := range right {
		resp := do()
		var ans map[string]any
		if resp.Status != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Errorf("the right %s from a client out of guesses: %d Retry-After %q, want 429 with Retry-After", name, resp.Status, resp.Header.Get("Retry-After"))
		}
		if name != "sign-in" && (json.Unmarshal(resp.Body, &ans) != nil || ans["error"] == nil && ans["description"] == nil) {
			t.Errorf("the %s 429 is not a JSON error: %s", name, resp.Body)
		}
	}
	if resp := sim.Do(http.MethodGet, "/v1/callbacks", nil, "Cookie", cookie); resp.Status != http.StatusOK {
		t.Errorf("a signed-in dashboard on the locked-out client: %d, want 200", resp.Status)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 2 * time.Second}
	other := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	req, _ := http.NewRequest(http.MethodGet, sim.URL+"/v1/callbacks", nil)
	req.Header.Set("Authorization", "Bearer "+simtest.AdminToken)
	resp, err := other.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("another client (127.0.0.2) with the admin token: %d, want 200", resp.StatusCode)
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

	type request struct {
		name, method, path string
		body               any
		header             []string
	}
	for _, c := range []request{
		{"shop-a QRIS", http.MethodGet, "/api/qris/transactions/NONE", nil, []string{"Authorization", "Bearer " + tokenA}},
		{"admin", http.MethodGet, "/v1/callbacks", nil, []string{"Authorization", "Bearer " + simtest.AdminToken}},
		{"shop-a CinetPay", http.MethodPost, "/v2/payment/check", map[string]any{"apikey": "shop-a-apikey", "site_id": "1001", "transaction_id": "NONE"}, nil},
		{"shop-a Centili", http.MethodPost, "/centili/simulate", map[string]any{"service": "shop-a-service", "status": "unknown"}, nil},
	} {
		for i := range 3 {
			if resp := sim.Do(c.method, c.path, c.body, c.header...); resp.Status == http.StatusTooManyRequests {
				t.Fatalf("%s: request %d of a burst of 3 got 429", c.name, i+1)
			}
		}
		resp := sim.Do(c.method, c.path, c.body, c.header...)
		if resp.Status != http.StatusTooManyRequests {
			t.Fatalf("%s: 4th request at once: %d %s, want 429", c.name, resp.Status, resp.Body)
		}
		var body map[string]any
		if json.Unmarshal(resp.Body, &body) != nil || body["error"] == nil && body["code"] != "429" {
			t.Errorf("%s: 429 body %s is not a JSON error (nor CinetPay's shape)", c.name, resp.Body)
		}
		wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || wait < 1 {
			t.Fatalf("%s: Retry-After = %q, want whole seconds >= 1", c.name, resp.Header.Get("Retry-After"))
		}
		if c.name == "shop-a QRIS" {
			if resp := sim.Do(c.method, c.path, nil, "Authorization", "Bearer "+tokenB); resp.Status == http.StatusTooManyRequests {
				t.Errorf("shop-b got 429 while only shop-a went over its limit")
			}
			if resp := sim.Do(c.method, c.path, nil, "Authorization", "Bearer wrong"); resp.Status != http.StatusUnauthorized {
				t.Errorf("a bad token got %d, want 401 (the limit counts authenticated credentials)", resp.Status)
			}
		}
		simtest.Eventually(t, time.Duration(wait)*time.Second+2*time.Second, func() bool {
			return sim.Do(c.method, c.path, c.body, c.header...).Status != http.StatusTooManyRequests
		}, func() string { return c.name + " to be served again within Retry-After" })
	}
}
