package console

import (
	"net/http"

	"github.com/portico-gw/portico"
)

// home sends a user to the first page of its menu.
func (s *Server) home(w http.ResponseWriter, r *http.Request, ss *session) {
	to := "/console/notifications"
	if ss.has(portico.RoleAdmin) || ss.has(portico.RolePublisher) {
		to = "/console/dashboard"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
