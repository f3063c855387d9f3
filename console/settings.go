package console

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// analyticsSettings is the admin API's /settings/analytics.
type analyticsSettings struct {
	Addresses            []string `json:"addresses"`
	FlushInterval        string   `json:"flush_interval,omitempty"`
	BatchSize            int      `json:"batch_size,omitempty"`
	MaxConcurrentBatches int      `json:"max_concurrent_batches,omitempty"`
	RetentionDays        int      `json:"retention_days,omitempty"`
}

func (s *Server) analyticsSettingsPage(w http.ResponseWriter, r *http.Request, ss *session) {
	var cur analyticsSettings
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/settings/analytics", token: ss.token}, &cur); err != nil {
		if e, ok := err.(*apiError); ok && e.Status == http.StatusNotFound {
			s.render(w, r, http.StatusOK, "error", &page{Title: "Analytics settings", Session: ss, Message: e.Message})
			return
		}
		s.fail(w, r, ss, 0, err)
		return
	}
	p := &page{Title: "Analytics settings", Session: ss, Data: cur}
	if r.URL.Query().Get("saved") != "" {
		p.Message = "Saved: every node of the cluster applies these settings."
	}
	s.render(w, r, http.StatusOK, "analytics_settings", p)
}

// setAnalyticsSettings saves the form: its addresses, less the one whose
// Remove button was pressed, plus the one in the Add Address field.
func (s *Server) setAnalyticsSettings(w http.ResponseWriter, r *http.Request, ss *session) {
	in := analyticsSettings{Addresses: []string{}, FlushInterval: strings.TrimSpace(r.PostFormValue("flush_interval"))}
	for _, a := range r.PostForm["address"] {
		if a = strings.TrimSpace(a); a != "" && a != r.PostFormValue("remove") {
			in.Addresses = append(in.Addresses, a)
		}
	}
	if a := strings.TrimSpace(r.PostFormValue("add")); a != "" && !slices.Contains(in.Addresses, a) {
		in.Addresses = append(in.Addresses, a)
	}
	var bad *apiError
	for _, f := range []struct {
		name string
		v    *int
	}{{"batch_size", &in.BatchSize}, {"max_concurrent_batches", &in.MaxConcurrentBatches}, {"retention_days", &in.RetentionDays}} {
		v := strings.TrimSpace(r.PostFormValue(f.name))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil && bad == nil {
			bad = &apiError{Status: http.StatusBadRequest, Field: f.name, Message: f.name + " must be a whole number"}
		}
		*f.v = n
	}
	if bad == nil {
		err := s.do(r, apiCall{method: http.MethodPut, path: "/settings/analytics", token: ss.token, body: in}, nil)
		if err == nil {
			done(w, r, "/console/settings/analytics?saved=1")
			return
		}
		e, ok := err.(*apiError)
		if !ok || e.Status >= 500 || e.Status == http.StatusUnauthorized {
			s.fail(w, r, ss, 0, err)
			return
		}
		bad = e
	}
	s.render(w, r, bad.Status, "analytics_settings", &page{Title: "Analytics settings", Session: ss, Error: bad, Data: in})
}
