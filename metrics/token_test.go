package metrics

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRequireToken(t *testing.T) {
	const token = "0123456789abcdef-scrape"
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("metrics")) })
	for _, tc := range []struct {
		name, token, auth string
		want              int
	}{
		{"right token", token, "Bearer " + token, 200},
		{"scheme in another case", token, "bearer " + token, 200},
		{"no header", token, "", 401},
		{"wrong token", token, "Bearer 0123456789abcdef-scrapf", 401},
		{"prefix of the token", token, "Bearer 0123456789abcdef", 401},
		{"token plus more", token, "Bearer " + token + "x", 401},
		{"basic", token, "Basic " + token, 401},
		{"token without scheme", token, token, 401},
		{"empty token configured", "", "Bearer ", 401},
		{"empty token configured, no header", "", "", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/metrics", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			RequireToken(tc.token, ok).ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d", rec.Code, tc.want)
			}
			if tc.want == 401 {
				if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="metrics"` {
					t.Errorf("WWW-Authenticate %q", got)
				}
				if rec.Body.String() == "metrics" {
					t.Error("metrics served")
				}
			}
		})
	}
}
