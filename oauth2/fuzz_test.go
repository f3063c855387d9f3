package oauth2

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzTokenRequest sends the token endpoint any body and Authorization
// header: it never panics, and every answer is a token (RFC 6749 §5.1) or
// an RFC 6749 §5.2 error with the headers checkAnswer requires.
func FuzzTokenRequest(f *testing.F) {
	for _, seed := range []struct{ body, authz string }{
		{"grant_type=client_credentials", basic("app1", secret1)},
		{"grant_type=client_credentials&scope=gold", basic("app1", secret1)},
		{"grant_type=client_credentials&client_id=app1&client_secret=" + secret1, ""},
		{"grant_type=client_credentials&client_id=app%3Acolon&client_secret=" + secretColon, ""},
		{"grant_type=client_credentials&grant_type=client_credentials", basic("app1", secret1)},
		{"grant_type=client_credentials&scope=gold%20silver", basic("app1", secret1)},
		{"grant_type=password", "Basic !!"},
		{"%zz=1;a=b", "Bearer x"},
		{`{"grant_type":"client_credentials"}`, basic("app1", secret1)},
		{"grant_type=client_credentials", basic("app%3Acolon", secretColon)},
		{"grant_type=client_credentials&client_secret=" + secret1, basic("app1", secret1)},
		{"grant_type=client_credentials&scope=" + strings.Repeat("g+", 70), basic("app1", secret1)},
	} {
		f.Add(seed.body, seed.authz)
	}
	s, _, _ := testServer()
	s.IssueRate, s.IssueBurst = 1e9, 1<<30
	f.Fuzz(func(t *testing.T, body, authz string) {
		r := httptest.NewRequest(http.MethodPost, TokenPath, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authz != "" {
			r.Header["Authorization"] = []string{authz}
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		switch w.Code {
		case 200, 400, 401, 413:
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		a := checkAnswer(t, w)
		if w.Code == http.StatusOK && strings.Contains(body+authz, a.AccessToken) {
			t.Fatal("the token is in the request")
		}
	})
}
