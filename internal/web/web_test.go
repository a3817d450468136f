package web_test

import (
	"encoding/base64"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/session"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/internal/web"
)

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type answer struct {
	status int
	header http.Header
	body   string
}

func request(t *testing.T, method, u string, body string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(raw)}
}

func login(t *testing.T, sim *simtest.Sim, token string) answer {
	t.Helper()
	return request(t, http.MethodPost, sim.URL+"/login", url.Values{"token": {token}}.Encode(),
		"Content-Type", "application/x-www-form-urlencoded")
}

func sessionCookie(t *testing.T, a answer) string {
	t.Helper()
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == session.Cookie {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("no %s cookie set; headers %v", session.Cookie, a.header)
	return ""
}

// startSim runs a simulator whose QRIS callbacks get no retry: a failed
// first attempt fails the callback, and only a resend changes it.
func startSim(t *testing.T) *simtest.Sim {
	t.Helper()
	r := redistest.Start(t)
	cfg := simtest.Config(r.URL())
	cfg.Providers.QRIS.Retry.Schedule = nil
	return simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)
}

func TestLoginAndSession(t *testing.T) {
	sim := startSim(t)

	t.Run("no token, no data: the login form", func(t *testing.T) {
		a := request(t, http.MethodGet, sim.URL+"/", "")
		if a.status != 200 || !strings.Contains(a.body, `<form method="post" action="/login"`) || strings.Contains(a.body, "csrf-token") {
			t.Errorf("GET / signed out: %d\n%s", a.status, a.body)
		}
		if csp := a.header.Get("Content-Security-Policy"); csp != web.ContentSecurityPolicy {
			t.Errorf("CSP = %q, want %q", csp, web.ContentSecurityPolicy)
		}
		for _, api := range []string{"/v1/callbacks", "/v1/callbacks/cb_x"} {
			if a := request(t, http.MethodGet, sim.URL+api, ""); a.status != http.StatusUnauthorized {
				t.Errorf("GET %s without a token: %d", api, a.status)
			}
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		a := login(t, sim, "guess")
		if a.status != http.StatusUnauthorized || !strings.Contains(a.body, "not the admin token") || a.header.Get("Set-Cookie") != "" {
			t.Errorf("login with a wrong token: %d, Set-Cookie %q\n%s", a.status, a.header.Get("Set-Cookie"), a.body)
		}
	})
	t.Run("cross-origin login refused", func(t *testing.T) {
		a := request(t, http.MethodPost, sim.URL+"/login", "token="+simtest.AdminToken,
			"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "cross-site")
		if a.status != http.StatusForbidden || a.header.Get("Set-Cookie") != "" {
			t.Errorf("cross-site login: %d, Set-Cookie %q", a.status, a.header.Get("Set-Cookie"))
		}
	})

	a := login(t, sim, simtest.AdminToken)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/" {
		t.Fatalf("login: %d, Location %q", a.status, a.header.Get("Location"))
	}
	setCookie := a.header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(setCookie, want) {
			t.Errorf("Set-Cookie %q lacks %s", setCookie, want)
		}
	}
	if strings.Contains(setCookie, simtest.AdminToken) || strings.Contains(setCookie, base64.RawURLEncoding.EncodeToString([]byte(simtest.AdminToken))) {
		t.Errorf("Set-Cookie %q holds the admin token; it must be a session id", setCookie)
	}
	if !strings.Contains(setCookie, "Max-Age=43200") {
		t.Errorf("Set-Cookie %q: want Max-Age=43200, the default admin.session_ttl", setCookie)
	}
	cookie := sessionCookie(t, a)

	page := request(t, http.MethodGet, sim.URL+"/", "", "Cookie", cookie)
	csrf := regexp.MustCompile(`<meta name="csrf-token" content="([0-9a-f]{64})">`).FindStringSubmatch(page.body)
	if page.status != 200 || csrf == nil || !strings.Contains(page.body, `src="/assets/app.js"`) {
		t.Fatalf("dashboard: %d\n%s", page.status, page.body)
	}
	if page.header.Get("Content-Security-Policy") != web.ContentSecurityPolicy || page.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("dashboard headers: %v", page.header)
	}

	merchant := simtest.NewMerchant(t, 500, 200)
	id := triggerFailing(t, sim, merchant.URL)
	resend := sim.URL + "/v1/callbacks/" + id + "/resend"

	t.Run("the API accepts the cookie for reading", func(t *testing.T) {
		if a := request(t, http.MethodGet, sim.URL+"/v1/callbacks", "", "Cookie", cookie); a.status != 200 || !strings.Contains(a.body, id) {
			t.Errorf("GET /v1/callbacks with the cookie: %d %s", a.status, a.body)
		}
		if a := request(t, http.MethodGet, sim.URL+"/v1/callbacks", "", "Cookie", session.Cookie+"="+base64.RawURLEncoding.EncodeToString([]byte(simtest.AdminToken))); a.status != 401 {
			t.Errorf("GET /v1/callbacks with the admin token as cookie (the old scheme): %d", a.status)
		}
	})
	t.Run("state changes with the cookie need the CSRF token", func(t *testing.T) {
		if a := request(t, http.MethodPost, resend, "", "Cookie", cookie); a.status != http.StatusForbidden || !strings.Contains(a.body, session.CSRFHeader) {
			t.Errorf("resend with the cookie, no CSRF token: %d %s", a.status, a.body)
		}
		if a := request(t, http.MethodPost, resend, "", "Cookie", cookie, session.CSRFHeader, strings.Repeat("0", 64)); a.status != http.StatusForbidden {
			t.Errorf("resend with a wrong CSRF token: %d %s", a.status, a.body)
		}
		if a := request(t, http.MethodPost, resend, "", "Cookie", cookie, session.CSRFHeader, csrf[1], "Sec-Fetch-Site", "cross-site"); a.status != http.StatusForbidden {
			t.Errorf("cross-site resend: %d %s", a.status, a.body)
		}
		if a := request(t, http.MethodPost, resend, "", "Cookie", cookie, session.CSRFHeader, csrf[1], "Origin", "https://evil.example"); a.status != http.StatusForbidden {
			t.Errorf("resend from another Origin: %d %s", a.status, a.body)
		}
		if n := len(sim.Callback(id).Attempts); n != 1 {
			t.Fatalf("%d attempts after refused resends, want 1", n)
		}
		if a := request(t, http.MethodPost, resend, "", "Cookie", cookie, session.CSRFHeader, csrf[1], "Sec-Fetch-Site", "same-origin"); a.status != http.StatusAccepted {
			t.Errorf("same-origin resend with the CSRF token: %d %s", a.status, a.body)
		}
		sim.WaitStatus(id, store.StatusDelivered, 10*time.Second)
	})
	t.Run("the Bearer header needs no CSRF token", func(t *testing.T) {
		if a := request(t, http.MethodPost, resend, "", "Authorization", "Bearer "+simtest.AdminToken); a.status != http.StatusAccepted {
			t.Errorf("resend with the Bearer token: %d %s", a.status, a.body)
		}
	})
	t.Run("logout ends the session", func(t *testing.T) {
		a := request(t, http.MethodPost, sim.URL+"/logout", "", "Cookie", cookie)
		if a.status != http.StatusSeeOther || !strings.Contains(a.header.Get("Set-Cookie"), "Max-Age=0") {
			t.Errorf("logout: %d, Set-Cookie %q", a.status, a.header.Get("Set-Cookie"))
		}
		if a := request(t, http.MethodGet, sim.URL+"/v1/callbacks", "", "Cookie", cookie); a.status != http.StatusUnauthorized {
			t.Errorf("the cookie replayed after logout: %d, want 401", a.status)
		}
		if a := request(t, http.MethodPost, resend, "", "Cookie", cookie, session.CSRFHeader, csrf[1]); a.status != http.StatusUnauthorized {
			t.Errorf("a resend with the cookie and CSRF token after logout: %d, want 401", a.status)
		}
	})
}

// triggerFailing creates a QRIS payment whose callback fails its first
// attempt: on startSim's simulator, it ends failed at once.
func triggerFailing(t *testing.T, sim *simtest.Sim, url string) string {
	t.Helper()
	auth := []string{"Authorization", "Bearer demo-qris-token"}
	order := "ORDER-" + strings.ReplaceAll(t.Name(), "/", "-")
	if r := sim.Do(http.MethodPost, "/api/qris/initiate", map[string]any{"amount": 1000, "order_id": order, "callback_url": url}, auth...); r.Status != 201 {
		t.Fatalf("initiate: %d %s", r.Status, r.Body)
	}
	r := sim.Do(http.MethodPost, "/api/qris/simulate", map[string]any{"order_id": order, "status": "SUCCESS"}, auth...)
	var ans struct {
		CallbackID string `json:"callback_id"`
	}
	r.JSON(t, &ans)
	sim.WaitStatus(ans.CallbackID, store.StatusFailed, 10*time.Second)
	return ans.CallbackID
}

// cinetpayDelivered initialises a CinetPay payment of the demo merchant
// notifying notifyURL, accepts it, and returns its callback id once
// delivered.
func cinetpayDelivered(t *testing.T, sim *simtest.Sim, notifyURL string) string {
	t.Helper()
	tx := "TX-" + strings.ReplaceAll(t.Name(), "/", "-")
	if r := sim.Do(http.MethodPost, "/v2/payment", map[string]any{
		"apikey": "demo-apikey", "site_id": "445160", "transaction_id": tx, "amount": 100, "currency": "XOF",
		"description": "Test", "notify_url": notifyURL, "return_url": "https://shop.example/", "channels": "ALL",
	}); r.Status != http.StatusOK {
		t.Fatalf("init: %d %s", r.Status, r.Body)
	}
	r := sim.Do(http.MethodPost, "/v2/simulate", map[string]any{
		"apikey": "demo-apikey", "site_id": "445160", "transaction_id": tx, "status": "ACCEPTED"})
	var ans struct {
		CallbackID string `json:"callback_id"`
	}
	r.JSON(t, &ans)
	sim.WaitStatus(ans.CallbackID, store.StatusDelivered, 10*time.Second)
	return ans.CallbackID
}

func TestAssets(t *testing.T) {
	sim := simtest.Start(t)
	for name, ctype := range map[string]string{"ui.js": "text/javascript", "app.js": "text/javascript", "checks.js": "text/javascript", "simulate.js": "text/javascript", "app.css": "text/css"} {
		a := request(t, http.MethodGet, sim.URL+"/assets/"+name, "")
		if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), ctype) || a.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %q", name, a.status, a.header.Get("Content-Type"))
		}
	}
	if a := request(t, http.MethodGet, sim.URL+"/assets/nope.js", ""); a.status != 404 {
		t.Errorf("unknown asset: %d", a.status)
	}
	if a := request(t, http.MethodGet, sim.URL+"/assets/..%2fweb.go", ""); a.status == 200 {
		t.Errorf("path traversal served: %d %s", a.status, a.body)
	}
}

// TestNoHTMLSinks keeps the dashboard's script from ever parsing data as
// HTML: merchants' answers are untrusted.
func TestNoHTMLSinks(t *testing.T) {
	sinks := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function|setAttribute\('on|\.src\s*=|href\s*=`)
	err := filepath.WalkDir("static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".js") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if sinks.MatchString(line) {
				t.Errorf("%s:%d uses an HTML or script sink: %s", path, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The checks page shows no data signed out, and offers every gateway's
// checks signed in.
func TestChecksPage(t *testing.T) {
	sim := startSim(t)
	if a := request(t, http.MethodGet, sim.URL+"/checks", ""); a.status != 200 || !strings.Contains(a.body, `action="/login"`) ||
		strings.Contains(a.body, "csrf-token") || strings.Contains(a.body, "check-form") {
		t.Errorf("GET /checks signed out: %d, want the login form and nothing else\n%s", a.status, a.body)
	}
	cookie := sessionCookie(t, login(t, sim, simtest.AdminToken))
	page := request(t, http.MethodGet, sim.URL+"/checks", "", "Cookie", cookie)
	if page.status != 200 || page.header.Get("Content-Security-Policy") != web.ContentSecurityPolicy {
		t.Fatalf("GET /checks: %d %v", page.status, page.header)
	}
	for _, want := range []string{`<meta name="csrf-token" content="`, `src="/assets/ui.js"`, `src="/assets/checks.js"`,
		`<option value="cinetpay">`, `value="qris.no_redirect"`, `value="cinetpay.status_verified"`, `value="centili.parameter_order"`, `href="/"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the checks page lacks %s", want)
		}
	}
	if dash := request(t, http.MethodGet, sim.URL+"/", "", "Cookie", cookie); !strings.Contains(dash.body, `href="/checks"`) {
		t.Errorf("the callbacks page has no link to the checks page")
	}
}
