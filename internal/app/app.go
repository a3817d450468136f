// Package app assembles a callbacksim process from its configuration: Redis,
// the store, the queue, the gateways, the operator API, the delivery workers
// and the HTTP server, and runs them until its context ends.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/dispatcher"
	"github.com/callbacksim/callbacksim/internal/api"
	"github.com/callbacksim/callbacksim/internal/buildinfo"
	"github.com/callbacksim/callbacksim/internal/check"
	"github.com/callbacksim/callbacksim/internal/connlimit"
	"github.com/callbacksim/callbacksim/internal/egress"
	"github.com/callbacksim/callbacksim/internal/gateway/centili"
	"github.com/callbacksim/callbacksim/internal/gateway/cinetpay"
	"github.com/callbacksim/callbacksim/internal/gateway/qris"
	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/idle"
	"github.com/callbacksim/callbacksim/internal/metrics"
	"github.com/callbacksim/callbacksim/internal/queue"
	"github.com/callbacksim/callbacksim/internal/ratelimit"
	"github.com/callbacksim/callbacksim/internal/redisconn"
	"github.com/callbacksim/callbacksim/internal/session"
	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/internal/web"
	"github.com/callbacksim/callbacksim/scheduler"
)

// idleWait bounds one wait of an idle worker for work in Redis
// (idle.Client): an idle worker runs two Redis commands per idleWait.
const idleWait = 5 * time.Second

// MinAdminToken is the admin token length under which start-up warns.
const MinAdminToken = 16

// Roles says what a process does: serve the API, deliver callbacks, or both.
type Roles struct {
	API    bool
	Worker bool
}

// App is one running callbacksim process.
type App struct {
	cfg      config.Config
	roles    Roles
	log      *slog.Logger
	conn     *redisconn.Conn
	store    *store.Store
	client   *asynq.Client
	inspect  *asynq.Inspector
	server   *asynq.Server
	waits    *idle.Client // the server's Redis client: idle workers wait in Redis for work
	timing   scheduler.Timing
	waker    *scheduler.Waker
	handler  http.Handler
	served   http.Handler // handler with the guards of the connection
	registry *prometheus.Registry
	metrics  *metrics.Metrics
	queue    *queue.Queue
	checks   *check.Runner // nil without the API role
	listener net.Listener
	// draining is set once Run's context ends; working while the worker
	// role's asynq server runs (from its start to the start of its
	// shutdown). Both feed /readyz.
	draining, working atomic.Bool
}

// Why /readyz answers 503 although Redis answers.
var (
	// ErrDraining: the process is shutting down; in-flight work finishes.
	ErrDraining = errors.New("draining: the process is shutting down")
	// ErrWorkersStopped: a worker process whose delivery workers do not run.
	ErrWorkersStopped = errors.New("the delivery workers are not running")
)

// New builds a process. It opens Redis (starting the embedded one when
// none is configured) and binds the HTTP address, but starts no work: Run
// does.
func New(cfg config.Config, roles Roles, log *slog.Logger) (*App, error) {
	redisconn.SetLogger(log)
	if roles.API && len(cfg.Admin.Token) < MinAdminToken {
		log.Warn("admin.token is short: anyone who can reach the API may guess it; use 16 characters or more", "length", len(cfg.Admin.Token), "minimum", MinAdminToken)
	}
	conn, err := redisconn.Open(cfg.Redis)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, roles: roles, log: log, conn: conn, registry: prometheus.NewRegistry()}
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), metrics.NewBuildInfo(buildinfo.Read()))
	a.metrics = metrics.New(a.registry)
	a.store = store.New(conn.Client, cfg.Retention)
	a.client = asynq.NewClientFromRedisClient(a.store.ScriptClient()) // enqueues join the store's pipelines
	a.inspect = asynq.NewInspectorFromRedisClient(conn.Client)
	a.registry.MustRegister(metrics.NewQueueCollector(a.inspect, queue.Name))
	a.timing = scheduler.NewTiming(cfg.Worker.PollInterval)
	q := queue.New(a.store, a.client, a.inspect, a.timing)
	a.queue = q

	opts := api.Options{Redis: conn, Gatherer: a.registry, Metrics: a.metrics, Log: log, Ready: a.ready}
	if roles.API {
		// One budget of wrong credentials per client, whichever it guesses.
		fails := ratelimit.NewFailures(cfg.HTTP.AuthFailuresPerMinute)
		sessions := session.New(cfg.Admin.Token, a.store, cfg.Admin.SessionTTL, fails)
		qg, cg, zg := qris.New(cfg, a.store, q, a.metrics, fails), cinetpay.New(cfg, a.store, q, a.metrics, fails), centili.New(cfg, a.store, q, a.metrics)
		a.checks = check.NewRunner(cfg, a.store, q, check.Gateways{QRIS: qg, CinetPay: cg, Centili: zg}, log)
		opts.Mount = append(opts.Mount, qg, cg, zg,
			api.NewOperator(sessions, a.store, q).Limit(ratelimit.FromConfig(cfg.RateLimit)).Checks(a.checks).Merchants(cfg.Merchants),
			web.New(sessions),
		)
	}
	a.handler = api.NewHandler(opts)
	if roles.Worker {
		a.metrics.WorkerConcurrency(cfg.Worker.Concurrency)
		a.waker = scheduler.NewWaker(a.inspect, queue.Name, a.timing.WakeLead)
		a.waits = idle.New(conn.Client, conn.Another(), queue.Name, idleWait)
		a.server = asynq.NewServerFromRedisClient(a.waits, asynq.Config{
			Concurrency:              cfg.Worker.Concurrency,
			Queues:                   map[string]int{queue.Name: 1},
			TaskCheckInterval:        cfg.Worker.PollInterval,
			DelayedTaskCheckInterval: a.timing.ForwardInterval,
			RetryDelayFunc:           scheduler.RetryDelay(time.Now),
			IsFailure:                dispatcher.IsFailure,
			ShutdownTimeout:          cfg.Worker.ShutdownTimeout,
			Logger:                   asynqLogger{log},
			LogLevel:                 asynq.WarnLevel,
		})
	}
	a.listener, err = net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("app: listen on http.addr %s: %w", cfg.HTTP.Addr, err)
	}
	a.served = httpapi.BodyDeadline(cfg.HTTP.BodyTimeout, a.handler)
	if tcp, ok := a.listener.Addr().(*net.TCPAddr); ok && tcp.IP.IsLoopback() {
		a.served = httpapi.LoopbackHosts(cfg.HTTP.Addr, a.served)
	}
	a.listener = connlimit.New(a.listener, cfg.HTTP.MaxConnsPerClient, a.refusedConn)
	return a, nil
}

// Handler is the process's HTTP handler, without the guards Run adds
// around it (the body deadline, the loopback Host check).
func (a *App) Handler() http.Handler { return a.handler }

// refusedConn logs a connection closed for being over
// http.max_conns_per_client (the CLI's log handler collapses the repeats).
func (a *App) refusedConn(ip string) {
	a.log.Warn("connection refused: the client holds http.max_conns_per_client connections already", "client", ip, "limit", a.cfg.HTTP.MaxConnsPerClient)
}

// Addr is the address the HTTP server listens on.
func (a *App) Addr() string { return a.listener.Addr().String() }

// Embedded reports whether the process runs on the embedded Redis.
func (a *App) Embedded() bool { return a.conn.Embedded() }

// Run serves until ctx ends, then stops taking work, lets in-flight
// attempts finish (within worker.shutdown_timeout) and returns.
func (a *App) Run(ctx context.Context) error {
	var sender *dispatcher.Sender
	if a.server != nil {
		policy, err := egress.FromConfig(a.cfg.Egress)
		if err != nil {
			a.close()
			return fmt.Errorf("app: %w", err)
		}
		sender = dispatcher.NewSender(policy)
		d := dispatcher.New(dispatcher.Options{
			Store: a.store, Providers: newRegistry(a.cfg),
			Sender:  sender,
			Metrics: a.metrics, Log: a.log,
			Waker: a.waker, Timing: a.timing,
			Hosts:   dispatcher.NewHostLimiter(a.cfg.Worker.HostLimit()),
			Settler: a.queue,
		})
		if err := a.server.Start(d); err != nil {
			a.close()
			return fmt.Errorf("app: start workers: %w", err)
		}
		a.working.Store(true)
		go queue.NewRecoverer(a.conn.Client, queue.Name, a.log).Run(ctx)
	}
	srv := &http.Server{Handler: a.served, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(a.listener) }()
	if a.roles.API {
		go a.trimIndexes(ctx)
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	a.log.Info("shutting down")
	a.draining.Store(true)
	// The workers drain first, while the HTTP server still answers: /readyz
	// says 503 and /metrics shows the drain.
	if a.server != nil {
		a.working.Store(false)
		a.waits.Stop()      // else the processor ends its wait for work first
		a.server.Shutdown() // waits for in-flight attempts, up to ShutdownTimeout
		a.waker.Stop()      // asynq runs the tasks still waiting, at their whole second
		sender.CloseIdleConnections()
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	if a.checks != nil {
		a.checks.Shutdown(shutdownCtx) // the runs in progress record that they did not finish
	}
	a.close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// ready is /readyz's check of the process itself: not draining, and, in
// the worker role, its asynq server running.
func (a *App) ready() error {
	switch {
	case a.draining.Load():
		return ErrDraining
	case a.roles.Worker && !a.working.Load():
		return ErrWorkersStopped
	}
	return nil
}

func (a *App) close() {
	if a.waits != nil {
		a.waits.Stop()
	}
	a.client.Close()
	a.inspect.Close()
	a.conn.Close()
}

// trimIndexes drops expired entries from the listing indexes every minute,
// or more often under a short retention.
func (a *App) trimIndexes(ctx context.Context) {
	t := time.NewTicker(min(time.Minute, max(a.cfg.Retention/4, time.Second)))
	defer t.Stop()
	for {
		if err := a.store.Trim(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("trim indexes", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RandomToken returns a random admin token.
func RandomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// asynqLogger sends asynq's logs to slog.
type asynqLogger struct{ log *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.log.Debug(fmt.Sprint(args...), "component", "asynq") }
func (l asynqLogger) Info(args ...any)  { l.log.Info(fmt.Sprint(args...), "component", "asynq") }

// Warn logs asynq's warnings, but for the one it gives about every callback
// that ends failed or rejected: the dispatcher logs that already, at info.
func (l asynqLogger) Warn(args ...any) {
	msg := fmt.Sprint(args...)
	if strings.HasPrefix(msg, "Retry exhausted") {
		l.log.Debug(msg, "component", "asynq")
		return
	}
	l.log.Warn(msg, "component", "asynq")
}
func (l asynqLogger) Error(args ...any) { l.log.Error(fmt.Sprint(args...), "component", "asynq") }

// Fatal logs and exits, as asynq's Logger contract requires.
func (l asynqLogger) Fatal(args ...any) {
	l.log.Error(fmt.Sprint(args...), "component", "asynq")
	os.Exit(1)
}
