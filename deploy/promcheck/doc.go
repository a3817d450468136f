// Package promcheck holds the test that parses every alerting rule of
// deploy/prometheus/rules and every expression of the Grafana dashboards
// in deploy/grafana/dashboards with Prometheus's own parser packages
// (promql/parser, model/rulefmt), so that a broken one fails CI rather than
// a Prometheus or a panel. It has no code of its own: it is a package apart
// so that only its test links Prometheus's modules, not the binary nor the
// other tests of deploy.
package promcheck
