package sqlstore

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/store/sqlstore/sqlitevfs"
)

func TestCommitMetrics(t *testing.T) {
	s := openSQLite(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Metrics()...)
	before := gatherHistograms(t, reg)
	ctx := t.Context()
	newTestCommitter(s).run([]*writeJob{insertUserJob(ctx, "a", nil), insertUserJob(ctx, "b", nil), insertUserJob(ctx, "c", nil)})
	after := gatherHistograms(t, reg)
	if n := after["gatehouse_store_commit_batch_size"].count - before["gatehouse_store_commit_batch_size"].count; n != 1 {
		t.Errorf("batches observed: %d, want 1", n)
	}
	if sum := after["gatehouse_store_commit_batch_size"].sum - before["gatehouse_store_commit_batch_size"].sum; sum != 3 {
		t.Errorf("batch sizes add up to %v, want 3", sum)
	}
	if n := after["gatehouse_store_commit_seconds"].count - before["gatehouse_store_commit_seconds"].count; n != 1 {
		t.Errorf("commits observed: %d, want 1", n)
	}
	if sqlitevfs.VFS() != "" {
		// That durable commit flushed the WAL at least once.
		if n := after["gatehouse_store_fsyncs_total"].sum - before["gatehouse_store_fsyncs_total"].sum; n < 1 {
			t.Errorf("fsyncs counted for a durable commit: %v, want at least 1", n)
		}
	}
	// Both pools of the SQLite store report their statistics.
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	pools := map[string]bool{}
	for _, f := range families {
		if f.GetName() != "go_sql_open_connections" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				pools[l.GetName()+"="+l.GetValue()] = true
			}
		}
	}
	if !pools["db_name=sqlite_writer"] || !pools["db_name=sqlite_reader"] {
		t.Errorf("go_sql_open_connections for %v", pools)
	}
}

type histogram struct {
	count uint64
	sum   float64
}

func gatherHistograms(t *testing.T, reg *prometheus.Registry) map[string]histogram {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]histogram{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				out[f.GetName()] = histogram{h.GetSampleCount(), h.GetSampleSum()}
			}
			if c := m.GetCounter(); c != nil { // a counter's value as the sum
				out[f.GetName()] = histogram{sum: c.GetValue()}
			}
		}
	}
	return out
}
