package bench

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// summary describes a sample of durations.
type summary struct {
	N                  int
	Min, P50, P99, Max time.Duration
}

// summarize sorts xs and returns its order statistics; percentiles are by
// the nearest-rank method (p99 of 100 values is the 99th smallest).
func summarize(xs []time.Duration) summary {
	if len(xs) == 0 {
		return summary{}
	}
	slices.Sort(xs)
	return summary{
		N: len(xs), Min: xs[0], Max: xs[len(xs)-1],
		P50: percentile(xs, 50), P99: percentile(xs, 99),
	}
}

// percentile returns the p-th percentile of sorted xs by nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// ms formats d in milliseconds with microsecond resolution and a sign.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64) + " ms"
}

// perSecond is n events over d.
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// thousands formats a rate with thousands separators: 10,234.
func thousands(f float64) string {
	s := strconv.FormatInt(int64(math.Round(f)), 10)
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ratio formats a/b with two decimals, or "n/a" when b is zero.
func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", a/b)
}
