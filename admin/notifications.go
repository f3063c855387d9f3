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
	Items []notificationItem `json:"items"`
	Limit int                `json:"limit"`
}

// notificationItem is a notification as the caller sees it: Read when its
// Time is not after the caller's NotificationsReadAt.
type notificationItem struct {
	*portico.Notification
	Read bool `json:"read"`
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
	out := notificationList{Items: []notificationItem{}, Limit: f.Limit}
	if s.Notifications != nil {
		items, err := s.Notifications.Notifications(r.Context(), f)
		if err != nil {
			return s.storeError("listing notifications", err)
		}
		if len(items) > f.Limit {
			items = items[:f.Limit]
		}
		for _, n := range items {
			out.Items = append(out.Items, notificationItem{n, !n.Time.After(c.user.NotificationsReadAt)})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// readNotifications marks the caller's notifications up to now read: it
// sets the caller's NotificationsReadAt.
func (s *Server) readNotifications(w http.ResponseWriter, r *http.Request, c *call) error {
	err := s.update(r.Context(), c.user.ID, func(t *tx) error {
		n := *t.me
		n.NotificationsReadAt = t.now
		t.put(&n)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
