package portico

import (
	"strings"
	"testing"
)

// TestCheckDelete: what may be deleted, and what a change may not take
// away, each refusal naming what holds it.
func TestCheckDelete(t *testing.T) {
	cfg := NewConfig().With(1,
		Put(&User{ID: "pat", Username: "pat", Roles: []Role{RolePublisher}}),
		Put(&User{ID: "sam", Username: "sam", Roles: []Role{RoleSubscriber}}),
		Put(&Plan{ID: "gold", Name: "gold", Owner: "pat"}),
		Put(&Plan{ID: "old", Name: "old", Owner: "pat"}),
		Put(&Group{ID: "g", Name: "partners", Members: []string{"sam"}}),
		Put(&API{ID: "w", Name: "weather", State: Published, Plans: []string{"gold"}, Groups: []string{"g"}, Owner: "pat", Context: "/w"}),
		Put(&API{ID: "r", Name: "retired", State: Retired, Owner: "pat", Context: "/r"}),
		Put(&Application{ID: "app", Name: "app", Owner: "sam"}),
		Put(&Subscription{ID: "s1", ApplicationID: "app", APIID: "w", PlanID: "gold", Status: Approved}),
		Put(&Subscription{ID: "s2", ApplicationID: "app", APIID: "r", PlanID: "old", Status: Approved}),
	)
	noPlans := *cfg.APIs.Get("w")
	noPlans.Plans = nil
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"an API with approved subscriptions", cfg.CheckDeleteAPI(cfg.APIs.Get("w")), `API "weather" has 1 approved subscriptions`},
		{"a retired API", cfg.CheckDeleteAPI(cfg.APIs.Get("r")), ""},
		{"an offered plan", cfg.CheckDeletePlan(cfg.Plans.Get("gold")), `plan "gold" is offered by API "weather" (w)`},
		{"a plan a live subscription uses", cfg.CheckDeletePlan(cfg.Plans.Get("old")), `plan "old" is used by subscription s2`},
		{"a listed group", cfg.CheckDeleteGroup(cfg.Groups.Get("g")), `group "partners" is listed by 1 APIs: "weather" (w)`},
		{"an owner", cfg.CheckDeleteUser(cfg.Users.Get("pat")), `"pat" owns 2 APIs and 2 plans`},
		{"a subscriber", cfg.CheckDeleteUser(cfg.Users.Get("sam")), ""},
		{"a used plan taken off", cfg.CheckPlansInUse(&noPlans), `plan "gold" is used by subscription s1 of this API`},
		{"no admin", cfg.CheckEnabledAdmin(), "no enabled admin would remain"},
	} {
		if (tc.err == nil) != (tc.want == "") || (tc.err != nil && (ErrorCodeOf(tc.err) != EConflict || !strings.Contains(tc.err.Error(), tc.want))) {
			t.Errorf("%s: %v, want %q", tc.name, tc.err, tc.want)
		}
	}
	admin := cfg.With(2, Put(&User{ID: "a", Username: "a", Roles: []Role{RoleAdmin}}))
	if err := admin.CheckEnabledAdmin(); err != nil {
		t.Errorf("an enabled admin: %v", err)
	}
}
