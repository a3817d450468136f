package deploy_test

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/redisproc"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/syncbuf"
)

// redisPort is where the compose redis service listens: its command keeps
// Redis's default port.
const redisPort = "6379"

// nativeStack runs the processes of docker-compose.yml on this host: the
// same commands, configuration files and environment, with each service's
// address (NAME:PORT inside the compose network, 0.0.0.0:PORT for its own
// listener) replaced by a loopback address of its own.
type nativeStack struct {
	t       *testing.T
	c       composeFile
	binary  string
	dir     string
	addrs   map[string]string // compose NAME:PORT -> 127.0.0.1:port
	outputs map[string]*syncbuf.Buffer
}

// adapt rewrites the compose addresses in s, for a process that listens on
// own instead of 0.0.0.0:listen (none when listen is "").
func (n *nativeStack) adapt(s, listen, own string) string {
	var pairs []string
	if listen != "" {
		pairs = append(pairs, "0.0.0.0:"+listen, own)
	}
	for k, v := range n.addrs {
		pairs = append(pairs, k, v)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// env is the environment service s gets: its compose environment,
// interpolated in composeEnv, and none of the test's own CALLBACKSIM_*
// variables.
func (n *nativeStack) env(s service) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, config.EnvPrefix+"_") {
			env = append(env, kv)
		}
	}
	for k, v := range s.Environment {
		env = append(env, k+"="+interpolate(n.t, v))
	}
	return env
}

// start runs one replica of service name, listening on own instead of
// 0.0.0.0:listen: its command, with every file it mounts from the
// repository replaced by a copy whose addresses are adapted.
func (n *nativeStack) start(name, replica, listen, own string) {
	t := n.t
	t.Helper()
	s := n.c.Services[name]
	args := slices.Clone(s.Command)
	for i, a := range args {
		if src, ok := s.hostPath(t, a); ok && strings.HasPrefix(a, "/") {
			copied := filepath.Join(n.dir, replica+"-"+filepath.Base(src))
			if err := os.WriteFile(copied, []byte(n.adapt(string(readFile(t, src)), listen, own)), 0o600); err != nil {
				t.Fatal(err)
			}
			args[i] = copied
			continue
		}
		args[i] = n.adapt(a, listen, own)
	}
	out := &syncbuf.Buffer{}
	n.outputs[replica] = out
	cmd := exec.Command(n.binary, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = n.env(s), out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", replica, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	// The service's healthcheck: /readyz for the api and workers, a
	// connection for the merchant.
	ready := func() bool {
		if s.Healthcheck != nil && slices.ContainsFunc(s.Healthcheck.Test, func(a string) bool { return strings.HasPrefix(a, "http://") }) {
			u := healthURL(t, name, s)
			resp, err := http.Get("http://" + own + u.Path)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}
		c, err := net.Dial("tcp", own)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	simtest.Eventually(t, 20*time.Second, func() bool {
		select {
		case <-exited:
			t.Fatalf("%s exited at start-up: callbacksim %v\n%s", replica, args, out)
		default:
		}
		return ready()
	}, func() string { return replica + " to pass its healthcheck; it printed:\n" + out.String() })
}

// freeAddr is a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	port, err := redisproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// TestComposeStackDeliversEveryGateway runs the compose stack natively
// (Redis with the compose command's AOF, one api, two workers, the sample
// merchant) and follows one callback of each gateway, as `docker compose
// exec api callbacksim trigger ...` would, to delivered. CinetPay is only
// delivered if the merchant's check API call reaches the api service.
func TestComposeStackDeliversEveryGateway(t *testing.T) {
	if _, err := redisproc.Binary(); err != nil {
		t.Fatal(err)
	}
	c := loadCompose(t)
	n := &nativeStack{t: t, c: c, dir: t.TempDir(), addrs: map[string]string{}, outputs: map[string]*syncbuf.Buffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			for name, out := range n.outputs {
				t.Logf("%s printed:\n%s", name, out)
			}
		}
	})
	n.binary = filepath.Join(n.dir, "callbacksim")
	build := exec.Command("go", "build", "-o", n.binary, "./cmd/callbacksim")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	apiPort := healthURL(t, "api", c.Services["api"]).Port()
	workerPort := healthURL(t, "worker", c.Services["worker"]).Port()
	merchantAddr, _ := flag(c.Services["merchant"].Command, "--addr")
	_, merchantPort, err := net.SplitHostPort(merchantAddr)
	if err != nil {
		t.Fatalf("merchant --addr %q: %v", merchantAddr, err)
	}
	for name, port := range map[string]string{"redis": redisPort, "api": apiPort, "merchant": merchantPort} {
		n.addrs[net.JoinHostPort(name, port)] = freeAddr(t)
	}

	// Redis: the compose command, on the test's port and directory.
	redisAddr := n.addrs[net.JoinHostPort("redis", redisPort)]
	_, port, _ := net.SplitHostPort(redisAddr)
	redisDir := t.TempDir()
	rc := c.Services["redis"].Command
	if len(rc) == 0 || rc[0] != "redis-server" {
		t.Fatalf("redis command %v does not run redis-server", rc)
	}
	redisLog := filepath.Join(redisDir, "redis.log")
	cmd, err := redisproc.Run(redisAddr, "", redisLog, append(slices.Clone(rc[1:]),
		"--port", port, "--bind", "127.0.0.1", "--dir", redisDir, "--logfile", redisLog)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { redisproc.Kill(cmd) })

	// In depends_on order.
	n.start("merchant", "merchant", merchantPort, n.addrs[net.JoinHostPort("merchant", merchantPort)])
	n.start("api", "api", apiPort, n.addrs[net.JoinHostPort("api", apiPort)])
	n.start("worker", "worker-1", workerPort, freeAddr(t))
	n.start("worker", "worker-2", workerPort, freeAddr(t))

	api := "http://" + n.addrs[net.JoinHostPort("api", apiPort)]
	merchant := "http://" + net.JoinHostPort("merchant", merchantPort)
	for _, tc := range []struct {
		gateway string
		args    []string
	}{
		{config.QRIS, []string{"--url", merchant + "/qris"}},
		{config.CinetPay, []string{"--url", merchant + "/cinetpay"}},
		{config.Centili, nil}, // to the configuration's notification_url
	} {
		t.Run(tc.gateway, func(t *testing.T) {
			args := append([]string{"trigger", tc.gateway, "--api", api, "--timeout", "15s"}, tc.args...)
			for i := range args {
				args[i] = n.adapt(args[i], "", "")
			}
			trigger := exec.Command(n.binary, args...)
			trigger.Env = n.env(c.Services["api"]) // docker compose exec api ...
			out, err := trigger.CombinedOutput()
			if err != nil {
				t.Fatalf("callbacksim %v: %v (exit 0 is delivered):\n%s", args, err, out)
			}
			if !strings.Contains(string(out), "delivered after 1 attempt(s)") {
				t.Errorf("trigger %s:\n%s\nwant delivered at the first attempt", tc.gateway, out)
			}
		})
	}
	// The merchant verified the CinetPay notification with the check API.
	if out := n.outputs["merchant"].String(); !strings.Contains(out, "check: ACCEPTED") {
		t.Errorf("the merchant printed no successful check:\n%s", out)
	}
	if aof, err := filepath.Glob(filepath.Join(redisDir, "appendonlydir", "*.aof")); err != nil || len(aof) == 0 {
		t.Errorf("redis wrote no append-only file in %s (%v): the compose command runs it with AOF", redisDir, err)
	}
}
