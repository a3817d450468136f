package redisconn

import (
	"time"

	"github.com/redis/go-redis/v9"
)

// Fail-fast client settings. go-redis's own defaults (a 5 s dial timeout,
// 5 dial attempts per connection, 3 retries per command, 5 s read timeout)
// make a request wait about 1.7 s for "connection refused" and much longer
// for a server that does not answer at all; with these, an API request
// answers 503 within a few tens of milliseconds while Redis is down and
// within about 2 s while it hangs. Values given in redis.url's query
// (dial_timeout, read_timeout, max_retries, ...) win.
const (
	DialTimeout   = time.Second
	DialerRetries = 1
	MaxRetries    = 1
	ReadTimeout   = 2 * time.Second
	WriteTimeout  = 2 * time.Second
	PoolTimeout   = 3 * time.Second
)

// clientSettings points at the fail-fast fields that go-redis's option
// types (single, failover, cluster) each have.
type clientSettings struct {
	dial, read, write, pool *time.Duration
	dialerRetries, retries  *int
}

// apply sets every unset field to its fail-fast value.
func (c clientSettings) apply() {
	for _, d := range []struct {
		field *time.Duration
		value time.Duration
	}{{c.dial, DialTimeout}, {c.read, ReadTimeout}, {c.write, WriteTimeout}, {c.pool, PoolTimeout}} {
		if *d.field == 0 {
			*d.field = d.value
		}
	}
	if *c.dialerRetries == 0 {
		*c.dialerRetries = DialerRetries
	}
	if *c.retries == 0 {
		*c.retries = MaxRetries
	}
}

func failFast(o *redis.Options) *redis.Options {
	clientSettings{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.DialerRetries, &o.MaxRetries}.apply()
	return o
}

func failFastFailover(o *redis.FailoverOptions) *redis.FailoverOptions {
	clientSettings{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.DialerRetries, &o.MaxRetries}.apply()
	return o
}

func failFastCluster(o *redis.ClusterOptions) *redis.ClusterOptions {
	clientSettings{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout, &o.DialerRetries, &o.MaxRetries}.apply()
	return o
}
