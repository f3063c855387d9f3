package console

import (
	"net/http"
	"strings"

	"github.com/portico-gw/portico"
)

// datastoreSetting is the admin API's /settings/datastore.
type datastoreSetting struct {
	Datastore string `json:"datastore"`
	Running   string `json:"running,omitempty"`
	Message   string `json:"message,omitempty"`
}

type clusterData struct {
	Nodes     []portico.Node
	Datastore datastoreSetting
	NoStore   string // why the data store settings are not shown
	Form      string // the data store address being entered
}

// nodes answers GET /cluster/nodes for the session.
func (s *Server) nodes(r *http.Request, ss *session) ([]portico.Node, error) {
	var l list[portico.Node]
	err := s.do(r, apiCall{method: http.MethodGet, path: "/cluster/nodes", token: ss.token}, &l)
	return l.Items, err
}

func (s *Server) clusterPage(w http.ResponseWriter, r *http.Request, ss *session) {
	s.showCluster(w, r, ss, http.StatusOK, nil, "")
}

func (s *Server) showCluster(w http.ResponseWriter, r *http.Request, ss *session, status int, formErr *apiError, form string) {
	var d clusterData
	var err error
	if d.Nodes, err = s.nodes(r, ss); err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/settings/datastore", token: ss.token}, &d.Datastore); err != nil {
		if e, ok := err.(*apiError); ok && e.Status == http.StatusNotFound {
			d.NoStore = e.Message
		} else {
			s.fail(w, r, ss, 0, err)
			return
		}
	}
	d.Form = form // never the current address: it is shown with its password redacted
	p := &page{Title: "Cluster", Session: ss, Error: formErr, Data: d}
	if r.URL.Query().Get("saved") != "" {
		p.Message = d.Datastore.Message
		if p.Message == "" {
			p.Message = "The data store was recorded; the node uses it from its next start."
		}
	}
	s.render(w, r, status, "cluster", p)
}

// clusterMembers is the members table alone, which the cluster page
// reloads every 2 s.
func (s *Server) clusterMembers(w http.ResponseWriter, r *http.Request, ss *session) {
	nodes, err := s.nodes(r, ss)
	if err != nil {
		if e, ok := err.(*apiError); ok {
			http.Error(w, e.Message, e.Status)
			return
		}
		s.fail(w, r, ss, 0, err)
		return
	}
	s.render(w, r, http.StatusOK, "members_fragment", &page{Session: ss, Data: clusterData{Nodes: nodes}})
}

func (s *Server) setDatastore(w http.ResponseWriter, r *http.Request, ss *session) {
	addr := strings.TrimSpace(r.PostFormValue("datastore"))
	var out datastoreSetting
	err := s.do(r, apiCall{method: http.MethodPut, path: "/settings/datastore", token: ss.token, body: datastoreSetting{Datastore: addr}}, &out)
	if e, ok := err.(*apiError); ok && e.Status < 500 && e.Status != http.StatusUnauthorized {
		s.showCluster(w, r, ss, e.Status, e, "") // never echo it: it may hold a password
		return
	} else if err != nil {
		s.fail(w, r, ss, 0, err)
		return
	}
	done(w, r, "/console/cluster?saved=1")
}
