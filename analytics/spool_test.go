package analytics

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

// batchOf returns a batch of n records shaped like the gateway's.
func batchOf(n int) []portico.Record {
	b := make([]portico.Record, n)
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range b {
		b[i] = portico.Record{
			Time: at.Add(time.Duration(i) * time.Millisecond), RequestID: fmt.Sprintf("req-%08d", i),
			API: "weather", APIVersion: "v1", APIID: "api_0123456789", Publisher: "usr_0001",
			Subscriber: "usr_0002", Application: "app_0003", Plan: "plan_0004", Resource: "/forecast/{city}",
			Method: "GET", Status: 200, RequestBytes: 0, ResponseBytes: 1234,
			ResponseType: "application/json", Latency: 3 * time.Millisecond,
			UpstreamLatency: 2 * time.Millisecond, ClientIP: "203.0.113.7", Node: "node-1",
		}
	}
	return b
}

// fixCRCs rewrites the checksum of every whole frame in data, so that the
// fuzzer's changes reach the payload decoder.
func fixCRCs(data []byte) {
	for off := 0; off+headerSize <= len(data); {
		n := int(binary.BigEndian.Uint32(data[off+4:]))
		end := off + headerSize + n
		if n > maxPayload || end > len(data) || end < off {
			return
		}
		crc := crc32.Update(crc32.Checksum(data[off+12:off+24], castagnoli), castagnoli, data[off+headerSize:end])
		binary.BigEndian.PutUint32(data[off+8:], crc)
		off = end
	}
}

// FuzzSpool: whatever a crash or a bad disk leaves in the spool file,
// opening it and reading it back neither panics nor trusts a bad frame.
func FuzzSpool(f *testing.F) {
	var valid []byte
	for _, n := range []int{1, 3} {
		fr, err := encodeFrame(batchOf(n), time.Unix(1, 0))
		if err != nil {
			f.Fatal(err)
		}
		valid = append(valid, fr...)
	}
	f.Add(valid, false)
	f.Add(valid, true)
	f.Add(valid[:len(valid)-3], false)
	f.Add(valid[:40], false)
	f.Add([]byte{}, false)
	f.Add([]byte("PAS1\xff\xff\xff\xff"), false)
	log := slog.New(slog.DiscardHandler)
	dir := f.TempDir() // one per worker process; inputs run one at a time in it
	f.Fuzz(func(t *testing.T, data []byte, fix bool) {
		if fix {
			fixCRCs(data)
		}
		if err := os.WriteFile(filepath.Join(dir, SpoolFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := openSpool(dir, log)
		if err != nil {
			t.Fatal(err)
		}
		defer s.f.Close()
		if s.size > int64(len(data)) || s.next > s.size {
			t.Fatalf("size %d, next %d of %d bytes", s.size, s.next, len(data))
		}
		for off, i := s.next, 0; off < s.size && i < len(data); i++ {
			fr, err := s.read(off, s.size)
			if err != nil && fr.end <= off {
				t.Fatalf("frame at %d: %v, and no way past it", off, err)
			}
			if err == nil && len(fr.records) != fr.count {
				t.Fatalf("frame at %d: %d records, header says %d", off, len(fr.records), fr.count)
			}
			off = fr.end
		}
	})
}

func TestFrameRoundTrip(t *testing.T) {
	b := batchOf(3)
	data, err := encodeFrame(b, time.Unix(42, 0))
	if err != nil {
		t.Fatal(err)
	}
	fr := frame{count: 3}
	if err := decodeFrame(data, &fr); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		got, want := fr.records[i], b[i]
		if !got.Time.Equal(want.Time) {
			t.Errorf("record %d: time %v, want %v", i, got.Time, want.Time)
		}
		got.Time, want.Time = time.Time{}, time.Time{}
		if got != want {
			t.Errorf("record %d: %+v, want %+v", i, got, want)
		}
	}
}

// BenchmarkEncodeFrame: the CPU cost of spooling a batch of 5,000.
func BenchmarkEncodeFrame(b *testing.B) {
	batch := batchOf(5000)
	b.ReportAllocs()
	for b.Loop() {
		fr, err := encodeFrame(batch, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(fr)))
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkSpoolAppend: spooling a batch of 5,000, as the Recorder does
// it: encode, one write, fsync. The difference to BenchmarkEncodeFrame is
// the price of the fsync per batch.
func BenchmarkSpoolAppend(b *testing.B) {
	s, err := openSpool(b.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer s.f.Close()
	batch := batchOf(5000)
	b.ReportAllocs()
	for b.Loop() {
		fr, err := encodeFrame(batch, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if err := s.append(fr, len(batch), time.Now(), 1<<40); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(fr)))
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkReplayRead: reading a batch of 5,000 back from the spool.
func BenchmarkReplayRead(b *testing.B) {
	s, err := openSpool(b.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer s.f.Close()
	fr, _ := encodeFrame(batchOf(5000), time.Now())
	if err := s.append(fr, 5000, time.Now(), 1<<40); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(fr)))
	for b.Loop() {
		if _, err := s.read(0, s.size); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*5000)/b.Elapsed().Seconds(), "records/s")
}
