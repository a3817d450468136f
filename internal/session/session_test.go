package session_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/ratelimit"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/session"
	"github.com/callbacksim/callbacksim/internal/store"
)

const token = "an-admin-token-long-enough"

// signIn signs in on m and returns the cookie it set.
func signIn(t *testing.T, m *session.Manager) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	if err := m.SignIn(w, httptest.NewRequest(http.MethodPost, "/login", nil), token); err != nil {
		t.Fatalf("sign in with the admin token: %v", err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == session.Cookie {
			return c
		}
	}
	t.Fatalf("no %s cookie set: %v", session.Cookie, w.Header())
	return nil
}

func with(c *http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(c)
	return r
}

func TestSessionsAreRandomStoredAndRevoked(t *testing.T) {
	r := redistest.Start(t)
	st := store.New(r.Client(), time.Hour)
	m := session.New(token, st, time.Hour, nil)

	a, b := signIn(t, m), signIn(t, m)
	if a.Value == b.Value || len(a.Value) < 43 || strings.Contains(a.Value, token) {
		t.Fatalf("session ids %q and %q: want two distinct random ids of 256 bits, not the token", a.Value, b.Value)
	}
	if a.MaxAge != 3600 || !a.HttpOnly || a.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie %+v: want Max-Age 3600, HttpOnly, SameSite=Strict", a)
	}
	keys := r.Client().Keys(t.Context(), "ses:*").Val()
	if len(keys) != 2 {
		t.Fatalf("Redis holds %v, want two session keys", keys)
	}
	for _, k := range keys {
		if strings.Contains(k, a.Value) || strings.Contains(k, b.Value) {
			t.Errorf("key %s holds a session id: a Redis dump would give away cookies", k)
		}
		if ttl := r.Client().TTL(t.Context(), k).Val(); ttl <= 0 || ttl > time.Hour {
			t.Errorf("key %s expires in %s, want within the hour", k, ttl)
		}
	}
	sa, err := m.Current(with(a))
	if err != nil {
		t.Fatalf("current session: %v", err)
	}
	sb, _ := m.Current(with(b))
	if sa.CSRF == sb.CSRF || len(sa.CSRF) != 64 {
		t.Errorf("CSRF tokens %q and %q: want one per session", sa.CSRF, sb.CSRF)
	}

	w := httptest.NewRecorder()
	if err := m.SignOut(w, with(a)); err != nil {
		t.Fatal(err)
	}
	if c := w.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("sign-out cookies %v: want the session cookie cleared", c)
	}
	if _, err := m.Current(with(a)); !errors.Is(err, session.ErrEnded) {
		t.Errorf("the signed-out cookie: %v, want ErrEnded", err)
	}
	if _, err := m.Current(with(b)); err != nil {
		t.Errorf("the other session after one signed out: %v, want it alive", err)
	}
	if _, err := m.Current(httptest.NewRequest(http.MethodGet, "/", nil)); !errors.Is(err, session.ErrNone) {
		t.Errorf("no cookie: %v, want ErrNone", err)
	}
	if _, err := m.Current(with(&http.Cookie{Name: session.Cookie, Value: "YW4tYWRtaW4tdG9rZW4tbG9uZy1lbm91Z2g"})); !errors.Is(err, session.ErrEnded) {
		t.Errorf("the admin token in base64 (the old cookie): %v, want ErrEnded", err)
	}

	other := session.New("another-admin-token-entirely", st, time.Hour, nil)
	if _, err := other.Current(with(b)); !errors.Is(err, session.ErrEnded) {
		t.Errorf("a session after the admin token changed: %v, want ErrEnded", err)
	}
}

func TestSessionsExpire(t *testing.T) {
	r := redistest.Start(t)
	m := session.New(token, store.New(r.Client(), time.Hour), 300*time.Millisecond, nil)
	c := signIn(t, m)
	if _, err := m.Current(with(c)); err != nil {
		t.Fatalf("fresh session: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := m.Current(with(c))
		if errors.Is(err, session.ErrEnded) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a 300ms session still answers %v after 5s", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRedisDownIsUnavailableNotSignedOut(t *testing.T) {
	r := redistest.Start(t)
	m := session.New(token, store.New(r.Client(), time.Hour), time.Hour, nil)
	c := signIn(t, m)
	r.Stop()
	if _, err := m.Current(with(c)); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Redis down: %v, want store.ErrUnavailable", err)
	}
	if err := m.SignIn(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/login", nil), token); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("sign in with Redis down: %v, want store.ErrUnavailable", err)
	}
}

// TestAuthorize covers the operator API's decision: the Bearer token, a
// live session (with its CSRF token for a state change), the 429 of a
// client that guessed too often.
func TestAuthorize(t *testing.T) {
	r := redistest.Start(t)
	m := session.New(token, store.New(r.Client(), time.Hour), time.Hour, ratelimit.NewFailures(3))
	c := signIn(t, m)
	s, _ := m.Current(with(c))

	req := func(method, client string, header ...string) *http.Request {
		q := httptest.NewRequest(method, "/v1/callbacks", nil)
		q.RemoteAddr = client + ":5000"
		for i := 0; i+1 < len(header); i += 2 {
			q.Header.Set(header[i], header[i+1])
		}
		return q
	}
	status := func(q *http.Request) (int, http.Header) {
		w := httptest.NewRecorder()
		err := m.Authorize(w, q)
		if err == nil {
			return 200, w.Header()
		}
		return httpapi.Status(err), w.Header()
	}
	cookie := c.Name + "=" + c.Value
	tests := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"bearer", req("GET", "10.0.0.1", "Authorization", "Bearer "+token), 200},
		{"no credential", req("GET", "10.0.0.1"), 401},
		{"session, read", req("GET", "10.0.0.1", "Cookie", cookie), 200},
		{"session, write without CSRF", req("POST", "10.0.0.1", "Cookie", cookie), 403},
		{"session, write with CSRF", req("POST", "10.0.0.1", "Cookie", cookie, session.CSRFHeader, s.CSRF), 200},
		{"session, write cross-site", req("POST", "10.0.0.1", "Cookie", cookie, session.CSRFHeader, s.CSRF, "Sec-Fetch-Site", "cross-site"), 403},
		{"unknown session", req("GET", "10.0.0.1", "Cookie", session.Cookie+"=nope"), 401},
	}
	for _, tt := range tests {
		if got, _ := status(tt.req); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}

	for i := range 3 {
		if got, _ := status(req("GET", "10.0.0.9", "Authorization", "Bearer guess")); got != 401 {
			t.Fatalf("wrong guess %d of a budget of 3: %d, want 401", i+1, got)
		}
	}
	got, h := status(req("GET", "10.0.0.9", "Authorization", "Bearer "+token))
	if got != 429 || h.Get("Retry-After") != "20" {
		t.Errorf("the right token after 3 wrong ones: %d Retry-After %q, want 429 after 20s: a locked-out guesser learns nothing", got, h.Get("Retry-After"))
	}
	if got, _ := status(req("GET", "10.0.0.9", "Cookie", cookie)); got != 200 {
		t.Errorf("a live session from the locked-out client: %d, want 200 (session ids are not guessed)", got)
	}
	if got, _ := status(req("GET", "10.0.0.8", "Authorization", "Bearer "+token)); got != 200 {
		t.Errorf("another client: %d, want 200", got)
	}
	if got, _ := status(req("GET", "10.0.0.9")); got != 401 {
		t.Errorf("no credential from the locked-out client: %d, want 401", got)
	}
}
