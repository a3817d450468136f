package simtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// WireRecorder is an HTTP/1.1 endpoint that keeps every request it gets
// as the bytes that came over the connection, request line to the last
// byte of the body, and answers each 200 with an empty body. It is how a
// test compares two requests byte for byte (a delivered callback and its
// curl replay).
type WireRecorder struct {
	URL string // http://127.0.0.1:port

	ln   net.Listener
	mu   sync.Mutex
	got  [][]byte
	wg   sync.WaitGroup
	done chan struct{}
}

// NewWireRecorder starts a WireRecorder, stopped when the test ends.
func NewWireRecorder(tb testing.TB) *WireRecorder {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	w := &WireRecorder{URL: "http://" + ln.Addr().String(), ln: ln, done: make(chan struct{})}
	w.wg.Add(1)
	go w.accept()
	tb.Cleanup(func() {
		close(w.done)
		ln.Close()
		w.wg.Wait()
	})
	return w
}

func (w *WireRecorder) accept() {
	defer w.wg.Done()
	for {
		c, err := w.ln.Accept()
		if err != nil {
			return
		}
		w.wg.Add(1)
		go w.serve(c)
	}
}

// serve reads requests off one connection until it closes: each is read
// through http.ReadRequest, which finds where it ends, from a reader that
// keeps every byte it hands over.
func (w *WireRecorder) serve(c net.Conn) {
	defer w.wg.Done()
	defer c.Close()
	go func() {
		<-w.done
		c.Close()
	}()
	var raw bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &raw))
	for {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return
		}
		// What bufio read ahead belongs to the next request.
		n := raw.Len() - br.Buffered()
		one := bytes.Clone(raw.Bytes()[:n])
		rest := bytes.Clone(raw.Bytes()[n:])
		raw.Reset()
		raw.Write(rest)
		w.mu.Lock()
		w.got = append(w.got, one)
		w.mu.Unlock()
		if _, err := fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"); err != nil {
			return
		}
	}
}

// Requests returns every request received so far, oldest first.
func (w *WireRecorder) Requests() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([][]byte, len(w.got))
	copy(out, w.got)
	return out
}

// Wait waits until n requests have come, and returns them.
func (w *WireRecorder) Wait(tb testing.TB, n int, timeout time.Duration) [][]byte {
	tb.Helper()
	Eventually(tb, timeout, func() bool { return len(w.Requests()) >= n },
		func() string { return fmt.Sprintf("%d requests at %s, got %d", n, w.URL, len(w.Requests())) })
	return w.Requests()
}
