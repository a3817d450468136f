package scheduler_test

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hibiken/asynq"

	"github.com/callbacksim/callbacksim/internal/queue"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/scheduler"
)

// fakeRunner records when each task was run, and answers errs in turn
// (nil once they are used up).
type fakeRunner struct {
	mu   sync.Mutex
	runs map[string][]time.Time
	errs []error
}

func (r *fakeRunner) RunTask(queue, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if queue != "q" {
		return errors.New("wrong queue " + queue)
	}
	if r.runs == nil {
		r.runs = map[string][]time.Time{}
	}
	r.runs[id] = append(r.runs[id], time.Now())
	if len(r.errs) == 0 {
		return nil
	}
	err := r.errs[0]
	r.errs = r.errs[1:]
	return err
}

func (r *fakeRunner) runsOf(id string) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.runs[id]...)
}

// TestWaker runs in synctest bubbles: the fake clock moves only when every
// goroutine waits, so each wake-up is checked to the nanosecond.
func TestWaker(t *testing.T) {
	const lead = 20 * time.Millisecond

	t.Run("runs the task lead before it is due, not earlier", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := &fakeRunner{}
			w := scheduler.NewWaker(r, "q", lead)
			defer w.Stop()
			due := time.Now().Add(200 * time.Millisecond)
			w.Wake("t1", due)
			time.Sleep(200*time.Millisecond - lead - time.Nanosecond)
			if runs := r.runsOf("t1"); len(runs) != 0 {
				t.Fatalf("ran %s before its due time, more than the lead", due.Sub(runs[0]))
			}
			synctest.Wait()
			time.Sleep(time.Second)
			if runs := r.runsOf("t1"); len(runs) != 1 || !runs[0].Equal(due.Add(-lead)) {
				t.Errorf("runs = %v, want one at %s (the lead before its due time)", runs, due.Add(-lead))
			}
			if n := w.Pending(); n != 0 {
				t.Errorf("Pending = %d after the wake-up, want 0", n)
			}
		})
	})

	t.Run("a later wake replaces an earlier one", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := &fakeRunner{}
			w := scheduler.NewWaker(r, "q", lead)
			defer w.Stop()
			w.Wake("t2", time.Now().Add(50*time.Millisecond))
			due := time.Now().Add(400 * time.Millisecond)
			w.Wake("t2", due)
			time.Sleep(time.Second)
			if runs := r.runsOf("t2"); len(runs) != 1 || !runs[0].Equal(due.Add(-lead)) {
				t.Errorf("runs = %v, want one, at the second wake's time %s", runs, due.Add(-lead))
			}
		})
	})

	t.Run("a due time already past: shortly, never at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := &fakeRunner{}
			w := scheduler.NewWaker(r, "q", lead)
			defer w.Stop()
			start := time.Now()
			w.Wake("t3", start.Add(-time.Second))
			if runs := r.runsOf("t3"); len(runs) != 0 {
				t.Fatal("ran within Wake: the task is not in the retry set before its handler returns")
			}
			time.Sleep(time.Second)
			if runs := r.runsOf("t3"); len(runs) != 1 || runs[0].Sub(start) != time.Millisecond {
				t.Errorf("runs = %v, want one a millisecond after Wake", runs)
			}
		})
	})

	t.Run("a task not in the retry set yet is tried again, with backoff", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			notYet := errors.New("task is active")
			r := &fakeRunner{errs: []error{notYet, notYet}}
			w := scheduler.NewWaker(r, "q", lead)
			defer w.Stop()
			due := time.Now().Add(lead + 10*time.Millisecond)
			w.Wake("t4", due)
			time.Sleep(time.Second)
			runs := r.runsOf("t4")
			at := due.Add(-lead)
			want := []time.Time{at, at.Add(time.Millisecond), at.Add(3 * time.Millisecond)}
			if len(runs) != len(want) {
				t.Fatalf("runs = %v, want %v", runs, want)
			}
			for i := range want {
				if !runs[i].Equal(want[i]) {
					t.Errorf("run %d at %s, want %s", i+1, runs[i], want[i])
				}
			}
		})
	})

	t.Run("an unknown task is given up at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := &fakeRunner{errs: []error{asynq.ErrTaskNotFound}}
			w := scheduler.NewWaker(r, "q", lead)
			defer w.Stop()
			w.Wake("nope", time.Now())
			time.Sleep(time.Second)
			if runs := r.runsOf("nope"); len(runs) != 1 {
				t.Errorf("tried %d times, want once", len(runs))
			}
			if n := w.Pending(); n != 0 {
				t.Errorf("%d wake-ups still pending", n)
			}
		})
	})

	t.Run("stop cancels waiting wake-ups", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := &fakeRunner{}
			w := scheduler.NewWaker(r, "q", lead)
			w.Wake("t5", time.Now().Add(100*time.Millisecond))
			w.Stop()
			w.Wake("t5", time.Now()) // ignored after Stop
			if n := w.Pending(); n != 0 {
				t.Errorf("Pending after Stop = %d, want 0", n)
			}
			time.Sleep(time.Second)
			if runs := r.runsOf("t5"); len(runs) != 0 {
				t.Errorf("ran %d times after Stop, want never", len(runs))
			}
		})
	})
}

// TestWakerMovesAsynqTasks runs a wake-up against asynq's own Inspector on
// a real Redis: the scheduled task becomes pending.
func TestWakerMovesAsynqTasks(t *testing.T) {
	rdb := redistest.Start(t).Client()
	client := asynq.NewClientFromRedisClient(rdb)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	_, err := client.Enqueue(asynq.NewTask(queue.TypeDeliver, []byte(`{"id":"cb_1"}`)),
		asynq.Queue(queue.Name), asynq.TaskID("cb_1"), asynq.ProcessIn(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	w := scheduler.NewWaker(insp, queue.Name, 0)
	defer w.Stop()
	w.Wake("cb_1", time.Now())
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, err := insp.GetTaskInfo(queue.Name, "cb_1")
		if err != nil {
			t.Fatal(err)
		}
		if info.State == asynq.TaskStatePending {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("task still %s 5s after its wake-up, want pending", info.State)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
