package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redistest"
	"github.com/portico-gw/portico/redisstore"
)

// issueToken gets a bearer token from POST /tokens as c.
func issueToken(t *testing.T, c client) string {
	t.Helper()
	tok, _ := c.call("POST", "/tokens", nil, 201)["token"].(string)
	if !strings.HasPrefix(tok, "ptk_") {
		t.Fatalf("POST /tokens gave token %q", tok)
	}
	return tok
}

// bearerCall calls the admin API at base+path with a bearer token and
// returns the status and the body.
func bearerCall(t *testing.T, method, base, path, token string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// wantMe checks that token authenticates as user on the admin API at
// base (want 200) or does not (want 401).
func wantMe(t *testing.T, base, token, user string, want int) {
	t.Helper()
	code, body := bearerCall(t, "GET", base, "/users/me", token, nil)
	if code != want || (want == 200 && !strings.Contains(body, `"username":"`+user+`"`)) {
		t.Fatalf("GET %s/users/me with the token: %d %s; want %d as %s", base, code, body, want, user)
	}
}

// TestTokensCluster runs two nodes on one real redis-server: a token
// issued by node A works on node B; revoked on B it fails on A at once; an
// expired token fails on both; a password change ends the user's token on
// both; while Redis is down a bearer request answers 503, not 401.
func TestTokensCluster(t *testing.T) {
	ctx := context.Background()
	rs := redistest.Start(t)
	a := startClusterNode(t, rs.URL(), "node-a")
	b := startClusterNode(t, rs.URL(), "node-b")
	baseA, baseB := "http://"+a.AdminAddr+"/api/v1", "http://"+b.AdminAddr+"/api/v1"
	adminA := client{t, baseA, "admin", adminPassword}
	adminB := client{t, baseB, "admin", adminPassword}

	// Issued on A, used on B and A; revoked on B, refused on A and B.
	tok := issueToken(t, adminA)
	wantMe(t, baseB, tok, "admin", 200)
	wantMe(t, baseA, tok, "admin", 200)
	if code, body := bearerCall(t, "DELETE", baseB, "/tokens", tok, nil); code != 204 {
		t.Fatalf("DELETE /tokens on B: %d %s", code, body)
	}
	wantMe(t, baseA, tok, "admin", 401)
	wantMe(t, baseB, tok, "admin", 401)

	// Expiry. The nodes issue 12-hour tokens: shorten one in the store, as
	// its node would have stored a short-lived one.
	store, err := redisstore.Open(ctx, rs.URL(), a.Config.ClusterName)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tok = issueToken(t, adminA)
	stored, err := store.Token(ctx, portico.HashKey(tok))
	if err != nil || stored == nil {
		t.Fatalf("the token issued by A is not in Redis: %+v, %v", stored, err)
	}
	stored.Expires = time.Now().Add(3 * time.Second)
	if err := store.PutToken(ctx, stored); err != nil {
		t.Fatal(err)
	}
	wantMe(t, baseA, tok, "admin", 200)
	wantMe(t, baseB, tok, "admin", 200)
	waitFor(t, "the token to expire on node A", 10*time.Second, func() bool {
		code, _ := bearerCall(t, "GET", baseA, "/users/me", tok, nil)
		return code == 401
	})
	if early := time.Until(stored.Expires); early > 50*time.Millisecond {
		t.Errorf("token refused %v before it expired", early)
	}
	wantMe(t, baseB, tok, "admin", 401)

	// An expired token that Redis still holds (written without a TTL) is
	// refused by the nodes' own check.
	tok = issueToken(t, adminB)
	stored, err = store.Token(ctx, portico.HashKey(tok))
	if err != nil || stored == nil {
		t.Fatalf("the token issued by B is not in Redis: %+v, %v", stored, err)
	}
	stored.Expires = time.Now().Add(-time.Second)
	body, _ := json.Marshal(stored)
	key := "portico:{" + a.Config.ClusterName + "}:token:" + stored.Hash
	if err := rs.Client(t).Set(ctx, key, body, 0).Err(); err != nil {
		t.Fatal(err)
	}
	wantMe(t, baseA, tok, "admin", 401)
	wantMe(t, baseB, tok, "admin", 401)

	// A password change on A ends the token issued on B, on both nodes.
	adminA.call("POST", "/users", map[string]any{"username": "ops", "password": "ops-password-1", "roles": []string{"admin"}}, 201)
	opsB := client{t, baseB, "ops", "ops-password-1"}
	waitFor(t, "user ops on node B", 10*time.Second, func() bool {
		req, _ := http.NewRequest("GET", baseB+"/users/me", nil)
		req.SetBasicAuth("ops", "ops-password-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	tok = issueToken(t, opsB)
	wantMe(t, baseA, tok, "ops", 200)
	wantMe(t, baseB, tok, "ops", 200)
	if code, body := bearerCall(t, "PUT", baseA, "/users/me", tok, map[string]any{"password": "ops-password-2", "current_password": "ops-password-1"}); code != 200 {
		t.Fatalf("password change on A with the token: %d %s", code, body)
	}
	wantMe(t, baseA, tok, "ops", 401)
	waitFor(t, "the password change to end the token on node B", 10*time.Second, func() bool {
		code, _ := bearerCall(t, "GET", baseB, "/users/me", tok, nil)
		return code == 401
	})
	// The new password still gets a token that works on both.
	tok = issueToken(t, client{t, baseB, "ops", "ops-password-2"})
	wantMe(t, baseA, tok, "ops", 200)

	// Redis down: the token cannot be checked. That is 503, not 401;
	// HTTP Basic still works from the node's config.
	rs.Stop()
	for _, base := range []string{baseA, baseB} {
		code, body := bearerCall(t, "GET", base, "/users/me", tok, nil)
		if code != 503 || !strings.Contains(body, "data store is unavailable") {
			t.Errorf("bearer request on %s while Redis is down: %d %s; want 503", base, code, body)
		}
	}
	adminB.call("GET", "/users/me", nil, 200)
}

// TestTokenSurvivesRestart: on a single node (embedded store) a token
// still works after the node restarts, and can then be revoked.
func TestTokenSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	m := startNode(t, dir)
	tok := issueToken(t, client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword})
	wantMe(t, "http://"+m.AdminAddr+"/api/v1", tok, "admin", 200)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	m2 := startNode(t, dir)
	base := "http://" + m2.AdminAddr + "/api/v1"
	wantMe(t, base, tok, "admin", 200)
	if code, body := bearerCall(t, "DELETE", base, "/tokens", tok, nil); code != 204 {
		t.Fatalf("DELETE /tokens after the restart: %d %s", code, body)
	}
	wantMe(t, base, tok, "admin", 401)
}
