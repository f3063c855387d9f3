package portico_test

import (
	"testing"

	"github.com/portico-gw/portico"
)

// TestTransition: what each action does to each status.
func TestTransition(t *testing.T) {
	cfg := portico.NewConfig().With(1,
		portico.Put(&portico.Plan{ID: "p"}),
		portico.Put(&portico.API{ID: "api", Context: "/a", Plans: []string{"p"}, State: portico.Published}),
	)
	const refused = portico.SubscriptionStatus("(refused)")
	for _, c := range []struct {
		from portico.SubscriptionStatus
		act  portico.SubscriptionAction
		want portico.SubscriptionStatus
	}{
		{portico.Pending, portico.ApproveSubscription, portico.Approved},
		{portico.Approved, portico.ApproveSubscription, refused},
		{portico.Cancelled, portico.ApproveSubscription, refused},
		{portico.Evicted, portico.ApproveSubscription, portico.Approved},

		{portico.Pending, portico.EvictSubscription, portico.Evicted},
		{portico.Approved, portico.EvictSubscription, portico.Evicted},
		{portico.Cancelled, portico.EvictSubscription, portico.Evicted},
		{portico.Evicted, portico.EvictSubscription, refused},

		{portico.Pending, portico.LiftEviction, refused},
		{portico.Approved, portico.LiftEviction, refused},
		{portico.Cancelled, portico.LiftEviction, refused},
		{portico.Evicted, portico.LiftEviction, portico.Cancelled},

		{portico.Pending, portico.CancelSubscription, portico.Cancelled},
		{portico.Approved, portico.CancelSubscription, portico.Cancelled},
		{portico.Cancelled, portico.CancelSubscription, portico.Cancelled},
		{portico.Evicted, portico.CancelSubscription, refused},
	} {
		s := &portico.Subscription{ID: "s", ApplicationID: "app", APIID: "api", PlanID: "p", Status: c.from}
		got, err := cfg.Transition(s, c.act)
		if err != nil {
			if portico.ErrorCodeOf(err) != portico.EConflict {
				t.Errorf("%s %s: %v, want a conflict", c.act, c.from, err)
			}
			got = refused
		}
		if got != c.want {
			t.Errorf("%s %s: %s, want %s", c.act, c.from, got, c.want)
		}
	}
}

// TestCheckSubscribe: an application with a live subscription or an
// eviction cannot subscribe to the API again; after a cancel it can.
func TestCheckSubscribe(t *testing.T) {
	api := &portico.API{ID: "api", Name: "w", Context: "/a", Plans: []string{"p"}, State: portico.Published}
	base := portico.NewConfig().With(1, portico.Put(&portico.Plan{ID: "p"}), portico.Put(api))
	for _, c := range []struct {
		name  string
		have  []portico.SubscriptionStatus
		plan  string
		code  portico.ErrorCode
		field string
	}{
		{"none", nil, "p", "", ""},
		{"cancelled", []portico.SubscriptionStatus{portico.Cancelled}, "p", "", ""},
		{"pending", []portico.SubscriptionStatus{portico.Pending}, "p", portico.EConflict, "api"},
		{"approved", []portico.SubscriptionStatus{portico.Cancelled, portico.Approved}, "p", portico.EConflict, "api"},
		{"evicted", []portico.SubscriptionStatus{portico.Evicted}, "p", portico.EConflict, "api"},
		{"evicted, then cancelled", []portico.SubscriptionStatus{portico.Evicted, portico.Cancelled}, "p", portico.EConflict, "api"},
		{"plan not offered", nil, "q", portico.EInvalid, "plan"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := base
			for i, st := range c.have {
				cfg = cfg.With(cfg.Version+1, portico.Put(&portico.Subscription{ID: string(rune('a' + i)), ApplicationID: "app", APIID: "api", PlanID: "p", Status: st}))
			}
			err := cfg.CheckSubscribe("app", api, c.plan)
			if portico.ErrorCodeOf(err) != c.code || portico.ErrorFieldOf(err) != c.field {
				t.Errorf("CheckSubscribe = %v, want %q on %q", err, c.code, c.field)
			}
			if err := cfg.CheckSubscribe("other-app", api, "p"); err != nil {
				t.Errorf("another application: %v", err)
			}
		})
	}
	draft := *api
	draft.State = portico.Draft
	if err := base.CheckSubscribe("app", &draft, "p"); portico.ErrorCodeOf(err) != portico.EConflict || portico.ErrorFieldOf(err) != "api" {
		t.Errorf("a draft: %v", err)
	}
}
