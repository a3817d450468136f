package promcheck_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/opstest"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
)

// root is the repository root, relative to this package.
const root = "../.."

var (
	rulesDir      = filepath.Join(root, "deploy", "prometheus", "rules")
	dashboardsDir = filepath.Join(root, "deploy", "grafana", "dashboards")
)

// promParser parses PromQL as Prometheus does with no feature flags.
var promParser = parser.NewParser(parser.Options{})

// severities are the values of an alert's severity label: critical
// (callbacks are not delivered), warning (late or in part), info.
var severities = []string{"critical", "warning", "info"}

func ruleFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, ext := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(rulesDir, ext))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("no rule file in %s", rulesDir)
	}
	return files
}

// loadRules parses every rule file as Prometheus loads it (unknown fields
// refused), and fails the test on any error.
func loadRules(t *testing.T) []rulefmt.Rule {
	t.Helper()
	var rules []rulefmt.Rule
	for _, f := range ruleFiles(t) {
		groups, errs := rulefmt.ParseFile(f, false, model.UTF8Validation, promParser, slog.New(slog.NewTextHandler(io.Discard, nil)))
		for _, err := range errs {
			t.Errorf("%v", err)
		}
		if groups == nil {
			continue
		}
		for _, g := range groups.Groups {
			rules = append(rules, g.Rules...)
		}
	}
	return rules
}

// TestAlertingRules parses every rule file with Prometheus's rulefmt (which
// parses each expression and template, as Prometheus does at load) and
// holds the rules to what an operator needs of them.
func TestAlertingRules(t *testing.T) {
	names := map[string]rulefmt.Rule{}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue // a recording rule
		}
		if _, dup := names[r.Alert]; dup {
			t.Errorf("alert %s is defined twice", r.Alert)
		}
		names[r.Alert] = r
		if !slices.Contains(severities, r.Labels["severity"]) {
			t.Errorf("alert %s: severity %q, want one of %v", r.Alert, r.Labels["severity"], severities)
		}
		for _, a := range []string{"summary", "description"} {
			if r.Annotations[a] == "" {
				t.Errorf("alert %s has no %s annotation", r.Alert, a)
			}
		}
	}
	// The alerts of docs/operations.md, with their severity: a delivery
	// failure ratio is information, since QA provokes failures.
	for alert, severity := range map[string]string{
		"CallbacksimTargetDown":           "warning",
		"CallbacksimNoWorker":             "critical",
		"CallbacksimRedisUnreachable":     "critical",
		"CallbacksimBacklog":              "warning",
		"CallbacksimRetriesLate":          "warning",
		"CallbacksimAPI5xx":               "warning",
		"CallbacksimDeliveryFailureRatio": "info",
	} {
		r, ok := names[alert]
		if !ok {
			t.Errorf("no alert %s", alert)
			continue
		}
		if r.Labels["severity"] != severity {
			t.Errorf("alert %s: severity %s, want %s", alert, r.Labels["severity"], severity)
		}
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	for alert := range names {
		if !strings.Contains(string(doc), "`"+alert+"`") {
			t.Errorf("docs/operations.md does not explain alert %s", alert)
		}
	}
}

// TestRulesQueryExportedMetrics: a rule on a metric nobody exports never
// fires. Every metric a rule selects is one a live simulator (api and
// worker roles) exports, or up, which Prometheus adds itself.
func TestRulesQueryExportedMetrics(t *testing.T) {
	rules := loadRules(t)
	r := redistest.Start(t)
	sim := simtest.StartConfig(t, opstest.Config(r.URL()), app.Roles{API: true, Worker: true}, r)
	opstest.Drive(t, sim)
	fams, _ := opstest.Scrape(t, sim.URL)

	for _, rule := range rules {
		expr, err := promParser.ParseExpr(rule.Expr)
		if err != nil {
			t.Errorf("%s%s: %v", rule.Alert, rule.Record, err)
			continue
		}
		parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
			vs, ok := node.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			if vs.Name != "up" && !exported(fams, vs.Name) {
				t.Errorf("%s%s selects %s, which /metrics does not export", rule.Alert, rule.Record, vs.Name)
			}
			return nil
		})
	}
}

// exported reports whether name is a series of fams: a family's own, or a
// histogram's _bucket, _sum or _count.
func exported(fams map[string]*dto.MetricFamily, name string) bool {
	if f, ok := fams[name]; ok {
		return f.GetType() != dto.MetricType_HISTOGRAM
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f, found := fams[base]; found && f.GetType() == dto.MetricType_HISTOGRAM {
				return true
			}
		}
	}
	return false
}

// grafanaVariable is a variable reference in a query: $name, ${name},
// ${name:format} or [[name]].
var grafanaVariable = regexp.MustCompile(`\$(\w+)|\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]`)

// builtins are Grafana's global variables, with a value of the kind
// Grafana puts there.
var builtins = map[string]string{
	"__interval": "15s", "__rate_interval": "1m", "__range": "15m",
	"__interval_ms": "15000", "__range_s": "900", "__range_ms": "900000",
}

// query is one Prometheus query of a dashboard, and where it is.
type query struct{ where, expr string }

// expressions appends every Prometheus query under v to out: each "expr"
// of a panel's targets, at any depth (rows hold panels).
func expressions(v any, where string, out *[]query) {
	switch v := v.(type) {
	case map[string]any:
		title, _ := v["title"].(string)
		if title != "" {
			where += " > " + title
		}
		if targets, ok := v["targets"].([]any); ok {
			for _, tg := range targets {
				m, _ := tg.(map[string]any)
				if expr, ok := m["expr"].(string); ok {
					ref, _ := m["refId"].(string)
					*out = append(*out, query{where + " query " + ref, expr})
				}
			}
		}
		for k, child := range v {
			if k != "targets" {
				expressions(child, where, out)
			}
		}
	case []any:
		for _, child := range v {
			expressions(child, where, out)
		}
	}
}

// TestDashboardExpressionsParse parses every query of every dashboard with
// Prometheus's PromQL parser, after putting in the values Grafana gives its
// variables: the dashboard's own (their "All" value, .*) and the built-in
// ones ($__rate_interval...). A variable the dashboard does not define is
// an error: Grafana would send it as written.
func TestDashboardExpressionsParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboard in %s (%v)", dashboardsDir, err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Panels     []any `json:"panels"`
			Templating struct {
				List []struct {
					Name     string `json:"name"`
					AllValue string `json:"allValue"`
				} `json:"list"`
			} `json:"templating"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		values := map[string]string{}
		for k, v := range builtins {
			values[k] = v
		}
		for _, v := range d.Templating.List {
			values[v.Name] = v.AllValue
			if v.AllValue == "" {
				values[v.Name] = ".*"
			}
		}
		var queries []query
		expressions(d.Panels, filepath.Base(f), &queries)
		if len(queries) == 0 {
			t.Errorf("%s has no query", f)
		}
		for _, qu := range queries {
			where, expr := qu.where, qu.expr
			q := grafanaVariable.ReplaceAllStringFunc(expr, func(ref string) string {
				m := grafanaVariable.FindStringSubmatch(ref)
				name := m[1] + m[2] + m[3]
				v, ok := values[name]
				if !ok {
					t.Errorf("%s: %q uses $%s, which the dashboard does not define", where, expr, name)
				}
				return v
			})
			if _, err := promParser.ParseExpr(q); err != nil {
				t.Errorf("%s: %q does not parse: %v", where, expr, err)
			}
		}
	}
}

// TestPromtoolChecksConfigAndRules runs Prometheus's own checker on the
// configuration and the rules it loads; scripts/test.sh installs it
// (Debian's prometheus package).
func TestPromtoolChecksConfigAndRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not installed: scripts/test.sh installs Debian's prometheus package")
	}
	out, err := exec.Command(promtool, "check", "config", filepath.Join(root, "deploy", "prometheus", "prometheus.yml")).CombinedOutput()
	if err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
	out, err = exec.Command(promtool, append([]string{"check", "rules"}, ruleFiles(t)...)...).CombinedOutput()
	if err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
}
