package main

import (
	"encoding/json"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/portico-gw/portico/metrics"
)

// adminMetrics answers GET /metrics on the admin listener: the metrics,
// to requests with the metrics token when one is set (401 to the others);
// without a token, 404, as no credential opens them there (the admin
// API's users and tokens do not) and they are never served open on a
// listener that also serves the admin API.
func (m *Main) adminMetrics() http.Handler {
	if m.Config.MetricsToken != "" {
		return metrics.RequireToken(m.Config.MetricsToken, m.metrics.Handler())
	}
	msg := "/metrics is not served on the admin listener: start the node with --metrics-token " +
		"(PORTICO_METRICS_TOKEN) to serve it here to requests with Authorization: Bearer <token>, " +
		"or with --metrics-addr to serve it on a listener of its own"
	if m.Config.MetricsAddr != "" {
		msg = "/metrics is served on the metrics listener (--metrics-addr), not on the admin listener"
	}
	body, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "not_found", "message": msg}})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write(append(body, '\n'))
	})
}

// newMetricsServer returns the server of the metrics listener
// (--metrics-addr): GET /metrics and nothing else, without
// authentication.
func (m *Main) newMetricsServer(errLog *log.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.metrics.Handler())
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          errLog,
	}
}

// metricsWhere says where this node serves /metrics, for the log.
func (m *Main) metricsWhere() string {
	var where []string
	if m.MetricsAddr != "" {
		where = append(where, m.MetricsAddr)
	}
	if m.Config.MetricsToken != "" {
		where = append(where, "admin listener with token")
	}
	if len(where) == 0 {
		return "off"
	}
	return strings.Join(where, ", ")
}
