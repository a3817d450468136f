package reliability_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/syncbuf"

	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
)

const (
	adminToken = "reliability-admin-token"
	qrisToken  = "reliability-qris-token"
)

// conf is a configuration file for a child process, as nested maps (written
// as JSON, which YAML reads).
type conf map[string]any

// baseConf is a child's configuration: Redis at redisURL, a fixed port, the
// time scale of the tests, JSON logs.
func baseConf(t *testing.T, redisURL string) conf {
	c := conf{}
	c.set("http.addr", net.JoinHostPort("127.0.0.1", strconv.Itoa(redistest.FreePort(t))))
	c.set("redis.url", redisURL)
	c.set("admin.token", adminToken)
	c.set("time_scale", 0.01)
	c.set("log.format", "json")
	c.set("log.level", "info")
	c.set("merchants", []any{map[string]any{"id": "shop", "qris": map[string]any{"token": qrisToken}}})
	return c
}

// set sets a dotted key.
func (c conf) set(key string, v any) {
	m := map[string]any(c)
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

func (c conf) addr() string { return c["http"].(map[string]any)["addr"].(string) }

// again returns a copy of c on a new free port, for a process that takes
// over from a stopped one: the old port may have been taken meanwhile by
// another test running in parallel.
func (c conf) again(t *testing.T) conf {
	t.Helper()
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var out conf
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	out.set("http.addr", net.JoinHostPort("127.0.0.1", strconv.Itoa(redistest.FreePort(t))))
	return out
}

// proc is a callbacksim process run as a child of the test.
type proc struct {
	t      *testing.T
	URL    string
	cmd    *exec.Cmd
	admin  string          // the admin token
	out    *syncbuf.Buffer // stdout and stderr together
	exited chan struct{}
	state  *os.ProcessState
}

// start runs `callbacksim serve` with c and waits until it answers
// /healthz. Every process started for t is killed when t ends, and its
// output is shown if t failed.
func start(t *testing.T, c conf, args ...string) *proc {
	t.Helper()
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "callbacksim.yaml")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, URL: "http://" + c.addr(), admin: c["admin"].(map[string]any)["token"].(string), out: &syncbuf.Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(binary, append([]string{"serve", "--config", file}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start callbacksim: %v", err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("callbacksim (pid %d) output:\n%s", p.cmd.Process.Pid, p.out)
		}
	})
	simtest.Eventually(t, 20*time.Second, func() bool {
		select {
		case <-p.exited:
			t.Fatalf("callbacksim exited at start-up (%v):\n%s", p.state, p.out)
		default:
		}
		resp, err := http.Get(p.URL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && p.alive() // not another process on a reused port
	}, func() string { return "callbacksim to answer /healthz" })
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// term sends SIGTERM and returns the exit code, failing the test if the
// process does not exit within limit.
func (p *proc) term(limit time.Duration) int {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.state.ExitCode()
	case <-time.After(limit):
		p.t.Fatalf("callbacksim did not exit within %s of SIGTERM", limit)
		return -1
	}
}

// alive reports whether the process still runs.
func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// cpuTime is the CPU time the process has used so far (user + system),
// from /proc.
func (p *proc) cpuTime() time.Duration {
	p.t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		p.t.Fatalf("read /proc stat: %v", err)
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are fields 14 and 15 of the line, 12 and 13 after ") ".
	rest := string(raw[bytes.LastIndexByte(raw, ')')+2:])
	f := strings.Fields(rest)
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const clockTicks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// Do sends a request to the process; see simtest.Do.
func (p *proc) Do(method, path string, body any, header ...string) simtest.Response {
	p.t.Helper()
	return simtest.Do(p.t, method, p.URL+path, body, header...)
}

// Admin is Do with the admin token.
func (p *proc) Admin(method, path string, body any) simtest.Response {
	p.t.Helper()
	return p.Do(method, path, body, "Authorization", "Bearer "+p.admin)
}
