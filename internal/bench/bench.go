// Package bench is callbacksim's benchmark: it starts a redis-server of its
// own, runs a simulator in-process (API and workers) and merchant endpoints
// on loopback, and measures throughput against the bare-asynq ceiling of the
// same design, callback latency at a steady rate, retry timing, API
// throughput, Redis memory per callback, isolation from a dead endpoint and
// the CPU an idle simulator uses. It prints figures, not verdicts. cmd/callbacksim-bench runs it.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/redisproc"
)

// Scenario names, in the order they run.
const (
	Throughput = "throughput" // 1. deliveries/s against the bare-asynq ceiling, and 4. initiate requests/s
	Latency    = "latency"    // 2. simulate answer -> merchant at a steady rate
	Retry      = "retry"      // 3. actual minus due time of each retry
	Memory     = "memory"     // 5. Redis bytes per callback
	Isolation  = "isolation"  // 6. healthy merchants' rate with a dead endpoint
	Idle       = "idle"       // 7. CPU used with nothing to do
)

// Scenarios lists every scenario, in the order they run.
var Scenarios = []string{Throughput, Latency, Retry, Memory, Isolation, Idle}

// Options tune a run. Zero fields take the defaults of DefaultOptions.
type Options struct {
	N              int           // payments per throughput, memory and isolation run
	Clients        int           // concurrent API clients (and enqueuers of the ceiling)
	Rounds         int           // rounds of the throughput scenario: the ceiling, its references, callbacksim
	Rate           float64       // payments per second of the latency and retry scenarios
	LatencyFor     time.Duration // how long the latency scenario simulates at Rate
	RetryCallbacks int           // callbacks retried on the QRIS schedule
	TimeScale      float64       // the simulator's time_scale (retry delays)
	Concurrency    int           // worker.concurrency (also the ceiling's asynq concurrency)
	MaxPerHost     int           // worker.max_per_host (0: its default)
	PollInterval   time.Duration // worker.poll_interval (also the ceiling's)
	DeadTimeout    time.Duration // providers.qris.timeout in the isolation scenario
	HealthyHosts   int           // healthy merchant endpoints in the isolation scenario
	IsolationFor   time.Duration // how long the isolation run waits for the healthy callbacks
	IdleFor        time.Duration // how long the idle scenario measures each simulator
	Only           []string      // scenarios to run; empty = all
	CPUProfile     string        // file for a CPU profile of the end-to-end throughput runs
	MemProfile     string        // file for an allocation profile, written after the end-to-end runs
	RedisDetail    bool          // print the Redis commands per delivery by name
	Tune           func(*config.Config)
}

// DefaultOptions are the figures BENCHMARKS.md reports.
func DefaultOptions() Options {
	d := config.Default()
	return Options{
		N: 5000, Clients: 32, Rounds: 5, Rate: 200, LatencyFor: 10 * time.Second,
		RetryCallbacks: 300, TimeScale: 0.01, Concurrency: d.Worker.Concurrency,
		PollInterval: d.Worker.PollInterval, DeadTimeout: d.Providers.QRIS.Timeout,
		HealthyHosts: 4, IsolationFor: 30 * time.Second, IdleFor: 30 * time.Second,
	}
}

func (o *Options) fill() {
	d := DefaultOptions()
	if o.N <= 0 {
		o.N = d.N
	}
	if o.Clients <= 0 {
		o.Clients = d.Clients
	}
	if o.Rounds <= 0 {
		o.Rounds = d.Rounds
	}
	if o.Rate <= 0 {
		o.Rate = d.Rate
	}
	if o.LatencyFor <= 0 {
		o.LatencyFor = d.LatencyFor
	}
	if o.RetryCallbacks <= 0 {
		o.RetryCallbacks = d.RetryCallbacks
	}
	if o.TimeScale <= 0 {
		o.TimeScale = d.TimeScale
	}
	if o.Concurrency <= 0 {
		o.Concurrency = d.Concurrency
	}
	if o.PollInterval <= 0 {
		o.PollInterval = d.PollInterval
	}
	if o.DeadTimeout <= 0 {
		o.DeadTimeout = d.DeadTimeout
	}
	if o.HealthyHosts <= 0 {
		o.HealthyHosts = d.HealthyHosts
	}
	if o.IsolationFor <= 0 {
		o.IsolationFor = d.IsolationFor
	}
	if o.IdleFor <= 0 {
		o.IdleFor = d.IdleFor
	}
}

func (o Options) runs(name string) bool {
	if len(o.Only) == 0 {
		return true
	}
	for _, s := range o.Only {
		if s == name {
			return true
		}
	}
	return false
}

// ErrUnknownScenario: Options.Only names no scenario.
var ErrUnknownScenario = errors.New("bench: unknown scenario")

// env is what every scenario shares: the Redis, the merchant, the log.
type env struct {
	opts     Options
	out      io.Writer
	redis    *redisproc.Server
	rdb      *redis.Client
	rec      *recorder
	merchant *endpoint // pathOK and pathFail
	log      *slog.Logger
	profiled bool // the CPU profile ran
}

// Run runs the benchmark and prints its figures to out.
func Run(ctx context.Context, opts Options, out io.Writer) error {
	opts.fill()
	for _, s := range opts.Only {
		if !strings.Contains(","+strings.Join(Scenarios, ",")+",", ","+s+",") {
			return fmt.Errorf("%w %q (have %s)", ErrUnknownScenario, s, strings.Join(Scenarios, ", "))
		}
	}
	srv, err := redisproc.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	e := &env{
		opts: opts, out: out, redis: srv, rdb: redis.NewClient(&redis.Options{Addr: srv.Addr}),
		rec: newRecorder(),
		log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	}
	defer e.rdb.Close()
	if e.merchant, err = startEndpoint(e.rec); err != nil {
		return err
	}
	defer e.merchant.close()
	e.header()

	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{Throughput, e.throughput}, {Latency, e.latency}, {Retry, e.retry},
		{Memory, e.memory}, {Isolation, e.isolation}, {Idle, e.idle},
	}
	for _, s := range steps {
		if !opts.runs(s.name) {
			continue
		}
		if err := e.flush(ctx); err != nil {
			return err
		}
		if err := s.run(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	if opts.MemProfile != "" {
		if err := writeProfile(opts.MemProfile, "allocs"); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "\nload average at the end: %s; %s\n", loadAverage(), cpuPressure())
	return nil
}

func (e *env) header() {
	ver, _ := redisproc.Version()
	o := e.opts
	fmt.Fprintf(e.out, "callbacksim-bench: %s %s/%s, %d CPUs (GOMAXPROCS %d), redis-server %s\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), ver)
	fmt.Fprintf(e.out, "n=%d clients=%d worker.concurrency=%d worker.max_per_host=%d worker.poll_interval=%s time_scale=%g\n",
		o.N, o.Clients, o.Concurrency, e.config().Worker.HostLimit(), o.PollInterval, o.TimeScale)
	fmt.Fprintf(e.out, "load average at the start: %s; %s\n", loadAverage(), cpuPressure())
}

// cpuPressure is the share of time in the last 10 and 60 seconds in which
// some runnable task waited for a CPU (Linux PSI, /proc/pressure/cpu): on a
// shared machine, how much other work competed with the benchmark.
func cpuPressure() string {
	raw, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return "cpu pressure unknown"
	}
	line, _, _ := strings.Cut(string(raw), "\n") // some avg10=1.23 avg60=4.56 avg300=... total=...
	var avg10, avg60 string
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "avg10="); ok {
			avg10 = v
		}
		if v, ok := strings.CutPrefix(f, "avg60="); ok {
			avg60 = v
		}
	}
	if avg10 == "" || avg60 == "" {
		return "cpu pressure unknown"
	}
	return fmt.Sprintf("cpu pressure (some) %s%% over 10 s, %s%% over 60 s", avg10, avg60)
}

// loadAverage is the first three fields of /proc/loadavg.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func (e *env) flush(ctx context.Context) error {
	if err := e.rdb.FlushAll(ctx).Err(); err != nil {
		return fmt.Errorf("bench: flush redis: %w", err)
	}
	return nil
}

func (e *env) printf(format string, args ...any) { fmt.Fprintf(e.out, format, args...) }

// sim is a simulator running in-process.
type sim struct {
	*simClient
	cfg    config.Config
	cancel context.CancelFunc
	done   chan error
}

const (
	adminToken = "bench-admin-token"
	qrisToken  = "demo-qris-token" // config.DemoMerchant's
)

// config is the simulator's configuration in every scenario.
func (e *env) config() config.Config {
	cfg := config.Default()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Redis.URL = e.redis.URL()
	cfg.Admin.Token = adminToken
	cfg.TimeScale = e.opts.TimeScale
	cfg.Log.Level = "warn"
	cfg.Worker.Concurrency = e.opts.Concurrency
	cfg.Worker.MaxPerHost = e.opts.MaxPerHost
	cfg.Worker.PollInterval = e.opts.PollInterval
	cfg.Worker.ShutdownTimeout = 2 * time.Second
	// One bench merchant's credential makes every request: keep the limiter
	// in the path (its cost is measured) but far above the load.
	cfg.RateLimit = config.RateLimit{PerSecond: 1e6, Burst: 1e6}
	// The bench merchant times each callback by its id: the tracing
	// header, which the real gateways do not send, is what it is for.
	cfg.Delivery.CallbackIDHeader = true
	if e.opts.Tune != nil {
		e.opts.Tune(&cfg)
	}
	return cfg
}

// startSim runs a simulator with roles and cfg until stop.
func (e *env) startSim(cfg config.Config, roles app.Roles) (*sim, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	a, err := app.New(cfg, roles, e.log)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &sim{
		simClient: newSimClient(a.Addr(), qrisToken, adminToken),
		cfg:       cfg, cancel: cancel, done: make(chan error, 1),
	}
	go func() { s.done <- a.Run(ctx) }()
	return s, nil
}

// stop stops the simulator and waits for it.
func (s *sim) stop() error {
	s.cancel()
	s.conns.close()
	select {
	case err := <-s.done:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("bench: the simulator did not stop within 30s")
	}
}

// initiateAll initiates payments orderID(0) .. orderID(n-1) to the URLs
// urlOf gives, with the benchmark's clients, and returns how long it took.
func (e *env) initiateAll(ctx context.Context, s *sim, n int, orderID func(int) string, urlOf func(int) string) (time.Duration, error) {
	start := time.Now()
	err := parallel(ctx, n, e.opts.Clients, func(ctx context.Context, i int) error {
		return s.initiate(ctx, orderID(i), urlOf(i))
	})
	return time.Since(start), err
}

func writeProfile(path, name string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer f.Close()
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		return fmt.Errorf("bench: write %s profile: %w", name, err)
	}
	return f.Close()
}
