// Package simtest runs a whole callbacksim process inside a test, on a real
// Redis, and gives the test what it needs to drive it: the API's base URL,
// the admin token, JSON requests, and waiting on a condition with a deadline.
package simtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// AdminToken is the operator token of every simulator started here.
const AdminToken = "test-admin-token"

// Sim is a running simulator.
type Sim struct {
	tb     testing.TB
	URL    string // http://127.0.0.1:port
	Config config.Config
	Redis  *redistest.Server // nil on the embedded Redis
	// Handler is the simulator's HTTP handler, for tests that call it
	// without a network round trip (fuzzing).
	Handler http.Handler
}

// Config returns the default configuration for tests: time scale 0.01, a
// free port, a fixed admin token, Redis at redisURL ("" = embedded).
func Config(redisURL string) config.Config {
	cfg := config.Default()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Redis.URL = redisURL
	cfg.Admin.Token = AdminToken
	cfg.TimeScale = 0.01
	cfg.Log.Level = "warn"
	return cfg
}

// Start runs a simulator with both roles on a redis-server of the test's own.
func Start(tb testing.TB) *Sim {
	tb.Helper()
	r := redistest.Start(tb)
	return StartConfig(tb, Config(r.URL()), app.Roles{API: true, Worker: true}, r)
}

// StartConfig runs a simulator with cfg and roles; r is the Redis it uses,
// if the test started one. The simulator stops when the test ends.
func StartConfig(tb testing.TB, cfg config.Config, roles app.Roles, r *redistest.Server) *Sim {
	tb.Helper()
	if err := cfg.Validate(); err != nil {
		tb.Fatalf("simtest: config: %v", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(cfg, roles, log)
	if err != nil {
		tb.Fatalf("simtest: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("simtest: run: %v", err)
			}
		case <-time.After(30 * time.Second):
			tb.Errorf("simtest: simulator did not stop within 30s")
		}
	})
	return &Sim{tb: tb, URL: "http://" + a.Addr(), Config: cfg, Redis: r, Handler: a.Handler()}
}

// With returns the simulator bound to tb, for use inside a subtest: its
// helpers then fail tb, not the test that started the simulator.
func (s *Sim) With(tb testing.TB) *Sim {
	c := *s
	c.tb = tb
	return &c
}

// Response is an HTTP answer with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it is not JSON.
func (r Response) JSON(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("simtest: answer %d is not JSON (%v): %s", r.Status, err, r.Body)
	}
}

// Do sends method path with body (a string or []byte is sent as it is,
// anything else as JSON) and the headers given as name, value pairs.
func (s *Sim) Do(method, path string, body any, header ...string) Response {
	s.tb.Helper()
	return Do(s.tb, method, s.URL+path, body, header...)
}

// Admin is Do with the admin token.
func (s *Sim) Admin(method, path string, body any) Response {
	s.tb.Helper()
	return s.Do(method, path, body, "Authorization", "Bearer "+AdminToken)
}

// Callback returns a callback with its attempts from the operator API.
func (s *Sim) Callback(id string) store.Callback {
	s.tb.Helper()
	r := s.Admin(http.MethodGet, "/v1/callbacks/"+id, nil)
	if r.Status != http.StatusOK {
		s.tb.Fatalf("simtest: GET callback %s: %d %s", id, r.Status, r.Body)
	}
	var cb store.Callback
	r.JSON(s.tb, &cb)
	return cb
}

// WaitStatus waits until callback id has status want and returns it.
func (s *Sim) WaitStatus(id string, want store.Status, timeout time.Duration) store.Callback {
	s.tb.Helper()
	var cb store.Callback
	Eventually(s.tb, timeout, func() bool {
		cb = s.Callback(id)
		return cb.Status == want
	}, func() string {
		return fmt.Sprintf("callback %s to become %s (last seen: %s, %d attempts)", id, want, cb.Status, len(cb.Attempts))
	})
	return cb
}

// Do sends an HTTP request; see Sim.Do.
func Do(tb testing.TB, method, url string, body any, header ...string) Response {
	tb.Helper()
	var rd io.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			tb.Fatalf("simtest: encode body: %v", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		tb.Fatalf("simtest: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("simtest: %s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("simtest: read answer: %v", err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// Eventually polls cond every 10 ms until it holds, and fails the test
// after timeout, saying what it waited for.
func Eventually(tb testing.TB, timeout time.Duration, cond func() bool, what func() string) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("simtest: timed out after %s waiting for %s", timeout, what())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WantError fails the test unless r is an API error with status, a message,
// and field named (field "" = none named).
func (r Response) WantError(tb testing.TB, status int, field string) {
	tb.Helper()
	var e struct {
		Error string `json:"error"`
		Field string `json:"field"`
	}
	r.JSON(tb, &e)
	if r.Status != status || e.Error == "" || e.Field != field {
		tb.Errorf("answer %d %s, want %d naming field %q", r.Status, r.Body, status, field)
	}
}
