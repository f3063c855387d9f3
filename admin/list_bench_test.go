package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
	"golang.org/x/crypto/bcrypt"
)

// benchConfig returns a Config of apis published APIs (each offering one
// of 20 plans), n applications and n subscriptions (one application
// each, a quarter of them pending), owned by an admin "admin" with
// password adminPW; entities are created a second apart.
func benchConfig(b *testing.B, apis, n int) *portico.Config {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	hash, _ := bcrypt.GenerateFromPassword([]byte(adminPW), bcrypt.MinCost)
	changes := []portico.Change{portico.Put(&portico.User{
		ID: "admin", Username: "admin", Roles: []portico.Role{portico.RoleAdmin}, PasswordHash: string(hash),
	})}
	for i := range 20 {
		changes = append(changes, portico.Put(&portico.Plan{
			ID: fmt.Sprintf("plan%02d", i), Name: fmt.Sprintf("Plan %d", i), Owner: "admin", CreatedAt: now,
		}))
	}
	for i := range apis {
		changes = append(changes, portico.Put(&portico.API{
			ID: fmt.Sprintf("api%05d", i), Name: fmt.Sprintf("api-%05d", i), Version: "v1",
			Context: fmt.Sprintf("/api-%05d", i), Description: "Weather forecasts and maps",
			State: portico.Published, Visibility: portico.Public, Plans: []string{fmt.Sprintf("plan%02d", i%20)},
			Owner: "admin", CreatedAt: now.Add(time.Duration(i) * time.Second),
		}))
	}
	for i := range n {
		changes = append(changes, portico.Put(&portico.Application{
			ID: fmt.Sprintf("app%06d", i), Name: fmt.Sprintf("Application Number %d", i),
			Description: "A client of the Weather and Maps APIs", Owner: "admin",
			CreatedAt: now.Add(time.Duration(i) * time.Second),
		}))
		status := portico.Approved
		if i%4 == 0 {
			status = portico.Pending
		}
		api := i % apis
		changes = append(changes, portico.Put(&portico.Subscription{
			ID: fmt.Sprintf("sub%06d", i), ApplicationID: fmt.Sprintf("app%06d", i),
			APIID: fmt.Sprintf("api%05d", api), PlanID: fmt.Sprintf("plan%02d", api%20), Status: status,
			CreatedAt: now.Add(time.Duration(i) * time.Second),
		}))
	}
	return portico.NewConfig().With(1, changes...)
}

// BenchmarkList measures list pages of the admin API as an admin on
// 10,000 APIs, 100,000 applications and 100,000 subscriptions: first
// and deep pages, filters and searches, and a write followed by the first
// list of the Config it makes (the cost of bringing the lists' order up
// to date).
func BenchmarkList(b *testing.B) {
	s := &admin.Server{Store: storeWith(benchConfig(b, 10_000, 100_000)), PasswordCost: bcrypt.MinCost}
	if err := s.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	get := func(b *testing.B, path string) {
		req := httptest.NewRequest("GET", path, nil)
		req.SetBasicAuth("admin", adminPW)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("GET %s: status %d: %s", path, w.Code, w.Body)
		}
	}
	runtime.GC() // not the setup's garbage
	for _, c := range []struct{ name, path string }{
		{"subscriptions", "/api/v1/subscriptions"},
		{"subscriptions-deep", "/api/v1/subscriptions?offset=99950"},
		{"subscriptions-pending", "/api/v1/subscriptions?status=pending"},
		{"subscriptions-search", "/api/v1/subscriptions?q=number+1234"},
		{"applications", "/api/v1/applications"},
		{"applications-deep", "/api/v1/applications?offset=99950"},
		{"applications-search", "/api/v1/applications?q=number+1234"},
		{"apis", "/api/v1/apis"},
		{"apis-deep", "/api/v1/apis?offset=9950"},
		{"apis-search", "/api/v1/apis?q=api-07"},
	} {
		b.Run(c.name, func(b *testing.B) {
			get(b, c.path)
			b.ReportAllocs()
			for b.Loop() {
				get(b, c.path)
			}
		})
	}
	// A write, then the first list of subscriptions of the new Config.
	b.Run("write-then-subscriptions", func(b *testing.B) {
		get(b, "/api/v1/subscriptions")
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			act := "evict"
			if i%2 == 1 {
				act = "approve"
			}
			i++
			req := httptest.NewRequest("POST", "/api/v1/subscriptions/sub000001/"+act, nil)
			req.SetBasicAuth("admin", adminPW)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("POST %s: status %d: %s", act, w.Code, w.Body)
			}
			get(b, "/api/v1/subscriptions")
		}
	})
}
