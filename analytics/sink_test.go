package analytics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/analytics"
)

var errDown = errors.New("fake sink: down")

// fakeSink is an AnalyticsSink that keeps copies of the batches it took,
// in order, and can be told to fail or to block.
type fakeSink struct {
	mu          sync.Mutex
	down        bool
	block       chan struct{} // when set, Write waits for it to be closed (or ctx)
	batches     [][]portico.Record
	calls       int
	inflight    int
	maxInflight int
}

func (s *fakeSink) Write(ctx context.Context, b []portico.Record) error {
	s.mu.Lock()
	s.calls++
	s.inflight++
	s.maxInflight = max(s.maxInflight, s.inflight)
	block := s.block
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight--
		s.mu.Unlock()
	}()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errDown
	}
	s.batches = append(s.batches, slices.Clone(b))
	return nil
}

func (s *fakeSink) setDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// sizes returns the sizes of the batches taken.
func (s *fakeSink) sizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n []int
	for _, b := range s.batches {
		n = append(n, len(b))
	}
	return n
}

// ids returns the request IDs taken, in order.
func (s *fakeSink) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, b := range s.batches {
		for _, r := range b {
			ids = append(ids, r.RequestID)
		}
	}
	return ids
}

func (s *fakeSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.batches {
		n += len(b)
	}
	return n
}

// discardSink takes every batch and keeps nothing.
type discardSink struct{}

func (discardSink) Write(context.Context, []portico.Record) error { return nil }

// rec returns a record with a request ID made of producer p and sequence i.
func rec(p, i int) *portico.Record {
	return &portico.Record{
		Time:       time.Date(2025, 1, 2, 3, 4, 5, i, time.UTC),
		RequestID:  fmt.Sprintf("p%d-%06d", p, i),
		API:        "weather",
		APIVersion: "v1",
		Method:     "GET",
		Status:     200,
		Latency:    1500 * time.Microsecond,
		ClientIP:   "10.0.0.1",
		Node:       "node-1",
	}
}

// ids returns the request IDs of producer p from first to first+n-1.
func ids(p, first, n int) []string {
	var s []string
	for i := first; i < first+n; i++ {
		s = append(s, rec(p, i).RequestID)
	}
	return s
}

// waitFor polls cond every few milliseconds until it holds, failing the
// test after a deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// newRecorder starts a Recorder on cfg (in a fresh spool dir unless set)
// and closes it at the end of the test.
func newRecorder(t testing.TB, cfg analytics.Config) *analytics.Recorder {
	t.Helper()
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = t.TempDir()
	}
	r, err := analytics.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Close(ctx)
	})
	return r
}

// logBuffer is an io.Writer for a test logger, safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
