package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
)

// SessionCookie is the dashboard's cookie: it holds the admin token
// (base64url-encoded), HttpOnly and SameSite=Strict, and the operator API
// accepts it in place of the Bearer header.
const SessionCookie = "callbacksim_session"

// CSRFHeader carries the CSRF token on every state-changing request that
// authenticates with the session cookie. The dashboard reads the token from
// its page and sends it; a page of another origin can neither read it nor
// send a custom header without a CORS preflight, which is never granted.
const CSRFHeader = "X-CSRF-Token"

// crossOrigin refuses unsafe requests that browsers mark as cross-origin
// (Sec-Fetch-Site, or an Origin that is not the Host).
var crossOrigin = http.NewCrossOriginProtection()

// CSRFToken is the CSRF token of a dashboard session, derived from the admin
// token so that it needs no server-side state.
func CSRFToken(adminToken string) string {
	m := hmac.New(sha256.New, []byte(adminToken))
	m.Write([]byte("callbacksim dashboard csrf v1"))
	return hex.EncodeToString(m.Sum(nil))
}

// SessionValue encodes the admin token as the session cookie's value.
func SessionValue(adminToken string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(adminToken))
}

// SessionToken returns the admin token the session cookie of r holds, or "".
func SessionToken(r *http.Request) string {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return ""
	}
	return string(raw)
}

// AdminAuth reports whether r carries the admin token, in the Bearer header
// or in the session cookie, and whether it came by the cookie (and so needs
// CheckCSRF on a state-changing request).
func AdminAuth(r *http.Request, adminToken string) (ok, viaCookie bool) {
	if SecretEqual(BearerToken(r), adminToken) {
		return true, false
	}
	if SecretEqual(SessionToken(r), adminToken) {
		return true, true
	}
	return false, false
}

// CheckCSRF guards a state-changing request made with the session cookie:
// it must be same-origin for the browser, and carry the CSRF token. Safe
// methods (GET, HEAD, OPTIONS) pass.
func CheckCSRF(r *http.Request, adminToken string) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if err := crossOrigin.Check(r); err != nil {
		return Errorf(http.StatusForbidden, "cross-origin request refused")
	}
	if !SecretEqual(r.Header.Get(CSRFHeader), CSRFToken(adminToken)) {
		return Errorf(http.StatusForbidden, "missing or invalid %s header; requests made with the dashboard's cookie need it (scripts: use the Bearer header)", CSRFHeader)
	}
	return nil
}

// CheckSameOrigin refuses (403) an unsafe request a browser marks as
// cross-origin: Sec-Fetch-Site other than same-origin or none, or else an
// Origin whose host is not the request's Host. Server-to-server calls carry
// neither header and pass, and so do safe methods. The dashboard's forms,
// every gateway endpoint that acts and CinetPay's checkout page call it, so
// that no web page can make a local simulator send callbacks.
func CheckSameOrigin(r *http.Request) error {
	if err := crossOrigin.Check(r); err != nil {
		return Errorf(http.StatusForbidden, "cross-origin request refused: a browser sent it from another site (Sec-Fetch-Site or Origin); call this endpoint from a server or a script")
	}
	return nil
}
