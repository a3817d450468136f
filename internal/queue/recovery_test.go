package queue

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/callbacksim/callbacksim/internal/redistest"
)

const queueName = "callbacks"

// TestSweepRequeuesOnlyExpiredLeases runs a real asynq worker on a real
// Redis, holds one task in it, and checks the sweep against asynq's own
// lease: it leaves a live lease alone, leaves an expired one alone for
// RecoveryGrace, then puts the task back in pending, and asynq runs it again.
func TestSweepRequeuesOnlyExpiredLeases(t *testing.T) {
	r := redistest.Start(t)
	rdb := r.Client()
	client := asynq.NewClientFromRedisClient(rdb)
	inspect := asynq.NewInspectorFromRedisClient(rdb)

	var runs atomic.Int32
	release := make(chan struct{})
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency: 1, // the held task fills the only slot: nothing is dequeued behind our back
		Queues:      map[string]int{queueName: 1}, TaskCheckInterval: 10 * time.Millisecond,
		LogLevel: asynq.FatalLevel, ShutdownTimeout: time.Second,
	})
	err := srv.Start(asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
		if runs.Add(1) == 1 {
			<-release // the first run stands for a worker that hangs or died
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	if _, err := client.Enqueue(asynq.NewTask("callback:deliver", []byte(`{"id":"cb_1"}`)), asynq.Queue(queueName), asynq.TaskID("cb_1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() bool { return runs.Load() == 1 }, func() string { return "the task to start" })

	lease, err := rdb.ZScore(context.Background(), "asynq:{"+queueName+"}:lease", "cb_1").Result()
	if err != nil {
		t.Fatalf("the task's lease is not where asynq v0.26 keeps it: %v", err)
	}
	expires := time.Unix(int64(lease), 0)

	rec := NewRecoverer(rdb, queueName, slog.New(slog.NewTextHandler(io.Discard, nil)))
	sweepAt := func(at time.Time) []string {
		t.Helper()
		rec.now = func() time.Time { return at }
		ids, err := rec.Sweep(context.Background())
		if err != nil {
			t.Fatalf("Sweep: %v", err)
		}
		return ids
	}
	if ids := sweepAt(time.Now()); len(ids) != 0 {
		t.Fatalf("Sweep with a live lease requeued %v", ids)
	}
	if ids := sweepAt(expires.Add(RecoveryGrace - time.Second)); len(ids) != 0 {
		t.Fatalf("Sweep %s after the lease expired requeued %v; want nothing before RecoveryGrace (%s)", RecoveryGrace-time.Second, ids, RecoveryGrace)
	}
	if ids := sweepAt(expires.Add(RecoveryGrace)); !slices.Equal(ids, []string{"cb_1"}) {
		t.Fatalf("Sweep RecoveryGrace after the lease expired = %v, want [cb_1]", ids)
	}
	info, err := inspect.GetTaskInfo(queueName, "cb_1")
	if err != nil {
		t.Fatal(err)
	}
	if info.State != asynq.TaskStatePending {
		t.Errorf("task state after the sweep = %v, want pending", info.State)
	}
	if ids := sweepAt(expires.Add(time.Hour)); len(ids) != 0 {
		t.Errorf("a second sweep requeued %v again", ids)
	}

	close(release) // the slot frees; asynq hands the requeued task out again
	eventually(t, 5*time.Second, func() bool { return runs.Load() == 2 }, func() string { return "the requeued task to run again" })
	eventually(t, 5*time.Second, func() bool {
		_, err := inspect.GetTaskInfo(queueName, "cb_1")
		return err != nil // completed tasks without retention are deleted
	}, func() string { return "the requeued task to complete" })
}

func TestSweepReportsRedisDown(t *testing.T) {
	r := redistest.Start(t)
	rec := NewRecoverer(r.Client(), queueName, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.Stop()
	if _, err := rec.Sweep(context.Background()); err == nil {
		t.Fatal("Sweep with Redis down succeeded")
	}
}

// eventually polls cond until it holds or timeout passes (simtest, which has
// the same helper, imports this package through app).
func eventually(t *testing.T, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSweepOnTheEmbeddedRedis: the embedded (miniredis) deployment runs the
// same script.
func TestSweepOnTheEmbeddedRedis(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	p := "asynq:{" + queueName + "}:"
	rdb.ZAdd(ctx, p+"lease", redis.Z{Score: float64(time.Now().Add(-time.Minute).Unix()), Member: "cb_old"},
		redis.Z{Score: float64(time.Now().Add(30 * time.Second).Unix()), Member: "cb_live"})
	rdb.RPush(ctx, p+"active", "cb_old", "cb_live")
	rdb.HSet(ctx, p+"t:cb_old", "state", "active")
	rec := NewRecoverer(rdb, queueName, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ids, err := rec.Sweep(ctx)
	if err != nil || !slices.Equal(ids, []string{"cb_old"}) {
		t.Fatalf("Sweep = %v, %v; want [cb_old]", ids, err)
	}
	if got := rdb.LRange(ctx, p+"pending", 0, -1).Val(); !slices.Equal(got, []string{"cb_old"}) {
		t.Errorf("pending = %v, want [cb_old]", got)
	}
	if got := rdb.LRange(ctx, p+"active", 0, -1).Val(); !slices.Equal(got, []string{"cb_live"}) {
		t.Errorf("active = %v, want [cb_live]", got)
	}
	if got := rdb.HGet(ctx, p+"t:cb_old", "state").Val(); got != "pending" {
		t.Errorf("task state = %q, want pending", got)
	}
}
