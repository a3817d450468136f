package metrics

import (
	"slices"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// Queue task states, as the state label of callbacksim_queue_tasks has them.
const (
	StatePending   = "pending"   // due, waiting for a free worker
	StateActive    = "active"    // being processed by a worker
	StateScheduled = "scheduled" // waiting for its time (a held first attempt)
	StateRetry     = "retry"     // waiting for its retry time
	StateArchived  = "archived"  // ended as failed or rejected (asynq keeps them for inspection)
)

// QueueStates lists every state label value, in a stable order.
var QueueStates = []string{StatePending, StateActive, StateScheduled, StateRetry, StateArchived}

// DefaultInspectTimeout bounds how long a scrape waits for Redis to answer
// the queue collector.
const DefaultInspectTimeout = 2 * time.Second

// QueueInspector is the part of asynq's Inspector the queue collector reads.
type QueueInspector interface {
	Queues() ([]string, error)
	GetQueueInfo(queue string) (*asynq.QueueInfo, error)
}

var _ QueueInspector = (*asynq.Inspector)(nil)

// QueueCollector is a prometheus.Collector that reads the depth of asynq
// queues from Redis at scrape time:
//
//	callbacksim_queue_tasks{queue,state}     tasks per state
//	callbacksim_queue_latency_seconds{queue} age of the oldest pending task
//	callbacksim_queue_up                     1 when Redis answered, else 0
//
// When Redis does not answer within Timeout, the scrape reports
// callbacksim_queue_up 0 and no queue gauges, and the other metrics of the
// process are still served. The zero value is not usable: call
// NewQueueCollector.
type QueueCollector struct {
	// Timeout bounds each scrape's wait for Redis (DefaultInspectTimeout).
	Timeout time.Duration

	inspector QueueInspector
	queues    []string
	// inflight holds one token: at most one read of Redis runs at a time,
	// so scrapes of an unreachable Redis do not pile up goroutines.
	inflight chan struct{}

	tasks, latency, up *prometheus.Desc
}

var _ prometheus.Collector = (*QueueCollector)(nil)

// NewQueueCollector returns a collector of the named queues. Only these are
// reported, so the queue label stays bounded even when other applications
// share the Redis.
func NewQueueCollector(insp QueueInspector, queues ...string) *QueueCollector {
	c := &QueueCollector{
		Timeout:   DefaultInspectTimeout,
		inspector: insp,
		queues:    slices.Clone(queues),
		inflight:  make(chan struct{}, 1),
		tasks: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "queue", "tasks"),
			"Tasks in the delivery queue, by state, read from Redis at scrape time.",
			[]string{"queue", "state"}, nil),
		latency: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "queue", "latency_seconds"),
			"Age of the oldest pending task of the queue (0 when none is pending).",
			[]string{"queue"}, nil),
		up: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "queue", "up"),
			"Whether the last read of the queue gauges from Redis succeeded (1) or not (0).",
			nil, nil),
	}
	c.inflight <- struct{}{}
	return c
}

// Describe implements prometheus.Collector.
func (c *QueueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.tasks
	ch <- c.latency
	ch <- c.up
}

// Collect implements prometheus.Collector.
func (c *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	infos, ok := c.readWithin(c.Timeout)
	if !ok {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, info := range infos {
		for _, st := range QueueStates {
			ch <- prometheus.MustNewConstMetric(c.tasks, prometheus.GaugeValue, float64(count(info, st)), info.Queue, st)
		}
		ch <- prometheus.MustNewConstMetric(c.latency, prometheus.GaugeValue, info.Latency.Seconds(), info.Queue)
	}
}

// readWithin reads every queue, giving up after timeout. It answers false
// when Redis failed or was too slow, or when an earlier read still runs.
func (c *QueueCollector) readWithin(timeout time.Duration) ([]asynq.QueueInfo, bool) {
	select {
	case <-c.inflight:
	default:
		return nil, false
	}
	type result struct {
		infos []asynq.QueueInfo
		err   error
	}
	done := make(chan result, 1)
	go func() {
		infos, err := c.read()
		// Free the slot before answering, so that a scrape that follows this
		// one at once does not find it taken.
		c.inflight <- struct{}{}
		done <- result{infos, err}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.infos, r.err == nil
	case <-timer.C:
		return nil, false
	}
}

// read returns the info of every collected queue; a queue asynq does not
// know yet (nothing was ever enqueued to it) reads as empty.
func (c *QueueCollector) read() ([]asynq.QueueInfo, error) {
	known, err := c.inspector.Queues()
	if err != nil {
		return nil, err
	}
	infos := make([]asynq.QueueInfo, 0, len(c.queues))
	for _, q := range c.queues {
		if !slices.Contains(known, q) {
			infos = append(infos, asynq.QueueInfo{Queue: q})
			continue
		}
		info, err := c.inspector.GetQueueInfo(q)
		if err != nil {
			return nil, err
		}
		infos = append(infos, *info)
	}
	return infos, nil
}

func count(info asynq.QueueInfo, state string) int {
	switch state {
	case StatePending:
		return info.Pending
	case StateActive:
		return info.Active
	case StateScheduled:
		return info.Scheduled
	case StateRetry:
		return info.Retry
	case StateArchived:
		return info.Archived
	}
	return 0
}
