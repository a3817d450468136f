package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/callbacksim/callbacksim/payloads"
)

// Merchant paths: what an endpoint answers depends on the path it is called
// on.
const (
	pathOK   = "/ok"   // 200
	pathFail = "/fail" // 500, every time
	pathDead = "/dead" // never answers: the request hangs until the caller gives up
)

// recorder notes when each callback first reached a merchant endpoint, by
// its X-Callback-Id (the tracing header, on for the benchmark: see
// env.config), and signals when the expected number has arrived.
// Requests to pathDead are not counted: they never complete.
type recorder struct {
	mu       sync.Mutex
	arrivals map[string]time.Time
	last     time.Time
	want     int
	done     chan struct{}
	requests int // every request on pathOK and pathFail, repeats included
	hanging  int // requests on pathDead not given up yet
}

func newRecorder() *recorder {
	r := &recorder{}
	r.reset(0)
	return r
}

// reset forgets every arrival and waits for want distinct callbacks.
func (r *recorder) reset(want int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.arrivals = make(map[string]time.Time, want)
	r.last, r.want, r.requests = time.Time{}, want, 0
	r.done = make(chan struct{})
	if want == 0 {
		close(r.done)
	}
}

func (r *recorder) arrive(id string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if _, seen := r.arrivals[id]; seen || id == "" {
		return
	}
	r.arrivals[id] = at
	if at.After(r.last) {
		r.last = at
	}
	if len(r.arrivals) == r.want {
		close(r.done)
	}
}

// wait waits until every expected callback arrived, or until timeout.
func (r *recorder) wait(ctx context.Context, timeout time.Duration) error {
	r.mu.Lock()
	done := r.done
	r.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		r.mu.Lock()
		defer r.mu.Unlock()
		return fmt.Errorf("bench: %d of %d callbacks reached the merchant within %s", len(r.arrivals), r.want, timeout)
	}
}

// arrived returns how many distinct callbacks arrived and when the last did.
func (r *recorder) arrived() (int, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.arrivals), r.last
}

// count returns how many requests came on pathOK and pathFail.
func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

// hangingNow is the number of requests hanging on pathDead.
func (r *recorder) hangingNow() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hanging
}

// arrival returns when callback id first arrived.
func (r *recorder) arrival(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.arrivals[id]
	return at, ok
}

// ServeHTTP implements http.Handler: the merchant's side of a callback.
func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	switch req.URL.Path {
	case pathDead:
		// Read the body: net/http notices a closed connection (and ends
		// the request's context) only once the body is read.
		_, _ = io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		r.hanging++
		r.mu.Unlock()
		<-req.Context().Done()
		r.mu.Lock()
		r.hanging--
		r.mu.Unlock()
		return
	case pathFail:
		_, _ = io.Copy(io.Discard, req.Body)
		r.arrive(req.Header.Get(payloads.CallbackIDHeader), at)
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "ERROR")
		return
	}
	_, _ = io.Copy(io.Discard, req.Body)
	r.arrive(req.Header.Get(payloads.CallbackIDHeader), at)
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "OK")
}

// endpoint is one merchant HTTP server on a loopback port of its own, so
// that each endpoint is a host of its own to the simulator.
type endpoint struct {
	URL string // http://127.0.0.1:port
	srv *http.Server
}

func startEndpoint(h http.Handler) (*endpoint, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: merchant listener: %w", err)
	}
	e := &endpoint{URL: "http://" + l.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = e.srv.Serve(l) }() // ends with http.ErrServerClosed
	return e, nil
}

// Addr is the endpoint's host:port.
func (e *endpoint) Addr() string { return strings.TrimPrefix(e.URL, "http://") }

// close closes the endpoint and every connection to it: hanging requests
// end at once.
func (e *endpoint) close() { _ = e.srv.Close() }
