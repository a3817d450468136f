package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/callbacksim/callbacksim/internal/buildinfo"
)

// NewBuildInfo returns the collector of callbacksim_build_info, a gauge of
// 1 whose labels say which build runs: version, revision and goversion.
// Its one series has bounded labels: one value each per binary.
func NewBuildInfo(i buildinfo.Info) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace:   Namespace,
		Name:        "build_info",
		Help:        "Always 1; the labels say which build of callbacksim runs.",
		ConstLabels: prometheus.Labels{"version": i.Version, "revision": i.Revision, "goversion": i.GoVersion},
	})
	g.Set(1)
	return g
}
