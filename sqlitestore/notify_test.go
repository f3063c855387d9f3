package sqlitestore

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

func TestNotifications(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()

	// 120 notifications, one a second; every third for publisher pub, every
	// fifth for subscriber sub.
	var all []*portico.Notification // newest first
	for i := range 120 {
		n := &portico.Notification{
			ID: fmt.Sprintf("n%03d", i), Time: at(i), Kind: portico.NotifyQuotaThreshold,
			Message: fmt.Sprintf("quota at 80%% (%d)", i), APIID: "api1", ApplicationID: "app1", SubscriptionID: "sub1",
			Publisher: "other", Subscriber: "other",
		}
		if i%3 == 0 {
			n.Publisher = "pub"
		}
		if i%5 == 0 {
			n.Subscriber = "sub"
		}
		if err := db.AddNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
		all = append([]*portico.Notification{n}, all...)
	}
	// Adding the same ID again does nothing.
	dup := *all[0]
	dup.Message = "changed"
	if err := db.AddNotification(ctx, &dup); err != nil {
		t.Fatal(err)
	}
	if err := db.AddNotification(ctx, &portico.Notification{ID: "no-time"}); err == nil {
		t.Error("AddNotification without Time succeeded")
	}

	where := func(keep func(*portico.Notification) bool, limit int) []*portico.Notification {
		var out []*portico.Notification
		for _, n := range all {
			if keep(n) && len(out) < limit {
				out = append(out, n)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    portico.NotificationFilter
		want []*portico.Notification
	}{
		{"default limit", portico.NotificationFilter{}, all[:100]},
		{"limit", portico.NotificationFilter{Limit: 7}, all[:7]},
		{"limit above count", portico.NotificationFilter{Limit: 500}, all},
		{"publisher", portico.NotificationFilter{User: "pub"},
			where(func(n *portico.Notification) bool { return n.Publisher == "pub" }, 100)},
		{"subscriber", portico.NotificationFilter{User: "sub", Limit: 5},
			where(func(n *portico.Notification) bool { return n.Subscriber == "sub" }, 5)},
		{"before", portico.NotificationFilter{Before: at(50), Limit: 10},
			where(func(n *portico.Notification) bool { return n.Time.Before(at(50)) }, 10)},
		{"user and before", portico.NotificationFilter{User: "pub", Before: at(30)},
			where(func(n *portico.Notification) bool { return n.Publisher == "pub" && n.Time.Before(at(30)) }, 100)},
		{"nobody", portico.NotificationFilter{User: "nobody"}, nil},
		{"before everything", portico.NotificationFilter{Before: at(0)}, where(func(*portico.Notification) bool { return false }, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.Notifications(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %d notifications, want %d\n got %v\nwant %v", len(got), len(tc.want), ids(got), ids(tc.want))
			}
		})
	}
}

func TestNotificationsSameTime(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	for _, id := range []string{"b", "a", "c"} {
		if err := db.AddNotification(ctx, &portico.Notification{ID: id, Time: at(0), Publisher: "p"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Notifications(ctx, portico.NotificationFilter{User: "p", Before: at(0).Add(time.Nanosecond)})
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(ids(got)); s != "[c b a]" {
		t.Fatalf("order = %s, want [c b a]", s)
	}
}

func ids(ns []*portico.Notification) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}
