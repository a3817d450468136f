// Package redistest gives tests a real Redis: a redis-server process of
// their own on a free port, stopped when the test ends. Set
// CALLBACKSIM_TEST_REDIS_URL to use an existing server instead; the tests
// then FLUSHALL it, so never point it at data you want to keep, and run
// `go test -p 1` so that packages do not share it at the same time.
package redistest

import (
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/callbacksim/callbacksim/internal/redisproc"
)

// EnvURL names an existing Redis to use instead of starting one.
const EnvURL = "CALLBACKSIM_TEST_REDIS_URL"

// Options tune a started server.
type Options struct {
	// AOF turns on append-only persistence (appendfsync always), so that a
	// restart keeps every acknowledged write.
	AOF bool
	// Args are extra redis-server arguments, e.g. "--cluster-enabled", "yes".
	Args []string
	// Password, when set, is required of clients (requirepass); URL and
	// Client carry it.
	Password string
}

// Server is a redis-server started for a test.
type Server struct {
	tb   testing.TB
	Addr string // host:port
	dir  string
	opts Options
	cmd  *exec.Cmd
}

// URL is the server's redis:// URL.
func (s *Server) URL() string {
	if s.opts.Password != "" {
		return "redis://:" + url.QueryEscape(s.opts.Password) + "@" + s.Addr + "/0"
	}
	return "redis://" + s.Addr + "/0"
}

// Start starts a redis-server for tb, or returns the one named by
// CALLBACKSIM_TEST_REDIS_URL (flushed), and stops it when tb ends.
func Start(tb testing.TB) *Server { return StartWith(tb, Options{}) }

// StartWith is Start with options. Options need a server of the test's own:
// with CALLBACKSIM_TEST_REDIS_URL set, a test that asks for them fails.
func StartWith(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		if opts.AOF || len(opts.Args) > 0 || opts.Password != "" {
			tb.Fatalf("redistest: this test starts its own redis-server with options; unset %s", EnvURL)
		}
		o, err := redis.ParseURL(u)
		if err != nil {
			tb.Fatalf("redistest: %s: %v", EnvURL, err)
		}
		c := redis.NewClient(o)
		defer c.Close()
		if err := c.FlushAll(context.Background()).Err(); err != nil {
			tb.Fatalf("redistest: flush %s: %v", EnvURL, err)
		}
		return &Server{tb: tb, Addr: o.Addr}
	}
	s := &Server{tb: tb, dir: tb.TempDir(), opts: opts, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(tb)))}
	s.start()
	tb.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.tb.Helper()
	_, port, _ := net.SplitHostPort(s.Addr)
	log := filepath.Join(s.dir, "redis.log")
	args := []string{"--port", port, "--bind", "127.0.0.1", "--dir", s.dir, "--save", "",
		"--protected-mode", "no", "--logfile", log}
	if s.opts.AOF {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	if s.opts.Password != "" {
		args = append(args, "--requirepass", s.opts.Password)
	}
	cmd, err := redisproc.Run(s.Addr, s.opts.Password, log, append(args, s.opts.Args...)...)
	if err != nil {
		s.tb.Fatal(err)
	}
	s.cmd = cmd
}

// Stop kills the server (SIGKILL: nothing is flushed beyond what AOF
// already wrote). Stopping a stopped server does nothing.
func (s *Server) Stop() {
	redisproc.Kill(s.cmd)
	s.cmd = nil
}

// Restart stops the server and starts it again on the same port and data
// directory.
func (s *Server) Restart() {
	s.tb.Helper()
	if s.dir == "" {
		s.tb.Fatalf("redistest: cannot restart the server named by %s", EnvURL)
	}
	s.Stop()
	s.start()
}

// Client returns a client of the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Password: s.opts.Password})
	s.tb.Cleanup(func() { c.Close() })
	return c
}

// FreePort returns a TCP port nothing listens on now.
func FreePort(tb testing.TB) int {
	tb.Helper()
	port, err := redisproc.FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	return port
}
