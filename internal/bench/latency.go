package bench

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/scheduler"
)

// latency measures 2. the time from a simulate's answer to the callback's
// arrival at the merchant, with payments simulated at a steady Rate.
func (e *env) latency(ctx context.Context) error {
	o := e.opts
	n := int(math.Round(o.Rate * o.LatencyFor.Seconds()))
	e.printf("\n2. callback latency at %g payments/s for %s (%d payments): simulate answer -> arrival at the merchant\n",
		o.Rate, o.LatencyFor, n)
	s, err := e.startSim(e.config(), app.Roles{API: true, Worker: true})
	if err != nil {
		return err
	}
	defer s.stop()
	sum, err := e.steadyLatency(ctx, s, "L", n, e.merchant.URL+pathOK)
	if err != nil {
		return err
	}
	e.printf("   p50 %s   p99 %s   max %s   (min %s: a callback can arrive before its simulate answer does)\n",
		ms(sum.P50), ms(sum.P99), ms(sum.Max), ms(sum.Min))
	return nil
}

// steadyLatency initiates n payments to url, simulates them at Rate, and
// summarizes the times from each simulate's answer to its callback's
// arrival.
func (e *env) steadyLatency(ctx context.Context, s *sim, tag string, n int, url string) (summary, error) {
	orderID := func(i int) string { return fmt.Sprintf("BENCH-%s-%06d", tag, i) }
	if _, err := e.initiateAll(ctx, s, n, orderID, func(int) string { return url }); err != nil {
		return summary{}, err
	}
	e.rec.reset(n)
	ids := make([]string, n)
	answered := make([]time.Time, n)
	err := paced(ctx, n, e.opts.Rate, func(ctx context.Context, i int) error {
		id, err := s.simulate(ctx, orderID(i))
		answered[i], ids[i] = time.Now(), id
		return err
	})
	if err != nil {
		return summary{}, err
	}
	if err := e.rec.wait(ctx, time.Minute); err != nil {
		return summary{}, err
	}
	lat := make([]time.Duration, 0, n)
	for i, id := range ids {
		at, ok := e.rec.arrival(id)
		if !ok {
			return summary{}, fmt.Errorf("bench: callback %s never arrived", id)
		}
		lat = append(lat, at.Sub(answered[i]))
	}
	return summarize(lat), nil
}

// retry measures 3. retry timing: RetryCallbacks callbacks to an endpoint
// that always answers 500, simulated at Rate, each retried on the QRIS
// schedule scaled by TimeScale until it fails. For every retry, the lateness
// is its start minus its due time, the previous attempt's end plus the
// scheduled delay, both read from the attempt records.
func (e *env) retry(ctx context.Context) error {
	o := e.opts
	cfg := e.config()
	policy := scheduler.NewPolicy(cfg.Providers.QRIS.Retry.Schedule, cfg.TimeScale)
	n := o.RetryCallbacks
	e.printf("\n3. retry timing: %d callbacks answered 500, simulated at %g/s, schedule %v (time_scale %g): actual minus due start\n",
		n, o.Rate, policy.Schedule(), cfg.TimeScale)
	s, err := e.startSim(cfg, app.Roles{API: true, Worker: true})
	if err != nil {
		return err
	}
	defer s.stop()
	orderID := func(i int) string { return fmt.Sprintf("BENCH-R-%06d", i) }
	url := e.merchant.URL + pathFail
	if _, err := e.initiateAll(ctx, s, n, orderID, func(int) string { return url }); err != nil {
		return err
	}
	e.rec.reset(0)
	ids := make([]string, n)
	err = paced(ctx, n, o.Rate, func(ctx context.Context, i int) error {
		id, err := s.simulate(ctx, orderID(i))
		ids[i] = id
		return err
	})
	if err != nil {
		return err
	}
	// Every callback fails after its last retry; the schedule bounds when.
	var total time.Duration
	for _, d := range policy.Schedule() {
		total += d
	}
	deadline := time.Now().Add(total + time.Minute)
	var cbs []store.Callback
	for {
		if got := e.rec.count(); got >= n*policy.MaxAttempts() {
			if cbs, err = e.callbackAttempts(ctx, s, ids); err != nil {
				return err
			}
			if allFinal(cbs) {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: the retried callbacks did not all fail within %s (merchant got %d requests)",
				total+time.Minute, e.rec.count())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var late []time.Duration
	byRetry := make([][]time.Duration, policy.MaxAttempts())
	for _, cb := range cbs {
		for k := 1; k < len(cb.Attempts); k++ {
			prev, cur := cb.Attempts[k-1], cb.Attempts[k]
			delay, ok := policy.Delay(k)
			if !ok || prev.Kind != store.Automatic || cur.Kind != store.Automatic {
				continue
			}
			end := prev.At.Add(time.Duration(math.Round(prev.DurationMS * float64(time.Millisecond))))
			l := cur.At.Sub(end.Add(delay))
			late = append(late, l)
			byRetry[k] = append(byRetry[k], l)
		}
	}
	sum := summarize(late)
	e.printf("   %d retries: min %s   p50 %s   p99 %s   max %s\n", sum.N, ms(sum.Min), ms(sum.P50), ms(sum.P99), ms(sum.Max))
	for k := 1; k < len(byRetry); k++ {
		d, _ := policy.Delay(k)
		s := summarize(byRetry[k])
		e.printf("     retry %d (after %s): min %s   p50 %s   p99 %s   max %s\n", k, d, ms(s.Min), ms(s.P50), ms(s.P99), ms(s.Max))
	}
	return nil
}

func allFinal(cbs []store.Callback) bool {
	for _, cb := range cbs {
		if !cb.Status.Final() {
			return false
		}
	}
	return true
}
