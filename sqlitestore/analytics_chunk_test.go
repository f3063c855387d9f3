package sqlitestore

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/analyticstest"
)

// decodeChunk parses data and decodes its records.
func decodeChunk(data []byte) ([]portico.Record, error) {
	c, err := parseChunk(data)
	if err != nil {
		return nil, err
	}
	return c.records(nil)
}

func TestChunkRoundTrip(t *testing.T) {
	records := analyticstest.Records()
	odd := portico.Record{
		Time:            time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), // far before the others
		RequestID:       "\x00\xff not utf-8",
		API:             "",
		Status:          -1,
		RequestBytes:    math.MaxInt64,
		ResponseBytes:   math.MinInt64,
		Latency:         -time.Microsecond,
		UpstreamLatency: time.Duration(math.MaxInt64).Truncate(time.Microsecond),
	}
	for _, c := range []struct {
		name    string
		records []portico.Record
	}{
		{"one", records[:1]},
		{"all", records},
		{"odd", []portico.Record{records[0], odd, records[1], odd}},
		{"zero", []portico.Record{{Time: time.UnixMicro(0).UTC()}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var e chunkEncoder
			data, lo, hi := e.encode(c.records)
			got, err := decodeChunk(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.records) {
				t.Fatalf("decoded records differ from the encoded ones")
			}
			wantLo, wantHi := c.records[0].Time.UnixMicro(), c.records[0].Time.UnixMicro()
			for _, r := range c.records {
				wantLo, wantHi = min(wantLo, r.Time.UnixMicro()), max(wantHi, r.Time.UnixMicro())
			}
			if lo != wantLo || hi != wantHi {
				t.Errorf("times %d..%d, want %d..%d", lo, hi, wantLo, wantHi)
			}
			// The encoder's memory is reused: a second chunk is
			// independent of the first.
			again, _, _ := e.encode(c.records[:1])
			if got, err := decodeChunk(again); err != nil || !reflect.DeepEqual(got, c.records[:1]) {
				t.Errorf("second chunk: %v, %v", got, err)
			}
		})
	}
}

// TestChunkKinds: a reader takes any kind of the right type for every
// column, so the writer may change its encodings.
func TestChunkKinds(t *testing.T) {
	records := analyticstest.Records()[:3]
	var cols [chunkColumns][]byte
	for c := range chunkColumns {
		switch {
		case !stringColumn(c):
			// Plain integers everywhere, times included.
			b := []byte{kindInts}
			for i := range records {
				var v int64
				switch c {
				case colTime:
					v = records[i].Time.UnixMicro()
				case colStatus:
					v = int64(records[i].Status)
				case colRequestBytes:
					v = records[i].RequestBytes
				case colResponseBytes:
					v = records[i].ResponseBytes
				case colLatency:
					v = records[i].Latency.Microseconds()
				case colUpstreamLatency:
					v = records[i].UpstreamLatency.Microseconds()
				}
				b = binary.AppendVarint(b, v)
			}
			cols[c] = b
		case c == colRequestID:
			// A dictionary of request ids, with one twice.
			b := []byte{kindDict}
			b = binary.AppendUvarint(b, 2)
			b = appendString(appendString(b, records[0].RequestID), records[1].RequestID)
			cols[c] = append(b, 0, 1, 0)
			records[2].RequestID = records[0].RequestID
		default:
			// Plain strings for the rest.
			b := []byte{kindStrings}
			for i := range records {
				b = appendString(b, *stringField(&records[i], c))
			}
			cols[c] = b
		}
	}
	data := []byte{chunkVersion}
	data = binary.AppendUvarint(data, uint64(len(records)))
	for _, col := range cols {
		data = binary.AppendUvarint(data, uint64(len(col)))
	}
	for _, col := range cols {
		data = append(data, col...)
	}
	got, err := decodeChunk(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, records) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, records)
	}
}

// TestChunkDamaged: a chunk cut short anywhere, or of another format, is
// an error that wraps ErrCorrupt.
func TestChunkDamaged(t *testing.T) {
	var e chunkEncoder
	data, _, _ := e.encode(analyticstest.Records()[:50])
	data = append([]byte(nil), data...)
	for n := range len(data) {
		if _, err := decodeChunk(data[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("a chunk cut to %d of %d bytes: %v, want ErrCorrupt", n, len(data), err)
		}
	}
	if _, err := decodeChunk(append(data, 0)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a chunk with a byte more: %v, want ErrCorrupt", err)
	}
	other := append([]byte{chunkVersion + 1}, data[1:]...)
	if _, err := decodeChunk(other); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a chunk of format %d: %v, want ErrCorrupt", other[0], err)
	}
}

// FuzzChunk: any bytes decode or fail without a panic, as a whole and in
// a query; what decodes encodes back to a chunk that decodes the same.
func FuzzChunk(f *testing.F) {
	var e chunkEncoder
	records := analyticstest.Records()
	for _, n := range []int{1, 2, 20} {
		data, _, _ := e.encode(records[:n])
		f.Add(append([]byte(nil), data...))
	}
	f.Add([]byte{chunkVersion})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, q := range []portico.AnalyticsQuery{
			{To: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), Bucket: portico.Minute, GroupBy: portico.DimAPI,
				Filters: map[string]string{portico.DimStatus: "200", portico.DimNode: "node-a"}},
			{From: time.Date(-3000, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC),
				Bucket: portico.Day, GroupBy: portico.DimStatus},
			{To: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), Bucket: portico.Hour, GroupBy: portico.DimApplication, Limit: 2},
			{To: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), GroupBy: portico.DimResource, Limit: 1, NoLatency: true},
		} {
			p, err := newQueryPlan(q)
			if err != nil {
				t.Fatal(err)
			}
			s := newChunkScan(p)
			s.add(data)
			s.agg.rows(p.limit)
		}
		got, err := decodeChunk(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if len(got) == 0 {
			return
		}
		var e chunkEncoder
		again, _, _ := e.encode(got)
		back, err := decodeChunk(again)
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Fatalf("encoded again, decodes to %v, %v", back, err)
		}
	})
}

func BenchmarkChunkEncode(b *testing.B) {
	records := analyticstest.Generate(5000)
	var e chunkEncoder
	b.ReportAllocs()
	for b.Loop() {
		e.encode(records)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(records)), "ns/record")
}
