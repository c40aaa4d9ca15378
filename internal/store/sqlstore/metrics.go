package sqlstore

import (
	"database/sql"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlitevfs"
)

// storeMetrics measures the write path's commits and exports the pools'
// statistics. The store owns them and the node registers them (Metrics),
// so no registry is global.
type storeMetrics struct {
	commitSeconds prometheus.Histogram
	batchSize     prometheus.Histogram // group commit only
	retries       atomic.Int64         // transactions run again (PostgreSQL)
	collectors    []prometheus.Collector
}

// newStoreMetrics measures a store of dialect d on the pools w and r (r may
// be w); batched says writes go through the group committer.
func newStoreMetrics(d Dialect, w, r *sql.DB, batched bool) *storeMetrics {
	m := &storeMetrics{
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gatehouse_store_commit_seconds",
			Help:    "Time of one write transaction's COMMIT (on SQLite one group commit's, with its fsync).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gatehouse_store_commit_batch_size",
			Help:    "Write transactions of concurrent callers that shared one SQLite group commit.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, maxBatch},
		}),
	}
	m.collectors = append(m.collectors, m.commitSeconds)
	if d.retryable != nil {
		m.collectors = append(m.collectors, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gatehouse_store_transaction_retries_total",
			Help: "Write transactions PostgreSQL aborted as a deadlock's victim or for a serialization failure, and the store ran again.",
		}, func() float64 { return float64(m.retries.Load()) }))
	}
	if batched {
		m.collectors = append(m.collectors, m.batchSize)
	}
	if batched && sqlitevfs.VFS() != "" {
		// A flush costs a small machine's core far more than the commit
		// it makes durable (performance.md): their rate is worth watching.
		m.collectors = append(m.collectors, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gatehouse_store_fsyncs_total",
			Help: "fsyncs of the SQLite database and its WAL (commits' and checkpoints'), by this process.",
		}, func() float64 {
			async, blocking := sqlitevfs.Stats()
			return float64(async + blocking)
		}))
	}
	// Each pool's database/sql statistics (go_sql_*), labelled db_name.
	if r == w {
		m.collectors = append(m.collectors, collectors.NewDBStatsCollector(w, d.name))
	} else {
		m.collectors = append(m.collectors, collectors.NewDBStatsCollector(w, d.name+"_writer"), collectors.NewDBStatsCollector(r, d.name+"_reader"))
	}
	return m
}

// observeCommit records one COMMIT that started at start.
func (m *storeMetrics) observeCommit(start time.Time) {
	m.commitSeconds.Observe(time.Since(start).Seconds())
}

// Metrics returns the store's collectors: commit latency, the group
// commit's batch sizes (SQLite), the read cache's hits and misses (SQLite)
// and each connection pool's statistics.
func (s *Store) Metrics() []prometheus.Collector {
	if s.cache == nil {
		return s.metrics.collectors
	}
	c := s.cache
	return append(s.metrics.collectors[:len(s.metrics.collectors):len(s.metrics.collectors)],
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gatehouse_store_read_cache_hits_total",
			Help: "Reads of a token, user, session, integration or authorization code served by the SQLite read cache.",
		}, func() float64 { return float64(c.hits.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gatehouse_store_read_cache_misses_total",
			Help: "Reads of a token, user, session, integration or authorization code the SQLite read cache could not serve (read from the database).",
		}, func() float64 { return float64(c.misses.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gatehouse_store_read_cache_drops_total",
			Help: "Times the SQLite read cache dropped everything (a write that may change any row, or a commit it could not account for).",
		}, func() float64 { return float64(c.drops.Load()) }),
	)
}
