package bench

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestConnPool checks that the benchmark's client keeps a connection alive
// across requests, and does not use one again after the server said it
// closes it.
func TestConnPool(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte("answer to " + r.URL.Path))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := newSimClient(strings.TrimPrefix(srv.URL, "http://"), "token", "admin")
	defer c.conns.close()

	get := func(path string) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		status, body, err := c.do(req)
		if err != nil || status != http.StatusAccepted || string(body) != "answer to "+path {
			t.Fatalf("GET %s = %d %q %v, want 202 %q", path, status, body, err, "answer to "+path)
		}
	}
	for range 3 {
		get("/keep")
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("3 requests took %d connections, want 1 kept alive", n)
	}
	get("/close")
	get("/keep")
	if n := conns.Load(); n != 2 {
		t.Errorf("after an answer with Connection: close, %d connections, want 2", n)
	}
}
