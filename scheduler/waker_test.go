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

// fakeRunner records when each task was looked at and run; it gives the
// task's states in turn (retry once they are used up; none when missing),
// and answers runs with errs in turn (nil once they are used up).
type fakeRunner struct {
	mu      sync.Mutex
	runs    map[string][]time.Time
	looks   map[string][]time.Time
	states  []asynq.TaskState
	missing bool
	errs    []error
}

func (r *fakeRunner) GetTaskInfo(queue, id string) (*asynq.TaskInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.looks == nil {
		r.looks = map[string][]time.Time{}
	}
	r.looks[id] = append(r.looks[id], time.Now())
	if r.missing {
		return nil, asynq.ErrTaskNotFound
	}
	state := asynq.TaskStateRetry
	if len(r.states) > 0 {
		state, r.states = r.states[0], r.states[1:]
	}
	return &asynq.TaskInfo{ID: id, Queue: queue, State: state}, nil
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

func (r *fakeRunner) looksAt(id string) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.looks[id]...)
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

	t.Run("a task not in the retry set yet is looked at again, with backoff", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := &fakeRunner{states: []asynq.TaskState{asynq.TaskStateActive, asynq.TaskStateActive}}
			w := scheduler.NewWaker(r, "q", lead)
			defer w.Stop()
			due := time.Now().Add(lead + 10*time.Millisecond)
			w.Wake("t4", due)
			time.Sleep(time.Second)
			looks := r.looksAt("t4")
			at := due.Add(-lead)
			want := []time.Time{at, at.Add(time.Millisecond), at.Add(3 * time.Millisecond)}
			if len(looks) != len(want) {
				t.Fatalf("looks = %v, want %v", looks, want)
			}
			for i := range want {
				if !looks[i].Equal(want[i]) {
					t.Errorf("look %d at %s, want %s", i+1, looks[i], want[i])
				}
			}
			if runs := r.runsOf("t4"); len(runs) != 1 || !runs[0].Equal(want[2]) {
				t.Errorf("runs = %v, want one once it was in the retry set, at %s", runs, want[2])
			}
		})
	})

	t.Run("a run that fails is tried again", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := &fakeRunner{errs: []error{errors.New("redis: connection refused")}}
			w := scheduler.NewWaker(r, "q", lead)
			defer w.Stop()
			w.Wake("t6", time.Now())
			time.Sleep(time.Second)
			if runs := r.runsOf("t6"); len(runs) != 2 {
				t.Errorf("ran %d times, want twice", len(runs))
			}
		})
	})

	// Each of these ends the wake-up without moving the task: asynq's
	// RunTask would move an archived task back to pending (the task of a
	// callback that just ended failed or rejected, run again).
	for _, tc := range []struct {
		name  string
		r     *fakeRunner
		looks int
	}{
		{"an unknown task", &fakeRunner{missing: true}, 1},
		{"an archived task", &fakeRunner{states: []asynq.TaskState{asynq.TaskStateArchived}}, 1},
		{"a task already pending", &fakeRunner{states: []asynq.TaskState{asynq.TaskStatePending}}, 1},
		{"a task archived while the wake-up waited for it to leave active", &fakeRunner{states: []asynq.TaskState{asynq.TaskStateActive, asynq.TaskStateArchived}}, 2},
		{"a completed task", &fakeRunner{states: []asynq.TaskState{asynq.TaskStateCompleted}}, 1},
	} {
		t.Run(tc.name+" is left alone", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := scheduler.NewWaker(tc.r, "q", lead)
				defer w.Stop()
				w.Wake("t7", time.Now())
				time.Sleep(time.Second)
				if runs := tc.r.runsOf("t7"); len(runs) != 0 {
					t.Errorf("ran %d times, want never", len(runs))
				}
				if looks := tc.r.looksAt("t7"); len(looks) != tc.looks {
					t.Errorf("looked %d times, want %d", len(looks), tc.looks)
				}
				if n := w.Pending(); n != 0 {
					t.Errorf("%d wake-ups still pending", n)
				}
			})
		})
	}

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

// TestWakerLeavesArchivedTasksArchived wakes a task asynq has archived, on
// a real Redis: asynq's RunTask alone moves it back to pending.
func TestWakerLeavesArchivedTasksArchived(t *testing.T) {
	rdb := redistest.Start(t).Client()
	client := asynq.NewClientFromRedisClient(rdb)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	_, err := client.Enqueue(asynq.NewTask(queue.TypeDeliver, []byte(`{"id":"cb_2"}`)),
		asynq.Queue(queue.Name), asynq.TaskID("cb_2"), asynq.ProcessIn(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := insp.ArchiveTask(queue.Name, "cb_2"); err != nil {
		t.Fatal(err)
	}
	w := scheduler.NewWaker(insp, queue.Name, 0)
	defer w.Stop()
	w.Wake("cb_2", time.Now())
	deadline := time.Now().Add(5 * time.Second)
	for w.Pending() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the wake-up still waits 5s after it was due")
		}
		time.Sleep(5 * time.Millisecond)
	}
	info, err := insp.GetTaskInfo(queue.Name, "cb_2")
	if err != nil {
		t.Fatal(err)
	}
	if info.State != asynq.TaskStateArchived {
		t.Errorf("archived task is %s after a wake-up, want still archived", info.State)
	}
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
