package bench

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/callbacksim/callbacksim/internal/app"
)

// isolation measures 6. the healthy merchants' delivery rate while one
// merchant endpoint never answers (every attempt runs into
// providers.qris.timeout), as a ratio to their rate without it. The healthy
// callbacks go round-robin to HealthyHosts endpoints. The dead endpoint's
// callbacks (as many as each healthy endpoint gets) are queued first, so
// that its attempts hang while the healthy ones are timed: the figure
// measures what the dead endpoint does to the workers, and both timed runs
// carry the same API traffic. Then it measures the healthy callbacks'
// latency while such a backlog waits (isolationLatency).
func (e *env) isolation(ctx context.Context) error {
	o := e.opts
	dead := o.N / o.HealthyHosts
	e.printf("\n6. isolation: %d callbacks to %d healthy endpoints, alone, then while %d callbacks to an endpoint that never answers (timeout %s) are in the queue; %d rounds\n",
		o.N, o.HealthyHosts, dead, o.DeadTimeout, o.Rounds)
	var alones, withs, ratios []float64
	for round := range o.Rounds {
		if err := e.flush(ctx); err != nil {
			return err
		}
		alone, withDead, err := e.isolationRound(ctx, round, dead)
		if err != nil {
			return err
		}
		alones, withs, ratios = append(alones, alone.rate), append(withs, withDead.rate), append(ratios, withDead.rate/alone.rate)
		if o.RedisDetail {
			e.printf("     alone: %s\n     with dead: %s\n", alone.load.detail(o.N), withDead.load.detail(o.N))
		}
		e.printf("   round %d: healthy alone %s/s (CPU %s), with the dead endpoint %s/s (CPU %s, %d attempts hanging on it), ratio %.2f\n",
			round+1, thousands(alone.rate), alone.cpu(o.N), thousands(withDead.rate), withDead.cpu(o.N), withDead.hanging, withDead.rate/alone.rate)
	}
	e.printf("   healthy alone (median)          %8s deliveries/s\n", thousands(median(alones)))
	e.printf("   with the dead endpoint (median) %8s deliveries/s\n", thousands(median(withs)))
	e.printf("   isolation ratio                 %8.2f   (median of the rounds' ratios)\n", median(ratios))
	if err := e.flush(ctx); err != nil {
		return err
	}
	return e.isolationLatency(ctx, dead)
}

// isolationRun is one timed run of healthy callbacks.
type isolationRun struct {
	rate    float64
	load    redisLoad
	hanging int
}

func (r isolationRun) cpu(n int) string {
	return fmt.Sprintf("%d µs", (r.load.CPU+r.load.Self).Microseconds()/int64(n))
}

// isolationRound measures the healthy rate alone, then with the dead
// endpoint's backlog, on a simulator of its own.
func (e *env) isolationRound(ctx context.Context, round, dead int) (alone, withDead isolationRun, err error) {
	o := e.opts
	cfg := e.config()
	cfg.Providers.QRIS.Timeout = o.DeadTimeout
	var healthy []*endpoint
	for range o.HealthyHosts {
		ep, err := startEndpoint(e.rec)
		if err != nil {
			return alone, withDead, err
		}
		defer ep.close()
		healthy = append(healthy, ep)
	}
	deadEP, err := startEndpoint(e.rec)
	if err != nil {
		return alone, withDead, err
	}
	defer deadEP.close()
	s, err := e.startSim(cfg, app.Roles{API: true, Worker: true})
	if err != nil {
		return alone, withDead, err
	}
	defer s.stop()

	healthyURL := func(i int) string { return healthy[i%len(healthy)].URL + pathOK }
	if alone, err = e.healthyRate(ctx, s, fmt.Sprintf("I%dA", round), o.N, healthyURL); err != nil {
		return alone, withDead, err
	}

	hanging, err := e.deadBacklog(ctx, s, fmt.Sprintf("I%dD", round), dead, deadEP)
	if err != nil {
		return alone, withDead, err
	}

	withDead, err = e.healthyRate(ctx, s, fmt.Sprintf("I%dB", round), o.N, healthyURL)
	withDead.hanging = hanging
	deadEP.close() // the hanging attempts end now
	return alone, withDead, err
}

// deadBacklog queues n callbacks to the dead endpoint ep, waits until its
// attempts hang, and returns how many do.
func (e *env) deadBacklog(ctx context.Context, s *sim, tag string, n int, ep *endpoint) (int, error) {
	orderID := func(i int) string { return fmt.Sprintf("BENCH-%s-%06d", tag, i) }
	if _, err := e.initiateAll(ctx, s, n, orderID, func(int) string { return ep.URL + pathDead }); err != nil {
		return 0, err
	}
	err := parallel(ctx, n, e.opts.Clients, func(ctx context.Context, i int) error {
		_, err := s.simulate(ctx, orderID(i))
		return err
	})
	if err != nil {
		return 0, err
	}
	return e.waitHanging(ctx), nil
}

// isolationLatency measures the healthy callbacks' latency at Rate while
// the dead endpoint's backlog waits, for three of its timeouts (at least
// LatencyFor): the backlog comes back to the workers after each timeout.
func (e *env) isolationLatency(ctx context.Context, dead int) error {
	o := e.opts
	d := max(o.LatencyFor, 3*o.DeadTimeout)
	n := int(math.Round(o.Rate * d.Seconds()))
	cfg := e.config()
	cfg.Providers.QRIS.Timeout = o.DeadTimeout
	s, err := e.startSim(cfg, app.Roles{API: true, Worker: true})
	if err != nil {
		return err
	}
	defer s.stop()
	deadEP, err := startEndpoint(e.rec)
	if err != nil {
		return err
	}
	defer deadEP.close()
	if _, err := e.deadBacklog(ctx, s, "IL-D", dead, deadEP); err != nil {
		return err
	}
	sum, err := e.steadyLatency(ctx, s, "IL", n, e.merchant.URL+pathOK)
	deadEP.close() // the hanging attempts end now
	if err != nil {
		return err
	}
	e.printf("   healthy latency at %g/s for %s with the dead backlog waiting: p50 %s   p99 %s   max %s\n",
		o.Rate, d, ms(sum.P50), ms(sum.P99), ms(sum.Max))
	return nil
}

// waitHanging waits until the number of requests hanging on the dead
// endpoint stops growing (for 200 ms, within 5 s), and returns it.
func (e *env) waitHanging(ctx context.Context) int {
	deadline := time.Now().Add(5 * time.Second)
	last, since := -1, time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		n := e.rec.hangingNow()
		if n != last {
			last, since = n, time.Now()
		} else if n > 0 && time.Since(since) >= 200*time.Millisecond {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return last
}

// healthyRate initiates n payments to urlOf(i), simulates them with Clients
// clients, and returns their deliveries per second: from the first simulate
// to the last arrival, or, when they do not all arrive within IsolationFor,
// those that did over IsolationFor.
func (e *env) healthyRate(ctx context.Context, s *sim, tag string, n int, urlOf func(int) string) (isolationRun, error) {
	orderID := func(i int) string { return fmt.Sprintf("BENCH-%s-%06d", tag, i) }
	if _, err := e.initiateAll(ctx, s, n, orderID, urlOf); err != nil {
		return isolationRun{}, err
	}
	e.rec.reset(n)
	load, err := e.measureRedis(ctx)
	if err != nil {
		return isolationRun{}, err
	}
	start := time.Now()
	err = parallel(ctx, n, e.opts.Clients, func(ctx context.Context, i int) error {
		_, err := s.simulate(ctx, orderID(i))
		return err
	})
	if err != nil {
		return isolationRun{}, err
	}
	var r isolationRun
	if err := e.rec.wait(ctx, e.opts.IsolationFor-time.Since(start)); err != nil {
		got, _ := e.rec.arrived()
		e.printf("   (%d of %d healthy callbacks arrived within %s)\n", got, n, e.opts.IsolationFor)
		r.rate = perSecond(got, e.opts.IsolationFor)
	} else {
		_, last := e.rec.arrived()
		r.rate = perSecond(n, last.Sub(start))
	}
	r.load, err = load()
	return r, err
}
