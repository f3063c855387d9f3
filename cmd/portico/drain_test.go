package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestDrainAnswersHealth503: once a node is shutting down, its /healthz
// answers 503 for the whole drain, while the request in flight finishes
// with its answer; the admin listener closes only after the gateway
// drained.
func TestDrainAnswersHealth503(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		io.WriteString(w, "done")
	}))
	defer be.Close()
	m := startNode(t, t.TempDir())
	adminURL := "http://" + m.AdminAddr
	admin := client{t: t, base: adminURL + "/api/v1", user: "admin", pass: adminPassword}
	plan := admin.call("POST", "/plans", map[string]any{"name": "open", "auto_approve": true, "quota": map[string]any{"limit": 1000, "per": "month", "mode": "hard"}}, 201)
	key, _ := keyedAPI(t, admin, "slow", be.URL, plan["id"].(string))
	health := func() int {
		resp, err := http.Get(adminURL + "/healthz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := health(); got != 200 {
		t.Fatalf("healthz before the drain: %d", got)
	}
	answered := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", "http://"+m.GatewayAddr+"/slow/x", nil)
		req.Header.Set("X-API-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the backend")
	}
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	deadline := time.Now().Add(5 * time.Second)
	for health() != 503 {
		if time.Now().After(deadline) {
			t.Fatal("healthz never answered 503 during the drain")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if got := <-answered; got != 200 {
		t.Errorf("the request in flight during the drain got %d, want 200", got)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if got := health(); got != 0 {
		t.Errorf("healthz after Close: %d, want the listener closed", got)
	}
}
