package deploy_test

import (
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/cli"
)

// callbacksimServices run the image built from this repository.
var callbacksimServices = []string{"api", "worker", "merchant"}

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	want := []string{"api", "grafana", "merchant", "prometheus", "redis", "worker"}
	if diff := cmp.Diff(want, slices.Sorted(maps.Keys(c.Services))); diff != "" {
		t.Errorf("services (-want +got):\n%s", diff)
	}
	for k := range c.Extensions {
		if !strings.HasPrefix(k, "x-") {
			t.Errorf("top-level key %q is not part of the file's schema (only name, services, volumes, x-*)", k)
		}
	}
	commands := map[string][]string{
		"redis":    {"redis-server", "--appendonly", "yes", "--appendfsync", "everysec"},
		"api":      {"serve", "--config", "/etc/callbacksim/callbacksim.yaml", "--roles", "api"},
		"worker":   {"serve", "--config", "/etc/callbacksim/callbacksim.yaml", "--roles", "worker"},
		"merchant": {"merchant", "--addr", "0.0.0.0:9090", "--api", "http://api:8080", "--config", "/etc/callbacksim/callbacksim.yaml"},
	}
	for name, want := range commands {
		if diff := cmp.Diff(want, c.Services[name].Command); diff != "" {
			t.Errorf("%s command (-want +got):\n%s", name, diff)
		}
	}
	ports := map[string][]string{
		"api": {"127.0.0.1:8080:8080"}, "prometheus": {"127.0.0.1:9090:9090"}, "grafana": {"127.0.0.1:3000:3000"},
		"redis": nil, "worker": nil, "merchant": nil,
	}
	for name, want := range ports {
		if diff := cmp.Diff(want, c.Services[name].Ports); diff != "" {
			t.Errorf("%s ports (-want +got):\n%s", name, diff)
		}
	}
	for name, s := range c.Services {
		if s.ContainerName != "" {
			t.Errorf("%s has container_name %q: a fixed name stops --scale and parallel stacks", name, s.ContainerName)
		}
		if s.Image == "" {
			t.Errorf("%s has no image", name)
		}
		if s.Restart != "unless-stopped" {
			t.Errorf("%s restart = %q, want unless-stopped", name, s.Restart)
		}
	}
	for _, name := range []string{"redis", "prometheus", "grafana"} {
		if img := c.Services[name].Image; !strings.Contains(img, ":") || strings.HasSuffix(img, ":latest") {
			t.Errorf("%s image %q is not pinned to a version", name, img)
		}
	}
}

// secretName matches environment variables that hold a secret.
var secretName = regexp.MustCompile(`TOKEN|PASSWORD|SECRET|_KEY$`)

// TestComposeIsPrivateByDefault: the stack serves its own host only, and
// comes with no secret anyone could read here (issue 15: it published
// 8080, 9090 and 3000 on every interface with change-me-admin-token,
// Grafana admin/admin and anonymous viewers).
func TestComposeIsPrivateByDefault(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		for _, p := range s.Ports {
			// HOST_IP:HOST_PORT:CONTAINER_PORT; without HOST_IP Docker
			// publishes on 0.0.0.0.
			if host, _, ok := strings.Cut(p, ":"); !ok || strings.Count(p, ":") != 2 || host != "127.0.0.1" {
				t.Errorf("%s publishes %q: want 127.0.0.1:PORT:PORT, loopback only", name, p)
			}
		}
		for k, v := range s.Environment {
			if !secretName.MatchString(k) {
				continue
			}
			m := interpolation.FindStringSubmatch(v)
			if m == nil || m[0] != v || m[2] != ":?" {
				t.Errorf("%s: %s = %q, want only ${VAR:?message}: a secret that must be set, with no default", name, k, v)
			}
		}
	}
	for name, want := range map[string]string{"api": "CALLBACKSIM_ADMIN_TOKEN", "worker": "CALLBACKSIM_ADMIN_TOKEN", "grafana": "GF_SECURITY_ADMIN_PASSWORD"} {
		if _, ok := c.Services[name].Environment[want]; !ok {
			t.Errorf("%s does not take %s from the environment", name, want)
		}
	}
	g := c.Services["grafana"].Environment
	if v, ok := g["GF_AUTH_ANONYMOUS_ENABLED"]; !ok || v != "false" {
		t.Errorf("grafana GF_AUTH_ANONYMOUS_ENABLED = %q, want \"false\": no anonymous viewers", v)
	}
	// The token comes from the environment alone, not from the
	// configuration file every stack shares.
	api := c.Services["api"]
	file, _ := flag(api.Command, "--config")
	src, _ := api.hostPath(t, file)
	cfg, err := config.Load(config.Options{File: repoPath(src), Environ: []string{}})
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	if cfg.Admin.Token != "" {
		t.Errorf("%s sets admin.token: every stack would share it", src)
	}
}

func TestComposeRedisPersistsOnAVolume(t *testing.T) {
	c := loadCompose(t)
	r := c.Services["redis"]
	if v, _ := flag(r.Command, "--appendonly"); v != "yes" {
		t.Errorf("redis --appendonly = %q, want yes", v)
	}
	if v, _ := flag(r.Command, "--appendfsync"); v != "everysec" {
		t.Errorf("redis --appendfsync = %q, want everysec", v)
	}
	var data *mount
	for _, m := range r.mounts(t) {
		if m.Target == "/data" {
			data = &m
		}
	}
	switch {
	case data == nil:
		t.Error("redis has no volume on /data, where the AOF is written")
	case data.bind():
		t.Errorf("redis /data is a bind mount of %s, want a named volume", data.Source)
	}
	if hc := r.Healthcheck; hc == nil || !slices.Equal(hc.Test, []string{"CMD", "redis-cli", "ping"}) {
		t.Errorf("redis healthcheck = %+v, want redis-cli ping", hc)
	}
}

func TestComposeMountsAndBuildsExist(t *testing.T) {
	c := loadCompose(t)
	used := map[string]bool{}
	for name, s := range c.Services {
		if b := s.Build; b != nil {
			if st, err := os.Stat(repoPath(b.Context)); err != nil || !st.IsDir() {
				t.Errorf("%s builds from %q, which is not a directory of the repository", name, b.Context)
			}
			if _, err := os.Stat(repoPath(b.Context + "/" + b.Dockerfile)); err != nil {
				t.Errorf("%s builds with %s/%s: %v", name, b.Context, b.Dockerfile, err)
			}
		}
		for _, m := range s.mounts(t) {
			if m.Mode != "" && m.Mode != "ro" && m.Mode != "rw" {
				t.Errorf("%s mounts %s with mode %q", name, m.Source, m.Mode)
			}
			if !m.bind() {
				if _, ok := c.Volumes[m.Source]; !ok {
					t.Errorf("%s uses volume %q, not declared under volumes", name, m.Source)
				}
				used[m.Source] = true
				continue
			}
			if strings.HasPrefix(m.Source, "/") {
				t.Errorf("%s mounts the host path %s: only files of the repository", name, m.Source)
				continue
			}
			if m.Mode != "ro" {
				t.Errorf("%s mounts %s read-write: configuration is mounted :ro", name, m.Source)
			}
			if _, err := os.Stat(repoPath(m.Source)); err != nil {
				t.Errorf("%s mounts %s: %v", name, m.Source, err)
			}
		}
	}
	for v := range c.Volumes {
		if !used[v] {
			t.Errorf("volume %q is declared but no service uses it", v)
		}
	}
	// The services built from the repository share one image.
	for _, name := range callbacksimServices {
		s := c.Services[name]
		if s.Build == nil || s.Build.Context != "." || s.Image != c.Services["api"].Image {
			t.Errorf("%s: build %+v image %q, want the repository's Dockerfile as %q", name, s.Build, s.Image, c.Services["api"].Image)
		}
	}
}

func TestComposeHealthchecksAndStartOrder(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		hc := s.Healthcheck
		if hc == nil || len(hc.Test) < 2 || (hc.Test[0] != "CMD" && hc.Test[0] != "CMD-SHELL") {
			t.Errorf("%s healthcheck = %+v, want a CMD test", name, hc)
			continue
		}
		if hc.Interval == "" || hc.Timeout == "" || hc.Retries < 1 {
			t.Errorf("%s healthcheck has no interval, timeout or retries: %+v", name, hc)
		}
		for dep, d := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("%s depends on unknown service %q", name, dep)
			}
			if d.Condition != "service_healthy" {
				t.Errorf("%s depends on %s with condition %q, want service_healthy", name, dep, d.Condition)
			}
		}
	}
	// Monitoring waits for nothing it monitors: with Redis down the api
	// and the workers are never healthy, and Prometheus must still start
	// to show it.
	wantDeps := map[string][]string{
		"redis":      nil,
		"merchant":   nil,
		"api":        {"redis"},
		"worker":     {"merchant", "redis"},
		"prometheus": nil,
		"grafana":    {"prometheus"},
	}
	for name, want := range wantDeps {
		got := slices.Sorted(maps.Keys(c.Services[name].DependsOn))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s depends_on (-want +got):\n%s", name, diff)
		}
	}
	// The stack comes up: every service can start once those before it
	// are healthy (no cycle).
	started := map[string]bool{}
	for len(started) < len(c.Services) {
		progress := false
		for name, s := range c.Services {
			if started[name] {
				continue
			}
			ready := true
			for dep := range s.DependsOn {
				ready = ready && started[dep]
			}
			if ready {
				started[name], progress = true, true
			}
		}
		if !progress {
			t.Fatalf("depends_on has a cycle: started %v", slices.Sorted(maps.Keys(started)))
		}
	}
}

// containerConfig loads the callbacksim configuration service s runs with:
// the file its --config names, through its mounts, and its environment.
func containerConfig(t *testing.T, name string, s service) config.Config {
	t.Helper()
	inContainer, ok := flag(s.Command, "--config")
	if !ok {
		t.Fatalf("%s: no --config in %v", name, s.Command)
	}
	src, ok := s.hostPath(t, inContainer)
	if !ok {
		t.Fatalf("%s: --config %s is not mounted from the repository", name, inContainer)
	}
	var env []string
	for k, v := range s.Environment {
		if !strings.HasPrefix(k, config.EnvPrefix+"_") {
			t.Errorf("%s: environment %s is not a %s_* variable", name, k, config.EnvPrefix)
		}
		env = append(env, k+"="+interpolate(t, v))
	}
	cfg, err := config.Load(config.Options{File: repoPath(src), Environ: env})
	if err != nil {
		t.Fatalf("%s: configuration %s does not load: %v", name, src, err)
	}
	return cfg
}

// healthURL returns the URL the healthcheck of s requests.
func healthURL(t *testing.T, name string, s service) *url.URL {
	t.Helper()
	for _, arg := range s.Healthcheck.Test {
		if strings.HasPrefix(arg, "http://") {
			u, err := url.Parse(arg)
			if err != nil {
				t.Fatalf("%s healthcheck URL %q: %v", name, arg, err)
			}
			return u
		}
	}
	t.Fatalf("%s healthcheck %v requests no URL", name, s.Healthcheck.Test)
	return nil
}

func TestComposeCallbacksimServicesRunValidCommandsAndConfig(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{"api", "worker"} {
		s := c.Services[name]
		cfg := containerConfig(t, name, s)
		if roles, _ := flag(s.Command, "--roles"); roles != name {
			t.Errorf("%s runs --roles %q", name, roles)
		}
		// The binary accepts the command line (--help parses every flag).
		if code := cli.Run(append(slices.Clone(s.Command), "--help"), io.Discard, io.Discard); code != cli.ExitOK {
			t.Errorf("%s: callbacksim %v exits %d", name, s.Command, code)
		}
		host, port, _ := net.SplitHostPort(cfg.HTTP.Addr)
		if host != "0.0.0.0" {
			t.Errorf("%s http.addr = %s: unreachable from other containers", name, cfg.HTTP.Addr)
		}
		if u := healthURL(t, name, s); u.Port() != port || u.Path != "/readyz" {
			t.Errorf("%s healthcheck requests %s, want /readyz on port %s", name, u, port)
		}
		for _, p := range s.Ports {
			if !strings.HasSuffix(p, ":"+port) {
				t.Errorf("%s publishes %s, but listens on %s", name, p, port)
			}
		}
		redisURL, err := url.Parse(cfg.Redis.URL)
		if err != nil || cfg.Redis.Mode != config.RedisSingle || redisURL.Hostname() != "redis" {
			t.Errorf("%s redis = %+v, want the compose service redis", name, cfg.Redis)
		}
		if cfg.Admin.Token == "" {
			t.Errorf("%s has no admin token: a random one would differ between containers", name)
		}
		if grace, err := time.ParseDuration(s.StopGrace); err != nil || grace <= cfg.Worker.ShutdownTimeout {
			t.Errorf("%s stop_grace_period = %q, want more than worker.shutdown_timeout (%s): in-flight attempts would be killed", name, s.StopGrace, cfg.Worker.ShutdownTimeout)
		}
		if cfg.Log.Format != "json" {
			t.Errorf("%s log.format = %q, want json", name, cfg.Log.Format)
		}
	}

	m := c.Services["merchant"]
	addr, _ := flag(m.Command, "--addr")
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("merchant --addr %q: %v", addr, err)
	}
	if hc := m.Healthcheck.Test; !slices.Contains(hc, port) {
		t.Errorf("merchant healthcheck %v does not probe port %s", hc, port)
	}
	// CinetPay's check API is the api service's, not the merchant
	// container's own 127.0.0.1 (TestComposeStackDeliversEveryGateway
	// runs it).
	apiPort := healthURL(t, "api", c.Services["api"]).Port()
	if api, _ := flag(m.Command, "--api"); api != "http://"+net.JoinHostPort("api", apiPort) {
		t.Errorf("merchant --api = %q, want the api service, http://api:%s", api, apiPort)
	}
	cfg := containerConfig(t, "merchant", m)
	for _, mc := range cfg.Merchants {
		if mc.Centili == nil {
			continue
		}
		u, err := url.Parse(mc.Centili.NotificationURL)
		if err != nil || u.Host != "merchant:"+port {
			t.Errorf("merchant %s: centili notification_url %q, want the merchant service on port %s", mc.ID, mc.Centili.NotificationURL, port)
		}
	}
}
