package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/callbacksim/callbacksim/app"
	"github.com/callbacksim/callbacksim/payloads"
	"github.com/callbacksim/callbacksim/redisconn"
	"github.com/callbacksim/callbacksim/store"
)

// ceilingQueue is the bare asynq server's queue.
const ceilingQueue = "bare"

// throughput measures 1. end-to-end deliveries per second against the raw
// ceiling of the same design on the same Redis, and 4. initiate requests per
// second, in Rounds pairs.
func (e *env) throughput(ctx context.Context) error {
	o := e.opts
	e.printf("\n1. throughput: %d payments, %d clients (ceiling: bare asynq server, handler POSTs the same JSON, %d enqueuers)\n",
		o.N, o.Clients, o.Clients)
	var ceilings, ends, apis []float64
	var ceilingLoad, endLoad redisLoad
	for round := range o.Rounds {
		if err := e.flush(ctx); err != nil {
			return err
		}
		c, cl, err := e.ceiling(ctx)
		if err != nil {
			return fmt.Errorf("ceiling: %w", err)
		}
		if err := e.flush(ctx); err != nil {
			return err
		}
		end, api, el, err := e.endToEnd(ctx, round)
		if err != nil {
			return fmt.Errorf("end to end: %w", err)
		}
		e.printf("   round %d: ceiling %s/s, callbacksim %s/s, ratio %s\n", round+1, thousands(c), thousands(end), ratio(end, c))
		ceilings, ends, apis = append(ceilings, c), append(ends, end), append(apis, api)
		ceilingLoad, endLoad = cl, el
	}
	c, end := median(ceilings), median(ends)
	e.printf("   ceiling (median)        %8s deliveries/s\n", thousands(c))
	e.printf("   callbacksim (median)    %8s deliveries/s\n", thousands(end))
	e.printf("   throughput ratio        %8s   (median of the rounds' ratios: %s)\n", ratio(end, c), medianRatio(ends, ceilings))
	e.printf("   per delivery (last round): ceiling %s\n", ceilingLoad.perCallback(o.N))
	e.printf("                              callbacksim %s\n", endLoad.perCallback(o.N))
	e.printf("                              (%s)\n", endLoad.Phases)
	if o.RedisDetail {
		e.printf("     ceiling:     %s\n     callbacksim: %s\n", ceilingLoad.detail(o.N), endLoad.detail(o.N))
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

// ceilingBody is a QRIS callback body the size callbacksim sends for the
// payments initiateBody makes.
func ceilingBody() []byte {
	body, _ := json.Marshal(payloads.QRISCallback{
		OrderID: "BENCH-T0-000001", TransactionID: "TXN-20240120-1A2B3C4D", Status: "SUCCESS", Amount: 150000,
		Currency: "IDR", PaymentMethod: "QRIS", CustomerName: "John Doe", CustomerEmail: "john.doe@example.com",
		CustomerPhone: "+6281234567890", Timestamp: time.Now().UTC().Format(time.RFC3339), Description: "Order BENCH-T0-000001",
	})
	return body
}

// bareHandler is the ceiling's asynq handler: it only POSTs the body to the
// merchant, with the headers callbacksim sends.
type bareHandler struct {
	client *http.Client
	url    string
	body   []byte
}

func (h bareHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("bench: %w: %w", err, asynq.SkipRetry)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(h.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", payloads.UserAgent)
	req.Header.Set(payloads.CallbackIDHeader, p.ID)
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: merchant answered %d", resp.StatusCode)
	}
	return nil
}

// ceiling runs a bare asynq server with the simulator's concurrency and poll
// interval, feeds it N tasks from Clients enqueuers, and returns deliveries
// per second from the first enqueue to the last arrival.
func (e *env) ceiling(ctx context.Context) (float64, redisLoad, error) {
	cfg := e.config()
	// The same Redis client as the simulator's, so that the ratio measures
	// what callbacksim adds, not how its client is tuned.
	conn, err := redisconn.Open(cfg.Redis)
	if err != nil {
		return 0, redisLoad{}, fmt.Errorf("bench: %w", err)
	}
	defer conn.Close()
	srv := asynq.NewServerFromRedisClient(conn.Client, asynq.Config{
		Concurrency:              cfg.Worker.Concurrency,
		Queues:                   map[string]int{ceilingQueue: 1},
		TaskCheckInterval:        cfg.Worker.PollInterval,
		DelayedTaskCheckInterval: cfg.Worker.PollInterval,
		ShutdownTimeout:          cfg.Worker.ShutdownTimeout,
		LogLevel:                 asynq.WarnLevel,
	})
	hc := newHTTPClient()
	defer hc.CloseIdleConnections()
	if err := srv.Start(bareHandler{client: hc, url: e.merchant.URL + pathOK, body: ceilingBody()}); err != nil {
		return 0, redisLoad{}, fmt.Errorf("bench: start the bare asynq server: %w", err)
	}
	defer srv.Shutdown()
	client := asynq.NewClientFromRedisClient(conn.Client)
	n := e.opts.N
	e.rec.reset(n)
	load, err := e.measureRedis(ctx)
	if err != nil {
		return 0, redisLoad{}, err
	}
	start := time.Now()
	err = parallel(ctx, n, e.opts.Clients, func(ctx context.Context, i int) error {
		payload := []byte(`{"id":"cb_bench` + strconv.Itoa(i) + `"}`)
		_, err := client.EnqueueContext(ctx, asynq.NewTask("bench:deliver", payload),
			asynq.Queue(ceilingQueue), asynq.MaxRetry(3), asynq.Timeout(10*time.Minute))
		return err
	})
	if err != nil {
		return 0, redisLoad{}, fmt.Errorf("bench: enqueue: %w", err)
	}
	if err := e.rec.wait(ctx, time.Minute); err != nil {
		return 0, redisLoad{}, err
	}
	_, last := e.rec.arrived()
	l, err := load()
	return perSecond(n, last.Sub(start)), l, err
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
