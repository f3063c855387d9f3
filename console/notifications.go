package console

import (
	"net/http"
	"net/url"
	"time"
)

// notification is an item of GET /notifications.
type notification struct {
	ID      string    `json:"id"`
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Message string    `json:"message"`
	Read    bool      `json:"read"`
}

type notificationsData struct {
	Items  []notification
	Before string // the ?before= of the next (older) page
}

func (s *Server) notificationsPage(w http.ResponseWriter, r *http.Request, ss *session) {
	q := url.Values{"limit": {"50"}}
	if b := r.URL.Query().Get("before"); b != "" {
		q.Set("before", b)
	}
	var l list[notification]
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/notifications", query: q, token: ss.token}, &l); err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	d := notificationsData{Items: l.Items}
	if len(l.Items) == 50 {
		d.Before = l.Items[len(l.Items)-1].Time.Format(time.RFC3339Nano)
	}
	s.render(w, r, http.StatusOK, "notifications", &page{Title: "Notifications", Session: ss, Data: d})
}

func (s *Server) markRead(w http.ResponseWriter, r *http.Request, ss *session) {
	if err := s.do(r, apiCall{method: http.MethodPost, path: "/notifications/read", token: ss.token}, nil); err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	done(w, r, "/console/notifications")
}
