package framing

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// FuzzSniffer feeds byte streams to the sniffer and to a real server
// behind Listener and Handler, cut at random points. The sniffer must not
// panic, must make the same of the stream however it is cut, must place
// every head it follows where net/http's own parser does (goModel), and
// must follow nothing after a body net/http cannot read. The server must
// hand the inner handler exactly net/http's requests in order, and never
// refuse a request for want of a verdict (an off-by-one between the
// sniffer and net/http).
func FuzzSniffer(f *testing.F) {
	for _, tc := range sniffCases {
		if len(tc.in) < 1<<12 {
			f.Add([]byte(crlf(tc.in)), uint64(len(tc.in)))
		}
	}
	for _, m := range teMutations {
		f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"+m+"\r\n\r\n0\r\n\r\nGET /s HTTP/1.1\r\nHost: a\r\n\r\n"), uint64(3))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 40 {
		data, _ := legitStream(r)
		f.Add(data, r.Uint64())
	}
	var s served
	addr := startServer(f, http.HandlerFunc(s.handler))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		if len(data) > 1<<15 {
			return
		}
		sn := checkAgainstModel(t, data)

		r := rand.New(rand.NewPCG(seed, ^seed))
		cuts := randomCuts(r, len(data))
		fps, why := sniffSplit(data, cuts, hdrLimit)
		if !slices.Equal(fps, sn.fps) || why != sn.why {
			t.Fatalf("cut at %v: %d heads (%q); byte by byte %d (%q)", cuts, len(fps), why, len(sn.fps), sn.why)
		}

		var pieces []string
		prev := 0
		for _, c := range append(cuts, len(data)) {
			pieces = append(pieces, string(data[prev:c]))
			prev = c
		}
		out, local := exchange(t, addr, pieces...)
		if strings.Contains(out, rUntracked.String()) {
			t.Fatalf("the server served a request the sniffer had no verdict for\nstream %q\nresponses %q", data, out)
		}
		model, _ := goModel(data)
		var want []string
		for _, m := range model {
			if !strings.HasPrefix(m.line, "OPTIONS * ") { // net/http answers those itself
				want = append(want, m.line)
			}
		}
		got := s.take(local)
		if len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
			t.Fatalf("the handler got %q; net/http reads %q\nstream %q", got, want, data)
		}
	})
}
