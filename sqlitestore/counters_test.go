package sqlitestore

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

func TestCounters(t *testing.T) {
	db, path := open(t)
	ctx := context.Background()
	check := func(db *DB, want []portico.CounterState) {
		t.Helper()
		got, err := db.LoadCounters(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("counters\n got %+v\nwant %+v", got, want)
		}
	}
	check(db, nil)
	if err := db.SaveCounters(ctx, nil); err != nil {
		t.Fatal(err)
	}

	a := portico.CounterState{Key: "q:sub1:month", Start: at(0), Count: 10}
	b := portico.CounterState{Key: "q:sub2:day", Start: time.Time{}, Count: 1}
	if err := db.SaveCounters(ctx, []portico.CounterState{b, a}); err != nil {
		t.Fatal(err)
	}
	check(db, []portico.CounterState{a, b})

	// Saving replaces the saved counters and keeps the others. A start in
	// another zone loads as the same instant in UTC.
	a.Count, a.Start = 11, at(60).In(time.FixedZone("CET", 3600))
	c := portico.CounterState{Key: "q:sub3:week", Start: at(7), Count: 1 << 40}
	if err := db.SaveCounters(ctx, []portico.CounterState{a, c}); err != nil {
		t.Fatal(err)
	}
	a.Start = a.Start.UTC()
	check(db, []portico.CounterState{a, b, c})

	db.Close()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	check(db, []portico.CounterState{a, b, c})
}
