package bench

import (
	"math/bits"
	"time"
)

// The histogram is log-linear, like HdrHistogram: values below 2^(subBits+1)
// nanoseconds have their own bucket, and every further power of two is split
// into 2^subBits linear buckets, so a recorded value is known to within
// 1/2^subBits (0.8%) of itself. Values above maxValue are clamped.
const (
	subBits    = 7
	subCount   = 1 << subBits
	maxShift   = 30 // 2^(maxShift+subBits+1) ns ≈ 275 s
	numBuckets = (maxShift + 2) * subCount
	maxValue   = 1<<(maxShift+subBits+1) - 1
)

// Histogram records latencies in fixed memory. The zero value is ready to use;
// it is not safe for concurrent use (each worker has its own; Merge joins them).
type Histogram struct {
	counts   [numBuckets]uint64
	total    uint64
	min, max int64
	sum      float64
}

func bucketOf(v int64) int {
	if v < 0 {
		v = 0
	}
	if v > maxValue {
		v = maxValue
	}
	shift := bits.Len64(uint64(v)) - subBits - 1
	if shift <= 0 {
		return int(v)
	}
	return shift*subCount + int(v>>shift)
}

// bucketRange returns the smallest and largest value that fall in bucket i.
func bucketRange(i int) (lo, hi int64) {
	shift := i/subCount - 1
	if shift <= 0 {
		return int64(i), int64(i)
	}
	m := int64(i - shift*subCount)
	return m << shift, (m+1)<<shift - 1
}

// Record adds one latency.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	h.counts[bucketOf(v)]++
	if h.total == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.total++
	h.sum += float64(v)
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total }

// Max is the largest recorded value (exact).
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min is the smallest recorded value (exact).
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Mean is the average of the recorded values.
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.total))
}

// Merge adds o's values to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.total += o.total
	h.sum += o.sum
}

// Percentile returns the value below or at which q (0 < q ≤ 1) of the
// recorded values lie: the middle of the bucket holding the value of rank
// ⌈q·n⌉, kept within the exact minimum and maximum.
func (h *Histogram) Percentile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.999999999)
	if rank < 1 {
		rank = 1
	}
	if rank > h.total {
		rank = h.total
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			v := lo + (hi-lo)/2
			v = max(v, h.min)
			v = min(v, h.max)
			return time.Duration(v)
		}
	}
	return time.Duration(h.max)
}
