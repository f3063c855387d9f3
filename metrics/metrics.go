// Package metrics exposes Portico's Prometheus metrics. Metrics counts
// requests from the gateway's analytics records (it is a proxy.Recorder)
// and reads the rest — target health, recorder queue, config version,
// cluster nodes — from functions at scrape time.
package metrics

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portico-gw/portico"
)

// Target is the health of one endpoint target of an API.
type Target struct {
	API, Version, URL string
	Up                bool
}

// RecorderStats are the analytics recorder's counters.
type RecorderStats struct {
	Queued, SpoolBytes                   int64
	Recorded, Spooled, Replayed, Dropped int64
}

// Sources are read at every scrape. A nil function leaves its metrics out.
type Sources struct {
	ConfigVersion func() int64
	LiveNodes     func() int
	Targets       func() []Target
	Recorder      func() RecorderStats
	// WriteTimeouts returns, by listener (gateway, admin, metrics), how
	// many writes to clients the write timeout ended.
	WriteTimeouts func() map[string]int64
}

// Metrics holds the registry. Its Record method is safe for concurrent use
// and cheap enough for the request path.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	limited  *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	upstream *prometheus.HistogramVec

	mu   sync.RWMutex
	apis map[apiKey]*apiMetrics
}

type apiKey struct{ api, version string }

// apiMetrics are the children of one API, resolved once.
type apiMetrics struct {
	classes  [6]prometheus.Counter // by status / 100
	limited  prometheus.Counter
	quota    prometheus.Counter
	latency  prometheus.Observer
	upstream prometheus.Observer
}

// latencyBuckets span 1 ms to 30 s.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// New returns Metrics reading src.
func New(src Sources) *Metrics {
	m := &Metrics{
		reg:  prometheus.NewRegistry(),
		apis: map[apiKey]*apiMetrics{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portico_requests_total", Help: "Gateway responses by API, version and status class (2xx…5xx).",
		}, []string{"api", "version", "class"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portico_requests_limited_total", Help: "Requests rejected with 429, by API, version and reason (rate_limited or quota_exceeded).",
		}, []string{"api", "version", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "portico_request_duration_seconds", Help: "Total latency of gateway responses.", Buckets: latencyBuckets,
		}, []string{"api", "version"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "portico_upstream_duration_seconds", Help: "Latency of backend calls, to the response headers.", Buckets: latencyBuckets,
		}, []string{"api", "version"}),
	}
	m.reg.MustRegister(m.requests, m.limited, m.latency, m.upstream,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if src.ConfigVersion != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "portico_config_version", Help: "Version of the configuration this node serves.",
		}, func() float64 { return float64(src.ConfigVersion()) }))
	}
	if src.LiveNodes != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "portico_cluster_nodes", Help: "Live nodes of the cluster.",
		}, func() float64 { return float64(src.LiveNodes()) }))
	}
	if src.Targets != nil {
		m.reg.MustRegister(&targetCollector{src.Targets})
	}
	if src.Recorder != nil {
		m.reg.MustRegister(&recorderCollector{src.Recorder})
	}
	if src.WriteTimeouts != nil {
		m.reg.MustRegister(&writeTimeoutCollector{src.WriteTimeouts})
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Record counts one gateway response.
func (m *Metrics) Record(rec *portico.Record) {
	k := apiKey{rec.API, rec.APIVersion}
	m.mu.RLock()
	am := m.apis[k]
	m.mu.RUnlock()
	if am == nil {
		am = m.resolve(k)
	}
	if c := rec.Status / 100; c >= 1 && c <= 5 {
		am.classes[c].Inc()
	}
	if rec.Status == http.StatusTooManyRequests {
		if rec.ErrorCode == string(portico.EQuotaExceeded) {
			am.quota.Inc()
		} else {
			am.limited.Inc()
		}
	}
	am.latency.Observe(rec.Latency.Seconds())
	if rec.UpstreamLatency > 0 {
		am.upstream.Observe(rec.UpstreamLatency.Seconds())
	}
}

func (m *Metrics) resolve(k apiKey) *apiMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	if am := m.apis[k]; am != nil {
		return am
	}
	am := &apiMetrics{
		limited:  m.limited.WithLabelValues(k.api, k.version, string(portico.ERateLimited)),
		quota:    m.limited.WithLabelValues(k.api, k.version, string(portico.EQuotaExceeded)),
		latency:  m.latency.WithLabelValues(k.api, k.version),
		upstream: m.upstream.WithLabelValues(k.api, k.version),
	}
	for c := 1; c <= 5; c++ {
		am.classes[c] = m.requests.WithLabelValues(k.api, k.version, strconv.Itoa(c)+"xx")
	}
	m.apis[k] = am
	return am
}

type targetCollector struct{ targets func() []Target }

var targetDesc = prometheus.NewDesc("portico_upstream_target_up",
	"1 when an endpoint target takes traffic, 0 while it cools down after refusing connections.",
	[]string{"api", "version", "target"}, nil)

func (c *targetCollector) Describe(ch chan<- *prometheus.Desc) { ch <- targetDesc }
func (c *targetCollector) Collect(ch chan<- prometheus.Metric) {
	for _, t := range c.targets() {
		v := 0.0
		if t.Up {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(targetDesc, prometheus.GaugeValue, v, t.API, t.Version, t.URL)
	}
}

type recorderCollector struct{ stats func() RecorderStats }

var (
	recQueued     = prometheus.NewDesc("portico_analytics_queue_depth", "Analytics records waiting in memory.", nil, nil)
	recSpoolBytes = prometheus.NewDesc("portico_analytics_spool_bytes", "Bytes of analytics batches in the spool file.", nil, nil)
	recRecords    = prometheus.NewDesc("portico_analytics_records_total",
		"Analytics records by outcome: recorded (written to the store, replayed ones included), spooled, replayed (written from the spool), dropped. recorded + dropped + queued + in the spool = records offered.", []string{"outcome"}, nil)
)

func (c *recorderCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- recQueued
	ch <- recSpoolBytes
	ch <- recRecords
}

func (c *recorderCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(recQueued, prometheus.GaugeValue, float64(s.Queued))
	ch <- prometheus.MustNewConstMetric(recSpoolBytes, prometheus.GaugeValue, float64(s.SpoolBytes))
	for _, o := range []struct {
		name string
		v    int64
	}{{"recorded", s.Recorded}, {"spooled", s.Spooled}, {"replayed", s.Replayed}, {"dropped", s.Dropped}} {
		ch <- prometheus.MustNewConstMetric(recRecords, prometheus.CounterValue, float64(o.v), o.name)
	}
}

type writeTimeoutCollector struct{ counts func() map[string]int64 }

var writeTimeoutDesc = prometheus.NewDesc("portico_write_timeouts_total",
	"Connections closed because their client acknowledged no byte of a write for --write-timeout (it stopped reading), by listener.",
	[]string{"listener"}, nil)

func (c *writeTimeoutCollector) Describe(ch chan<- *prometheus.Desc) { ch <- writeTimeoutDesc }
func (c *writeTimeoutCollector) Collect(ch chan<- prometheus.Metric) {
	for name, n := range c.counts() {
		ch <- prometheus.MustNewConstMetric(writeTimeoutDesc, prometheus.CounterValue, float64(n), name)
	}
}
