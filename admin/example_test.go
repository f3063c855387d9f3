package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
	"golang.org/x/crypto/bcrypt"
)

// A node's admin listener: open the Server on the store, bootstrap the
// admin user, serve. Here the store is an in-memory one.
func ExampleServer() {
	ctx := context.Background()
	srv := &admin.Server{
		Store:        newMemStore(),
		Config:       new(portico.ConfigVar), // shared with the gateway in a real node
		PasswordCost: bcrypt.MinCost,         // for a quick example; leave 0 in production
	}
	if err := srv.Open(ctx); err != nil {
		log.Fatal(err)
	}
	created, _, err := srv.EnsureAdmin(ctx, "correct-horse")
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/plans",
		strings.NewReader(`{"name":"gold","rate_limit":{"limit":100,"per":"second"}}`))
	req.SetBasicAuth("admin", "correct-horse")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var plan portico.Plan
	json.NewDecoder(resp.Body).Decode(&plan)

	fmt.Println(created, resp.StatusCode, plan.Name, plan.RateLimit.Window)
	fmt.Println(srv.Config.Load().Plans.Get(plan.ID).Name)
	// Output:
	// true 201 gold fixed
	// gold
}

// Errors name the offending field.
func ExampleServer_validation() {
	srv := &admin.Server{Store: newMemStore(), PasswordCost: bcrypt.MinCost}
	srv.EnsureAdmin(context.Background(), "correct-horse")

	req := httptest.NewRequest("POST", "/api/v1/plans",
		strings.NewReader(`{"name":"gold","rate_limit":{"limit":0,"per":"second"}}`))
	req.SetBasicAuth("admin", "correct-horse")
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Body)
	// Output:
	// 400 {"error":{"code":"invalid","message":"rate_limit.limit must be greater than 0","field":"rate_limit.limit"}}
}
