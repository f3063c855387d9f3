package portico_test

import (
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// TestRekeyCounters: counters saved under subscription ids are renamed
// after the subscription's application and API; two subscriptions of one
// application to one API merge into one counter.
func TestRekeyCounters(t *testing.T) {
	cfg := portico.NewConfig().With(1,
		portico.Put(&portico.Subscription{ID: "s1", ApplicationID: "app", APIID: "api", Status: portico.Evicted}),
		portico.Put(&portico.Subscription{ID: "s2", ApplicationID: "app", APIID: "api", Status: portico.Approved}),
		portico.Put(&portico.Subscription{ID: "s3", ApplicationID: "app", APIID: "other", Status: portico.Approved}),
	)
	may, jun := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	got := portico.RekeyCounters(cfg, []portico.CounterState{
		{Key: "s1/quota", Start: jun, Count: 40},
		{Key: "s2/quota", Start: jun, Count: 2},
		{Key: "s3/quota", Start: may, Count: 7},
		{Key: "s3/quota-old", Start: may, Count: 1},
		{Key: "gone/quota", Start: jun, Count: 5},
		{Key: "app/api/quota", Start: may, Count: 99}, // already renamed, an older period
	})
	want := []portico.CounterState{
		{Key: "app/api/quota", Start: jun, Count: 42},
		{Key: "app/other/quota", Start: may, Count: 7},
		{Key: "app/other/quota-old", Start: may, Count: 1},
		{Key: "gone/quota", Start: jun, Count: 5},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Key != want[i].Key || !got[i].Start.Equal(want[i].Start) || got[i].Count != want[i].Count {
			t.Errorf("counter %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
