package consoletest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
	"github.com/portico-gw/portico/console"
	"golang.org/x/crypto/bcrypt"
)

// Scale is the size of a seeded configuration (see Seed).
type Scale struct {
	Publishers, Subscribers int // users besides "admin"
	APIs, Plans             int
	Applications            int
	Subscriptions           int // at most Applications: one per application
	Notifications           int
}

// Seeded names what Seed wrote, for tests to pick pages and users from.
type Seeded struct {
	// Publishers and Subscribers are the users' IDs; publisher i is named
	// PublisherName(i) and has the password PublisherPassword.
	Publishers, Subscribers []string
	// APIs are the APIs' IDs in creation order; API i is named
	// "api-%05d", owned by publisher i mod Publishers, and is published
	// when i mod 4 is 0 or 1, deprecated when 2, a draft when 3.
	APIs []string
	// Published are the IDs of the published APIs.
	Published []string
	// Applications are the applications' IDs; application i is named
	// "app-%06d" and owned by subscriber i mod Subscribers.
	Applications []string
	// Plans are the plans' IDs.
	Plans []string
}

// PublisherPassword and SubscriberPassword are the passwords of the
// seeded publishers and subscribers.
const (
	PublisherPassword  = "publisher-password-1"
	SubscriberPassword = "subscriber-password-1"
)

// PublisherName returns the user name of seeded publisher i.
func PublisherName(i int) string { return fmt.Sprintf("publisher-%03d", i) }

// APIName returns the name of seeded API i.
func APIName(i int) string { return fmt.Sprintf("api-%05d", i) }

// Seed returns a configure function for New that writes a configuration of
// the size sc into the store in one Apply, before the admin API loads it,
// instead of one admin API call per entity: the user "admin" (with
// AdminPassword), publishers, subscribers, plans, APIs, applications and
// subscriptions (one per application, to a published or deprecated API
// under one of its plans: 2 in 10 pending, 6 approved, 1 cancelled, 1
// evicted), and notifications of the pending ones. Creation times are one
// millisecond apart, ending at now. out, when not nil, receives the IDs.
// The test fails if the store refuses the configuration.
func Seed(t testing.TB, sc Scale, now time.Time, out *Seeded) func(*admin.Server, *console.Server) {
	return func(a *admin.Server, _ *console.Server) {
		t.Helper()
		if err := seed(a, sc, now, out); err != nil {
			t.Fatalf("consoletest: seeding the store: %v", err)
		}
	}
}

func seed(a *admin.Server, sc Scale, now time.Time, out *Seeded) error {
	ctx := context.Background()
	if out == nil {
		out = new(Seeded)
	}
	hash := func(pw string) (string, error) {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		return string(h), err
	}
	adminHash, err := hash(AdminPassword)
	if err != nil {
		return err
	}
	pubHash, err := hash(PublisherPassword)
	if err != nil {
		return err
	}
	subHash, err := hash(SubscriberPassword)
	if err != nil {
		return err
	}
	n := 2 + sc.Publishers + sc.Subscribers + sc.Plans + sc.APIs + sc.Applications + sc.Subscriptions
	changes := make([]portico.Change, 0, n)
	at := now.UTC().Add(-time.Duration(n) * time.Millisecond)
	tick := func() time.Time { at = at.Add(time.Millisecond); return at }

	t := tick()
	changes = append(changes, portico.Put(&portico.User{ID: "admin", Username: "admin", Roles: []portico.Role{portico.RoleAdmin},
		PasswordHash: adminHash, CreatedAt: t, UpdatedAt: t}))
	for i := range sc.Publishers {
		t := tick()
		u := &portico.User{ID: fmt.Sprintf("pub%03d", i), Username: PublisherName(i), Email: PublisherName(i) + "@example.com",
			Roles: []portico.Role{portico.RolePublisher}, PasswordHash: pubHash, CreatedAt: t, UpdatedAt: t}
		out.Publishers = append(out.Publishers, u.ID)
		changes = append(changes, portico.Put(u))
	}
	for i := range sc.Subscribers {
		t := tick()
		name := fmt.Sprintf("subscriber-%04d", i)
		u := &portico.User{ID: fmt.Sprintf("sub%04d", i), Username: name, Email: name + "@example.com",
			Roles: []portico.Role{portico.RoleSubscriber}, PasswordHash: subHash, CreatedAt: t, UpdatedAt: t}
		out.Subscribers = append(out.Subscribers, u.ID)
		changes = append(changes, portico.Put(u))
	}
	owner := func(i int) string {
		if len(out.Publishers) == 0 {
			return "admin"
		}
		return out.Publishers[i%len(out.Publishers)]
	}
	plans := make([]*portico.Plan, sc.Plans)
	for i := range plans {
		t := tick()
		p := &portico.Plan{ID: fmt.Sprintf("plan%03d", i), Name: fmt.Sprintf("plan-%03d", i), Description: "seeded plan",
			AutoApprove: i%2 == 0, Shared: i%10 == 0, Owner: owner(i), CreatedAt: t, UpdatedAt: t,
			RateLimit: &portico.RateLimit{Limit: int64(100 + i), Per: portico.Second, Window: portico.Fixed}}
		if i%3 == 0 {
			p.Quota = &portico.Quota{Limit: 1_000_000, Per: portico.Month, Mode: portico.Hard}
		}
		plans[i] = p
		out.Plans = append(out.Plans, p.ID)
		changes = append(changes, portico.Put(p))
	}
	apis := make([]*portico.API, sc.APIs)
	var serving []*portico.API
	for i := range apis {
		t := tick()
		api := &portico.API{ID: fmt.Sprintf("api%05d", i), Name: APIName(i), Version: "v1", Context: "/" + APIName(i),
			Description: "seeded API number " + fmt.Sprint(i), Visibility: portico.Public, Auth: portico.AuthMethods{portico.AuthAPIKey},
			Endpoint: portico.Endpoint{Type: portico.Single, Targets: []portico.Target{{URL: "http://127.0.0.1:9/"}}},
			Owner:    owner(i), CreatedAt: t, UpdatedAt: t}
		switch i % 4 {
		case 0, 1:
			api.State = portico.Published
		case 2:
			api.State = portico.Deprecated
		default:
			api.State = portico.Draft
		}
		// Two plans of the API's owner (publisher p owns plans p, p+P, …).
		if len(plans) > 0 {
			np := max(1, len(out.Publishers))
			j := i % np
			api.Plans = []string{plans[j%len(plans)].ID}
			if k := j + np; k < len(plans) {
				api.Plans = append(api.Plans, plans[k].ID)
			}
		}
		apis[i] = api
		out.APIs = append(out.APIs, api.ID)
		if api.State == portico.Published {
			out.Published = append(out.Published, api.ID)
		}
		if api.State.Serves() {
			serving = append(serving, api)
		}
		changes = append(changes, portico.Put(api))
	}
	for i := range sc.Applications {
		t := tick()
		o := "admin"
		if len(out.Subscribers) > 0 {
			o = out.Subscribers[i%len(out.Subscribers)]
		}
		app := &portico.Application{ID: fmt.Sprintf("app%06d", i), Name: fmt.Sprintf("app-%06d", i), Owner: o, CreatedAt: t, UpdatedAt: t}
		out.Applications = append(out.Applications, app.ID)
		changes = append(changes, portico.Put(app))
	}
	appOwner := make(map[string]string, sc.Applications)
	for _, ch := range changes {
		if ch.Application != nil {
			appOwner[ch.ID] = ch.Application.Owner
		}
	}
	var pending []*portico.Subscription
	for i := range min(sc.Subscriptions, sc.Applications) {
		if len(serving) == 0 {
			break
		}
		t := tick()
		api := serving[i%len(serving)]
		if len(api.Plans) == 0 {
			continue
		}
		s := &portico.Subscription{ID: fmt.Sprintf("sub%06d", i), ApplicationID: out.Applications[i], APIID: api.ID,
			PlanID: api.Plans[i%len(api.Plans)], CreatedAt: t, UpdatedAt: t}
		switch i % 10 {
		case 0, 1:
			s.Status = portico.Pending
			pending = append(pending, s)
		case 8:
			s.Status = portico.Cancelled
		case 9:
			s.Status = portico.Evicted
		default:
			s.Status = portico.Approved
		}
		changes = append(changes, portico.Put(s))
	}
	cfg, err := a.Store.Load(ctx)
	if err != nil {
		return err
	}
	if _, err := a.Store.Apply(ctx, cfg.Version, changes); err != nil {
		return err
	}
	if a.Notifications == nil {
		return nil
	}
	for i := range min(sc.Notifications, len(pending)) {
		s := pending[i]
		n := &portico.Notification{ID: fmt.Sprintf("note%06d", i), Time: s.CreatedAt, Kind: portico.NotifyPendingApprove,
			Message: "application " + s.ApplicationID + " asks to subscribe to API " + s.APIID,
			APIID:   s.APIID, ApplicationID: s.ApplicationID, SubscriptionID: s.ID,
			Publisher: apiOwner(apis, s.APIID), Subscriber: appOwner[s.ApplicationID]}
		if err := a.Notifications.AddNotification(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// apiOwner returns the owner of the seeded API id ("api%05d").
func apiOwner(apis []*portico.API, id string) string {
	var i int
	if _, err := fmt.Sscanf(id, "api%05d", &i); err != nil || i >= len(apis) {
		return ""
	}
	return apis[i].Owner
}

// SeedAnalytics writes n records into sink in batches of 5,000, spread
// evenly over [from, to): requests to the seeded APIs (the first 100 of
// them take half the traffic) by the seeded applications, with a mix of
// statuses, resources, nodes and latencies.
func SeedAnalytics(ctx context.Context, sink portico.AnalyticsSink, s *Seeded, n int, from, to time.Time) error {
	const batchSize = 5000
	if len(s.APIs) == 0 || len(s.Applications) == 0 {
		return fmt.Errorf("consoletest: SeedAnalytics needs seeded APIs and applications")
	}
	step := to.Sub(from) / time.Duration(max(n, 1))
	statuses := []int{200, 200, 200, 200, 200, 201, 204, 304, 400, 401, 404, 429, 500, 502}
	resources := []string{"", "/items", "/items/{id}", "POST /orders", "/search"}
	batch := make([]portico.Record, 0, batchSize)
	for i := range n {
		api := i % len(s.APIs)
		if i%2 == 0 {
			api = i % min(100, len(s.APIs))
		}
		app := (i * 7919) % len(s.Applications)
		r := portico.Record{
			Time:          from.Add(time.Duration(i) * step).UTC(),
			RequestID:     fmt.Sprintf("req%09d", i),
			API:           APIName(api),
			APIVersion:    "v1",
			APIID:         s.APIs[api],
			Application:   s.Applications[app],
			Plan:          "plan000",
			Resource:      resources[i%len(resources)],
			Method:        []string{"GET", "GET", "GET", "POST", "PUT"}[i%5],
			Status:        statuses[i%len(statuses)],
			RequestBytes:  int64(100 + i%900),
			ResponseBytes: int64(500 + i%9000),
			Latency:       time.Duration(1+i%997) * 137 * time.Microsecond,
			ClientIP:      "192.0.2.1",
			Node:          fmt.Sprintf("node-%d", i%3),
		}
		if len(s.Publishers) > 0 {
			r.Publisher = s.Publishers[api%len(s.Publishers)]
		}
		if len(s.Subscribers) > 0 {
			r.Subscriber = s.Subscribers[app%len(s.Subscribers)]
		}
		batch = append(batch, r)
		if len(batch) == batchSize || i == n-1 {
			if err := sink.Write(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}
