package portico

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestNamesIndexDerived applies random changes of APIs and plans with
// With to a Config whose index is built and checks after each step that
// APIsNamed and PlansOf match the index built from scratch.
func TestNamesIndexDerived(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	pick := func(prefix string, n int) string { return fmt.Sprint(prefix, rng.IntN(n)) }
	names := []string{"weather", "Weather", "billing", "gold", "GOLD"}
	cfg := NewConfig()
	cfg.UserByName("x")
	for step := range 2000 {
		var changes []Change
		for range 1 + rng.IntN(3) {
			switch rng.IntN(3) {
			case 0:
				id := pick("api", 10)
				changes = append(changes, Put(&API{ID: id, Context: "/" + id, Name: names[rng.IntN(len(names))], Version: pick("v", 2)}))
			case 1:
				changes = append(changes, Put(&Plan{ID: pick("plan", 10), Name: names[rng.IntN(len(names))], Owner: pick("u", 3)}))
			case 2:
				if rng.IntN(2) == 0 {
					changes = append(changes, Delete(KindAPI, pick("api", 10)))
				} else {
					changes = append(changes, Delete(KindPlan, pick("plan", 10)))
				}
			}
		}
		cfg = cfg.With(cfg.Version+1, changes...)
		fresh := &Config{APIs: cfg.APIs, Plans: cfg.Plans}
		for _, n := range names {
			for v := range 2 {
				same(t, step, "APIsNamed "+n, cfg.APIsNamed(n, fmt.Sprint("V", v)), fresh.APIsNamed(n, fmt.Sprint("v", v)))
			}
		}
		for u := range 4 {
			same(t, step, "PlansOf", cfg.PlansOf(fmt.Sprint("u", u)), fresh.PlansOf(fmt.Sprint("u", u)))
		}
	}
}

// TestCheckNames: a name is taken in any case — an API's with its version
// across the store, a plan's and an application's among one owner's —
// and an entity never clashes with itself.
func TestCheckNames(t *testing.T) {
	cfg := NewConfig().With(1,
		Put(&API{ID: "a1", Name: "Weather", Version: "V1", Context: "/w"}),
		Put(&Plan{ID: "p1", Name: "Gold", Owner: "pat"}),
		Put(&Application{ID: "c1", Name: "App", Owner: "sam"}),
	)
	for _, tc := range []struct {
		name string
		err  error
		want ErrorCode
	}{
		{"API: same name and version in another case", cfg.CheckAPIName(&API{ID: "a2", Name: "weather", Version: "v1"}), EConflict},
		{"API: itself", cfg.CheckAPIName(&API{ID: "a1", Name: "weather", Version: "v1"}), ""},
		{"API: another version", cfg.CheckAPIName(&API{ID: "a2", Name: "weather", Version: "v2"}), ""},
		{"plan: the owner's name", cfg.CheckPlanName(&Plan{ID: "p2", Name: "GOLD", Owner: "pat"}), EConflict},
		{"plan: another owner's name", cfg.CheckPlanName(&Plan{ID: "p2", Name: "gold", Owner: "ann"}), ""},
		{"plan: itself", cfg.CheckPlanName(&Plan{ID: "p1", Name: "gold", Owner: "pat"}), ""},
		{"application: the owner's name", cfg.CheckApplicationName(&Application{ID: "c2", Name: "app", Owner: "sam"}), EConflict},
		{"application: another owner's name", cfg.CheckApplicationName(&Application{ID: "c2", Name: "app", Owner: "ann"}), ""},
	} {
		if got := ErrorCodeOf(tc.err); (tc.err == nil) != (tc.want == "") || (tc.err != nil && got != tc.want) {
			t.Errorf("%s: %v", tc.name, tc.err)
		}
		if tc.err != nil && ErrorFieldOf(tc.err) != "name" {
			t.Errorf("%s: field %q", tc.name, ErrorFieldOf(tc.err))
		}
	}
}
