package scheduler_test

import (
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/callbacksim/callbacksim/internal/queue"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/scheduler"
)

// scheduleTask puts task id in asynq's scheduled set, an hour away.
func scheduleTask(t *testing.T, client *asynq.Client, id string) {
	t.Helper()
	_, err := client.Enqueue(asynq.NewTask(queue.TypeDeliver, []byte(`{"id":"`+id+`"}`)),
		asynq.Queue(queue.Name), asynq.TaskID(id), asynq.ProcessIn(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
}

func state(t *testing.T, insp *asynq.Inspector, id string) asynq.TaskState {
	t.Helper()
	info, err := insp.GetTaskInfo(queue.Name, id)
	if err != nil {
		t.Fatal(err)
	}
	return info.State
}

// waitPending polls until task id is pending and returns when it was seen so.
func waitPending(t *testing.T, insp *asynq.Inspector, id string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for state(t, insp, id) != asynq.TaskStatePending {
		if time.Now().After(deadline) {
			t.Fatalf("task %s not pending after %s", id, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Now()
}

func TestWaker(t *testing.T) {
	rdb := redistest.Start(t).Client()
	client := asynq.NewClientFromRedisClient(rdb)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	const lead = 20 * time.Millisecond
	w := scheduler.NewWaker(insp, queue.Name, lead)
	defer w.Stop()

	t.Run("runs the task lead before it is due, not earlier", func(t *testing.T) {
		scheduleTask(t, client, "t1")
		due := time.Now().Add(200 * time.Millisecond)
		w.Wake("t1", due)
		if s := state(t, insp, "t1"); s != asynq.TaskStateScheduled {
			t.Fatalf("state right after Wake = %s, want scheduled", s)
		}
		at := waitPending(t, insp, "t1", 5*time.Second)
		if at.Before(due.Add(-lead)) {
			t.Errorf("pending %s before its due time, want at most the lead %s", due.Sub(at), lead)
		}
	})

	t.Run("a later wake replaces an earlier one", func(t *testing.T) {
		scheduleTask(t, client, "t2")
		w.Wake("t2", time.Now().Add(50*time.Millisecond))
		due := time.Now().Add(400 * time.Millisecond)
		w.Wake("t2", due)
		at := waitPending(t, insp, "t2", 5*time.Second)
		if at.Before(due.Add(-lead)) {
			t.Errorf("pending %s before the second wake's due time", due.Sub(at))
		}
	})

	t.Run("an unknown task is given up at once", func(t *testing.T) {
		w.Wake("nope", time.Now())
		deadline := time.Now().Add(5 * time.Second)
		for w.Pending() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d wake-ups still pending", w.Pending())
			}
			time.Sleep(2 * time.Millisecond)
		}
	})

	t.Run("stop cancels waiting wake-ups", func(t *testing.T) {
		scheduleTask(t, client, "t3")
		w2 := scheduler.NewWaker(insp, queue.Name, lead)
		w2.Wake("t3", time.Now().Add(100*time.Millisecond))
		w2.Stop()
		w2.Wake("t3", time.Now()) // ignored after Stop
		if n := w2.Pending(); n != 0 {
			t.Errorf("Pending after Stop = %d, want 0", n)
		}
		// Wait past the cancelled due time: the task stays scheduled.
		deadline := time.Now().Add(300 * time.Millisecond)
		for time.Now().Before(deadline) {
			if s := state(t, insp, "t3"); s != asynq.TaskStateScheduled {
				t.Fatalf("state after a cancelled wake-up = %s, want scheduled", s)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
