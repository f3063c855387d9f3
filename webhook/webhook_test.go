package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

func TestSend(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]portico.Notification{}
	fails := 1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/flaky" && fails > 0 {
			fails--
			w.WriteHeader(503)
			return
		}
		var n portico.Notification
		json.NewDecoder(r.Body).Decode(&n)
		got[r.URL.Path] = append(got[r.URL.Path], n)
	}))
	defer srv.Close()
	users := map[string]*portico.User{
		"pub":  {ID: "pub", WebhookURL: srv.URL + "/pub"},
		"sub":  {ID: "sub", WebhookURL: srv.URL + "/flaky"},
		"none": {ID: "none"},
		"adm":  {ID: "adm", WebhookURL: srv.URL + "/adm"},
	}
	s := New(Config{Users: func(id string) *portico.User { return users[id] }, Backoff: time.Millisecond, AllowCIDRs: loopback})
	s.Send(&portico.Notification{ID: "n1", Kind: portico.NotifyQuotaThreshold, Publisher: "pub", Subscriber: "sub"})
	s.Send(&portico.Notification{ID: "n2", Kind: portico.NotifyEndpointDown, Publisher: "pub"})
	s.Send(&portico.Notification{ID: "n3", Kind: portico.NotifyQuotaReached, Publisher: "none", Subscriber: "unknown"})
	// A notice for admins: each named admin once, with a webhook or not.
	s.Send(&portico.Notification{ID: "n4", Kind: portico.NotifySignup, Subscriber: "none", Admins: []string{"adm", "none", "adm", "pub"}})
	s.Close(context.Background())
	s.Send(&portico.Notification{ID: "late", Publisher: "pub"}) // after Close: dropped, no panic
	mu.Lock()
	defer mu.Unlock()
	if len(got["/pub"]) != 3 || len(got["/flaky"]) != 1 || got["/flaky"][0].ID != "n1" || len(got["/adm"]) != 1 || got["/adm"][0].ID != "n4" {
		t.Fatalf("deliveries %+v", got)
	}
	if s.Delivered.Load() != 5 || s.Failed.Load() != 0 || s.Dropped.Load() != 1 {
		t.Errorf("delivered %d failed %d dropped %d", s.Delivered.Load(), s.Failed.Load(), s.Dropped.Load())
	}
}

// TestCloseBounded: Close gives up on a webhook that never answers when
// its context ends.
func TestCloseBounded(t *testing.T) {
	hang := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)
	s := New(Config{Users: func(string) *portico.User { return &portico.User{WebhookURL: srv.URL} }, AllowCIDRs: loopback})
	s.Send(&portico.Notification{ID: "n", Publisher: "p"})
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the webhook got no request")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	s.Close(ctx)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
}
