package reliability_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/dispatcher"
	"github.com/callbacksim/callbacksim/internal/app"
	"github.com/callbacksim/callbacksim/internal/hostile"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/simtest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// TestHugeResponseHeadersStaySmall: merchants answering megabytes of
// headers, or thousands of header lines, leave a small record. Before the
// caps, one answering 8 MB of headers made each callback's record over
// 8 MB and grew Redis by as much; now the transport stops reading at
// dispatcher.MaxResponseHeaderBytes (a failed attempt) and an attempt keeps
// at most dispatcher.MaxKeptHeaders values.
func TestHugeResponseHeadersStaySmall(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	cfg := simtest.Config(r.URL())
	cfg.Providers.QRIS.Retry.Schedule = nil // one attempt each
	sim := simtest.StartConfig(t, cfg, app.Roles{API: true, Worker: true}, r)
	rdb := r.Client()
	ctx := context.Background()
	usedMemory := func() int {
		info, err := rdb.InfoMap(ctx, "memory").Result()
		if err != nil {
			t.Fatalf("INFO memory: %v", err)
		}
		n, _ := strconv.Atoi(info["Memory"]["used_memory"])
		return n
	}
	// A first callback starts what is made once (the worker, the pools).
	waitStatus(t, sim, []string{submit(t, sim, "demo-qris-token", "WARM", newMerchant(t, http.StatusOK).URL)}, store.StatusDelivered, 10*time.Second)
	before := usedMemory()

	tests := []struct {
		name    string
		server  *hostile.Server
		status  store.Status
		errPart string
		cut     bool
	}{
		{"8 MB of headers", hostile.HugeHeaders(t, 8<<20, 1000), store.StatusFailed, "headers exceeded", false},
		{"60 KiB of headers in 1000 lines", hostile.HugeHeaders(t, 60<<10, 60), store.StatusDelivered, "", true},
	}
	const maxRecord = 64 << 10 // far above what a record of these holds
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := submit(t, sim, "demo-qris-token", "HEADERS-"+strconv.Itoa(i), tt.server.URL)
			cb := waitStatus(t, sim, []string{id}, tt.status, 15*time.Second)[id]
			a := cb.Attempts[0]
			if !strings.Contains(a.Error, tt.errPart) {
				t.Errorf("attempt error %q, want it to say %q", a.Error, tt.errPart)
			}
			if tt.cut && (a.Response == nil || !a.Response.HeadersTruncated || len(a.Response.Headers) > dispatcher.MaxKeptHeaders) {
				n, cut := 0, false
				if a.Response != nil {
					n, cut = len(a.Response.Headers), a.Response.HeadersTruncated
				}
				t.Errorf("recorded %d headers, headers_truncated %v; want at most %d, marked headers_truncated", n, cut, dispatcher.MaxKeptHeaders)
			}
			stored := 0
			for _, v := range rdb.LRange(ctx, "cbs:{"+id+"}:attempts", 0, -1).Val() {
				stored += len(v)
			}
			api := len(sim.Admin(http.MethodGet, "/v1/callbacks/"+id, nil).Body)
			t.Logf("stored attempts: %d bytes; GET /v1/callbacks/%s: %d bytes", stored, id, api)
			if stored == 0 || stored > maxRecord || api > maxRecord {
				t.Errorf("stored attempts %d bytes, API answer %d bytes; want both under %d", stored, api, maxRecord)
			}
		})
	}
	grown := usedMemory() - before
	t.Logf("Redis used_memory grew by %d bytes for %d callbacks", grown, len(tests))
	if grown > 1<<20 {
		t.Errorf("Redis grew by %d bytes for %d callbacks, want under 1 MiB", grown, len(tests))
	}
}
