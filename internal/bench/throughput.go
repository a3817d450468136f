package bench

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/store"
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
	sim := len(refs) // callbacksim's index in rates and loads, after the references'
	rates := make([][]float64, len(refs)+1)
	loads := make([][]redisLoad, len(refs)+1)
	var apis []float64
	for round := range o.Rounds {
		line := fmt.Sprintf("   round %d:", round+1)
		for i, ref := range refs {
			if err := e.flush(ctx); err != nil {
				return err
			}
			r, l, err := e.runReference(ctx, ref)
			if err != nil {
				return fmt.Errorf("%s: %w", ref, err)
			}
			rates[i], loads[i] = append(rates[i], r), append(loads[i], l)
			line += fmt.Sprintf(" %s %s/s", ref, thousands(r))
			if ref != bare {
				line += " (" + ratio(r, rates[bare][round]) + ")"
			}
			line += ","
		}
		if err := e.flush(ctx); err != nil {
			return err
		}
		end, api, l, err := e.endToEnd(ctx, round)
		if err != nil {
			return fmt.Errorf("end to end: %w", err)
		}
		rates[sim], loads[sim], apis = append(rates[sim], end), append(loads[sim], l), append(apis, api)
		e.printf("%s callbacksim %s/s, ratio %s  (%s)\n", line, thousands(end), ratio(end, rates[bare][round]), l.Phases)
	}
	c, end := median(rates[bare]), median(rates[sim])
	e.printf("   ceiling (median)        %8s deliveries/s\n", thousands(c))
	e.printf("   callbacksim (median)    %8s deliveries/s\n", thousands(end))
	e.printf("   throughput ratio        %8s   (median of the rounds' ratios: %s)\n", ratio(end, c), medianRatio(rates[sim], rates[bare]))
	for _, ref := range refs[1:] {
		e.printf("   %-23s %8s   (median of the rounds' ratios to the ceiling)\n", ref.String()+" ratio", medianRatio(rates[ref], rates[bare]))
	}
	e.printf("   callbacksim / + records %8s   (median of the rounds' ratios: what callbacksim's own code costs)\n",
		medianRatio(rates[sim], rates[records]))
	e.printf("   per delivery (CPU: median of the rounds):\n")
	for i, ref := range refs {
		e.printf("     %-14s %s\n", ref, medianLoad(loads[i]).perCallback(o.N))
	}
	e.printf("     %-14s %s\n", "callbacksim", medianLoad(loads[sim]).perCallback(o.N))
	if o.RedisDetail {
		e.printf("     ceiling:     %s\n     callbacksim: %s\n", loads[bare][len(loads[bare])-1].detail(o.N), loads[sim][len(loads[sim])-1].detail(o.N))
	}
	e.printf("\n4. API throughput: initiate at %d concurrent clients\n", o.Clients)
	e.printf("   initiate                %8s requests/s (median of %d rounds of %d)\n", thousands(median(apis)), len(apis), o.N)
	return nil
}

// medianLoad is the last of ls, with the median CPU times of them all:
// commands and round trips hardly move between rounds, CPU times do.
func medianLoad(ls []redisLoad) redisLoad {
	if len(ls) == 0 {
		return redisLoad{}
	}
	out := ls[len(ls)-1]
	var redisCPU, self []float64
	for _, l := range ls {
		redisCPU, self = append(redisCPU, float64(l.CPU)), append(self, float64(l.Self))
	}
	out.CPU, out.Self = time.Duration(median(redisCPU)), time.Duration(median(self))
	return out
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
	l.Phases = fmt.Sprintf("simulates answered after %s, %d delivered by then, last arrival after %s",
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
