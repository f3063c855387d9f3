package console

import (
	"net/http"

	"github.com/portico-gw/portico"
)

// subscriptionRow is a subscription with the names of what it links.
type subscriptionRow struct {
	portico.Subscription
	API, Application, Plan string
	Actions                []string
}

type subscriptionsData struct {
	Rows   []subscriptionRow
	Pager  pager
	Status string
}

// moderation lists what the API's owner may do to a subscription in each
// state; the admin API decides.
func moderation(st portico.SubscriptionStatus) []string {
	switch st {
	case portico.Pending:
		return []string{"approve", "reject"}
	case portico.Approved, portico.Cancelled:
		return []string{"evict"}
	case portico.Evicted:
		return []string{"approve", "lift"}
	}
	return nil
}

func (s *Server) subscriptionsPage(w http.ResponseWriter, r *http.Request, ss *session) {
	q, p := listQuery(r, "status", "api", "application")
	var l list[portico.Subscription]
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/subscriptions", query: q, token: ss.token}, &l); err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	p.Total = l.Total
	// Names, each looked up once per page.
	names := map[string]string{}
	name := func(kind, id string) string {
		if id == "" {
			return ""
		}
		if n, ok := names[kind+id]; ok {
			return n
		}
		var v struct {
			Name string `json:"name"`
		}
		n := id
		if s.do(r, apiCall{method: http.MethodGet, path: "/" + kind + "/" + id, token: ss.token}, &v) == nil && v.Name != "" {
			n = v.Name
		}
		names[kind+id] = n
		return n
	}
	d := subscriptionsData{Pager: p, Status: q.Get("status")}
	for _, sub := range l.Items {
		d.Rows = append(d.Rows, subscriptionRow{Subscription: sub,
			API: name("apis", sub.APIID), Application: name("applications", sub.ApplicationID), Plan: name("plans", sub.PlanID),
			Actions: moderation(sub.Status)})
	}
	pg := &page{Title: "Subscriptions", Session: ss, Data: d}
	if r.URL.Query().Get("done") != "" {
		pg.Message = "Done; every node applies it now."
	}
	s.render(w, r, http.StatusOK, "subscriptions", pg)
}

// moderate approves, rejects (evicts a pending one), evicts or lifts a
// subscription.
func (s *Server) moderate(w http.ResponseWriter, r *http.Request, ss *session) {
	id, action := r.PathValue("id"), r.PathValue("action")
	switch action {
	case "approve", "evict", "lift":
	case "reject":
		action = "evict"
	default:
		s.fail(w, r, ss, http.StatusNotFound, "There is no such action.")
		return
	}
	if err := s.do(r, apiCall{method: http.MethodPost, path: "/subscriptions/" + id + "/" + action, token: ss.token}, nil); err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	back := "/console/subscriptions?done=1"
	if st := r.PostFormValue("status"); st != "" {
		back += "&status=" + st
	}
	done(w, r, back)
}
