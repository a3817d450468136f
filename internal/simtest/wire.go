package simtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// WireRequest is one request exactly as a merchant's server read it off
// the connection: what a handler in production sees, before any framework
// parses it.
type WireRequest struct {
	At time.Time
	// Raw is every byte of the request: the request line, the header lines
	// and the body.
	Raw []byte
	// Line is the request line, e.g. "GET /centili?transactionid=... HTTP/1.1".
	Line string
	// Headers are the header lines in the order received, e.g.
	// "User-Agent: Go-http-client/1.1".
	Headers []string
	// Request is Raw parsed by net/http; its body is Body.
	Request *http.Request
	Body    []byte
}

// Query returns the raw query of the request line, in the order sent.
func (w WireRequest) Query() string {
	target := strings.Fields(w.Line)[1]
	_, q, _ := strings.Cut(target, "?")
	return q
}

// HeaderNames returns the names of the header lines, in the order received.
func (w WireRequest) HeaderNames() []string {
	names := make([]string, len(w.Headers))
	for i, h := range w.Headers {
		names[i], _, _ = strings.Cut(h, ":")
	}
	return names
}

// WireMerchant is a merchant endpoint on a plain TCP listener that records
// the bytes of every request it gets, and answers each with the status
// Answer gives it (200 when Answer is nil).
type WireMerchant struct {
	URL    string
	Answer func(WireRequest) int

	tb    testing.TB
	ln    net.Listener
	mu    sync.Mutex
	got   []WireRequest
	conns map[net.Conn]bool
}

// NewWireMerchant starts a WireMerchant answering with answer (nil: 200),
// closed when the test ends.
func NewWireMerchant(tb testing.TB, answer func(WireRequest) int) *WireMerchant {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("simtest: wire merchant: %v", err)
	}
	m := &WireMerchant{URL: "http://" + ln.Addr().String(), Answer: answer, tb: tb, ln: ln, conns: map[net.Conn]bool{}}
	go m.accept()
	tb.Cleanup(m.close)
	return m
}

func (m *WireMerchant) accept() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			return
		}
		m.mu.Lock()
		m.conns[c] = true
		m.mu.Unlock()
		go m.serve(c)
	}
}

func (m *WireMerchant) close() {
	m.ln.Close()
	m.mu.Lock()
	defer m.mu.Unlock()
	for c := range m.conns {
		c.Close()
	}
}

// serve reads requests off c one after the other (a client waits for each
// answer before it sends the next request on a connection) and answers
// each.
func (m *WireMerchant) serve(c net.Conn) {
	defer func() {
		c.Close()
		m.mu.Lock()
		delete(m.conns, c)
		m.mu.Unlock()
	}()
	var seen bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &seen))
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		n := seen.Len() - br.Buffered() // what was read beyond this request belongs to the next
		raw := bytes.Clone(seen.Bytes()[:n])
		rest := bytes.Clone(seen.Bytes()[n:])
		seen.Reset()
		seen.Write(rest)
		w := parseWire(raw)
		w.At, w.Request, w.Body = time.Now(), req, body
		code := http.StatusOK
		if m.Answer != nil {
			code = m.Answer(w)
		}
		m.mu.Lock()
		m.got = append(m.got, w)
		m.mu.Unlock()
		text := http.StatusText(code)
		if _, err := fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", code, text, len(text), text); err != nil {
			return
		}
	}
}

func parseWire(raw []byte) WireRequest {
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	return WireRequest{Raw: raw, Line: lines[0], Headers: lines[1:]}
}

// Requests returns a copy of what the merchant received so far.
func (m *WireMerchant) Requests() []WireRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]WireRequest(nil), m.got...)
}

// WaitRequests waits until the merchant has received at least n requests.
func (m *WireMerchant) WaitRequests(n int, timeout time.Duration) []WireRequest {
	m.tb.Helper()
	return waitRequests(m.tb, "the wire merchant", n, timeout, m.Requests)
}
