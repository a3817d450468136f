package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/callbacksim/callbacksim/internal/metrics"
	"github.com/callbacksim/callbacksim/internal/redistest"
)

const testQueue = "callbacks"

// scrape gathers a registry holding only c and returns its samples by
// "name{label=value,...}".
func scrape(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for i, l := range m.GetLabel() {
				sep := ","
				if i == 0 {
					sep = "{"
				}
				key += sep + l.GetName() + "=" + l.GetValue()
			}
			if len(m.GetLabel()) > 0 {
				key += "}"
			}
			out[key] = m.GetGauge().GetValue()
		}
	}
	return out
}

func waitFor(t *testing.T, timeout time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func tasksKey(state string) string {
	return fmt.Sprintf("callbacksim_queue_tasks{queue=%s,state=%s}", testQueue, state)
}

func TestQueueCollectorReadsEveryStateFromRedis(t *testing.T) {
	r := redistest.Start(t)
	rdb := r.Client()
	insp := asynq.NewInspectorFromRedisClient(rdb)
	client := asynq.NewClientFromRedisClient(rdb)
	c := metrics.NewQueueCollector(insp, testQueue)

	// A worker holds one task (active) and fails another, whose retry is
	// an hour away (retry).
	release := make(chan struct{})
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency: 2, Queues: map[string]int{testQueue: 1},
		TaskCheckInterval: 10 * time.Millisecond,
		RetryDelayFunc:    func(int, error, *asynq.Task) time.Duration { return time.Hour },
		LogLevel:          asynq.FatalLevel,
	})
	err := srv.Start(asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
		if task.Type() == "fail" {
			return errors.New("merchant answered 500")
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	t.Cleanup(func() { close(release) })
	enqueue := func(typ string, opts ...asynq.Option) *asynq.TaskInfo {
		t.Helper()
		info, err := client.Enqueue(asynq.NewTask(typ, nil), append(opts, asynq.Queue(testQueue))...)
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	enqueue("block")
	enqueue("fail")
	var got map[string]float64
	waitFor(t, 10*time.Second, func() bool {
		got = scrape(t, c)
		return got[tasksKey("active")] == 1 && got[tasksKey("retry")] == 1
	}, "one active and one retry task")

	// With the queue paused, new tasks stay where they are put.
	if err := insp.PauseQueue(testQueue); err != nil {
		t.Fatal(err)
	}
	firstPending := time.Now()
	for range 3 {
		enqueue("block")
	}
	enqueue("block", asynq.ProcessIn(time.Hour))
	archived := enqueue("block")
	if err := insp.ArchiveTask(testQueue, archived.ID); err != nil {
		t.Fatal(err)
	}

	got = scrape(t, c)
	latency := got["callbacksim_queue_latency_seconds{queue="+testQueue+"}"]
	if age := time.Since(firstPending).Seconds(); latency <= 0 || latency > age {
		t.Errorf("latency = %vs, want the age of the oldest pending task (0 < latency <= %vs)", latency, age)
	}
	delete(got, "callbacksim_queue_latency_seconds{queue="+testQueue+"}")
	want := map[string]float64{
		"callbacksim_queue_up": 1,
		tasksKey("pending"):    3,
		tasksKey("active"):     1,
		tasksKey("scheduled"):  1,
		tasksKey("retry"):      1,
		tasksKey("archived"):   1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queue gauges (-want +got):\n%s", diff)
	}
}

func TestQueueCollectorReportsAnUnknownQueueAsEmpty(t *testing.T) {
	r := redistest.Start(t)
	c := metrics.NewQueueCollector(asynq.NewInspectorFromRedisClient(r.Client()), testQueue)
	got := scrape(t, c)
	want := map[string]float64{
		"callbacksim_queue_up": 1,
		"callbacksim_queue_latency_seconds{queue=" + testQueue + "}": 0,
	}
	for _, st := range metrics.QueueStates {
		want[tasksKey(st)] = 0
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queue gauges (-want +got):\n%s", diff)
	}
}

func TestQueueCollectorReportsDownWhenRedisIsGone(t *testing.T) {
	r := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	c := metrics.NewQueueCollector(asynq.NewInspectorFromRedisClient(rdb), testQueue)
	if got := scrape(t, c)["callbacksim_queue_up"]; got != 1 {
		t.Fatalf("queue_up = %v with Redis running, want 1", got)
	}
	r.Stop()
	want := map[string]float64{"callbacksim_queue_up": 0}
	if diff := cmp.Diff(want, scrape(t, c)); diff != "" {
		t.Errorf("with Redis stopped (-want +got):\n%s", diff)
	}
}

func TestQueueCollectorDoesNotHangOnASilentRedis(t *testing.T) {
	// A server that accepts connections and never answers: each read waits
	// for the client's read timeout (3 s), far past the collector's.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: l.Addr().String(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	c := metrics.NewQueueCollector(asynq.NewInspectorFromRedisClient(rdb), testQueue)
	c.Timeout = 100 * time.Millisecond

	want := map[string]float64{"callbacksim_queue_up": 0}
	for i := range 2 { // the second scrape meets the first read still running
		start := time.Now()
		got := scrape(t, c)
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("scrape %d took %s, want about the 100ms timeout", i+1, took)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("scrape %d (-want +got):\n%s", i+1, diff)
		}
	}
}
