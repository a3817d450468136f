package queue_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/opstest"
	"github.com/callbacksim/callbacksim/internal/queue"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// TestArchiveHoldsTheFailedAndRejectedCallbacks resends callbacks that
// ended every way and checks that asynq's archive holds one task per
// failed or rejected callback, whatever the resends did.
func TestArchiveHoldsTheFailedAndRejectedCallbacks(t *testing.T) {
	r := redistest.Start(t)
	cfg := opstest.Config(r.URL()) // QRIS: 3 attempts, then failed
	cfg.Providers.QRIS.StopCodes = []int{http.StatusNotAcceptable}
	sim := simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)
	insp := asynq.NewInspectorFromRedisClient(r.Client())
	resend := func(id string, attempts int) store.Callback {
		t.Helper()
		if res := sim.Admin(http.MethodPost, "/v1/callbacks/"+id+"/resend", nil); res.Status != http.StatusAccepted {
			t.Fatalf("resend %s: %d %s", id, res.Status, res.Body)
		}
		var cb store.Callback
		simtest.Eventually(t, 10*time.Second, func() bool {
			cb = sim.Callback(id)
			return len(cb.Attempts) == attempts
		}, func() string { return fmt.Sprintf("the resend of %s to be recorded", id) })
		return cb
	}
	archived := func() int {
		info, err := insp.GetQueueInfo(queue.Name)
		if err != nil {
			t.Fatal(err)
		}
		return info.Archived
	}

	// Failed, then delivered by a resend: its archived task goes.
	recovered := simtest.NewMerchant(t, 500, 500, 500, 200)
	a := opstest.QRISCallback(t, sim.URL, "ORDER-ARCH-A", recovered.URL, "SUCCESS")
	sim.WaitStatus(a, store.StatusFailed, 10*time.Second)
	// Failed, and failed again by a resend: one archived task, not two.
	failing := simtest.NewMerchant(t, 500)
	b := opstest.QRISCallback(t, sim.URL, "ORDER-ARCH-B", failing.URL, "SUCCESS")
	sim.WaitStatus(b, store.StatusFailed, 10*time.Second)
	// Delivered, then rejected by a resend: archived from then on.
	turned := simtest.NewMerchant(t, 200, 406)
	c := opstest.QRISCallback(t, sim.URL, "ORDER-ARCH-C", turned.URL, "SUCCESS")
	sim.WaitStatus(c, store.StatusDelivered, 10*time.Second)
	// Rejected, then delivered by a resend.
	relented := simtest.NewMerchant(t, 406, 200)
	d := opstest.QRISCallback(t, sim.URL, "ORDER-ARCH-D", relented.URL, "SUCCESS")
	sim.WaitStatus(d, store.StatusRejected, 10*time.Second)
	if n := archived(); n != 3 {
		t.Errorf("%d archived tasks before the resends, want 3 (two failed, one rejected)", n)
	}

	for _, tc := range []struct {
		id       string
		attempts int
		want     store.Status
	}{{a, 4, store.StatusDelivered}, {b, 4, store.StatusFailed}, {b, 5, store.StatusFailed}, {c, 2, store.StatusRejected}, {d, 2, store.StatusDelivered}} {
		if cb := resend(tc.id, tc.attempts); cb.Status != tc.want {
			t.Errorf("%s after a resend: %s, want %s", tc.id, cb.Status, tc.want)
		}
	}
	// b (failed) and c (rejected).
	var n int
	simtest.Eventually(t, 10*time.Second, func() bool { n = archived(); return n == 2 }, func() string {
		return fmt.Sprintf("2 archived tasks, one per failed or rejected callback (have %d)", n)
	})
	for _, id := range []string{b, c} {
		if info, err := insp.GetTaskInfo(queue.Name, id); err != nil || info.State != asynq.TaskStateArchived {
			t.Errorf("the task of %s: %v %v, want archived", id, info, err)
		}
	}
}
