package console

import (
	"net/http"
	"net/url"

	"github.com/portico-gw/portico"
)

// subscriptionItem is an item of GET /subscriptions: the subscription
// and the names of what it links that the user may see.
type subscriptionItem struct {
	portico.Subscription
	APIName         string `json:"api_name"`
	APIVersion      string `json:"api_version"`
	ApplicationName string `json:"application_name"`
	PlanName        string `json:"plan_name"`
}

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

// StatusLink is the query string of the list with status st ("" for
// all), keeping the other filters.
func (d subscriptionsData) StatusLink(st string) string {
	v := url.Values{}
	for k, vs := range d.Pager.Base {
		if k != "status" {
			v[k] = vs
		}
	}
	if st != "" {
		v.Set("status", st)
	}
	return "?" + v.Encode()
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
	var l list[subscriptionItem]
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/subscriptions", query: q, token: ss.token}, &l); err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	p.Total = l.Total
	or := func(name, id string) string {
		if name != "" {
			return name
		}
		return id // a name the user may not see
	}
	d := subscriptionsData{Pager: p, Status: q.Get("status")}
	for _, it := range l.Items {
		api := or(it.APIName, it.APIID)
		if it.APIVersion != "" {
			api += " " + it.APIVersion
		}
		d.Rows = append(d.Rows, subscriptionRow{Subscription: it.Subscription, API: api,
			Application: or(it.ApplicationName, it.ApplicationID), Plan: or(it.PlanName, it.PlanID),
			Actions: moderation(it.Status)})
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
