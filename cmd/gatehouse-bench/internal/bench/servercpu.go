package bench

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on
// every Linux the tool runs on.
const clockTicks = 100

// serversCPU is the CPU time (user and system) the processes have used so
// far, read from /proc; a process that cannot be read counts 0.
func serversCPU(pids []int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		// The command name (field 2) may hold spaces: fields count from its ")".
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 13 {
			continue
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64) // field 14
		stime, _ := strconv.ParseInt(f[12], 10, 64) // field 15
		total += time.Duration(utime+stime) * time.Second / clockTicks
	}
	return total
}

// flushesMetric is the node's count of SQLite fsyncs (gatehouse_store_fsyncs_total).
const flushesMetric = "gatehouse_store_fsyncs_total"

// serversFlushes sums the nodes' flushesMetric from their /metrics; ok is
// false when a node does not give it (not on loopback or in metrics.allow,
// a PostgreSQL node, a SQLite build without the fsync-counting VFS).
func serversFlushes(ctx context.Context, urls []string) (total float64, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, u := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(u, "/")+"/metrics", nil)
		if err != nil {
			return 0, false
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, false
		}
		n, found := metricValue(resp, flushesMetric)
		resp.Body.Close()
		if !found {
			return 0, false
		}
		total += n
	}
	return total, len(urls) > 0
}

// metricValue finds an unlabelled sample of name in a Prometheus text answer.
func metricValue(resp *http.Response, name string) (float64, bool) {
	if resp.StatusCode != http.StatusOK {
		return 0, false
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		value, found := strings.CutPrefix(sc.Text(), name+" ")
		if !found {
			continue
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		return n, err == nil
	}
	return 0, false
}
