package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files in testdata are real wrk 4.1.0 --latency output: wrk-ok.txt
// of the benchmark's backend, wrk-errors.txt of a server that answers
// every 10th request 401, closes every 97th connection mid-request and
// sleeps past wrk's 2s timeout on every 500th.
func TestParseWrk(t *testing.T) {
	tests := []struct {
		file    string
		want    wrkResult
		problem string
	}{
		{
			file: "wrk-ok.txt",
			want: wrkResult{
				Requests: 4008, ReqPerSec: 1626.33,
				P50us: 8710, P75us: 418070, P90us: 1.05e6, P99us: 1.45e6, MaxUs: 1.48e6,
			},
		},
		{
			file: "wrk-errors.txt",
			want: wrkResult{
				Requests: 14127, ReqPerSec: 4061.90,
				P50us: 152, P75us: 375, P90us: 990, P99us: 67070, MaxUs: 421740,
				Non2xx:       1386,
				SocketErrors: socketErrors{Read: 147, Timeout: 15},
			},
			problem: "162 socket errors (connect 0, read 147, write 0, timeout 15); 1386 non-2xx/3xx responses of 14127",
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseWrk(string(b))
			if err != nil {
				t.Fatalf("parseWrk: %v", err)
			}
			if !closeEnough(got, tt.want) {
				t.Errorf("parseWrk =\n %+v\nwant\n %+v", got, tt.want)
			}
			if p := got.problem(); p != tt.problem {
				t.Errorf("problem() = %q, want %q", p, tt.problem)
			}
		})
	}
}

// closeEnough compares results, the float fields to a relative 1e-9.
func closeEnough(a, b wrkResult) bool {
	eq := func(x, y float64) bool {
		d := x - y
		if d < 0 {
			d = -d
		}
		return d <= 1e-9*max(1, x, y, -x, -y)
	}
	return a.Requests == b.Requests && a.Non2xx == b.Non2xx && a.SocketErrors == b.SocketErrors &&
		eq(a.ReqPerSec, b.ReqPerSec) && eq(a.P50us, b.P50us) && eq(a.P75us, b.P75us) &&
		eq(a.P90us, b.P90us) && eq(a.P99us, b.P99us) && eq(a.MaxUs, b.MaxUs)
}

func TestParseWrkIncomplete(t *testing.T) {
	ok, err := os.ReadFile(filepath.Join("testdata", "wrk-ok.txt"))
	if err != nil {
		t.Fatal(err)
	}
	drop := func(prefix string) string {
		var keep []string
		for _, l := range strings.Split(string(ok), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), prefix) {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	tests := []struct{ name, in, wantErr string }{
		{"empty (wrk could not connect: its message goes to stderr)", "", "Requests/sec"},
		{"no --latency", drop("50%"), "latency distribution"},
		{"no request count", drop("4008 requests"), "requests in"},
		{"bad time", strings.Replace(string(ok), "8.71ms", "8.71xs", 1), `bad time "8.71xs"`},
		{"bad socket errors", strings.Replace(string(ok), "Requests/sec:", "  Socket errors: connect 1\nRequests/sec:", 1), "unexpected shape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseWrk(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseWrk error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseWrkTime(t *testing.T) {
	tests := []struct {
		in   string
		want float64 // µs
		ok   bool
	}{
		{"627.00us", 627, true},
		{"1.23ms", 1230, true},
		{"0.99ms", 990, true},
		{"2.00s", 2e6, true},
		{"1.50m", 90e6, true},
		{"1.00h", 3600e6, true},
		{"12", 0, false},
		{"ms", 0, false},
		{"-1.00ms", 0, false},
		{"NaNms", 0, false},
	}
	for _, tt := range tests {
		got, err := parseWrkTime(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseWrkTime(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseWrk(f *testing.F) {
	for _, name := range []string{"wrk-ok.txt", "wrk-errors.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := parseWrk(s)
		if err != nil {
			return
		}
		if w.ReqPerSec < 0 || w.P50us < 0 || w.P99us < 0 {
			t.Errorf("parseWrk(%q) = %+v: negative values", s, w)
		}
	})
}
