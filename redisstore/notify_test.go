package redisstore_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/redistest"
	"github.com/portico-gw/portico/internal/storetest"
	"github.com/portico-gw/portico/redisstore"
)

func ids(ns []*portico.Notification) []string {
	out := []string{}
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}

func TestNotifications(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := fresh(t, srv, redisstore.WithNotificationCap(5))
	other := open(t, srv, s.Cluster()) // another node sees the same
	add := func(n *portico.Notification) {
		t.Helper()
		if err := s.AddNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	first := &portico.Notification{ID: "n1", Time: storetest.At(1), Kind: portico.NotifyQuotaReached,
		Message: "quota used up", APIID: "api1", ApplicationID: "app1", SubscriptionID: "sub1",
		Publisher: "pub", Subscriber: "sub"}
	add(first)
	add(&portico.Notification{ID: "n2", Time: storetest.At(2), Publisher: "pub"})
	add(&portico.Notification{ID: "n3", Time: storetest.At(3), Subscriber: "sub"})
	add(&portico.Notification{ID: "n4", Time: storetest.At(3)}) // same time: ID breaks the tie
	add(&portico.Notification{ID: "n1", Time: storetest.At(9), Message: "a retry"})

	list := func(f portico.NotificationFilter) []string {
		t.Helper()
		ns, err := other.Notifications(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return ids(ns)
	}
	for _, tc := range []struct {
		f    portico.NotificationFilter
		want []string
	}{
		{portico.NotificationFilter{}, []string{"n4", "n3", "n2", "n1"}},
		{portico.NotificationFilter{User: "pub"}, []string{"n2", "n1"}},
		{portico.NotificationFilter{User: "sub"}, []string{"n3", "n1"}},
		{portico.NotificationFilter{User: "nobody"}, []string{}},
		{portico.NotificationFilter{Limit: 2}, []string{"n4", "n3"}},
		{portico.NotificationFilter{Before: storetest.At(3)}, []string{"n2", "n1"}},
	} {
		if got := list(tc.f); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Notifications(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
	ns, err := other.Notifications(ctx, portico.NotificationFilter{User: "sub", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := ns[1]; !reflect.DeepEqual(got, first) {
		t.Errorf("n1 = %+v, want %+v (the first add)", got, first)
	}

	// Only the newest 5 are kept, overall and per user.
	for i := 10; i < 16; i++ {
		add(&portico.Notification{ID: fmt.Sprint("m", i), Time: storetest.At(i), Publisher: "pub"})
	}
	if got, want := list(portico.NotificationFilter{}), []string{"m15", "m14", "m13", "m12", "m11"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after the cap: %v, want %v", got, want)
	}
	if got, want := list(portico.NotificationFilter{User: "pub"}), []string{"m15", "m14", "m13", "m12", "m11"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after the cap, user pub: %v, want %v", got, want)
	}
	if n, err := srv.Client(t).HLen(ctx, "portico:{"+s.Cluster()+"}:notify:body").Result(); err != nil || n != 5 {
		t.Errorf("stored bodies = %d, %v; want 5", n, err)
	}
	if err := s.AddNotification(ctx, &portico.Notification{ID: "x"}); err == nil {
		t.Error("AddNotification without a time succeeded")
	}
}
