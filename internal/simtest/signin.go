package simtest

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/callbacksim/callbacksim/internal/session"
)

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([0-9a-f]{64})">`)

// SignIn signs in to the dashboard at baseURL with token, as its login
// form does, and returns the session's Cookie header value and the CSRF
// token its pages carry.
func SignIn(tb testing.TB, baseURL, token string) (cookie, csrf string) {
	tb.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(baseURL+"/login", url.Values{"token": {token}})
	if err != nil {
		tb.Fatalf("simtest: sign in: %v", err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == session.Cookie && c.Value != "" {
			cookie = c.Name + "=" + c.Value
		}
	}
	if resp.StatusCode != http.StatusSeeOther || cookie == "" {
		tb.Fatalf("simtest: sign in: %d, cookies %v; want 303 with a %s cookie", resp.StatusCode, resp.Cookies(), session.Cookie)
	}
	page := Do(tb, http.MethodGet, baseURL+"/", nil, "Cookie", cookie)
	m := csrfMeta.FindSubmatch(page.Body)
	if page.Status != http.StatusOK || m == nil {
		tb.Fatalf("simtest: the dashboard after sign-in: %d\n%s", page.Status, page.Body)
	}
	return cookie, string(m[1])
}
