package admin_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
)

// TestWebhookURLVetted: a webhook_url Server.CheckWebhookURL refuses
// answers 400 naming the field, on create and on update, and is not
// stored; one it accepts is.
func TestWebhookURLVetted(t *testing.T) {
	var asked []string
	e := newEnv(t, func(s *admin.Server) {
		s.CheckWebhookURL = func(_ context.Context, u string) error {
			asked = append(asked, u)
			if strings.Contains(u, "127.0.0.1") {
				return errors.New(`webhook URL host "127.0.0.1" is a loopback address`)
			}
			return nil
		}
	})
	sam, id := e.addUser("sam", portico.RoleSubscriber)
	res := sam.do("PUT", "/api/v1/users/me", map[string]any{"webhook_url": "http://127.0.0.1:6379/"}).want(http.StatusBadRequest)
	if f := res.errField(); f != "webhook_url" {
		t.Errorf("field %q, want webhook_url", f)
	}
	if u := e.cv.Load().Users.Get(id).WebhookURL; u != "" {
		t.Errorf("refused webhook_url stored: %q", u)
	}
	e.admin().do("POST", "/api/v1/users", map[string]any{"username": "ann", "password": "ann-secret-1",
		"roles": []string{"subscriber"}, "webhook_url": "http://127.0.0.1/"}).want(http.StatusBadRequest)
	sam.do("PUT", "/api/v1/users/me", map[string]any{"webhook_url": "https://hooks.example.com/x"}).want(http.StatusOK)
	if u := e.cv.Load().Users.Get(id).WebhookURL; u != "https://hooks.example.com/x" {
		t.Errorf("accepted webhook_url not stored: %q", u)
	}
	if len(asked) != 3 {
		t.Errorf("CheckWebhookURL asked %d times, want 3: %q", len(asked), asked)
	}
}
