package dispatcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/callbacksim/callbacksim/internal/egress"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
)

// MaxKeptBody is how much of a merchant's answer an attempt keeps.
const MaxKeptBody = 64 << 10

// MaxResponseHeaderBytes is how much of an answer's status line and
// headers is read. A merchant that sends more gets a failed attempt
// ("network: net/http: server response headers exceeded ..."), as it would
// from the HTTP clients gateways use; Go's default is 10 MB.
const MaxResponseHeaderBytes = 64 << 10

// MaxKeptHeaders and MaxKeptHeaderBytes (names and values) bound the
// headers an attempt keeps; the values past either are left out and the
// response is marked HeadersTruncated.
const (
	MaxKeptHeaders     = 64
	MaxKeptHeaderBytes = 16 << 10
)

// maxKeptError bounds an attempt's error text: Go quotes a malformed
// status or header line in its error.
const maxKeptError = 1 << 10

// maxDrained is how much of an answer is read past MaxKeptBody so that the
// connection can be reused; a longer answer closes the connection.
const maxDrained = 256 << 10

// Sender sends the requests of an attempt over one shared HTTP client:
// redirects are not followed (a 3xx is an answer like any other), answers
// are read up to a cap, and the egress policy is enforced at connect time.
type Sender struct {
	client *http.Client
}

// NewSender returns a Sender whose connections obey policy.
func NewSender(policy egress.Policy) *Sender {
	dialer := policy.Dialer()
	dialer.Timeout = 10 * time.Second
	dialer.KeepAlive = 30 * time.Second
	transport := &http.Transport{
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		DisableCompression:     true, // send exactly the rendered headers
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    256,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: MaxResponseHeaderBytes,
	}
	return &Sender{client: &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// CloseIdleConnections closes the kept-alive connections to merchants, so
// that their servers see them end when the simulator stops.
func (s *Sender) CloseIdleConnections() { s.client.CloseIdleConnections() }

// result is what came back from an attempt's requests.
type result struct {
	exchanges []exchange
}

type exchange struct {
	req  payloads.Request
	resp *store.Response
	err  error
}

// deliver sends reqs in order, each within timeout, and returns every
// answer. A failed request does not stop the next one: CinetPay's ping
// decides nothing, the notification that follows it does.
func (s *Sender) deliver(ctx context.Context, reqs []payloads.Request, timeout time.Duration) result {
	res := result{exchanges: make([]exchange, 0, len(reqs))}
	for _, r := range reqs {
		r.URL = wireURL(r.URL) // recorded as sent
		resp, err := s.send(ctx, r, timeout)
		res.exchanges = append(res.exchanges, exchange{req: r, resp: resp, err: err})
	}
	return res
}

func (s *Sender) send(ctx context.Context, r payloads.Request, timeout time.Duration) (*store.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, fmt.Errorf("dispatcher: build request: %w", err)
	}
	req.Header = r.Header.Clone()
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	kept, err := io.ReadAll(io.LimitReader(resp.Body, MaxKeptBody+1))
	out := &store.Response{Status: resp.StatusCode}
	out.Headers, out.HeadersTruncated = keptHeaders(resp.Header)
	if len(kept) > MaxKeptBody {
		kept, out.Truncated = kept[:MaxKeptBody], true
	}
	out.Body = string(kept)
	if err != nil {
		// The status line and headers came; the body broke off (a reset, or
		// a trickle past the timeout). The answer is incomplete: a failure.
		return out, err
	}
	if out.Truncated {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrained))
	}
	return out, nil
}

// keptHeaders returns the headers of h an attempt keeps, names in sorted
// order and values in the order received, and whether any were left out.
// A value that does not fit is skipped, so a huge one does not hide the
// small ones after it.
func keptHeaders(h http.Header) (http.Header, bool) {
	kept := make(http.Header, min(len(h), MaxKeptHeaders))
	count, size, truncated := 0, 0, false
	for _, name := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[name] {
			if count == MaxKeptHeaders || size+len(name)+len(v) > MaxKeptHeaderBytes {
				truncated = true
				continue
			}
			kept[name] = append(kept[name], v)
			count, size = count+1, size+len(name)+len(v)
		}
	}
	return kept, truncated
}

// last is the exchange that decides the attempt.
func (r result) last() exchange {
	if len(r.exchanges) == 0 {
		return exchange{err: errors.New("dispatcher: nothing to send")}
	}
	return r.exchanges[len(r.exchanges)-1]
}

// code is the HTTP status of the deciding answer, 0 when none came.
func (r result) code() int {
	if l := r.last(); l.resp != nil && l.err == nil {
		return l.resp.Status
	}
	return 0
}

// err is the transport error of the deciding request, if any.
func (r result) err() error { return r.last().err }

// summary says how the deciding request ended: "answered 500", or its
// error.
func (r result) summary() string {
	if code := r.code(); code != 0 {
		return fmt.Sprintf("answered %d", code)
	}
	return "no answer: " + describe(r.err())
}

// attempt builds the attempt record; the caller sets its kind and
// outcome. cause is the verdict's (CauseTimeout, ...) when no answer came.
func (r result) attempt(start time.Time, d time.Duration, cause Cause) store.Attempt {
	a := store.Attempt{
		At:         start.UTC(),
		DurationMS: float64(d.Microseconds()) / 1000,
	}
	for i, e := range r.exchanges {
		if i < len(r.exchanges)-1 {
			a.Ping = &store.Exchange{Request: recordRequest(e.req), Response: e.resp, Error: describe(e.err)}
			continue
		}
		a.Request, a.Response = recordRequest(e.req), e.resp
		if e.err != nil {
			a.Error = string(cause) + ": " + describe(e.err)
		}
	}
	return a
}

func recordRequest(r payloads.Request) store.Request {
	return store.Request{Method: r.Method, URL: r.URL, Headers: r.Header, Body: string(r.Body)}
}

// describe says what went wrong without the URL that net/http puts in its
// errors (a query string may hold what the merchant considers private).
func describe(err error) string {
	if err == nil {
		return ""
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "no complete answer within the timeout"
	}
	s := err.Error()
	if len(s) > maxKeptError {
		s = strings.ToValidUTF8(s[:maxKeptError], "") + "... (cut)"
	}
	return s
}
