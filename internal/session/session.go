// Package session authenticates the operator: by the admin token in an
// "Authorization: Bearer" header (scripts, the CLI), or by a dashboard
// session. Signing in with the admin token makes a session: a random id in
// an HttpOnly, SameSite=Strict cookie that names a record in Redis, which
// expires after admin.session_ttl and is deleted on sign-out, so that a
// cookie is worth nothing once its session ended, and changing the admin
// token ends every session. Wrong admin tokens count against the client's
// budget of failed authentications (httpapi.Guess).
package session

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/ratelimit"
	"github.com/callbacksim/callbacksim/internal/store"
)

// Cookie is the name of the dashboard's session cookie.
const Cookie = "callbacksim_session"

// CSRFHeader carries the session's CSRF token on every state-changing
// request that authenticates with the cookie. The dashboard reads the
// token from its page and sends it; a page of another origin can neither
// read it nor send a custom header without a CORS preflight, which is
// never granted.
const CSRFHeader = "X-CSRF-Token"

// idBytes is the size of a session id: 256 random bits, beyond guessing.
const idBytes = 32

// Manager makes, finds and ends sessions, and authorizes operator
// requests. Its zero value is not usable: call New.
type Manager struct {
	token string
	store *store.Store
	ttl   time.Duration
	fails *ratelimit.Failures
}

// New returns the Manager of the admin token adminToken whose sessions
// live ttl in st; fails (nil: no limit) counts wrong admin tokens.
func New(adminToken string, st *store.Store, ttl time.Duration, fails *ratelimit.Failures) *Manager {
	return &Manager{token: adminToken, store: st, ttl: ttl, fails: fails}
}

// Session is a signed-in dashboard.
type Session struct {
	// CSRF is the token the session's state-changing requests carry in
	// CSRFHeader.
	CSRF string
}

// csrf is the CSRF token of session id under the current admin token. It
// is also what Redis holds for the session: a session made under another
// admin token no longer matches.
func (m *Manager) csrf(id string) string {
	mac := hmac.New(sha256.New, []byte(m.token))
	mac.Write([]byte("callbacksim session csrf v2\x00" + id))
	return hex.EncodeToString(mac.Sum(nil))
}

// digest names session id in Redis.
func digest(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// SignIn checks presented, the token the login form sent, and when it is
// the admin token starts a session and sets its cookie on w. A wrong
// token is a 401, a client out of its budget of failures a 429 (with
// Retry-After), both *httpapi.Error; a Redis failure wraps
// store.ErrUnavailable.
func (m *Manager) SignIn(w http.ResponseWriter, r *http.Request, presented string) error {
	ok := httpapi.SecretEqual(presented, m.token)
	if err := httpapi.Guess(w, r, m.fails, presented, ok); err != nil {
		return err
	}
	if !ok {
		return httpapi.Errorf(http.StatusUnauthorized, "that is not the admin token")
	}
	raw := make([]byte, idBytes)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails
	id := base64.RawURLEncoding.EncodeToString(raw)
	if err := m.store.SaveSession(r.Context(), digest(id), m.csrf(id), m.ttl); err != nil {
		return err
	}
	m.setCookie(w, r, id, int(m.ttl/time.Second))
	return nil
}

// SignOut ends the session of r's cookie, if any, and clears the cookie.
func (m *Manager) SignOut(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(Cookie); err == nil && c.Value != "" {
		if err := m.store.DeleteSession(r.Context(), digest(c.Value)); err != nil {
			return err
		}
	}
	m.setCookie(w, r, "", -1)
	return nil
}

func (m *Manager) setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: Cookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https",
	})
}

// ErrEnded: the request's cookie names a session that expired, was signed
// out, or was made under another admin token.
var ErrEnded = errors.New("session: the dashboard session ended")

// ErrNone: the request carries no session cookie.
var ErrNone = errors.New("session: no session cookie")

// Current returns the session of r's cookie: ErrNone without a cookie,
// ErrEnded when its session is over, an error wrapping
// store.ErrUnavailable when Redis cannot tell.
func (m *Manager) Current(r *http.Request) (Session, error) {
	c, err := r.Cookie(Cookie)
	if err != nil || c.Value == "" {
		return Session{}, ErrNone
	}
	return m.lookup(r.Context(), c.Value)
}

func (m *Manager) lookup(ctx context.Context, id string) (Session, error) {
	stored, err := m.store.GetSession(ctx, digest(id))
	if errors.Is(err, store.ErrNotFound) {
		return Session{}, ErrEnded
	}
	if err != nil {
		return Session{}, err
	}
	want := m.csrf(id)
	if !httpapi.SecretEqual(stored, want) {
		return Session{}, ErrEnded
	}
	return Session{CSRF: want}, nil
}

// Authorize lets an operator API request through with the admin token in
// the Bearer header, or with a live session cookie, and then, for a
// state-changing request, only from the dashboard's own origin with the
// session's CSRF token. The error is an *httpapi.Error to answer (401,
// 403 or 429, with WWW-Authenticate or Retry-After set on w) or one
// wrapping store.ErrUnavailable.
func (m *Manager) Authorize(w http.ResponseWriter, r *http.Request) error {
	if bearer := httpapi.BearerToken(r); bearer != "" {
		ok := httpapi.SecretEqual(bearer, m.token)
		if err := httpapi.Guess(w, r, m.fails, bearer, ok); err != nil {
			return err
		}
		if !ok {
			return unauthorized(w, "invalid admin token")
		}
		return nil
	}
	s, err := m.Current(r)
	switch {
	case errors.Is(err, ErrNone):
		return unauthorized(w, "missing admin token: send Authorization: Bearer <admin.token>")
	case errors.Is(err, ErrEnded):
		return unauthorized(w, "the dashboard session ended (expired or signed out): sign in again")
	case err != nil:
		return err
	}
	return checkCSRF(r, s.CSRF)
}

func unauthorized(w http.ResponseWriter, msg string) error {
	w.Header().Set("WWW-Authenticate", `Bearer realm="callbacksim"`)
	return httpapi.Errorf(http.StatusUnauthorized, "%s", msg)
}

// checkCSRF guards a state-changing request made with the session cookie:
// it must be same-origin for the browser, and carry the session's CSRF
// token. Safe methods (GET, HEAD, OPTIONS) pass.
func checkCSRF(r *http.Request, want string) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if err := httpapi.CheckSameOrigin(r); err != nil {
		return err
	}
	if !httpapi.SecretEqual(r.Header.Get(CSRFHeader), want) {
		return httpapi.Errorf(http.StatusForbidden, "missing or invalid %s header; requests made with the dashboard's cookie need it (scripts: use the Bearer header)", CSRFHeader)
	}
	return nil
}
