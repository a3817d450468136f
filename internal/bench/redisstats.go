package bench

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// redisLoad is what Redis did during a phase: commands run (those inside
// Lua scripts included) and the CPU time its process used.
type redisLoad struct {
	Commands int64
	Reads    int64            // read events Redis handled: about one per round trip
	CPU      time.Duration    // the redis-server's
	Self     time.Duration    // this process's: simulator, clients and merchant
	ByName   map[string]int64 // calls by command name
	Usec     map[string]int64 // microseconds spent by command name
	Phases   string           // when the phases of the run ended
}

// perCallback formats the load per callback of n.
func (l redisLoad) perCallback(n int) string {
	if n == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f redis commands in %.1f round trips, CPU %d µs redis + %d µs Go", float64(l.Commands)/float64(n),
		float64(l.Reads)/float64(n), l.CPU.Microseconds()/int64(n), l.Self.Microseconds()/int64(n))
}

// detail lists the commands per callback of n, most frequent first.
func (l redisLoad) detail(n int) string {
	names := make([]string, 0, len(l.ByName))
	for k := range l.ByName {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(l.ByName[b], l.ByName[a]) })
	var b strings.Builder
	for _, k := range names {
		if per := float64(l.ByName[k]) / float64(n); per >= 0.05 {
			fmt.Fprintf(&b, " %s %.1f (%.1f µs)", k, per, float64(l.Usec[k])/float64(n))
		}
	}
	return strings.TrimSpace(b.String())
}

// redisCPU is the server's used_cpu_user + used_cpu_sys.
func (e *env) redisCPU(ctx context.Context) (time.Duration, error) {
	info, err := e.rdb.InfoMap(ctx, "cpu").Result()
	if err != nil {
		return 0, fmt.Errorf("bench: INFO cpu: %w", err)
	}
	var total float64
	for _, k := range []string{"used_cpu_user", "used_cpu_sys"} {
		v, err := strconv.ParseFloat(strings.TrimSpace(info["CPU"][k]), 64)
		if err != nil {
			return 0, fmt.Errorf("bench: INFO cpu %s: %w", k, err)
		}
		total += v
	}
	return time.Duration(total * float64(time.Second)), nil
}

// redisReads is INFO stats total_reads_processed: the read events Redis
// handled, about one per round trip of a client (a pipeline is one).
func (e *env) redisReads(ctx context.Context) (int64, error) {
	info, err := e.rdb.InfoMap(ctx, "stats").Result()
	if err != nil {
		return 0, fmt.Errorf("bench: INFO stats: %w", err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(info["Stats"]["total_reads_processed"]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bench: INFO stats total_reads_processed: %w", err)
	}
	return n, nil
}

// measureRedis resets Redis's command statistics and returns what reads
// the load since then.
func (e *env) measureRedis(ctx context.Context) (func() (redisLoad, error), error) {
	if err := e.rdb.ConfigResetStat(ctx).Err(); err != nil {
		return nil, fmt.Errorf("bench: CONFIG RESETSTAT: %w", err)
	}
	cpu0, err := e.redisCPU(ctx)
	if err != nil {
		return nil, err
	}
	reads0, err := e.redisReads(ctx)
	if err != nil {
		return nil, err
	}
	self0 := selfCPU()
	return func() (redisLoad, error) {
		self1 := selfCPU()
		cpu1, err := e.redisCPU(ctx)
		if err != nil {
			return redisLoad{}, err
		}
		reads1, err := e.redisReads(ctx)
		if err != nil {
			return redisLoad{}, err
		}
		info, err := e.rdb.InfoMap(ctx, "commandstats").Result()
		if err != nil {
			return redisLoad{}, fmt.Errorf("bench: INFO commandstats: %w", err)
		}
		l := redisLoad{Reads: reads1 - reads0, CPU: cpu1 - cpu0, Self: self1 - self0, ByName: map[string]int64{}, Usec: map[string]int64{}}
		for name, v := range info["Commandstats"] {
			name = strings.TrimPrefix(name, "cmdstat_")
			if name == "info" || name == "config|resetstat" {
				continue
			}
			// calls=12,usec=34,...
			for _, f := range strings.Split(v, ",") {
				if c, ok := strings.CutPrefix(f, "calls="); ok {
					n, _ := strconv.ParseInt(c, 10, 64)
					l.Commands += n
					l.ByName[name] += n
				}
				if c, ok := strings.CutPrefix(f, "usec="); ok {
					n, _ := strconv.ParseInt(c, 10, 64)
					l.Usec[name] += n
				}
			}
		}
		return l, nil
	}, nil
}

// selfCPU is the user and system CPU time this process used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
