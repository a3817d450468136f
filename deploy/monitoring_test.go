package deploy_test

import (
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// prometheusConfig is the part of Prometheus's configuration
// deploy/prometheus/prometheus.yml uses.
type prometheusConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		ScrapeTimeout      string `yaml:"scrape_timeout"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		MetricsPath   string `yaml:"metrics_path"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
		DNSSDConfigs []struct {
			Names           []string `yaml:"names"`
			Type            string   `yaml:"type"`
			Port            int      `yaml:"port"`
			RefreshInterval string   `yaml:"refresh_interval"`
		} `yaml:"dns_sd_configs"`
	} `yaml:"scrape_configs"`
}

// Prometheus job names, as the dashboard's queries select them.
const (
	jobAPI    = "callbacksim-api"
	jobWorker = "callbacksim-worker"
)

func loadPrometheus(t *testing.T) prometheusConfig {
	t.Helper()
	var p prometheusConfig
	decodeStrict(t, "deploy/prometheus/prometheus.yml", &p)
	return p
}

func TestPrometheusScrapesTheAPIAndEveryWorker(t *testing.T) {
	c := loadCompose(t)
	prom := c.Services["prometheus"]
	cfgPath, ok := flag(prom.Command, "--config.file")
	if !ok {
		t.Fatalf("prometheus command %v has no --config.file", prom.Command)
	}
	if src, ok := prom.hostPath(t, cfgPath); !ok || src != "deploy/prometheus/prometheus.yml" {
		t.Errorf("prometheus reads %s, mounted from %q, want deploy/prometheus/prometheus.yml", cfgPath, src)
	}
	if u := healthURL(t, "prometheus", prom); u.Path != "/-/ready" {
		t.Errorf("prometheus healthcheck requests %s, want /-/ready", u)
	}

	// The port each callbacksim service serves /metrics on.
	apiPort := healthURL(t, "api", c.Services["api"]).Port()
	workerPort := healthURL(t, "worker", c.Services["worker"]).Port()

	p := loadPrometheus(t)
	jobs := map[string]bool{}
	for _, sc := range p.ScrapeConfigs {
		jobs[sc.JobName] = true
		if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
			t.Errorf("job %s scrapes %s, want /metrics", sc.JobName, sc.MetricsPath)
		}
		switch sc.JobName {
		case jobAPI:
			var targets []string
			for _, s := range sc.StaticConfigs {
				targets = append(targets, s.Targets...)
			}
			if diff := cmp.Diff([]string{net.JoinHostPort("api", apiPort)}, targets); diff != "" {
				t.Errorf("job %s targets (-want +got):\n%s", jobAPI, diff)
			}
		case jobWorker:
			// Every replica of --scale worker=N: DNS answers them all.
			if len(sc.DNSSDConfigs) != 1 {
				t.Fatalf("job %s: %d dns_sd_configs, want 1 resolving the worker service", jobWorker, len(sc.DNSSDConfigs))
			}
			d := sc.DNSSDConfigs[0]
			if !slices.Equal(d.Names, []string{"worker"}) || d.Type != "A" || strconv.Itoa(d.Port) != workerPort {
				t.Errorf("job %s dns_sd_config = %+v, want A records of worker on port %s", jobWorker, d, workerPort)
			}
			if len(sc.StaticConfigs) > 0 {
				t.Errorf("job %s has static targets: one container name would miss the other replicas", jobWorker)
			}
		default:
			t.Errorf("unexpected job %q", sc.JobName)
		}
	}
	for _, j := range []string{jobAPI, jobWorker} {
		if !jobs[j] {
			t.Errorf("prometheus.yml has no job %s", j)
		}
	}
	if p.Global.ScrapeInterval == "" || p.Global.ScrapeTimeout == "" {
		t.Errorf("global scrape_interval %q / scrape_timeout %q not set", p.Global.ScrapeInterval, p.Global.ScrapeTimeout)
	}
}

// TestPrometheusLoadsEveryRuleFile: the compose Prometheus evaluates every
// file of deploy/prometheus/rules (deploy/promcheck parses them), through
// rule_files and the mounts of the container.
func TestPrometheusLoadsEveryRuleFile(t *testing.T) {
	prom := loadCompose(t).Services["prometheus"]
	cfgPath, _ := flag(prom.Command, "--config.file")
	loaded := map[string]bool{}
	for _, pattern := range loadPrometheus(t).RuleFiles {
		// Relative patterns are relative to the configuration file.
		inContainer := pattern
		if !path.IsAbs(pattern) {
			inContainer = path.Join(path.Dir(cfgPath), pattern)
		}
		src, ok := prom.hostPath(t, inContainer)
		if !ok {
			t.Errorf("rule_files %s (%s in the container) is not mounted from the repository", pattern, inContainer)
			continue
		}
		matches, err := filepath.Glob(repoPath(src))
		if err != nil || len(matches) == 0 {
			t.Errorf("rule_files %s: %s matches no file of the repository (%v)", pattern, src, err)
		}
		for _, m := range matches {
			loaded[filepath.Base(m)] = true
		}
	}
	entries, err := os.ReadDir(repoPath(rulesDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !loaded[e.Name()] {
			t.Errorf("%s/%s is not loaded by any rule_files pattern of prometheus.yml", rulesDir, e.Name())
		}
	}
	if len(entries) == 0 {
		t.Errorf("%s has no rule file", rulesDir)
	}
}

// rulesDir holds the alerting rules.
const rulesDir = "deploy/prometheus/rules"

type grafanaDatasources struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name      string         `yaml:"name"`
		UID       string         `yaml:"uid"`
		Type      string         `yaml:"type"`
		Access    string         `yaml:"access"`
		URL       string         `yaml:"url"`
		IsDefault bool           `yaml:"isDefault"`
		Editable  bool           `yaml:"editable"`
		JSONData  map[string]any `yaml:"jsonData"`
	} `yaml:"datasources"`
}

type grafanaProviders struct {
	APIVersion int `yaml:"apiVersion"`
	Providers  []struct {
		Name                  string `yaml:"name"`
		Folder                string `yaml:"folder"`
		Type                  string `yaml:"type"`
		DisableDeletion       bool   `yaml:"disableDeletion"`
		AllowUIUpdates        bool   `yaml:"allowUiUpdates"`
		UpdateIntervalSeconds int    `yaml:"updateIntervalSeconds"`
		Options               struct {
			Path                      string `yaml:"path"`
			FoldersFromFilesStructure bool   `yaml:"foldersFromFilesStructure"`
		} `yaml:"options"`
	} `yaml:"providers"`
}

// datasourceUID is the uid of the provisioned Prometheus datasource.
func datasourceUID(t *testing.T) string {
	t.Helper()
	var ds grafanaDatasources
	decodeStrict(t, "deploy/grafana/provisioning/datasources/prometheus.yaml", &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].UID == "" {
		t.Fatalf("want one datasource with a uid, got %+v", ds.Datasources)
	}
	return ds.Datasources[0].UID
}

func TestGrafanaIsProvisionedWithPrometheusAndTheDashboard(t *testing.T) {
	c := loadCompose(t)
	g := c.Services["grafana"]
	if src, ok := g.hostPath(t, "/etc/grafana/provisioning"); !ok || src != "deploy/grafana/provisioning" {
		t.Errorf("/etc/grafana/provisioning is mounted from %q, want deploy/grafana/provisioning", src)
	}
	if u := healthURL(t, "grafana", g); u.Path != "/api/health" {
		t.Errorf("grafana healthcheck requests %s, want /api/health", u)
	}

	var ds grafanaDatasources
	decodeStrict(t, "deploy/grafana/provisioning/datasources/prometheus.yaml", &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 {
		t.Fatalf("datasources file: apiVersion %d, %d datasources; want 1 and 1", ds.APIVersion, len(ds.Datasources))
	}
	d := ds.Datasources[0]
	promPort := healthURL(t, "prometheus", c.Services["prometheus"]).Port()
	u, err := url.Parse(d.URL)
	if err != nil || d.Type != "prometheus" || d.Access != "proxy" || u.Host != net.JoinHostPort("prometheus", promPort) {
		t.Errorf("datasource = %+v, want type prometheus, access proxy, url http://prometheus:%s", d, promPort)
	}
	if !d.IsDefault {
		t.Error("the Prometheus datasource is not the default")
	}

	var ps grafanaProviders
	decodeStrict(t, "deploy/grafana/provisioning/dashboards/callbacksim.yaml", &ps)
	if ps.APIVersion != 1 || len(ps.Providers) != 1 || ps.Providers[0].Type != "file" {
		t.Fatalf("dashboard providers = %+v, want one file provider", ps)
	}
	dir := ps.Providers[0].Options.Path
	src, ok := g.hostPath(t, dir)
	if !ok || src != "deploy/grafana/dashboards" {
		t.Errorf("the provider's path %s is mounted from %q, want deploy/grafana/dashboards", dir, src)
	}
	home := g.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
	if src, ok := g.hostPath(t, home); !ok || src != dashboardFile {
		t.Errorf("home dashboard %s is %q, want %s", home, src, dashboardFile)
	}
	if !strings.HasPrefix(home, dir+"/") {
		t.Errorf("home dashboard %s is not in the provisioned directory %s", home, dir)
	}
}
