package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/callbacksim/callbacksim/internal/redisconn"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
)

// A reference is the ceiling, a bare asynq server whose handler only
// POSTs the callback body, fed at one of three levels. Each level adds to
// the one before a part of what callbacksim cannot do without, done the
// cheapest way, so that the throughput ratio can be split into what the
// design's requirements cost and what callbacksim's code adds.
type reference int

const (
	// bare: 32 enqueuers call asynq directly. The ceiling.
	bare reference = iota
	// httpFront: the 32 clients send HTTP requests shaped like a simulate
	// to a handler that decodes the JSON, enqueues and answers 202 with
	// JSON: the cost of having an HTTP API at all.
	httpFront
	// records: the handler also writes, in one pipeline before it enqueues,
	// the payment's new status and the callback's record with its payload;
	// the worker appends the attempt and the callback's new status in one
	// pipeline after the POST. No checks, no indexes, no signing: the
	// least that "every attempt is recorded" costs.
	records
)

var referenceNames = [...]string{bare: "ceiling", httpFront: "+ HTTP front", records: "+ records"}

func (r reference) String() string { return referenceNames[r] }

// ceilingQueue is the reference servers' queue.
const ceilingQueue = "bare"

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

// bareHandler is the references' asynq handler: it POSTs the body to the
// merchant with the headers callbacksim sends in the benchmark (tracing on)
// and, with rdb set (records), then appends the attempt.
type bareHandler struct {
	client *http.Client
	url    string
	body   []byte
	rdb    redis.UniversalClient
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
	start := time.Now()
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: merchant answered %d", resp.StatusCode)
	}
	if h.rdb == nil {
		return nil
	}
	attempt, err := json.Marshal(store.Attempt{
		N: 1, At: start, DurationMS: float64(time.Since(start).Microseconds()) / 1000, Outcome: store.OutcomeDelivered,
		Request:  store.Request{Method: req.Method, URL: h.url, Headers: req.Header},
		Response: &store.Response{Status: resp.StatusCode, Headers: resp.Header, Body: string(answer)},
	})
	if err != nil {
		return err
	}
	_, err = h.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		pl.RPush(ctx, "ref:{"+p.ID+"}:attempts", attempt)
		pl.HSet(ctx, "ref:{"+p.ID+"}", "status", "delivered", "tries", 1, "updated_at", time.Now().UnixMicro())
		return nil
	})
	return err
}

// frontHandler is the HTTP front of the httpFront and records references:
// a simulate-shaped request in, a task out, 202 with the callback id.
type frontHandler struct {
	enqueue func(ctx context.Context, id string) error
	rdb     redis.UniversalClient // records: write the payment and the record first
	body    []byte
}

func (h frontHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OrderID string `json:"order_id"`
		Status  string `json:"status"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.OrderID == "" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	id := "cb_" + req.OrderID
	if h.rdb != nil {
		now := time.Now().UnixMicro()
		_, err := h.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, "ref:pay:{"+req.OrderID+"}", "status", req.Status, "updated_at", now)
			p.HSet(ctx, "ref:{"+id+"}", "provider", "qris", "reference", req.OrderID, "status", "pending",
				"url", "http://merchant.example/callback", "created_at", now, "payload", h.body)
			return nil
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	if err := h.enqueue(ctx, id); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]string{"callback_id": id})
}

// runReference runs reference ref with the simulator's Redis client, concurrency
// and poll interval, feeds it N tasks from Clients clients, and returns
// deliveries per second from the first enqueue (or request) to the last
// arrival.
func (e *env) runReference(ctx context.Context, ref reference) (float64, redisLoad, error) {
	cfg := e.config()
	// The same Redis client as the simulator's, so that the ratio measures
	// what callbacksim adds, not how its client is tuned.
	conn, err := redisconn.Open(cfg.Redis)
	if err != nil {
		return 0, redisLoad{}, fmt.Errorf("bench: %w", err)
	}
	defer conn.Close()
	var rdb redis.UniversalClient
	if ref == records {
		rdb = conn.Client
	}
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
	body := ceilingBody()
	if err := srv.Start(bareHandler{client: hc, url: e.merchant.URL + pathOK, body: body, rdb: rdb}); err != nil {
		return 0, redisLoad{}, fmt.Errorf("bench: start the bare asynq server: %w", err)
	}
	defer srv.Shutdown()
	client := asynq.NewClientFromRedisClient(conn.Client)
	enqueue := func(ctx context.Context, id string) error {
		_, err := client.EnqueueContext(ctx, asynq.NewTask("bench:deliver", []byte(`{"id":"`+id+`"}`)),
			asynq.Queue(ceilingQueue), asynq.MaxRetry(3), asynq.Timeout(10*time.Minute))
		return err
	}
	feed := func(ctx context.Context, i int) error { return enqueue(ctx, "cb_bench"+strconv.Itoa(i)) }
	if ref != bare {
		front, err := startEndpoint(frontHandler{enqueue: enqueue, rdb: rdb, body: body})
		if err != nil {
			return 0, redisLoad{}, err
		}
		defer front.close()
		c := newSimClient(front.Addr(), qrisToken, "")
		defer c.conns.close()
		feed = func(ctx context.Context, i int) error {
			_, err := c.simulate(ctx, "bench"+strconv.Itoa(i))
			return err
		}
	}
	n := e.opts.N
	e.rec.reset(n)
	load, err := e.measureRedis(ctx)
	if err != nil {
		return 0, redisLoad{}, err
	}
	start := time.Now()
	if err := parallel(ctx, n, e.opts.Clients, feed); err != nil {
		return 0, redisLoad{}, fmt.Errorf("bench: %s: feed: %w", ref, err)
	}
	if err := e.rec.wait(ctx, time.Minute); err != nil {
		return 0, redisLoad{}, err
	}
	_, last := e.rec.arrived()
	l, err := load()
	return perSecond(n, last.Sub(start)), l, err
}
