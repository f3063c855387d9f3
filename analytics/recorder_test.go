package analytics_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/analytics"
)

const hour = time.Hour // a flush interval that never fires during a test

func TestNewValidates(t *testing.T) {
	dir := t.TempDir()
	sink := &fakeSink{}
	for _, tc := range []struct {
		field string
		cfg   analytics.Config
	}{
		{"sink", analytics.Config{SpoolDir: dir}},
		{"spool_dir", analytics.Config{Sink: sink}},
		{"flush_interval", analytics.Config{Sink: sink, SpoolDir: dir, FlushInterval: -1}},
		{"batch_size", analytics.Config{Sink: sink, SpoolDir: dir, BatchSize: -1}},
		{"max_concurrent_batches", analytics.Config{Sink: sink, SpoolDir: dir, MaxConcurrentBatches: -1}},
		{"buffer_size", analytics.Config{Sink: sink, SpoolDir: dir, BufferSize: -1}},
		{"max_spool_bytes", analytics.Config{Sink: sink, SpoolDir: dir, MaxSpoolBytes: -1}},
		{"retry_interval", analytics.Config{Sink: sink, SpoolDir: dir, RetryInterval: -1}},
		{"write_timeout", analytics.Config{Sink: sink, SpoolDir: dir, WriteTimeout: -1}},
	} {
		t.Run(tc.field, func(t *testing.T) {
			_, err := analytics.New(tc.cfg)
			if portico.ErrorCodeOf(err) != portico.EInvalid || portico.ErrorFieldOf(err) != tc.field {
				t.Fatalf("New: %v, want an invalid %s", err, tc.field)
			}
		})
	}
}

func TestOneRecorderPerSpoolDir(t *testing.T) {
	dir := t.TempDir()
	newRecorder(t, analytics.Config{Sink: &fakeSink{}, SpoolDir: dir})
	if _, err := analytics.New(analytics.Config{Sink: &fakeSink{}, SpoolDir: dir}); err == nil {
		t.Fatal("a second Recorder on the same spool dir started")
	}
}

func TestBatchBySize(t *testing.T) {
	sink := &fakeSink{}
	r := newRecorder(t, analytics.Config{Sink: sink, BatchSize: 10, MaxConcurrentBatches: 1, FlushInterval: hour})
	for i := range 25 {
		r.Record(rec(0, i))
	}
	// Two full batches written, five records waiting for the interval.
	waitFor(t, "two full batches", func() bool { return len(sink.sizes()) == 2 && r.Stats().Queued == 5 })
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := sink.sizes(), []int{10, 10, 5}; !slices.Equal(got, want) {
		t.Errorf("batch sizes %v, want %v", got, want)
	}
	if got, want := sink.ids(), ids(0, 0, 25); !slices.Equal(got, want) {
		t.Errorf("sink got %v, want %v", got, want)
	}
	st := r.Stats()
	if st.Recorded != 25 || st.Batches != 3 || st.Queued != 0 || st.Spooled != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestBatchByInterval(t *testing.T) {
	sink := &fakeSink{}
	r := newRecorder(t, analytics.Config{Sink: sink, BatchSize: 1000, FlushInterval: 10 * time.Millisecond})
	for i := range 3 {
		r.Record(rec(0, i))
	}
	waitFor(t, "the first partial batch", func() bool { return sink.count() == 3 })
	for i := 3; i < 5; i++ {
		r.Record(rec(0, i))
	}
	waitFor(t, "the second partial batch", func() bool { return sink.count() == 5 })
	if got := sink.sizes(); !slices.Equal(got, []int{3, 2}) {
		t.Errorf("batch sizes %v, want [3 2]", got)
	}
	if got, want := sink.ids(), ids(0, 0, 5); !slices.Equal(got, want) {
		t.Errorf("sink got %v, want %v", got, want)
	}
}

func TestMaxConcurrentBatches(t *testing.T) {
	for _, limit := range []int{1, 3} {
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			block := make(chan struct{})
			sink := &fakeSink{block: block}
			r := newRecorder(t, analytics.Config{
				Sink: sink, BatchSize: 5, MaxConcurrentBatches: limit, FlushInterval: hour,
			})
			for i := range 50 {
				r.Record(rec(0, i))
			}
			waitFor(t, "writes in flight", func() bool {
				sink.mu.Lock()
				defer sink.mu.Unlock()
				return sink.inflight == limit
			})
			close(block)
			waitFor(t, "every record written", func() bool { return sink.count() == 50 })
			sink.mu.Lock()
			defer sink.mu.Unlock()
			if sink.maxInflight != limit {
				t.Errorf("%d writes in flight at most, want %d", sink.maxInflight, limit)
			}
			if sink.calls != 10 {
				t.Errorf("%d writes, want 10", sink.calls)
			}
		})
	}
}

// TestSinkDownUnderLoad: several producers record 50,000 records while the
// sink is down for the first half; every accepted record reaches the sink
// exactly once, and with one write slot in the order each producer
// recorded them.
func TestSinkDownUnderLoad(t *testing.T) {
	const producers, perProducer = 5, 10_000
	for _, slots := range []int{1, 2} {
		t.Run(strconv.Itoa(slots), func(t *testing.T) {
			sink := &fakeSink{down: true}
			r := newRecorder(t, analytics.Config{
				Sink: sink, BatchSize: 500, FlushInterval: 5 * time.Millisecond,
				MaxConcurrentBatches: slots, RetryInterval: 10 * time.Millisecond,
			})
			var produced atomic.Int64
			var wg sync.WaitGroup
			for p := range producers {
				wg.Go(func() {
					for i := range perProducer {
						r.Record(rec(p, i))
						produced.Add(1)
						if i%100 == 99 {
							time.Sleep(time.Millisecond) // keep the load going for a while
						}
					}
				})
			}
			waitFor(t, "half the records, some spooled", func() bool {
				return produced.Load() >= producers*perProducer/2 && r.Stats().Spooled > 0
			})
			sink.setDown(false)
			wg.Wait()
			waitFor(t, "the spool replayed", func() bool {
				st := r.Stats()
				return st.Queued == 0 && st.SinkUp && st.SpoolRecords == 0
			})
			if err := r.Close(t.Context()); err != nil {
				t.Fatal(err)
			}

			st := r.Stats()
			got := sink.ids()
			if st.Recorded+st.Dropped != producers*perProducer {
				t.Errorf("Recorded %d + Dropped %d != %d offered", st.Recorded, st.Dropped, producers*perProducer)
			}
			if int64(len(got)) != st.Recorded {
				t.Errorf("sink has %d records, Recorded = %d", len(got), st.Recorded)
			}
			if st.Spooled == 0 || st.Replayed != st.Spooled || st.Failures == 0 {
				t.Errorf("stats %+v: want Spooled > 0, Replayed == Spooled, Failures > 0", st)
			}
			seen := make(map[string]bool, len(got))
			last := make([]int, producers)
			for i := range last {
				last[i] = -1
			}
			for _, id := range got {
				if seen[id] {
					t.Fatalf("%s written twice", id)
				}
				seen[id] = true
				var p, i int
				p, _ = strconv.Atoi(id[1:strings.IndexByte(id, '-')])
				i, _ = strconv.Atoi(id[strings.IndexByte(id, '-')+1:])
				if slots == 1 && i <= last[p] {
					t.Fatalf("%s after p%d-%06d: out of order", id, p, last[p])
				}
				last[p] = max(last[p], i)
			}
			t.Logf("stats %+v", st)
		})
	}
}

// TestSpoolSurvivesCrash: a Recorder dies with batches in its spool (the
// spool file is copied, as a crash would leave it); New on the copy
// replays them before anything else.
func TestSpoolSurvivesCrash(t *testing.T) {
	down := &fakeSink{down: true}
	dir := t.TempDir()
	r := newRecorder(t, analytics.Config{
		Sink: down, SpoolDir: dir, BatchSize: 10, FlushInterval: hour, RetryInterval: hour,
	})
	for i := range 35 {
		r.Record(rec(0, i))
	}
	waitFor(t, "three batches spooled", func() bool { return r.Stats().Spooled == 30 })
	data, err := os.ReadFile(filepath.Join(dir, analytics.SpoolFile))
	if err != nil {
		t.Fatal(err)
	}
	dir2 := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir2, analytics.SpoolFile), data, 0o600); err != nil {
		t.Fatal(err)
	}

	sink := &fakeSink{}
	r2 := newRecorder(t, analytics.Config{Sink: sink, SpoolDir: dir2, BatchSize: 10, FlushInterval: hour})
	r2.Record(rec(1, 0))
	waitFor(t, "the spool replayed", func() bool { st := r2.Stats(); return st.Replayed == 30 && st.SinkUp })
	if err := r2.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := sink.ids(), append(ids(0, 0, 30), ids(1, 0, 1)...); !slices.Equal(got, want) {
		t.Errorf("sink got %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir2, analytics.SpoolFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty spool left behind: %v", err)
	}
}

// TestRestartReplaysOnce: a spool replayed by one run is not replayed by
// the next, even when the sink failed halfway through the replay.
func TestRestartReplaysOnce(t *testing.T) {
	dir := t.TempDir()
	down := &fakeSink{down: true}
	r := newRecorder(t, analytics.Config{Sink: down, SpoolDir: dir, BatchSize: 10, FlushInterval: hour})
	for i := range 40 {
		r.Record(rec(0, i))
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Spooled != 40 || st.SpoolRecords != 40 {
		t.Fatalf("stats after Close: %+v", st)
	}

	// The second run replays two batches, then the sink fails.
	sink := &failAfter{n: 2}
	r2 := newRecorder(t, analytics.Config{Sink: sink, SpoolDir: dir, RetryInterval: hour})
	waitFor(t, "two batches replayed", func() bool { return r2.Stats().Failures == 1 })
	if err := r2.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := r2.Stats(); st.Replayed != 20 || st.SpoolRecords != 20 {
		t.Fatalf("stats of the second run: %+v", st)
	}

	// The third run replays the other two.
	sink3 := &fakeSink{}
	r3 := newRecorder(t, analytics.Config{Sink: sink3, SpoolDir: dir})
	waitFor(t, "the rest replayed", func() bool { return r3.Stats().SinkUp })
	if got, want := append(sink.ids(), sink3.ids()...), ids(0, 0, 40); !slices.Equal(got, want) {
		t.Errorf("sinks got %v, want %v", got, want)
	}
}

// failAfter takes n batches, then fails.
type failAfter struct {
	fakeSink
	n int
}

func (s *failAfter) Write(ctx context.Context, b []portico.Record) error {
	s.mu.Lock()
	fail := len(s.batches) >= s.n
	s.mu.Unlock()
	if fail {
		return errDown
	}
	return s.fakeSink.Write(ctx, b)
}

// spoolFrames returns the offsets of the frames in a spool file.
func spoolFrames(t *testing.T, data []byte) []int {
	t.Helper()
	var offs []int
	for off := 0; off < len(data); {
		offs = append(offs, off)
		off += 28 + int(binary.BigEndian.Uint32(data[off+4:]))
	}
	return offs
}

// spoolOf closes a Recorder whose sink is down after recording n records
// in batches of 10, and returns its spool file.
func spoolOf(t *testing.T, dir string, n int) string {
	t.Helper()
	r := newRecorder(t, analytics.Config{Sink: &fakeSink{down: true}, SpoolDir: dir, BatchSize: 10, FlushInterval: hour})
	for i := range n {
		r.Record(rec(0, i))
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, analytics.SpoolFile)
}

func TestTornSpoolTail(t *testing.T) {
	dir := t.TempDir()
	path := spoolOf(t, dir, 30)
	data, _ := os.ReadFile(path)
	offs := spoolFrames(t, data)
	if len(offs) != 3 {
		t.Fatalf("%d frames, want 3", len(offs))
	}
	torn := offs[2] + (len(data)-offs[2])/2
	if err := os.Truncate(path, int64(torn)); err != nil {
		t.Fatal(err)
	}

	// The sink is still down: the torn frame is cut off, new batches follow
	// the complete ones.
	var log logBuffer
	r := newRecorder(t, analytics.Config{
		Sink: &fakeSink{down: true}, SpoolDir: dir, BatchSize: 10, FlushInterval: hour,
		RetryInterval: hour, Logger: log.logger(),
	})
	if !strings.Contains(log.String(), "torn frame") {
		t.Errorf("torn frame not logged: %s", log.String())
	}
	for i := range 10 {
		r.Record(rec(1, i))
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	sink := &fakeSink{}
	r2 := newRecorder(t, analytics.Config{Sink: sink, SpoolDir: dir})
	waitFor(t, "the spool replayed", func() bool { return r2.Stats().SinkUp })
	if got, want := sink.ids(), append(ids(0, 0, 20), ids(1, 0, 10)...); !slices.Equal(got, want) {
		t.Errorf("sink got %v, want %v", got, want)
	}
}

func TestCorruptSpoolFrame(t *testing.T) {
	dir := t.TempDir()
	path := spoolOf(t, dir, 30)
	data, _ := os.ReadFile(path)
	offs := spoolFrames(t, data)
	data[offs[1]+28+5] ^= 0xff // a payload byte of the middle frame
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var log logBuffer
	sink := &fakeSink{}
	r := newRecorder(t, analytics.Config{Sink: sink, SpoolDir: dir, Logger: log.logger()})
	waitFor(t, "the spool replayed", func() bool { return r.Stats().SinkUp })
	if got, want := sink.ids(), append(ids(0, 0, 10), ids(0, 20, 10)...); !slices.Equal(got, want) {
		t.Errorf("sink got %v, want %v", got, want)
	}
	if st := r.Stats(); st.Dropped != 10 || st.Replayed != 20 {
		t.Errorf("stats %+v, want 10 dropped, 20 replayed", st)
	}
	if !strings.Contains(log.String(), "corrupt spool frame") {
		t.Errorf("corrupt frame not logged: %s", log.String())
	}
}

// TestBufferFull: with the sink blocked, Record keeps returning at once and
// counts what the buffer cannot take; Close spools what it holds.
func TestBufferFull(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	sink := &fakeSink{block: block}
	r := newRecorder(t, analytics.Config{
		Sink: sink, BufferSize: 10, BatchSize: 5, MaxConcurrentBatches: 1, FlushInterval: hour,
	})
	const n = 10_000
	start := time.Now()
	for i := range n {
		r.Record(rec(0, i))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("%d Record calls took %v", n, d)
	}
	st := r.Stats()
	if st.Queued != 10 || st.Dropped != n-10 {
		t.Errorf("stats %+v, want 10 queued, %d dropped", st, n-10)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st = r.Stats()
	if st.Spooled != 10 || st.Recorded != 0 || st.Queued != 0 || st.Spooled+st.Dropped != n {
		t.Errorf("stats after Close %+v", st)
	}
}

func TestCloseSinkUp(t *testing.T) {
	dir := t.TempDir()
	sink := &fakeSink{}
	r := newRecorder(t, analytics.Config{Sink: sink, SpoolDir: dir, FlushInterval: hour})
	for i := range 123 {
		r.Record(rec(0, i))
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := sink.ids(), ids(0, 0, 123); !slices.Equal(got, want) {
		t.Errorf("sink got %d records, want %d", len(got), len(want))
	}
	if _, err := os.Stat(filepath.Join(dir, analytics.SpoolFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spool left behind: %v", err)
	}
}

func TestCloseSinkDown(t *testing.T) {
	dir := t.TempDir()
	r := newRecorder(t, analytics.Config{Sink: &fakeSink{down: true}, SpoolDir: dir, BatchSize: 50, FlushInterval: hour})
	for i := range 123 {
		r.Record(rec(0, i))
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Spooled != 123 || st.SpoolRecords != 123 || st.Recorded != 0 || st.SpoolBytes == 0 {
		t.Errorf("stats %+v", st)
	}
	sink := &fakeSink{}
	r2 := newRecorder(t, analytics.Config{Sink: sink, SpoolDir: dir})
	waitFor(t, "the spool replayed", func() bool { return r2.Stats().SinkUp })
	if got, want := sink.ids(), ids(0, 0, 123); !slices.Equal(got, want) {
		t.Errorf("sink got %v, want %v", got, want)
	}
}

// TestCloseDeadline: a write that hangs is cancelled when Close's context
// is done, and its batch goes to the spool with the rest.
func TestCloseDeadline(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	sink := &fakeSink{block: block}
	dir := t.TempDir()
	r := newRecorder(t, analytics.Config{Sink: sink, SpoolDir: dir, BatchSize: 10, MaxConcurrentBatches: 1, FlushInterval: hour})
	for i := range 35 {
		r.Record(rec(0, i))
	}
	waitFor(t, "a write in flight", func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return sink.inflight == 1
	})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Spooled != 35 || st.Failures != 0 || st.Queued != 0 {
		t.Errorf("stats %+v", st)
	}
	sink2 := &fakeSink{}
	r2 := newRecorder(t, analytics.Config{Sink: sink2, SpoolDir: dir})
	waitFor(t, "the spool replayed", func() bool { return r2.Stats().SinkUp })
	if got, want := sink2.ids(), ids(0, 0, 35); !slices.Equal(got, want) {
		t.Errorf("replayed %v, want %v", got, want)
	}
}

func TestCloseIdempotentAndRecordAfterClose(t *testing.T) {
	sink := &fakeSink{}
	r := newRecorder(t, analytics.Config{Sink: sink})
	r.Record(rec(0, 0))
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if err := r.Close(t.Context()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	r.Record(rec(0, 1))
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Recorded != 1 || st.Dropped != 1 {
		t.Errorf("stats %+v", st)
	}
	if got := sink.ids(); !slices.Equal(got, ids(0, 0, 1)) {
		t.Errorf("sink got %v", got)
	}
}

// TestSetSink: a new sink set while the old one is down gets the spool at
// once, without waiting for the retry interval.
func TestSetSink(t *testing.T) {
	var log logBuffer
	r := newRecorder(t, analytics.Config{
		Sink: &fakeSink{down: true}, BatchSize: 10, FlushInterval: hour, RetryInterval: hour, Logger: log.logger(),
	})
	for i := range 20 {
		r.Record(rec(0, i))
	}
	waitFor(t, "both batches spooled", func() bool { return r.Stats().Spooled == 20 })
	if !strings.Contains(log.String(), "sink write failed") {
		t.Errorf("failure not logged: %s", log.String())
	}
	sink := &fakeSink{}
	r.SetSink(sink)
	waitFor(t, "the spool replayed into the new sink", func() bool { return r.Stats().SinkUp })
	for i := 20; i < 30; i++ {
		r.Record(rec(0, i))
	}
	waitFor(t, "a direct batch", func() bool { return sink.count() == 30 })
	if got := sink.ids(); !slices.Equal(got, ids(0, 0, 30)) {
		t.Errorf("sink got %v", got)
	}
	if !strings.Contains(log.String(), "spool replayed") {
		t.Errorf("recovery not logged: %s", log.String())
	}
}

// TestSpoolFull: past MaxSpoolBytes batches are dropped and counted, and
// Close says records were lost.
func TestSpoolFull(t *testing.T) {
	r := newRecorder(t, analytics.Config{
		Sink: &fakeSink{down: true}, BatchSize: 10, FlushInterval: hour, RetryInterval: hour, MaxSpoolBytes: 6000,
	})
	for i := range 100 {
		r.Record(rec(0, i))
	}
	err := r.Close(t.Context())
	st := r.Stats()
	if st.Spooled == 0 || st.Dropped == 0 || st.Spooled+st.Dropped != 100 || st.SpoolBytes > 6000 {
		t.Errorf("stats %+v", st)
	}
	if err == nil {
		t.Error("Close: no error though records were dropped on close")
	}
}

// TestNowStampsSpool: spooled batches carry Config.Now's time.
func TestNowStampsSpool(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	r := newRecorder(t, analytics.Config{
		Sink: &fakeSink{down: true}, SpoolDir: dir, Now: func() time.Time { return at },
	})
	r.Record(rec(0, 0))
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, analytics.SpoolFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Unix(0, int64(binary.BigEndian.Uint64(data[16:]))); !got.Equal(at) {
		t.Errorf("frame stamped %v, want %v", got, at)
	}
}

// poisonSink rejects batches holding a record with RequestID "poison".
type poisonSink struct{ fakeSink }

func (s *poisonSink) Write(ctx context.Context, b []portico.Record) error {
	for _, r := range b {
		if r.RequestID == "poison" {
			return portico.Errorf(portico.EInvalid, "bad record")
		}
	}
	return s.fakeSink.Write(ctx, b)
}

// TestRejectedBatchDropped: a batch the store refuses (EInvalid) is
// dropped and counted, and does not hold up the batches behind it.
func TestRejectedBatchDropped(t *testing.T) {
	sink := &poisonSink{}
	r := newRecorder(t, analytics.Config{Sink: sink, BatchSize: 5, FlushInterval: hour, MaxConcurrentBatches: 1})
	for i := range 5 {
		x := rec(0, i)
		if i == 2 {
			x.RequestID = "poison"
		}
		r.Record(x)
	}
	for i := 5; i < 15; i++ {
		r.Record(rec(0, i))
	}
	waitFor(t, "the good batches", func() bool { return sink.count() == 10 })
	st := r.Stats()
	if st.Dropped != 5 || st.Spooled != 0 || st.Recorded != 10 {
		t.Errorf("stats %+v, want 5 dropped, 10 recorded, none spooled", st)
	}
}
