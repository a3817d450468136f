// Package redisproc runs a redis-server process of its own on a free
// loopback port, outside tests: the benchmark command uses it so that its
// figures never depend on a Redis someone else is using. internal/redistest
// starts the tests' servers and sentinels with its Run.
package redisproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotInstalled: no redis-server on the PATH.
var ErrNotInstalled = errors.New("redisproc: redis-server is not installed (apt-get install redis-server)")

// Server is a running redis-server. Stop it when done.
type Server struct {
	Addr string // 127.0.0.1:port
	dir  string
	cmd  *exec.Cmd
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Version is the redis-server version, e.g. "7.0.15".
func Version() (string, error) {
	bin, err := Binary()
	if err != nil {
		return "", err
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("redisproc: redis-server --version: %w", err)
	}
	for _, f := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(f, "v="); ok {
			return v, nil
		}
	}
	return strings.TrimSpace(string(out)), nil
}

// Binary is the redis-server executable on the PATH.
func Binary() (string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotInstalled, err)
	}
	return bin, nil
}

// Start starts a redis-server without persistence on a free port, with its
// working files in a new temporary directory, and waits until it answers.
// args are extra redis-server arguments.
func Start(args ...string) (*Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "callbacksim-redis-")
	if err != nil {
		return nil, fmt.Errorf("redisproc: %w", err)
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir}
	log := filepath.Join(dir, "redis.log")
	all := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "no", "--logfile", log}, args...)
	if s.cmd, err = Run(s.Addr, "", log, all...); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// Run starts redis-server with args (a server or a sentinel listening on
// addr, logging to logFile) and waits until it answers PING, with password
// if one is set. When it does not answer within 10 s, Run kills it and
// returns an error that quotes its log.
func Run(addr, password, logFile string, args ...string) (*exec.Cmd, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("redisproc: start redis-server: %w", err)
	}
	c := redis.NewClient(&redis.Options{Addr: addr, Password: password, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			Kill(cmd)
			log, _ := os.ReadFile(logFile)
			return nil, fmt.Errorf("redisproc: redis-server on %s did not answer within 10s; its log:\n%s", addr, log)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cmd, nil
}

// Kill kills a process Run started and waits for it; nil is left alone.
func Kill(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// Stop kills the server and removes its directory. Stopping a stopped
// server does nothing.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	Kill(s.cmd)
	s.cmd = nil
	_ = os.RemoveAll(s.dir)
}

// FreePort returns a loopback TCP port nothing listens on now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("redisproc: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
