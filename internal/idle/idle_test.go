package idle_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/callbacksim/callbacksim/internal/idle"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
)

const queueName = "q"

// worker is an asynq server on a real Redis whose Redis client is an
// idle.Client, and a count of the tasks it ran.
type worker struct {
	rdb  *redis.Client
	idle *idle.Client
	srv  *asynq.Server
	ran  chan string
}

// startWorker starts a worker that polls every poll and waits up to wait
// for work. asynq's own forwarding is left at a minute: nothing here
// needs it.
func startWorker(t *testing.T, poll, wait time.Duration) *worker {
	t.Helper()
	r := redistest.Start(t)
	w := &worker{rdb: r.Client(), ran: make(chan string, 10)}
	w.idle = idle.New(w.rdb, r.Client(), queueName, wait)
	w.srv = asynq.NewServerFromRedisClient(w.idle, asynq.Config{
		Concurrency: 2, Queues: map[string]int{queueName: 1},
		TaskCheckInterval: poll, DelayedTaskCheckInterval: time.Minute,
		LogLevel: asynq.FatalLevel,
	})
	err := w.srv.Start(asynq.HandlerFunc(func(_ context.Context, task *asynq.Task) error {
		w.ran <- string(task.Payload())
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.idle.Stop()
		w.srv.Shutdown()
	})
	return w
}

// info reads one field of an INFO section; 0 when absent.
func (w *worker) info(t *testing.T, section, field string) int {
	t.Helper()
	m, err := w.rdb.InfoMap(context.Background(), section).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, fields := range m {
		if v, ok := fields[field]; ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// calls is how often Redis ran a command since the last CONFIG RESETSTAT
// (INFO commandstats).
func (w *worker) calls(t *testing.T, name string) int {
	t.Helper()
	m, err := w.rdb.InfoMap(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Split(m["Commandstats"]["cmdstat_"+name], ",") {
		if v, ok := strings.CutPrefix(f, "calls="); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

// waitIdle waits until the worker blocks in Redis, waiting for work.
func (w *worker) waitIdle(t *testing.T) {
	t.Helper()
	simtest.Eventually(t, 10*time.Second, func() bool { return w.info(t, "clients", "blocked_clients") >= 1 },
		func() string { return "the idle worker to block in Redis" })
}

// An idle worker runs one dequeue per wait, not one per poll: in the two
// seconds and more that three waits of a second take, polling every 10 ms
// would run its dequeue script some two hundred times.
func TestIdleWorkerWaitsInsteadOfPolling(t *testing.T) {
	w := startWorker(t, 10*time.Millisecond, time.Second)
	w.waitIdle(t)
	// Count from the end of the first wait: asynq's start-up scripts (the
	// recoverer's and forwarder's first runs) are over by then, even on a
	// loaded machine.
	simtest.Eventually(t, 10*time.Second, func() bool { return w.calls(t, "blmove") >= 1 },
		func() string { return "the first wait to end" })
	if err := w.rdb.ConfigResetStat(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	simtest.Eventually(t, 30*time.Second, func() bool { return w.calls(t, "blmove") >= 3 },
		func() string { return fmt.Sprintf("3 waits (blmove %d)", w.calls(t, "blmove")) })
	waits, scripts := w.calls(t, "blmove"), w.calls(t, "evalsha")+w.calls(t, "eval")
	// One dequeue before each wait, and asynq's heartbeat (every 5 s).
	if scripts > waits+3 {
		t.Errorf("%d scripts run during %d waits for work, want at most %d: the idle worker polls", scripts, waits, waits+3)
	}
}

// A task that becomes pending reaches an idle worker at once, however it
// gets there: the worker blocks in Redis (waitIdle) for up to a minute.
func TestWorkReachesAnIdleWorkerAtOnce(t *testing.T) {
	for _, tt := range []struct {
		name string
		push func(c *asynq.Client, insp *asynq.Inspector) error
	}{
		{"enqueued", func(c *asynq.Client, _ *asynq.Inspector) error {
			_, err := c.Enqueue(asynq.NewTask("t", []byte("enqueued")), asynq.Queue(queueName))
			return err
		}},
		{"moved from the scheduled set (the Waker, retry-now)", func(c *asynq.Client, insp *asynq.Inspector) error {
			if _, err := c.Enqueue(asynq.NewTask("t", []byte("moved")), asynq.Queue(queueName),
				asynq.TaskID("later"), asynq.ProcessIn(time.Hour)); err != nil {
				return err
			}
			return insp.RunTask(queueName, "later")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := startWorker(t, 10*time.Millisecond, time.Minute)
			w.waitIdle(t)
			c, insp := asynq.NewClientFromRedisClient(w.rdb), asynq.NewInspectorFromRedisClient(w.rdb)
			if err := tt.push(c, insp); err != nil {
				t.Fatal(err)
			}
			select {
			case <-w.ran:
			case <-time.After(10 * time.Second):
				t.Fatal("the task did not run within 10s; the idle worker waits a minute for work")
			}
		})
	}
}

// Stop ends a wait in progress, so that a shutdown does not wait for it.
func TestStopEndsTheWait(t *testing.T) {
	w := startWorker(t, 10*time.Millisecond, time.Minute)
	w.waitIdle(t)
	done := make(chan struct{})
	go func() {
		w.idle.Stop()
		w.srv.Shutdown()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not shut down within 10s of Stop; the wait for work lasts a minute")
	}
}

// A wait leaves the pending list as it found it: same tasks, same order.
func TestWaitLeavesThePendingListAlone(t *testing.T) {
	rdb := redistest.Start(t).Client()
	ctx := context.Background()
	key := "asynq:{" + queueName + "}:pending"
	want := []string{"c", "b", "a"} // asynq pushes on the left and takes from the right
	if err := rdb.LPush(ctx, key, "a", "b", "c").Err(); err != nil {
		t.Fatal(err)
	}
	c := idle.New(rdb, rdb, queueName, time.Second)
	if !c.Wait(ctx) {
		t.Fatal("Wait = false with tasks pending")
	}
	got, err := rdb.LRange(ctx, key, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pending list after Wait (-want +got):\n%s", diff)
	}
}
