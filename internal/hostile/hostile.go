// Package hostile starts merchant endpoints that misbehave the way real
// ones do: they never answer, reset the connection, trickle their answer,
// answer far too much (body or headers), redirect, speak broken HTTP, or
// present a certificate nobody trusts. Each is closed when the test ends, and its
// Close waits until every connection it accepted is gone, so that a test
// can count goroutines and file descriptors afterwards.
package hostile

import (
	"bufio"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Unresolvable is a callback URL whose host name does not resolve (the
// .invalid top-level domain is reserved for that, RFC 2606).
const Unresolvable = "http://nonexistent.invalid/callback"

// Server is a misbehaving merchant endpoint.
type Server struct {
	// URL is where callbacks go, e.g. http://127.0.0.1:port/callback.
	URL string

	hits  atomic.Int64
	close func()
	once  sync.Once
}

// Hits is how many connections (raw servers) or requests (HTTP servers) the
// server got.
func (s *Server) Hits() int64 { return s.hits.Load() }

// Close stops the server and waits for its connections to end. Closing
// twice does nothing.
func (s *Server) Close() { s.once.Do(s.close) }

// raw starts a TCP server that runs serve on each connection after reading
// the request's head. Close ends every connection and waits for serve to
// return.
func raw(tb testing.TB, serve func(c net.Conn, done <-chan struct{})) *Server {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("hostile: listen: %v", err)
	}
	s := &Server{URL: "http://" + l.Addr().String() + "/callback"}
	done := make(chan struct{})
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.hits.Add(1)
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				readHead(c)
				serve(c, done)
			}()
		}
	}()
	s.close = func() {
		close(done)
		l.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
	tb.Cleanup(s.Close)
	return s
}

// readHead reads a request's line and headers (not its body).
func readHead(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil || line == "\r\n" || line == "\n" {
			break
		}
	}
	_ = c.SetReadDeadline(time.Time{})
}

// Silent accepts the connection, reads the request and never answers.
func Silent(tb testing.TB) *Server {
	return raw(tb, func(c net.Conn, done <-chan struct{}) {
		// Wait for the client to give up or the server to close.
		left := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, c)
			close(left)
		}()
		select {
		case <-done:
		case <-left:
		}
	})
}

// Reset reads the request and resets the connection (RST, not FIN).
func Reset(tb testing.TB) *Server {
	return raw(tb, func(c net.Conn, _ <-chan struct{}) {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	})
}

// Trickle answers 200 with a Content-Length of size and then one byte of
// body every interval, for as long as the client listens.
func Trickle(tb testing.TB, size int, interval time.Duration) *Server {
	return raw(tb, func(c net.Conn, done <-chan struct{}) {
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n"); err != nil {
			return
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		for range size {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if _, err := c.Write([]byte{'.'}); err != nil {
				return
			}
		}
	})
}

// TrickleHead sends its status line and headers one byte every interval:
// the client never gets as far as a status code.
func TrickleHead(tb testing.TB, interval time.Duration) *Server {
	head := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Slow: yes\r\nContent-Length: 2\r\n\r\nok"
	return raw(tb, func(c net.Conn, done <-chan struct{}) {
		t := time.NewTicker(interval)
		defer t.Stop()
		for i := range len(head) {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if _, err := c.Write([]byte{head[i]}); err != nil {
				return
			}
		}
	})
}

// HugeHeaders answers 200 with size bytes of headers, in lines of about
// line bytes each ("X-Pad-1: xxx..."), then a 2-byte body.
func HugeHeaders(tb testing.TB, size, line int) *Server {
	return raw(tb, func(c net.Conn, _ <-chan struct{}) {
		w := bufio.NewWriterSize(c, 32<<10)
		_, _ = w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n")
		pad := strings.Repeat("x", max(line-16, 1))
		for i, sent := 1, 0; sent < size; i++ {
			n, err := w.WriteString("X-Pad-" + strconv.Itoa(i) + ": " + pad + "\r\n")
			if err != nil {
				return
			}
			sent += n
		}
		_, _ = w.WriteString("\r\nok")
		_ = w.Flush()
	})
}

// Garbage answers something that is not HTTP and closes.
func Garbage(tb testing.TB) *Server {
	return raw(tb, func(c net.Conn, _ <-chan struct{}) {
		_, _ = io.WriteString(c, "SSH-2.0-OpenSSH_9.6 this is not HTTP\r\n\r\n")
	})
}

// ShortBody promises a body longer than it sends, then closes.
func ShortBody(tb testing.TB) *Server {
	return raw(tb, func(c net.Conn, _ <-chan struct{}) {
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
	})
}

// httpServer starts an httptest server whose handler counts requests.
func httpServer(tb testing.TB, tls bool, h http.HandlerFunc) *Server {
	tb.Helper()
	s := &Server{}
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		h(w, r)
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewUnstartedServer(counted)
		srv.Config.ErrorLog = discardLog() // the failed handshakes are the point
		srv.StartTLS()
	} else {
		srv = httptest.NewServer(counted)
	}
	s.URL = srv.URL + "/callback"
	s.close = srv.Close
	tb.Cleanup(s.Close)
	return s
}

// Huge answers 200 with size bytes of body.
func Huge(tb testing.TB, size int) *Server {
	return httpServer(tb, false, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		chunk := make([]byte, 32<<10)
		for i := range chunk {
			chunk[i] = 'x'
		}
		for sent := 0; sent < size; sent += len(chunk) {
			n := min(len(chunk), size-sent)
			if _, err := w.Write(chunk[:n]); err != nil {
				return
			}
		}
	})
}

// Redirect answers 302 to location.
func Redirect(tb testing.TB, location string) *Server {
	return httpServer(tb, false, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, location, http.StatusFound)
	})
}

// Status answers code to every request.
func Status(tb testing.TB, code int) *Server {
	return httpServer(tb, false, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(code)
	})
}

// BadTLS is an HTTPS server whose certificate no client trusts (httptest's
// own self-signed one).
func BadTLS(tb testing.TB) *Server {
	return httpServer(tb, true, func(w http.ResponseWriter, _ *http.Request) {})
}

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

// Refused returns a callback URL on a port where nothing listens.
func Refused(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("hostile: listen: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/callback"
}
