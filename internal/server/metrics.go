package server

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"

	"github.com/gatehouse/gatehouse/internal/clientip"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// nodeMetrics are the metrics the server package itself keeps.
type nodeMetrics struct {
	http   *httpMetrics
	purged prometheus.Counter // janitor rows
}

// registerMetrics builds the node's registry: the Go runtime, the process,
// the store, the token endpoint, sign-ins, sessions, the janitor and every
// request by route. Each part counts where its events happen and only
// hands its collectors over here: no registry is global, so several nodes
// can share a process (tests).
func (g *Gatehouse) registerMetrics(db *sqlstore.Store) {
	g.nodeMetrics = nodeMetrics{
		http: newHTTPMetrics(),
		purged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_janitor_purged_rows_total",
			Help: "Expired or used-up rows this node's janitor deleted.",
		}),
	}
	reg := g.Metrics
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(db.Metrics()...)
	reg.MustRegister(g.OAuth.Metrics()...)
	reg.MustRegister(g.Users.Metrics()...)
	reg.MustRegister(newSessionsCollector(g.Store, g.Now, g.Log), g.nodeMetrics.purged)
	reg.MustRegister(g.nodeMetrics.http.requests, g.nodeMetrics.http.duration)
}

// handleMetrics serves the registry and the integrations' series to
// loopback and to metrics.allow. The TCP peer decides, and a request that
// came through a proxy is refused whatever the peer: a local reverse proxy
// would make every caller look local. Refusals are a plain 404, as if there
// were no such page.
//
// The answer is always the text format (version 0.0.4, which every
// Prometheus reads), gzipped when the scraper accepts it: the integrations'
// series are written after the registry's as they are read (see
// integration.Service.WriteMetrics), which the protobuf and OpenMetrics
// encodings, ended by the registry's last family, would not allow.
func (g *Gatehouse) handleMetrics() http.Handler {
	// A Resolver's list is matched against the TCP peer only: here it is the allow-list.
	allowed := clientip.NewResolver(g.Config.Metrics.Allow)
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if forwarded(r) || !(loopbackPeer(r) || allowed.PeerTrusted(r)) {
			http.NotFound(w, r)
			return
		}
		families, err := g.Metrics.Gather()
		if err != nil { // what could be gathered is served, as the rest is still worth having
			g.Log.Warn("metrics: gathering", "error", err)
		}
		w.Header().Set("Content-Type", string(format))
		w.Header().Set("Vary", "Accept-Encoding")
		var out io.Writer = w
		if acceptsGzip(r) {
			w.Header().Set("Content-Encoding", "gzip")
			gz := gzip.NewWriter(w)
			defer gz.Close()
			out = gz
		}
		enc := expfmt.NewEncoder(out, format)
		for _, f := range families {
			if err := enc.Encode(f); err != nil {
				return // the scraper went away
			}
		}
		if err := g.Integrations.WriteMetrics(r.Context(), out); err != nil && r.Context().Err() == nil {
			g.Log.Warn("metrics: the integrations' series", "error", err)
		}
	})
}

// acceptsGzip reports whether r's Accept-Encoding names gzip with a weight
// above zero (RFC 9110, section 12.5.3).
func acceptsGzip(r *http.Request) bool {
	for _, h := range r.Header.Values("Accept-Encoding") {
		for coding := range strings.SplitSeq(h, ",") {
			name, params, _ := strings.Cut(coding, ";")
			if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
				continue
			}
			q, set := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
			weight, err := strconv.ParseFloat(q, 64)
			return !set || (err == nil && weight > 0)
		}
	}
	return false
}

func forwarded(r *http.Request) bool {
	return r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" || r.Header.Get("X-Real-Ip") != ""
}

func loopbackPeer(r *http.Request) bool {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && peer.Addr().Unmap().IsLoopback()
}

// metricsServer listens on metrics.listen and serves /metrics alone there,
// sending the error that ends it to errc.
func (g *Gatehouse) metricsServer(addr string, errc chan<- error) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics.listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", g.handleMetrics())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          slog.NewLogLogger(g.Log.Handler(), slog.LevelWarn),
	}
	g.Log.Info("serving metrics", "listen", ln.Addr().String())
	go func() { errc <- srv.Serve(ln) }()
	return srv, nil
}

// httpMetrics counts requests by route and status and times them by
// route. The series of a (route, status) are looked up in a map that is
// replaced, never changed, when a new pair shows up, so a request reads it
// without a lock or an allocation. Routes are ServeMux patterns and
// statuses those the handlers write: both sets are small and fixed.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	mu       sync.Mutex // serialises adding series
	series   atomic.Pointer[map[routeStatus]requestSeries]
}

type routeStatus struct {
	route  string
	status int
}

type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

func newHTTPMetrics() *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total",
			Help: "HTTP requests by route (the pattern that matched, or unmatched) and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_http_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its handler, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
	}
	m.series.Store(&map[routeStatus]requestSeries{})
	return m
}

// observe is the access log's reqlog.Observer.
func (m *httpMetrics) observe(route string, status int, d time.Duration) {
	key := routeStatus{route, status}
	s, ok := (*m.series.Load())[key]
	if !ok {
		s = m.add(key)
	}
	s.count.Inc()
	s.duration.Observe(d.Seconds())
}

func (m *httpMetrics) add(key routeStatus) requestSeries {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.series.Load()
	if s, ok := old[key]; ok {
		return s
	}
	s := requestSeries{
		count:    m.requests.WithLabelValues(key.route, strconv.Itoa(key.status)),
		duration: m.duration.WithLabelValues(key.route),
	}
	next := make(map[routeStatus]requestSeries, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[key] = s
	m.series.Store(&next)
	return s
}

// sessionsTTL is how long a count of the active sessions is reused: a
// scrape every few seconds from several scrapers costs one COUNT at most.
const sessionsTTL = 10 * time.Second

// sessionsCollector exports the browser sessions not yet expired, counted
// in the database at a scrape (so every node of a cluster reports the same
// number) and reused for sessionsTTL.
type sessionsCollector struct {
	store store.Store
	now   func() time.Time
	log   *slog.Logger
	desc  *prometheus.Desc

	mu      sync.Mutex
	counted time.Time
	n       int
}

func newSessionsCollector(st store.Store, now func() time.Time, log *slog.Logger) *sessionsCollector {
	return &sessionsCollector{store: st, now: now, log: log, desc: prometheus.NewDesc("gatehouse_sessions_active",
		"Browser sessions not yet expired, on every node (counted at most every 10 s).", nil, nil)}
}

func (c *sessionsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *sessionsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.counted.IsZero() || now.Sub(c.counted) >= sessionsTTL || now.Before(c.counted) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n, err := c.store.CountSessions(ctx, now)
		if err != nil {
			// Left out rather than reported stale: absent() can alert on it.
			c.log.Warn("metrics: cannot count the sessions", "error", err)
			return
		}
		c.counted, c.n = now, n
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(c.n))
}
