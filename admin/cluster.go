package admin

import (
	"net/http"
	"slices"
	"strings"

	"github.com/portico-gw/portico"
)

// nodeList is the body of GET /api/v1/cluster/nodes.
type nodeList struct {
	Items []portico.Node `json:"items"`
}

// listNodes lists the cluster's nodes by name. Admins only.
func (s *Server) listNodes(w http.ResponseWriter, r *http.Request, c *call) error {
	if !isAdmin(c.user) {
		return forbidden("only admins list cluster nodes")
	}
	out := nodeList{Items: []portico.Node{}}
	if s.Membership != nil {
		nodes, err := s.Membership.Nodes(r.Context())
		if err != nil {
			s.log.Warn("admin: reading the cluster membership failed", "err", err)
			return &portico.Error{Code: portico.EUnavailable, Message: "the cluster membership cannot be read; try again later", Err: err}
		}
		out.Items = append(out.Items, nodes...)
		slices.SortFunc(out.Items, func(a, b portico.Node) int { return strings.Compare(a.Name, b.Name) })
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
