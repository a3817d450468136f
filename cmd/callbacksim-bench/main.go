// Command callbacksim-bench measures callbacksim on this machine: it starts
// its own redis-server, a simulator and merchant endpoints on loopback, and
// prints throughput (against the bare-asynq ceiling of the same design),
// latency, retry timing, API throughput, Redis memory per callback,
// isolation from a dead endpoint and the CPU an idle simulator uses. `make
// bench` runs it; BENCHMARKS.md holds its figures.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/callbacksim/callbacksim/internal/bench"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	o := bench.DefaultOptions()
	fs := flag.NewFlagSet("callbacksim-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.N, "n", o.N, "payments per throughput, memory and isolation run")
	fs.IntVar(&o.Clients, "clients", o.Clients, "concurrent API clients (and enqueuers of the ceiling)")
	fs.IntVar(&o.Rounds, "rounds", o.Rounds, "rounds of the throughput scenario (the ceiling, its two references, callbacksim)")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "payments per second in the latency and retry scenarios")
	fs.DurationVar(&o.LatencyFor, "latency-for", o.LatencyFor, "how long the latency scenario runs")
	fs.IntVar(&o.RetryCallbacks, "retry-callbacks", o.RetryCallbacks, "callbacks retried on the QRIS schedule")
	fs.Float64Var(&o.TimeScale, "time-scale", o.TimeScale, "the simulator's time_scale")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "worker.concurrency (and the ceiling's)")
	fs.IntVar(&o.MaxPerHost, "max-per-host", o.MaxPerHost, "worker.max_per_host (0: half of -concurrency)")
	fs.DurationVar(&o.PollInterval, "poll-interval", o.PollInterval, "worker.poll_interval (and the ceiling's)")
	fs.DurationVar(&o.DeadTimeout, "dead-timeout", o.DeadTimeout, "providers.qris.timeout in the isolation scenario")
	fs.IntVar(&o.HealthyHosts, "healthy-hosts", o.HealthyHosts, "healthy merchant endpoints in the isolation scenario")
	fs.DurationVar(&o.IsolationFor, "isolation-for", o.IsolationFor, "how long the isolation scenario waits for the healthy callbacks")
	fs.DurationVar(&o.IdleFor, "idle-for", o.IdleFor, "how long the idle scenario measures the CPU of each idle simulator")
	only := fs.String("only", "", "comma-separated scenarios to run ("+strings.Join(bench.Scenarios, ",")+"); empty = all")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the first end-to-end throughput run to this file")
	fs.StringVar(&o.MemProfile, "memprofile", "", "write an allocation profile to this file at the end")
	fs.BoolVar(&o.RedisDetail, "redis-detail", false, "print the Redis commands per delivery by name")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *only != "" {
		o.Only = strings.Split(*only, ",")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench.Run(ctx, o, stdout); err != nil {
		fmt.Fprintln(stderr, "callbacksim-bench:", err)
		return 1
	}
	return 0
}
