package analytics_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/analytics"
)

// TestSetLimitsBatchAndInterval: a smaller batch size writes the batch
// being filled at once and cuts the next ones to size; a shorter interval
// flushes the rest; nothing is lost or reordered.
func TestSetLimitsBatchAndInterval(t *testing.T) {
	sink := &fakeSink{}
	r := newRecorder(t, analytics.Config{Sink: sink, BatchSize: 1000, MaxConcurrentBatches: 1, FlushInterval: hour})
	for i := range 7 {
		r.Record(rec(0, i))
	}
	if err := r.SetLimits(hour, 5, 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the batch being filled written at once", func() bool { return sink.count() == 7 })
	for i := 7; i < 19; i++ {
		r.Record(rec(0, i))
	}
	waitFor(t, "two batches of the new size", func() bool { return sink.count() == 17 && r.Stats().Queued == 2 })
	if err := r.SetLimits(10*time.Millisecond, 5, 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rest flushed by the new interval", func() bool { return sink.count() == 19 })
	if got, want := sink.sizes(), []int{7, 5, 5, 2}; !slices.Equal(got, want) {
		t.Errorf("batch sizes %v, want %v", got, want)
	}
	if got, want := sink.ids(), ids(0, 0, 19); !slices.Equal(got, want) {
		t.Errorf("sink got %v, want %v", got, want)
	}
	// A larger batch size: records wait for it (or the interval).
	if err := r.SetLimits(hour, 20, 1); err != nil {
		t.Fatal(err)
	}
	for i := 19; i < 39; i++ {
		r.Record(rec(0, i))
	}
	waitFor(t, "one batch of 20", func() bool { return sink.count() == 39 })
	if got, want := sink.sizes(), []int{7, 5, 5, 2, 20}; !slices.Equal(got, want) {
		t.Errorf("batch sizes %v, want %v", got, want)
	}
}

// TestSetLimitsConcurrency: raising MaxConcurrentBatches starts more
// writes at once; lowering it lets the writes in flight finish and then
// keeps to the new limit.
func TestSetLimitsConcurrency(t *testing.T) {
	block1, block2 := make(chan struct{}), make(chan struct{})
	sink := &fakeSink{block: block1}
	r := newRecorder(t, analytics.Config{Sink: sink, BatchSize: 5, MaxConcurrentBatches: 1, FlushInterval: hour})
	for i := range 50 {
		r.Record(rec(0, i))
	}
	inflight := func(n, calls int) func() bool {
		return func() bool {
			sink.mu.Lock()
			defer sink.mu.Unlock()
			return sink.inflight == n && (calls == 0 || sink.calls == calls)
		}
	}
	waitFor(t, "one write in flight", inflight(1, 1))
	if err := r.SetLimits(hour, 5, 3); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three writes in flight", inflight(3, 3))
	if err := r.SetLimits(hour, 5, 1); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	sink.block = block2
	sink.mu.Unlock()
	close(block1)
	waitFor(t, "one write in flight after the three", inflight(1, 4))
	sink.mu.Lock()
	sink.maxInflight = sink.inflight
	sink.mu.Unlock()
	close(block2)
	waitFor(t, "every record written", func() bool { return sink.count() == 50 })
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.maxInflight != 1 {
		t.Errorf("%d writes in flight at once after lowering the limit to 1", sink.maxInflight)
	}
}

func TestSetLimitsValidates(t *testing.T) {
	sink := &fakeSink{}
	r := newRecorder(t, analytics.Config{Sink: sink, BatchSize: 3, MaxConcurrentBatches: 1, FlushInterval: hour})
	for _, tc := range []struct {
		flush        time.Duration
		batch, slots int
		field        string
	}{
		{-time.Second, 1, 1, "flush_interval"},
		{time.Second, -1, 1, "batch_size"},
		{time.Second, 1, -1, "max_concurrent_batches"},
	} {
		err := r.SetLimits(tc.flush, tc.batch, tc.slots)
		if pe, ok := err.(*portico.Error); !ok || pe.Code != portico.EInvalid || pe.Field != tc.field {
			t.Errorf("SetLimits(%v, %d, %d) = %v, want an EInvalid error on %s", tc.flush, tc.batch, tc.slots, err, tc.field)
		}
	}
	// Nothing changed: batches of 3 still.
	for i := range 3 {
		r.Record(rec(0, i))
	}
	waitFor(t, "a batch of 3", func() bool { return sink.count() == 3 })
}

// TestSetLimitsUnderLoad changes the limits over and over while producers
// record: every record reaches the sink exactly once. Run it with -race.
func TestSetLimitsUnderLoad(t *testing.T) {
	const producers, perProducer = 4, 10_000
	sink := &fakeSink{}
	r := newRecorder(t, analytics.Config{Sink: sink, BatchSize: 100, FlushInterval: time.Millisecond})
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range perProducer {
				r.Record(rec(p, i))
				if i%100 == 99 {
					time.Sleep(100 * time.Microsecond)
				}
			}
		})
	}
	done := make(chan struct{})
	var changer sync.WaitGroup
	changer.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			if err := r.SetLimits(time.Duration(1+i%5)*time.Millisecond, 1+i*37%500, 1+i%4); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(200 * time.Microsecond)
		}
	})
	wg.Wait()
	close(done)
	changer.Wait()
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	got := sink.ids()
	if st.Dropped != 0 || st.Recorded != producers*perProducer || len(got) != producers*perProducer {
		t.Fatalf("stats %+v, sink has %d records: want all %d recorded", st, len(got), producers*perProducer)
	}
	seen := make(map[string]bool, len(got))
	for _, id := range got {
		if seen[id] {
			t.Fatalf("%s written twice", id)
		}
		seen[id] = true
	}
	for p := range producers {
		for _, id := range ids(p, 0, perProducer) {
			if !seen[id] {
				t.Fatalf("%s lost", id)
			}
		}
	}
}
