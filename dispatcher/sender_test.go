package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

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

func TestKeptHeaders(t *testing.T) {
	many := http.Header{}
	for i := range MaxKeptHeaders + 1 {
		many.Add(fmt.Sprintf("X-H%03d", i), "v")
	}
	big := strings.Repeat("x", MaxKeptHeaderBytes)
	tests := []struct {
		name      string
		in, want  http.Header
		truncated bool
	}{
		{"none", http.Header{}, http.Header{}, false},
		{"small kept whole", http.Header{"Content-Type": {"text/plain"}, "Set-Cookie": {"a=1", "b=2"}},
			http.Header{"Content-Type": {"text/plain"}, "Set-Cookie": {"a=1", "b=2"}}, false},
		{"a value too big is skipped, the small ones after it kept", http.Header{"A-Big": {big}, "Content-Type": {"text/plain"}},
			http.Header{"Content-Type": {"text/plain"}}, true},
		{"exactly at the byte limit kept", http.Header{"A": {big[:MaxKeptHeaderBytes-1]}},
			http.Header{"A": {big[:MaxKeptHeaderBytes-1]}}, false},
		{"one value over the count", many, func() http.Header {
			h := many.Clone()
			delete(h, fmt.Sprintf("X-H%03d", MaxKeptHeaders))
			return h
		}(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, truncated := keptHeaders(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" || truncated != tt.truncated {
				t.Errorf("keptHeaders: truncated %v, want %v; headers (-want +got):\n%s", truncated, tt.truncated, diff)
			}
		})
	}
}

func TestDescribeCutsLongErrors(t *testing.T) {
	long := errors.New("malformed HTTP response " + strings.Repeat("é", 2*maxKeptError))
	got := describe(long)
	if len(got) > maxKeptError+len("... (cut)") || !strings.HasSuffix(got, "... (cut)") || !utf8.ValidString(got) {
		t.Errorf("describe(%d-byte error) = %d bytes %q..., want at most %d valid UTF-8 bytes ending \"... (cut)\"", len(long.Error()), len(got), got[:40], maxKeptError)
	}
	if short := errors.New("connection refused"); describe(short) != "connection refused" {
		t.Errorf("describe(%q) = %q, want it unchanged", short, describe(short))
	}
}
