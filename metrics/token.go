package metrics

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// RequireToken returns a handler that serves h to requests that carry
// "Authorization: Bearer <token>" (the scheme in any case) and answers
// the others 401 with "WWW-Authenticate: Bearer", which browsers do not
// answer with a password prompt. The token is compared in constant time,
// through the SHA-256 of both, so that neither its bytes nor its length
// show in answer times. An empty token refuses every request.
func RequireToken(token string, h http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		ok := subtle.ConstantTimeCompare(sum[:], want[:]) == 1
		if !ok || token == "" || !strings.EqualFold(scheme, "Bearer") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":{"code":"unauthorized","message":"/metrics needs Authorization: Bearer <metrics token>"}}` + "\n"))
			return
		}
		h.ServeHTTP(w, r)
	})
}
