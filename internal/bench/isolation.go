package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/callbacksim/callbacksim/app"
)

// isolation measures 6. the healthy merchants' delivery rate while one
// merchant endpoint never answers (every attempt runs into
// providers.qris.timeout), as a ratio to their rate without it. The healthy
// callbacks go round-robin to HealthyHosts endpoints; the dead endpoint gets
// as many callbacks as each healthy one, interleaved with them.
func (e *env) isolation(ctx context.Context) error {
	o := e.opts
	cfg := e.config()
	cfg.Providers.QRIS.Timeout = o.DeadTimeout
	dead := o.N / o.HealthyHosts
	e.printf("\n6. isolation: %d callbacks to %d healthy endpoints, then the same with %d more to an endpoint that never answers (timeout %s)\n",
		o.N, o.HealthyHosts, dead, o.DeadTimeout)
	var healthy []*endpoint
	for range o.HealthyHosts {
		ep, err := startEndpoint(e.rec)
		if err != nil {
			return err
		}
		defer ep.close()
		healthy = append(healthy, ep)
	}
	deadEP, err := startEndpoint(e.rec)
	if err != nil {
		return err
	}
	defer deadEP.close()
	s, err := e.startSim(cfg, app.Roles{API: true, Worker: true})
	if err != nil {
		return err
	}
	defer s.stop()

	healthyURL := func(i int) string { return healthy[i%len(healthy)].URL + pathOK }
	alone, err := e.healthyRate(ctx, s, "I0", o.N, healthyURL)
	if err != nil {
		return err
	}
	// Every (HealthyHosts+1)-th payment goes to the dead endpoint.
	total := o.N + dead
	mixedURL := func(i int) string {
		if i%(o.HealthyHosts+1) == o.HealthyHosts && i/(o.HealthyHosts+1) < dead {
			return deadEP.URL + pathDead
		}
		return healthy[i%len(healthy)].URL + pathOK
	}
	withDead, err := e.healthyRate(ctx, s, "I1", total, mixedURL)
	deadEP.close() // the hanging attempts end now
	if err != nil {
		return err
	}
	e.printf("   healthy alone           %8s deliveries/s\n", thousands(alone))
	e.printf("   with the dead endpoint  %8s deliveries/s\n", thousands(withDead))
	e.printf("   isolation ratio         %8s\n", ratio(withDead, alone))
	return nil
}

// healthyRate initiates n payments to urlOf(i), simulates them with Clients
// clients, and returns the healthy callbacks' deliveries per second: from
// the first simulate to the last healthy arrival, or, when they do not all
// arrive within IsolationFor, those that did over IsolationFor.
func (e *env) healthyRate(ctx context.Context, s *sim, tag string, n int, urlOf func(int) string) (float64, error) {
	orderID := func(i int) string { return fmt.Sprintf("BENCH-%s-%06d", tag, i) }
	if _, err := e.initiateAll(ctx, s, n, orderID, urlOf); err != nil {
		return 0, err
	}
	want := 0
	for i := range n {
		if strings.HasSuffix(urlOf(i), pathOK) {
			want++
		}
	}
	e.rec.reset(want)
	start := time.Now()
	err := parallel(ctx, n, e.opts.Clients, func(ctx context.Context, i int) error {
		_, err := s.simulate(ctx, orderID(i))
		return err
	})
	if err != nil {
		return 0, err
	}
	if err := e.rec.wait(ctx, e.opts.IsolationFor-time.Since(start)); err != nil {
		got, _ := e.rec.arrived()
		e.printf("   (%d of %d healthy callbacks arrived within %s)\n", got, want, e.opts.IsolationFor)
		return perSecond(got, e.opts.IsolationFor), nil
	}
	_, last := e.rec.arrived()
	return perSecond(want, last.Sub(start)), nil
}
