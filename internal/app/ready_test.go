package app_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/opstest"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
)

// TestReadyzSaysUnavailableWhileDraining holds a worker's shutdown on an
// attempt in flight and reads /readyz meanwhile: 200 while it works, 503
// naming the drain once its context ended, while the HTTP server still
// answers.
func TestReadyzSaysUnavailableWhileDraining(t *testing.T) {
	r := redistest.Start(t)
	cfg := opstest.Config(r.URL())
	got, release := make(chan struct{}, 1), make(chan struct{})
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		select {
		case got <- struct{}{}:
		default:
		}
		<-release
	}))
	defer merchant.Close()
	unblock := sync.OnceFunc(func() { close(release) })
	defer unblock() // before merchant.Close, which waits for the handler
	a, err := app.New(cfg, both, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	base := "http://" + a.Addr()

	if r := simtest.Do(t, http.MethodGet, base+"/readyz", nil); r.Status != http.StatusOK {
		t.Fatalf("GET /readyz of a running process = %d %s, want 200", r.Status, r.Body)
	}
	opstest.QRISCallback(t, base, "ORDER-DRAIN", merchant.URL, "SUCCESS")
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the merchant got no attempt within 10s")
	}
	cancel()
	var last simtest.Response
	simtest.Eventually(t, 10*time.Second, func() bool {
		last = simtest.Do(t, http.MethodGet, base+"/readyz", nil)
		return last.Status == http.StatusServiceUnavailable
	}, func() string { return "GET /readyz to answer 503 while the worker drains, last " + string(last.Body) })
	if !strings.Contains(string(last.Body), "draining") {
		t.Errorf("GET /readyz while draining = %s, want an error naming the drain", last.Body)
	}
	if h := simtest.Do(t, http.MethodGet, base+"/healthz", nil); h.Status != http.StatusOK {
		t.Errorf("GET /healthz while draining = %d, want 200", h.Status)
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned %v with an attempt still in flight", err)
	default:
	}
	unblock()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the process did not stop within 30s of its last attempt ending")
	}
}
