package httpapi

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/callbacksim/callbacksim/internal/ratelimit"
)

// ClientKey names the client of r for counting its failed
// authentications: its IP address, or for IPv6 its /64, which one host
// usually holds whole.
func ClientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// Guess judges a request that presented a credential, right (ok) or
// wrong, to an endpoint guarded by f. A client locked out by f gets the
// 429 to answer, with Retry-After set on w, whether the credential was
// right or not: a locked-out guesser learns nothing. Otherwise a wrong
// credential is counted and Guess returns nil, leaving the 401 to the
// caller, which answers it in its own shape. An empty credential is no
// guess: it is neither counted nor locked out.
func Guess(w http.ResponseWriter, r *http.Request, f *ratelimit.Failures, presented string, ok bool) *Error {
	if presented == "" {
		return nil
	}
	client := ClientKey(r)
	if f.Wait(client) > 0 || (!ok && !f.Fail(client)) {
		return lockedOut(w, f, f.Wait(client))
	}
	return nil
}

// lockedOut is the 429 of a client locked out by f for wait.
func lockedOut(w http.ResponseWriter, f *ratelimit.Failures, wait time.Duration) *Error {
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return Errorf(http.StatusTooManyRequests,
		"too many wrong credentials from this client: %d a minute at most (http.auth_failures_per_minute); retry after %ds",
		f.PerMinute(), secs)
}
