package deploy_test

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/opstest"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
)

const dashboardFile = "deploy/grafana/dashboards/callbacksim.json"

type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Datasource *datasourceRef  `json:"datasource"`
			Query      json.RawMessage `json:"query"` // a string, or {"query": "..."}
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Datasource  *datasourceRef `json:"datasource"`
	GridPos     struct{ H, W, X, Y int }
	Targets     []struct {
		RefID      string         `json:"refId"`
		Expr       string         `json:"expr"`
		Datasource *datasourceRef `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a row's panels
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(readFile(t, dashboardFile), &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// allPanels flattens rows.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

var (
	promString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promSelector = regexp.MustCompile(`\{([^}]*)\}`)
	promMatcher  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*""`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	promRange    = regexp.MustCompile(`\[[^\]]*\]`)
	promVariable = regexp.MustCompile(`\$\{?\w+\}?`)
	promIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	promJob      = regexp.MustCompile(`\bjob\s*=\s*"([^"]*)"`)
	labelValues  = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{[^}]*\})?\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$`)
)

// promKeywords are the PromQL words that are neither functions nor metrics.
var promKeywords = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"}

// parsePromQL returns the metric names and the label names a PromQL
// expression uses. It knows enough PromQL for dashboards: selectors with
// matchers, ranges, aggregations with by/without, binary operators,
// function calls and Grafana's $variables.
func parsePromQL(expr string) (metricNames, labels []string) {
	s := promString.ReplaceAllString(expr, `""`)
	for _, sel := range promSelector.FindAllStringSubmatch(s, -1) {
		for _, m := range promMatcher.FindAllStringSubmatch(sel[1], -1) {
			labels = append(labels, m[1])
		}
	}
	s = promSelector.ReplaceAllString(s, " ")
	for _, g := range promGrouping.FindAllStringSubmatch(s, -1) {
		for l := range strings.SplitSeq(g[1], ",") {
			if l = strings.TrimSpace(l); l != "" {
				labels = append(labels, l)
			}
		}
	}
	s = promGrouping.ReplaceAllString(s, " ")
	s = promRange.ReplaceAllString(s, " ")
	s = promVariable.ReplaceAllString(s, " ")
	for _, id := range promIdent.FindAllStringSubmatch(s, -1) {
		if id[1] != "" || slices.Contains(promKeywords, strings.ToLower(id[0])) {
			continue // a function call, or a keyword
		}
		metricNames = append(metricNames, id[0])
	}
	return metricNames, labels
}

func TestParsePromQL(t *testing.T) {
	tests := []struct {
		expr            string
		metrics, labels []string
	}{
		{`up`, []string{"up"}, nil},
		{
			`histogram_quantile(0.95, sum by (le, route) (rate(a_bucket{job="x",route=~"$r"}[$__rate_interval])))`,
			[]string{"a_bucket"}, []string{"job", "route", "le", "route"},
		},
		{
			"sum by (provider) (rate(b_total{status=\"delivered\"}[5m]))\n/\nsum without (status) (rate(b_total[5m]))",
			[]string{"b_total", "b_total"}, []string{"status", "provider", "status"},
		},
		{`max(c{queue="callbacks",state!="a{b}"}) > bool 0 or on (x) vector(1)`, []string{"c"}, []string{"queue", "state", "x"}},
	}
	for _, tt := range tests {
		m, l := parsePromQL(tt.expr)
		if !slices.Equal(m, tt.metrics) || !slices.Equal(l, tt.labels) {
			t.Errorf("parsePromQL(%q) = %v, %v; want %v, %v", tt.expr, m, l, tt.metrics, tt.labels)
		}
	}
}

// exported finds the family that exports name: the family itself, or the
// histogram whose _bucket, _sum or _count series it is. It returns the
// labels its series carry (with le for buckets).
func exported(fams map[string]*dto.MetricFamily, name string) ([]string, bool) {
	labels := func(f *dto.MetricFamily) []string {
		set := map[string]bool{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				set[l.GetName()] = true
			}
		}
		return slices.Sorted(maps.Keys(set))
	}
	if f, ok := fams[name]; ok {
		if f.GetType() == dto.MetricType_HISTOGRAM {
			return nil, false // a histogram is queried through its series
		}
		return labels(f), true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if f, found := fams[base]; ok && found && f.GetType() == dto.MetricType_HISTOGRAM {
			l := labels(f)
			if suffix == "_bucket" {
				l = append(l, "le")
			}
			return l, true
		}
	}
	return nil, false
}

func TestDashboardQueriesMetricsTheBinaryExports(t *testing.T) {
	d := loadDashboard(t)
	uid := datasourceUID(t)

	r := redistest.Start(t)
	sim := simtest.StartConfig(t, opstest.Config(r.URL()), app.Roles{API: true, Worker: true}, r)
	opstest.Drive(t, sim)
	fams, _ := opstest.Scrape(t, sim.URL)

	var jobs []string
	for _, sc := range loadPrometheus(t).ScrapeConfigs {
		jobs = append(jobs, sc.JobName)
	}
	// Labels Prometheus adds to every series it scrapes.
	targetLabels := []string{"job", "instance"}

	used := map[string]bool{}
	check := func(where, expr string) {
		t.Helper()
		names, labels := parsePromQL(expr)
		if len(names) == 0 {
			t.Errorf("%s: %q queries no metric", where, expr)
		}
		var have []string
		for _, n := range names {
			l, ok := exported(fams, n)
			if !ok {
				t.Errorf("%s: %s is not exported by /metrics (query %q)", where, n, expr)
				continue
			}
			used[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")] = true
			have = append(have, l...)
		}
		for _, l := range labels {
			if !slices.Contains(have, l) && !slices.Contains(targetLabels, l) {
				t.Errorf("%s: label %s is on none of %v (query %q)", where, l, names, expr)
			}
		}
		for _, m := range promJob.FindAllStringSubmatch(expr, -1) {
			if !slices.Contains(jobs, m[1]) {
				t.Errorf("%s: job %q is not a job of prometheus.yml %v", where, m[1], jobs)
			}
		}
	}

	ids := map[int]bool{}
	for _, p := range allPanels(d.Panels) {
		where := "panel " + p.Title
		if ids[p.ID] {
			t.Errorf("%s: id %d is used twice", where, p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.X < 0 || p.GridPos.W < 1 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H < 1 {
			t.Errorf("%s: gridPos %+v is outside the 24-column grid", where, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != uid {
			t.Errorf("%s: datasource %+v, want the provisioned uid %q", where, p.Datasource, uid)
		}
		if p.Description == "" {
			t.Errorf("%s has no description", where)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s has no query", where)
		}
		for _, tg := range p.Targets {
			if tg.Datasource != nil && tg.Datasource.UID != uid {
				t.Errorf("%s query %s: datasource uid %q, want %q", where, tg.RefID, tg.Datasource.UID, uid)
			}
			check(where+" query "+tg.RefID, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q string
		if json.Unmarshal(v.Query, &q) != nil {
			var obj struct{ Query string }
			_ = json.Unmarshal(v.Query, &obj)
			q = obj.Query
		}
		m := labelValues.FindStringSubmatch(q)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(metric, label)", v.Name, q)
			continue
		}
		if l, ok := exported(fams, m[1]); !ok || !slices.Contains(l, m[2]) {
			t.Errorf("variable %s: %s has no label %s in /metrics", v.Name, m[1], m[2])
		}
		if v.Datasource == nil || v.Datasource.UID != uid {
			t.Errorf("variable %s: datasource %+v, want uid %q", v.Name, v.Datasource, uid)
		}
	}

	// Every metric of API.md, and the queue depth, has a panel.
	for _, name := range []string{
		"callbacksim_payments_initiated_total", "callbacksim_delivery_attempts_total",
		"callbacksim_delivery_attempt_duration_seconds", "callbacksim_callbacks_finished_total",
		"callbacksim_callback_delivery_latency_seconds", "callbacksim_retry_lateness_seconds",
		"callbacksim_queue_tasks", "callbacksim_callback_failure_latency_seconds", "callbacksim_deliveries_deferred_total",
		"callbacksim_delivery_attempts_in_flight", "callbacksim_first_attempt_delay_seconds", "callbacksim_worker_concurrency",
	} {
		if !used[name] {
			t.Errorf("no panel queries %s", name)
		}
	}
}

func TestDashboardHasTheOperatorsPanels(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q title %q: both are needed for a stable link", d.UID, d.Title)
	}
	byTitle := map[string]panel{}
	for _, p := range allPanels(d.Panels) {
		byTitle[p.Title] = p
	}
	// Each panel the operator reads, with what its queries must contain.
	want := map[string][]string{
		"Delivery attempts by gateway and outcome": {"callbacksim_delivery_attempts_total", "provider, outcome"},
		"Success ratio":                    {`status="delivered"`, "callbacksim_callbacks_finished_total"},
		"Callbacks finished by status":     {"callbacksim_callbacks_finished_total", "status"},
		"Attempt latency":                  {"histogram_quantile(0.5,", "histogram_quantile(0.95,", "histogram_quantile(0.99,", "callbacksim_delivery_attempt_duration_seconds_bucket"},
		"End-to-end latency: $provider":    {"histogram_quantile(0.5,", "histogram_quantile(0.95,", "histogram_quantile(0.99,", "callbacksim_callback_delivery_latency_seconds_bucket", "callbacksim_callback_failure_latency_seconds_bucket"},
		"Worker processes":                 {jobWorker, "or vector(0)"},
		"Redis":                            {"callbacksim_queue_up", "or vector(0)"},
		"Deferred deliveries":              {"callbacksim_deliveries_deferred_total", "reason"},
		"Attempts in flight":               {"callbacksim_delivery_attempts_in_flight", "callbacksim_worker_concurrency"},
		"Time to first attempt":            {"callbacksim_first_attempt_delay_seconds_bucket"},
		"Retry lateness":                   {"callbacksim_retry_lateness_seconds_bucket"},
		"Queue depth":                      {"callbacksim_queue_tasks", "by (state)"},
		"Payments initiated":               {"callbacksim_payments_initiated_total"},
		"API requests by route and status": {jobAPI},
	}
	for title, fragments := range want {
		p, ok := byTitle[title]
		if !ok {
			t.Errorf("no panel %q", title)
			continue
		}
		var exprs []string
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
		all := strings.Join(exprs, "\n")
		for _, f := range fragments {
			if !strings.Contains(all, f) {
				t.Errorf("panel %q: no query contains %q:\n%s", title, f, all)
			}
		}
	}
}

// TestOperationsDocListsEveryMetric keeps the metrics tables of
// docs/operations.md and docs/api.md true to /metrics.
func TestOperationsDocListsEveryMetric(t *testing.T) {
	r := redistest.Start(t)
	sim := simtest.StartConfig(t, opstest.Config(r.URL()), app.Roles{API: true, Worker: true}, r)
	opstest.Drive(t, sim)
	fams, _ := opstest.Scrape(t, sim.URL)

	for _, path := range []string{"docs/operations.md", "docs/api.md"} {
		doc := string(readFile(t, path))
		documented := map[string]bool{}
		for _, m := range regexp.MustCompile("(?m)^\\| `(callbacksim_[a-z_]+)` \\| (counter|gauge|histogram) \\|").FindAllStringSubmatch(doc, -1) {
			documented[m[1]] = true
			f, ok := fams[m[1]]
			if !ok {
				t.Errorf("%s lists %s, which /metrics does not export", path, m[1])
				continue
			}
			if got := strings.ToLower(f.GetType().String()); got != m[2] {
				t.Errorf("%s says %s is a %s; it is a %s", path, m[1], m[2], got)
			}
		}
		for name := range fams {
			if strings.HasPrefix(name, "callbacksim_") && !documented[name] {
				t.Errorf("%s is exported but not in the metrics table of %s", name, path)
			}
		}
	}
}
