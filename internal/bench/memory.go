package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/queue"
	"github.com/callbacksim/callbacksim/internal/redisproc"
)

// usedMemory is INFO memory's used_memory less mem_clients_normal: the
// clients' buffers, which a burst of pipelines swells for a while, hold no
// callback.
func (e *env) usedMemory(ctx context.Context) (int64, error) {
	info, err := e.rdb.InfoMap(ctx, "memory").Result()
	if err != nil {
		return 0, fmt.Errorf("bench: INFO memory: %w", err)
	}
	var v [2]int64
	for i, k := range []string{"used_memory", "mem_clients_normal"} {
		raw := info["Memory"][k]
		if v[i], err = strconv.ParseInt(strings.TrimSpace(raw), 10, 64); err != nil {
			return 0, fmt.Errorf("bench: %s %q: %w", k, raw, err)
		}
	}
	return v[0] - v[1], nil
}

// memory measures 5. Redis bytes per callback: N callbacks created by an
// API-only simulator (pending, their first attempt queued), then delivered
// by a worker-only one (one attempt recorded, the task gone). It runs on a
// redis-server of its own: in the shared one, what the scenarios before
// left behind (about 600 KB after the throughput scenario's FLUSHALL, which
// the callbacks then reuse) made the figure 100-200 bytes too low.
func (e *env) memory(ctx context.Context) error {
	srv, err := redisproc.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	shared, sharedRDB := e.redis, e.rdb
	e.redis, e.rdb = srv, rdb
	defer func() { e.redis, e.rdb = shared, sharedRDB }()
	return e.measureMemory(ctx)
}

func (e *env) measureMemory(ctx context.Context) error {
	n := e.opts.N
	e.printf("\n5. Redis memory per callback: INFO memory used_memory (less the clients' buffers) before and after %d callbacks\n", n)
	api, err := e.startSim(e.config(), app.Roles{API: true})
	if err != nil {
		return err
	}
	defer api.stop()
	orderID := func(i int) string { return fmt.Sprintf("BENCH-M-%06d", i) }
	url := e.merchant.URL + pathOK
	before, err := e.usedMemory(ctx)
	if err != nil {
		return err
	}
	if _, err := e.initiateAll(ctx, api, n, orderID, func(int) string { return url }); err != nil {
		return err
	}
	payments, err := e.usedMemory(ctx)
	if err != nil {
		return err
	}
	e.rec.reset(n)
	simStart := time.Now()
	err = parallel(ctx, n, e.opts.Clients, func(ctx context.Context, i int) error {
		_, err := api.simulate(ctx, orderID(i))
		return err
	})
	if err != nil {
		return err
	}
	simTook := time.Since(simStart)
	pending, err := e.usedMemory(ctx)
	if err != nil {
		return err
	}

	workStart := time.Now()
	worker, err := e.startSim(e.config(), app.Roles{Worker: true})
	if err != nil {
		return err
	}
	if err := e.rec.wait(ctx, time.Minute); err != nil {
		worker.stop()
		return err
	}
	_, last := e.rec.arrived()
	if err := e.waitQueueEmpty(ctx); err != nil {
		worker.stop()
		return err
	}
	if err := worker.stop(); err != nil {
		return err
	}
	delivered, err := e.usedMemory(ctx)
	if err != nil {
		return err
	}
	per := func(a, b int64) string { return thousands(float64(b-a) / float64(n)) }
	e.printf("   payment (initiated)                  %6s bytes each\n", per(before, payments))
	e.printf("   callback pending (task queued)       %6s bytes each\n", per(payments, pending))
	e.printf("   callback with one attempt recorded   %6s bytes each\n", per(payments, delivered))
	e.printf("   (on the way: simulate alone %s/s with no worker; delivery alone %s/s from a full queue)\n",
		thousands(perSecond(n, simTook)), thousands(perSecond(n, last.Sub(workStart))))
	return nil
}

// waitQueueEmpty waits until the callbacks queue holds no pending or active
// task: every attempt is recorded.
func (e *env) waitQueueEmpty(ctx context.Context) error {
	insp := asynq.NewInspectorFromRedisClient(e.rdb)
	deadline := time.Now().Add(time.Minute)
	for {
		info, err := insp.GetQueueInfo(queue.Name)
		if err != nil {
			return fmt.Errorf("bench: queue info: %w", err)
		}
		if info.Pending == 0 && info.Active == 0 && info.Scheduled == 0 && info.Retry == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: queue not empty after a minute: %+v", info)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
