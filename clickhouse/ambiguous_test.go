package clickhouse_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/clickhouse"
	"github.com/portico-gw/portico/internal/clickhousetest"
)

// TestWriteAmbiguous: an insert the server stored but never answered
// (the connection broke) is not stored again when the batch is written
// once more, as the recorder does from its spool; a batch whose insert
// never reached the server is stored when written again.
func TestWriteAmbiguous(t *testing.T) {
	srv := clickhousetest.Start(t)
	var dropInserts atomic.Int32 // inserts to forward, then break the connection of
	var refuseInserts atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		insert := strings.Contains(r.URL.RawQuery, "INSERT")
		if insert && refuseInserts.Load() > 0 {
			refuseInserts.Add(-1)
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Close() // never forwarded
			return
		}
		req, _ := http.NewRequest(r.Method, "http://"+srv.Addr()+r.URL.RequestURI(), bytes.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		if insert && dropInserts.Load() > 0 {
			dropInserts.Add(-1)
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Close() // stored, never answered
			return
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(proxy.Close)
	s := open(t, clickhouse.Config{Addrs: []string{strings.TrimPrefix(proxy.URL, "http://")}, DownFor: time.Millisecond})
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	batch := func(from int) []portico.Record {
		b := make([]portico.Record, 10)
		for i := range b {
			b[i] = record(from+i, at)
		}
		return b
	}
	count := func() string {
		return strings.TrimSpace(srv.Query(t, "SELECT count(), uniqExact(request_id) FROM portico.requests"))
	}

	dropInserts.Store(1)
	if err := s.Write(ctx, batch(0)); portico.ErrorCodeOf(err) != portico.EUnavailable {
		t.Fatalf("an insert without an answer: %v, want an EUnavailable error", err)
	}
	time.Sleep(5 * time.Millisecond) // DownFor
	if err := s.Write(ctx, batch(0)); err != nil {
		t.Fatalf("writing the batch again: %v", err)
	}
	if got := count(); got != "10\t10" {
		t.Fatalf("after an unanswered insert and a retry ClickHouse holds (count, distinct ids) %q, want 10 of each", got)
	}

	refuseInserts.Store(1)
	if err := s.Write(ctx, batch(100)); err == nil {
		t.Fatal("an insert that never reached the server succeeded")
	}
	time.Sleep(5 * time.Millisecond)
	if err := s.Write(ctx, batch(100)); err != nil {
		t.Fatalf("writing the second batch again: %v", err)
	}
	if got := count(); got != "20\t20" {
		t.Fatalf("after a lost insert and a retry ClickHouse holds %q, want 20 of each", got)
	}
}
