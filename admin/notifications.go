package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/portico-gw/portico"
)

// notificationList is the body of GET /api/v1/notifications. There is no
// total: page on with ?before= set to the time of the last item.
type notificationList struct {
	Items []*portico.Notification `json:"items"`
	Limit int                     `json:"limit"`
}

// listNotifications lists notifications newest first: all of them for
// admins, for others those where they are the publisher or the subscriber.
func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request, c *call) error {
	f := portico.NotificationFilter{Limit: defaultLimit}
	q := r.URL.Query()
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > maxLimit {
			return invalid("limit", "limit must be an integer from 1 to %d", maxLimit)
		}
		f.Limit = n
	}
	if q.Has("before") {
		t, err := time.Parse(time.RFC3339Nano, q.Get("before"))
		if err != nil {
			return invalid("before", "before must be a time such as 2024-05-01T12:00:00Z")
		}
		f.Before = t
	}
	if !isAdmin(c.user) {
		f.User = c.user.ID
	}
	out := notificationList{Items: []*portico.Notification{}, Limit: f.Limit}
	if s.Notifications != nil {
		items, err := s.Notifications.Notifications(r.Context(), f)
		if err != nil {
			return s.storeError("listing notifications", err)
		}
		if len(items) > f.Limit {
			items = items[:f.Limit]
		}
		if items != nil {
			out.Items = items
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
