package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
	"github.com/portico-gw/portico/internal/redistest"
	"github.com/portico-gw/portico/ratelimit"
	"github.com/portico-gw/portico/redislimit"
	"github.com/portico-gw/portico/sqlitestore"
	"golang.org/x/crypto/bcrypt"
)

// TestSignInThrottleShared runs the admin API's sign-in throttle on the
// real limiters, with two admin Servers standing for two nodes: one
// ratelimit.Memory shared by both (nodes of one process), and a
// redislimit.Limiter each on one real Redis (a cluster). Failed sign-ins
// on either node add up to the limit of 10 per user name an hour; after
// it both nodes refuse with 429 and Retry-After, the right password too.
// With a limiter per node instead, each node would take 10.
func TestSignInThrottleShared(t *testing.T) {
	for _, c := range []struct {
		name  string
		nodes func(t *testing.T) (a, b portico.Limiter)
	}{
		{"memory", func(t *testing.T) (portico.Limiter, portico.Limiter) {
			m := &ratelimit.Memory{}
			return m, m
		}},
		{"redis", func(t *testing.T) (portico.Limiter, portico.Limiter) {
			rs := redistest.Start(t)
			return redislimit.New(rs.Client(t), "signin-test:"), redislimit.New(rs.Client(t), "signin-test:")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			limA, limB := c.nodes(t)
			a, b := signInNodes(t, limA, limB)
			// The counters are clock hours: if one ends during a run,
			// run again with another user.
			for attempt := range 2 {
				hour := time.Now().UTC().Truncate(time.Hour)
				user := "pat" + strconv.Itoa(attempt)
				a.call(t, "admin", adminPassword, "POST", "/api/v1/users",
					`{"username":"`+user+`","password":"`+user+`-password","roles":["publisher"]}`, http.StatusCreated)
				ok := signInRun(t, a, b, user)
				if time.Now().UTC().Truncate(time.Hour).Equal(hour) {
					if !ok {
						t.FailNow()
					}
					return
				}
				t.Logf("the hour turned during the run; again")
			}
		})
	}
}

// signInRun makes 10 failed sign-ins of user, alternating between a and
// b, and checks that both nodes then refuse every sign-in of user. It logs
// what went otherwise and reports whether all went as expected: the caller
// fails the test unless the hour turned meanwhile.
func signInRun(t *testing.T, a, b *signInNode, user string) bool {
	t.Helper()
	ok := true
	for i := range 10 {
		node := []*signInNode{a, b}[i%2]
		if code, _ := node.status(user, "wrong"); code != http.StatusUnauthorized {
			t.Logf("failure %d on node %s: %d, want 401", i+1, node.name, code)
			ok = false
		}
	}
	for _, try := range []struct {
		node *signInNode
		pass string
	}{{a, "wrong"}, {b, "wrong"}, {a, user + "-password"}, {b, user + "-password"}} {
		code, retry := try.node.status(user, try.pass)
		if s, err := strconv.Atoi(retry); code != http.StatusTooManyRequests || err != nil || s < 1 || s > 3600 {
			t.Logf("after 10 failures, %q on node %s: %d, Retry-After %q; want 429 with 1 to 3600 s", try.pass, try.node.name, code, retry)
			ok = false
		}
	}
	return ok
}

// signInNode is an admin Server on its own httptest server.
type signInNode struct {
	name string
	url  string
}

// signInNodes starts two admin Servers on one store and one Config (the
// config sync of a cluster, in short), with the limiters limA and limB.
func signInNodes(t *testing.T, limA, limB portico.Limiter) (a, b *signInNode) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "portico.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var nodes []*signInNode
	cv := new(portico.ConfigVar)
	for i, lim := range []portico.Limiter{limA, limB} {
		srv := &admin.Server{Store: db, Config: cv, PasswordCost: bcrypt.MinCost, SignInLimiter: lim}
		if err := srv.Open(ctx); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if _, _, err := srv.EnsureAdmin(ctx, adminPassword); err != nil {
				t.Fatal(err)
			}
		}
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		nodes = append(nodes, &signInNode{name: string(rune('a' + i)), url: ts.URL})
	}
	return nodes[0], nodes[1]
}

// status signs in as user with pass and returns the status and the
// Retry-After header.
func (n *signInNode) status(user, pass string) (int, string) {
	req, _ := http.NewRequest("GET", n.url+"/api/v1/users/me", nil)
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, ""
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// call sends body as JSON and fails t unless the answer has status want.
func (n *signInNode) call(t *testing.T, user, pass, method, path, body string, want int) {
	t.Helper()
	req, _ := http.NewRequest(method, n.url+path, strings.NewReader(body))
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s on node %s: %d, want %d", method, path, n.name, resp.StatusCode, want)
	}
}
