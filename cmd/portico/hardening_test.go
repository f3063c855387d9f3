package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestServeWiresHardening: a served node refuses ambiguous framing on its
// plain listeners (the framing sniffer and handler), throttles failed
// sign-ins (admin.Server.SignInLimiter is the node's limiter) and refuses
// a webhook_url aimed at its own network (admin.Server.CheckWebhookURL is
// the webhook guard's).
func TestServeWiresHardening(t *testing.T) {
	m := startNode(t, t.TempDir())
	for _, addr := range []string{m.GatewayAddr, m.AdminAddr} {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, "POST /anything HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: CL+TE answered %d, want 400", addr, resp.StatusCode)
		}
		if rest, err := br.ReadByte(); err != io.EOF {
			t.Errorf("%s: after the 400 the connection gave %q, %v; want EOF (closed, the smuggled request unanswered)", addr, rest, err)
		}
		conn.Close()
	}

	admin := client{t, "http://" + m.AdminAddr, "admin", adminPassword}
	admin.call("POST", "/api/v1/users", map[string]any{"username": "sam", "password": "sam-secret-1", "roles": []string{"subscriber"}}, http.StatusCreated)
	sam := client{t, "http://" + m.AdminAddr, "sam", "sam-secret-1"}
	for _, u := range []string{"http://127.0.0.1:6379/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/"} {
		code, body, raw, err := sam.do("PUT", "/api/v1/users/me", map[string]any{"webhook_url": u})
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusBadRequest || !strings.Contains(string(raw), `"field":"webhook_url"`) {
			t.Errorf("webhook_url %s: %d %v", u, code, body)
		}
	}

	wrong := client{t, "http://" + m.AdminAddr, "sam", "not-the-password"}
	var last int
	for i := 0; i < 12; i++ {
		code, _, _, err := wrong.do("GET", "/api/v1/users/me", nil)
		if err != nil {
			t.Fatal(err)
		}
		last = code
		if code == http.StatusTooManyRequests {
			break
		}
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("12 failed sign-ins: last answer %d, want 429", last)
	}
	if code, _, _, _ := sam.do("GET", "/api/v1/users/me", nil); code != http.StatusTooManyRequests {
		t.Errorf("the right password while the user's sign-ins are throttled: %d, want 429", code)
	}
}

// TestLimitsSurviveResubscription: a subscriber who used up its hard
// quota and rate window cannot start over by cancelling and subscribing
// again, nor by moving to another plan; after a restart the quota still
// holds.
func TestLimitsSurviveResubscription(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	dir := t.TempDir()
	m := startNode(t, dir)
	admin := client{t, "http://" + m.AdminAddr + "/api/v1", "admin", adminPassword}
	admin.call("POST", "/users", map[string]any{"username": "pat", "password": "publisher-pw", "roles": []string{"publisher"}}, 201)
	admin.call("POST", "/users", map[string]any{"username": "sam", "password": "subscriber-pw", "roles": []string{"subscriber"}}, 201)
	pat := client{t, admin.base, "pat", "publisher-pw"}
	sam := client{t, admin.base, "sam", "subscriber-pw"}
	quota := pat.call("POST", "/plans", map[string]any{"name": "tiny", "auto_approve": true,
		"quota": map[string]any{"limit": 3, "per": "month", "mode": "hard"}}, 201)["id"]
	other := pat.call("POST", "/plans", map[string]any{"name": "tiny2", "auto_approve": true,
		"quota": map[string]any{"limit": 3, "per": "month", "mode": "hard"}}, 201)["id"]
	api := pat.call("POST", "/apis", map[string]any{
		"name": "w", "version": "v1", "context": "/w/v1", "auth": "api_key",
		"endpoint": map[string]any{"type": "single", "targets": []any{map[string]any{"url": backend.URL}}},
		"plans":    []any{quota, other},
	}, 201)["id"].(string)
	pat.call("POST", "/apis/"+api+"/publish", nil, 200)
	app := sam.call("POST", "/applications", map[string]any{"name": "app"}, 201)["id"].(string)
	key := sam.call("POST", "/applications/"+app+"/keys", nil, 201)["key"].(string)
	subscribe := func(plan any) string {
		return sam.call("POST", "/applications/"+app+"/subscriptions", map[string]any{"api": api, "plan": plan}, 201)["id"].(string)
	}
	gw := "http://" + m.GatewayAddr + "/w/v1/x"
	sub := subscribe(quota)
	for i := 0; i < 3; i++ {
		if code, _, body := gatewayGet(t, gw, key); code != 200 {
			t.Fatalf("call %d: %d %s", i, code, body)
		}
	}
	for i, plan := range []any{quota, other, quota} {
		sam.call("DELETE", "/subscriptions/"+sub, nil, 204)
		sub = subscribe(plan)
		if code, _, body := gatewayGet(t, gw, key); code != 429 || !strings.Contains(body, "quota_exceeded") {
			t.Fatalf("re-subscription %d: %d %s; the month's quota of 3 was used up", i, code, body)
		}
	}
	m.Close()
	m = startNode(t, dir)
	if code, _, body := gatewayGet(t, "http://"+m.GatewayAddr+"/w/v1/x", key); code != 429 {
		t.Fatalf("after a restart: %d %s; the month's quota of 3 was used up", code, body)
	}
}
