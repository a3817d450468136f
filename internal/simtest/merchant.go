package simtest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Received is one request a Merchant got.
type Received struct {
	At     time.Time
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// Merchant is an httptest merchant endpoint that records every request and
// answers with a script of status codes: the n-th request gets codes[n], and
// once the script runs out, its last code (200 for an empty script).
type Merchant struct {
	URL string

	tb    testing.TB
	mu    sync.Mutex
	codes []int
	got   []Received
}

// NewMerchant starts a merchant endpoint, closed when the test ends.
func NewMerchant(tb testing.TB, codes ...int) *Merchant {
	m := &Merchant{tb: tb, codes: codes}
	srv := httptest.NewServer(http.HandlerFunc(m.serve))
	tb.Cleanup(srv.Close)
	m.URL = srv.URL
	return m
}

func (m *Merchant) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m.mu.Lock()
	n := len(m.got)
	m.got = append(m.got, Received{
		At: time.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
		Header: r.Header.Clone(), Body: body,
	})
	code := http.StatusOK
	switch {
	case n < len(m.codes):
		code = m.codes[n]
	case len(m.codes) > 0:
		code = m.codes[len(m.codes)-1]
	}
	m.mu.Unlock()
	w.WriteHeader(code)
	_, _ = io.WriteString(w, http.StatusText(code))
}

// Requests returns a copy of what the merchant received so far.
func (m *Merchant) Requests() []Received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Received(nil), m.got...)
}

// WaitRequests waits until the merchant has received at least n requests.
func (m *Merchant) WaitRequests(n int, timeout time.Duration) []Received {
	m.tb.Helper()
	return waitRequests(m.tb, "the merchant", n, timeout, m.Requests)
}

// waitRequests waits until requests gives at least n requests, and
// returns them.
func waitRequests[R any](tb testing.TB, who string, n int, timeout time.Duration, requests func() []R) []R {
	tb.Helper()
	var got []R
	Eventually(tb, timeout, func() bool {
		got = requests()
		return len(got) >= n
	}, func() string { return fmt.Sprintf("%s to receive %d requests (got %d)", who, n, len(got)) })
	return got
}
