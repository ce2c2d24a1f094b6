package httpapi

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/userd/userd/service"
)

type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(pool func() service.PoolStats) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "userd_http_requests_total", Help: "HTTP requests by route pattern and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "userd_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	m.registry.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if pool != nil {
		m.registry.MustRegister(poolCollector{stats: pool})
	}
	return m
}

// routeSeries are the series of one route pattern, looked up at their
// first use (a series appears in /metrics once it has a count) and kept,
// so that a request of the route needs no lookup by label values: its
// latency and its count of 200s, the status most answers have.
type routeSeries struct {
	pattern     string
	latencyOnce sync.Once
	latency     prometheus.Observer
	okOnce      sync.Once
	ok          prometheus.Counter
}

// observe counts a request of the route pattern (series: its series, or
// nil) that answered status in seconds.
func (m *metrics) observe(pattern string, series *routeSeries, status int, seconds float64) {
	if series == nil || series.pattern != pattern {
		m.requests.WithLabelValues(pattern, strconv.Itoa(status)).Inc()
		m.latency.WithLabelValues(pattern).Observe(seconds)
		return
	}
	if status == 200 {
		series.okOnce.Do(func() { series.ok = m.requests.WithLabelValues(pattern, "200") })
		series.ok.Inc()
	} else {
		m.requests.WithLabelValues(pattern, strconv.Itoa(status)).Inc()
	}
	series.latencyOnce.Do(func() { series.latency = m.latency.WithLabelValues(pattern) })
	series.latency.Observe(seconds)
}

var (
	poolTotal    = prometheus.NewDesc("userd_db_pool_connections", "Connections in the pool by state.", []string{"state"}, nil)
	poolMax      = prometheus.NewDesc("userd_db_pool_max_connections", "Pool size limit.", nil, nil)
	poolAcquires = prometheus.NewDesc("userd_db_pool_acquires_total", "Connections acquired from the pool.", nil, nil)
	poolWaits    = prometheus.NewDesc("userd_db_pool_empty_acquires_total", "Acquires that had to wait for a connection.", nil, nil)
	poolWaitSecs = prometheus.NewDesc("userd_db_pool_acquire_seconds_total", "Time spent acquiring connections.", nil, nil)
)

// poolCollector reports connection pool statistics at scrape time.
type poolCollector struct{ stats func() service.PoolStats }

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolTotal, poolMax, poolAcquires, poolWaits, poolWaitSecs} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(poolTotal, prometheus.GaugeValue, float64(s.Idle), "idle")
	ch <- prometheus.MustNewConstMetric(poolTotal, prometheus.GaugeValue, float64(s.Acquired), "acquired")
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.Max))
	ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(s.AcquireCount))
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.EmptyAcquireCount))
	ch <- prometheus.MustNewConstMetric(poolWaitSecs, prometheus.CounterValue, s.AcquireDuration.Seconds())
}
