package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsCoverEveryValue(t *testing.T) {
	prevHi := int64(-1)
	for i := 0; i < numBuckets; i++ {
		lo, hi := bucketRange(i)
		if lo != prevHi+1 || hi < lo {
			t.Fatalf("bucket %d is [%d, %d] after one ending at %d", i, lo, hi, prevHi)
		}
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d: [%d, %d] maps to %d, %d", i, lo, hi, bucketOf(lo), bucketOf(hi))
		}
		if lo > 0 && float64(hi-lo) > float64(lo)/subCount {
			t.Fatalf("bucket %d [%d, %d] is wider than 1/%d of its values", i, lo, hi, subCount)
		}
		prevHi = hi
	}
	if prevHi != maxValue {
		t.Fatalf("the last bucket ends at %d, want %d", prevHi, maxValue)
	}
	if bucketOf(-5) != 0 || bucketOf(math.MaxInt64) != numBuckets-1 {
		t.Fatal("out-of-range values are not clamped")
	}
}

func TestPercentilesMatchSortedSample(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		gen  func() time.Duration
	}{
		{"uniform", func() time.Duration { return time.Duration(1+r.IntN(10000)) * time.Microsecond }},
		{"exponential", func() time.Duration { return time.Duration(r.ExpFloat64() * float64(time.Millisecond)) }},
		{"bimodal", func() time.Duration {
			if r.IntN(100) < 95 {
				return 200*time.Microsecond + time.Duration(r.IntN(100))*time.Microsecond
			}
			return 50*time.Millisecond + time.Duration(r.IntN(1000))*time.Microsecond
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Histogram
			var sample []time.Duration
			for range 100000 {
				d := tc.gen()
				h.Record(d)
				sample = append(sample, d)
			}
			slices.Sort(sample)
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
				want := sample[int(math.Ceil(q*float64(len(sample))))-1]
				got := h.Percentile(q)
				if diff := math.Abs(float64(got - want)); diff > float64(want)/100+1 {
					t.Errorf("p%g = %v, the sorted sample says %v", q*100, got, want)
				}
			}
			if h.Max() != sample[len(sample)-1] || h.Min() != sample[0] || h.Count() != uint64(len(sample)) {
				t.Errorf("max %v min %v count %d", h.Max(), h.Min(), h.Count())
			}
		})
	}
}

func TestHistogramSmallAndMerged(t *testing.T) {
	var empty Histogram
	if empty.Percentile(0.5) != 0 || empty.Mean() != 0 {
		t.Fatal("an empty histogram reports values")
	}
	var a, b Histogram
	for i := 1; i <= 100; i++ {
		if i%2 == 0 {
			a.Record(time.Duration(i))
		} else {
			b.Record(time.Duration(i))
		}
	}
	a.Merge(&b)
	if a.Count() != 100 || a.Percentile(0.5) != 50 || a.Percentile(0.99) != 99 || a.Percentile(1) != 100 || a.Min() != 1 {
		t.Fatalf("count %d p50 %v p99 %v p100 %v min %v", a.Count(), a.Percentile(0.5), a.Percentile(0.99), a.Percentile(1), a.Min())
	}
	if a.Mean() != 50 { // 50.5 truncated
		t.Fatalf("mean %v", a.Mean())
	}
	var one Histogram
	one.Record(3 * time.Second)
	if p := one.Percentile(0.5); p != 3*time.Second {
		t.Fatalf("a single value reports p50 %v", p)
	}
}

func TestMedian(t *testing.T) {
	if median([]float64{3, 1, 2}) != 2 || median([]float64{4, 1, 2, 3}) != 2.5 || median(nil) != 0 {
		t.Fatal("median")
	}
}
