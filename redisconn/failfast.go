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

// setDuration sets *d to v when it is unset.
func setDuration(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

func setInt(n *int, v int) {
	if *n == 0 {
		*n = v
	}
}

func failFast(o *redis.Options) *redis.Options {
	setDuration(&o.DialTimeout, DialTimeout)
	setInt(&o.DialerRetries, DialerRetries)
	setInt(&o.MaxRetries, MaxRetries)
	setDuration(&o.ReadTimeout, ReadTimeout)
	setDuration(&o.WriteTimeout, WriteTimeout)
	setDuration(&o.PoolTimeout, PoolTimeout)
	return o
}

func failFastFailover(o *redis.FailoverOptions) *redis.FailoverOptions {
	setDuration(&o.DialTimeout, DialTimeout)
	setInt(&o.DialerRetries, DialerRetries)
	setInt(&o.MaxRetries, MaxRetries)
	setDuration(&o.ReadTimeout, ReadTimeout)
	setDuration(&o.WriteTimeout, WriteTimeout)
	setDuration(&o.PoolTimeout, PoolTimeout)
	return o
}

func failFastCluster(o *redis.ClusterOptions) *redis.ClusterOptions {
	setDuration(&o.DialTimeout, DialTimeout)
	setInt(&o.DialerRetries, DialerRetries)
	setInt(&o.MaxRetries, MaxRetries)
	setDuration(&o.ReadTimeout, ReadTimeout)
	setDuration(&o.WriteTimeout, WriteTimeout)
	setDuration(&o.PoolTimeout, PoolTimeout)
	return o
}
