// Package curlcmd writes a recorded request as a curl command line that
// sends it again byte for byte: the same method, path and query, the same
// headers in the order Go's HTTP client wrote them, the same body, the
// signature as it was sent. An integrator pastes it into a shell to replay a
// failed callback against the handler in their debugger.
//
// curl adds headers of its own (Accept, Expect, a Content-Type for a body)
// and writes the ones given with -H after Host, in the order given; so the
// command blanks curl's own, and gives every header, Host and User-Agent
// included, in the wire order of net/http: Host, User-Agent,
// Content-Length, then the others sorted by name.
package curlcmd

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/callbacksim/callbacksim/internal/store"
)

// Errors of Command.
var (
	// ErrUnsendable: a request curl cannot send from a command line as it
	// was recorded (a NUL byte in the body, a URL that is not absolute
	// http or https).
	ErrUnsendable = errors.New("curlcmd: cannot be written as a curl command")
	// ErrBadTarget: a target that is not an absolute http or https URL.
	ErrBadTarget = errors.New("curlcmd: the target must be an absolute http or https URL")
)

// Command returns the curl command line that sends r again. target, when
// not empty, is where to send it instead: its scheme, host and path replace
// r's, and r's query string is kept (a Centili notification is all in it)
// unless target has a query of its own. Every argument is single-quoted for
// a POSIX shell.
func Command(r store.Request, target string) (string, error) {
	u, err := parseURL(r.URL)
	if err != nil {
		return "", err
	}
	if target != "" {
		t, err := parseURL(target)
		if err != nil {
			return "", fmt.Errorf("%w, got %q", ErrBadTarget, target)
		}
		if t.RawQuery == "" && !t.ForceQuery {
			t.RawQuery = u.RawQuery
		}
		u = t
	}
	if strings.IndexByte(r.Body, 0) >= 0 {
		return "", fmt.Errorf("%w: the body holds a NUL byte", ErrUnsendable)
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	args := []string{"curl", "--http1.1", "--silent", "--show-error", "--globoff", "--path-as-is", "--request", method}
	for _, h := range wireHeaders(method, u.Host, r) {
		args = append(args, "--header", h)
	}
	if r.Body != "" {
		args = append(args, "--data-raw", r.Body)
	}
	args = append(args, u.Scheme+"://"+u.Host+u.RequestURI())
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = Quote(a)
	}
	return strings.Join(quoted, " "), nil
}

func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %q is not an absolute http or https URL", ErrUnsendable, s)
	}
	u.Fragment, u.RawFragment, u.User = "", "", nil
	return u, nil
}

// goUserAgent is net/http's default User-Agent.
const goUserAgent = "Go-http-client/1.1"

// curlOwn are the headers curl adds by itself unless told otherwise; one
// the request did not carry is given empty, which makes curl leave it out.
var curlOwn = []string{"Accept", "Expect", "Content-Type"}

// wireHeaders are r's headers as net/http wrote them, as curl takes them:
// "Name: value", Host first. Go writes Host, then User-Agent, then
// Content-Length (unless a GET or HEAD has no body), then the rest sorted
// by name, each name's values in order.
func wireHeaders(method, host string, r store.Request) []string {
	out := []string{"Host: " + host}
	agents := r.Headers.Values("User-Agent")
	if len(agents) == 0 {
		agents = []string{goUserAgent} // what net/http sends when a request sets none
	}
	for _, v := range agents {
		out = append(out, "User-Agent: "+v)
	}
	if r.Body != "" || (method != http.MethodGet && method != http.MethodHead) {
		out = append(out, "Content-Length: "+strconv.Itoa(len(r.Body)))
	}
	names := make([]string, 0, len(r.Headers))
	for name := range r.Headers {
		switch http.CanonicalHeaderKey(name) {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue // written above, or by HTTP itself
		}
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, v := range r.Headers[name] {
			out = append(out, name+": "+v)
		}
	}
	for _, own := range curlOwn {
		if len(r.Headers.Values(own)) == 0 {
			out = append(out, own+":")
		}
	}
	return out
}

// shellSafe are the bytes a shell word may hold unquoted and mean only
// themselves.
const shellSafe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+%"

// Quote returns s for a POSIX shell: as it is when every byte is in
// shellSafe, else single-quoted, every byte standing for itself; a single
// quote inside closes the quotes, is written escaped, and reopens them.
func Quote(s string) string {
	if s != "" && strings.Trim(s, shellSafe) == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
