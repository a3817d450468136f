package dispatcher

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/egress"
	"github.com/callbacksim/callbacksim/payloads"
)

// A stopping simulator closes its kept-alive connections, so that a
// merchant's server sees them end instead of waiting on them at its own
// shutdown.
func TestSenderCloseIdleConnections(t *testing.T) {
	var mu sync.Mutex
	closed := 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			mu.Lock()
			closed++
			mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	s := NewSender(egress.Policy{AllowPrivate: true})
	res := s.deliver(context.Background(), []payloads.Request{{Method: http.MethodGet, URL: srv.URL}}, 5*time.Second)
	if res.code() != http.StatusOK {
		t.Fatalf("send: code %d, error %v", res.code(), res.err())
	}
	s.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := closed
		mu.Unlock()
		if n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the merchant saw %d connections closed, want 1", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
