package bench

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/callbacksim/callbacksim/app"
	"github.com/callbacksim/callbacksim/store"
)

// throughput measures 1. end-to-end deliveries per second against the raw
// ceiling of the same design on the same Redis, and 4. initiate requests per
// second, in Rounds rounds. Each round also runs the ceiling's two other
// references (see reference), which split the ratio into what the design's
// requirements cost and what callbacksim adds.
func (e *env) throughput(ctx context.Context) error {
	o := e.opts
	e.printf("\n1. throughput: %d payments, %d clients (ceiling: bare asynq server, handler POSTs the same JSON, %d enqueuers)\n",
		o.N, o.Clients, o.Clients)
	refs := []reference{bare, httpFront, records}
	rates := make([][]float64, len(refs))
	loads := make([]redisLoad, len(refs))
	var ends, apis []float64
	var endLoad redisLoad
	for round := range o.Rounds {
		line := fmt.Sprintf("   round %d:", round+1)
		for i, ref := range refs {
			if err := e.flush(ctx); err != nil {
				return err
			}
			r, l, err := e.ceiling(ctx, ref)
			if err != nil {
				return fmt.Errorf("%s: %w", ref, err)
			}
			rates[i], loads[i] = append(rates[i], r), l
			line += fmt.Sprintf(" %s %s/s", ref, thousands(r))
			if ref != bare {
				line += " (" + ratio(r, rates[0][round]) + ")"
			}
			line += ","
		}
		if err := e.flush(ctx); err != nil {
			return err
		}
		end, api, el, err := e.endToEnd(ctx, round)
		if err != nil {
			return fmt.Errorf("end to end: %w", err)
		}
		e.printf("%s callbacksim %s/s, ratio %s\n", line, thousands(end), ratio(end, rates[0][round]))
		ends, apis, endLoad = append(ends, end), append(apis, api), el
	}
	c := median(rates[0])
	e.printf("   ceiling (median)        %8s deliveries/s\n", thousands(c))
	e.printf("   callbacksim (median)    %8s deliveries/s\n", thousands(median(ends)))
	e.printf("   throughput ratio        %8s   (median of the rounds' ratios: %s)\n", ratio(median(ends), c), medianRatio(ends, rates[0]))
	for i, ref := range refs[1:] {
		e.printf("   %-23s %8s   (median of the rounds' ratios to the ceiling)\n", ref.String()+" ratio", medianRatio(rates[i+1], rates[0]))
	}
	e.printf("   callbacksim / + records %8s   (median of the rounds' ratios: what callbacksim's own code costs)\n", medianRatio(ends, rates[2]))
	e.printf("   per delivery (last round):\n")
	for i, ref := range refs {
		e.printf("     %-14s %s\n", ref, loads[i].perCallback(o.N))
	}
	e.printf("     %-14s %s\n", "callbacksim", endLoad.perCallback(o.N))
	e.printf("     (callbacksim: %s)\n", endLoad.Phases)
	if o.RedisDetail {
		e.printf("     ceiling:     %s\n     callbacksim: %s\n", loads[0].detail(o.N), endLoad.detail(o.N))
	}
	e.printf("\n4. API throughput: initiate at %d concurrent clients\n", o.Clients)
	e.printf("   initiate                %8s requests/s (median of %d rounds of %d)\n", thousands(median(apis)), len(apis), o.N)
	return nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianRatio(a, b []float64) string {
	r := make([]float64, len(a))
	for i := range a {
		if b[i] > 0 {
			r[i] = a[i] / b[i]
		}
	}
	return fmt.Sprintf("%.2f", median(r))
}

// endToEnd initiates N payments (timed: the API throughput), then simulates
// them with Clients clients, and returns deliveries per second from the
// first simulate to the last arrival, and initiates per second.
func (e *env) endToEnd(ctx context.Context, round int) (rate, api float64, _ redisLoad, err error) {
	s, err := e.startSim(e.config(), app.Roles{API: true, Worker: true})
	if err != nil {
		return 0, 0, redisLoad{}, err
	}
	defer s.stop()
	n := e.opts.N
	orderID := func(i int) string { return fmt.Sprintf("BENCH-T%d-%06d", round, i) }
	url := e.merchant.URL + pathOK
	took, err := e.initiateAll(ctx, s, n, orderID, func(int) string { return url })
	if err != nil {
		return 0, 0, redisLoad{}, err
	}
	api = perSecond(n, took)

	e.rec.reset(n)
	load, err := e.measureRedis(ctx)
	if err != nil {
		return 0, 0, redisLoad{}, err
	}
	stopProfile, err := e.startCPUProfile()
	if err != nil {
		return 0, 0, redisLoad{}, err
	}
	start := time.Now()
	err = parallel(ctx, n, e.opts.Clients, func(ctx context.Context, i int) error {
		_, err := s.simulate(ctx, orderID(i))
		return err
	})
	if err != nil {
		stopProfile()
		return 0, 0, redisLoad{}, err
	}
	simulated := time.Since(start)
	deliveredBy, _ := e.rec.arrived()
	err = e.rec.wait(ctx, time.Minute)
	stopProfile()
	if err != nil {
		return 0, 0, redisLoad{}, err
	}
	_, last := e.rec.arrived()
	l, err := load()
	l.Phases = fmt.Sprintf("simulates answered after %s, %d delivered by then; last arrival after %s",
		simulated.Round(time.Millisecond), deliveredBy, last.Sub(start).Round(time.Millisecond))
	return perSecond(n, last.Sub(start)), api, l, err
}

// startCPUProfile starts the CPU profile of the first end-to-end run, if
// one was asked for, and returns what stops it.
func (e *env) startCPUProfile() (func(), error) {
	if e.opts.CPUProfile == "" || e.profiled {
		return func() {}, nil
	}
	e.profiled = true
	f, err := os.Create(e.opts.CPUProfile)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// callbackAttempts reads the attempts of callbacks ids with Clients clients.
func (e *env) callbackAttempts(ctx context.Context, s *sim, ids []string) ([]store.Callback, error) {
	out := make([]store.Callback, len(ids))
	err := parallel(ctx, len(ids), e.opts.Clients, func(ctx context.Context, i int) error {
		cb, err := s.callback(ctx, ids[i])
		out[i] = cb
		return err
	})
	return out, err
}
