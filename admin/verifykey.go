package admin

import (
	"crypto/subtle"
	"net/http"

	"github.com/portico-gw/portico"
)

// verifyKeyRequest is the body of POST /applications/{id}/keys/verify.
type verifyKeyRequest struct {
	Key string `json:"key"`
}

// maxKeyText bounds the key text verifyKey hashes.
const maxKeyText = 256

// verifyKey answers which key of application {id} the text in the body
// is, for the application's owner or an admin: 200 with the key (as GET
// shows it: never its text or hash, and live or not), or 404 naming
// "key" when it is none of the application's keys. The developer portal
// uses it to let a subscriber try calls with its own keys only. It tells
// nothing about keys of applications the caller does not manage.
func (s *Server) verifyKey(w http.ResponseWriter, r *http.Request, c *call) error {
	a, err := managedApp(c.cfg, c.user, r.PathValue("id"))
	if err != nil {
		return err
	}
	var req verifyKeyRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Key == "" {
		return invalid("key", "key is required: the text of one of the application's API keys")
	}
	if len(req.Key) > maxKeyText {
		return invalid("key", "key must be at most %d bytes", maxKeyText)
	}
	hash := []byte(portico.HashKey(req.Key))
	for k := range c.cfg.KeysOf(a.ID).Values() {
		if subtle.ConstantTimeCompare([]byte(k.Hash), hash) == 1 {
			writeJSON(w, http.StatusOK, viewKey(k))
			return nil
		}
	}
	return &portico.Error{Code: portico.ENotFound, Field: "key", Message: "this is none of the application's keys"}
}
