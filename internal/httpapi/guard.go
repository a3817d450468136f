package httpapi

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// BodyDeadline bounds the time a request's body may take to arrive: the
// connection's read deadline is set to d from the moment the handler
// starts, and lifted once the body has been read to its end, so that a
// slow handler after the body is not cut short. A body trickled slower
// fails its read, which ReadBody answers with a 408.
func BodyDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(d)); err == nil {
			r.Body = &deadlineBody{ReadCloser: r.Body, lift: func() { _ = rc.SetReadDeadline(time.Time{}) }}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline when the body ends.
type deadlineBody struct {
	io.ReadCloser
	lift   func()
	lifted bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && !b.lifted {
		b.lifted = true
		b.lift()
	}
	return n, err
}

// LoopbackHosts refuses (403) a request whose Host is not a name a
// simulator listening on loopback is served under: the host of addr (the
// configured http.addr), localhost and its subdomains, or a loopback IP
// address, whatever the port. A web page whose own name was made to resolve
// to 127.0.0.1 (DNS rebinding) sends its own name and is refused. A
// request without a Host (HTTP/1.0) passes.
func LoopbackHosts(addr string, next http.Handler) http.Handler {
	configured, _, _ := net.SplitHostPort(addr)
	configured = strings.ToLower(configured)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackName(r.Host, configured) {
			WriteError(w, Errorf(http.StatusForbidden,
				"Host %q is not a name this simulator is served under: it listens on loopback, so only localhost, a loopback address or %q are answered (a protection against DNS rebinding)",
				r.Host, addr))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func loopbackName(hostport, configured string) bool {
	if hostport == "" {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback() || host == configured
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || host == configured
}
