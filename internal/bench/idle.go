package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/callbacksim/callbacksim/internal/app"
)

// idleSettle is how long an idle simulator runs before its CPU is
// measured (at most IdleFor): its start (connections, scripts loaded, a
// first heartbeat) is not idle cost.
const idleSettle = 3 * time.Second

// idle measures 7. what a simulator with nothing to do costs: the CPU time
// (utime + stime in /proc) of this process and of redis-server over IdleFor,
// and the Redis commands it ran; then the same process on the embedded
// Redis, which runs inside it.
func (e *env) idle(ctx context.Context) error {
	o := e.opts
	settle := min(idleSettle, o.IdleFor)
	e.printf("\n7. idle cost over %s (API and worker roles, nothing to do): CPU time as a share of one core\n", o.IdleFor)
	pid, err := e.redisPID(ctx)
	if err != nil {
		return err
	}
	s, err := e.startSim(e.config(), app.Roles{API: true, Worker: true})
	if err != nil {
		return err
	}
	sleep(ctx, settle)
	done, err := e.measureRedis(ctx)
	if err != nil {
		s.stop()
		return err
	}
	self0, redis0 := procCPU("self"), procCPU(pid)
	sleep(ctx, o.IdleFor)
	self, red := procCPU("self")-self0, procCPU(pid)-redis0
	load, err := done()
	s.stop()
	if err != nil {
		return err
	}
	e.printf("   redis-server:  callbacksim %s + redis-server %s = %s; %.1f redis commands/s\n",
		share(self, o.IdleFor), share(red, o.IdleFor), share(self+red, o.IdleFor), float64(load.Commands)/o.IdleFor.Seconds())
	if o.RedisDetail {
		e.printf("     per second: %s\n", load.detail(int(o.IdleFor.Seconds())))
	}

	cfg := e.config()
	cfg.Redis.URL = "" // the embedded Redis, in this process
	s, err = e.startSim(cfg, app.Roles{API: true, Worker: true})
	if err != nil {
		return err
	}
	defer s.stop()
	sleep(ctx, settle)
	self0 = procCPU("self")
	sleep(ctx, o.IdleFor)
	e.printf("   embedded:      callbacksim with its Redis %s\n", share(procCPU("self")-self0, o.IdleFor))
	return ctx.Err()
}

// redisPID is the benchmark's redis-server's process id (INFO server).
func (e *env) redisPID(ctx context.Context) (string, error) {
	info, err := e.rdb.InfoMap(ctx, "server").Result()
	if err != nil {
		return "", fmt.Errorf("bench: INFO server: %w", err)
	}
	pid := strings.TrimSpace(info["Server"]["process_id"])
	if _, err := strconv.Atoi(pid); err != nil {
		return "", fmt.Errorf("bench: INFO server process_id %q: %w", pid, err)
	}
	return pid, nil
}

// clockTick is the unit of the CPU times of /proc/<pid>/stat (USER_HZ,
// 100 on every Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// procCPU is the user plus system CPU time process pid ("self" for this
// one) used so far, from /proc/<pid>/stat; 0 where there is no /proc.
func procCPU(pid string) time.Duration {
	raw, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// pid (comm) state ppid ...: comm may hold spaces, so fields count from
	// the last ')'. utime and stime are fields 14 and 15 of the whole line,
	// 12 and 13 after it.
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * clockTick
}

// share formats cpu used over wall as a percentage of one core.
func share(cpu, wall time.Duration) string {
	return fmt.Sprintf("%.2f%%", 100*cpu.Seconds()/wall.Seconds())
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
