package framing

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// sniffed is what a sniffer made of a stream: the fingerprints of the
// heads it followed, where each ended, and why it stopped.
type sniffed struct {
	fps  []uint64
	ends []int64
	why  reason
}

// sniffBytewise feeds data one byte at a time, which tells where each
// head ended.
func sniffBytewise(data []byte, maxHdr int64) sniffed {
	s := &sniffer{maxHdr: maxHdr}
	var out sniffed
	for i := range data {
		s.feed(data[i : i+1])
		for s.pending.len() > 0 {
			out.fps = append(out.fps, s.pending.pop())
			out.ends = append(out.ends, int64(i+1))
		}
	}
	out.why = s.why
	return out
}

// sniffSplit feeds data in pieces cut at the given points.
func sniffSplit(data []byte, cuts []int, maxHdr int64) (fps []uint64, why reason) {
	s := &sniffer{maxHdr: maxHdr}
	prev := 0
	for _, c := range append(cuts, len(data)) {
		if c < prev || c > len(data) {
			continue
		}
		s.feed(data[prev:c])
		for s.pending.len() > 0 {
			fps = append(fps, s.pending.pop())
		}
		prev = c
	}
	return fps, s.why
}

func crlf(s string) string { return strings.ReplaceAll(s, "|", "\r\n") }

const hdrLimit = 1<<20 + 4096

// sniffCase is a stream and what the sniffer must make of it: the request
// lines of the heads it follows, in order, and why it stops.
type sniffCase struct {
	name  string
	in    string // "|" stands for CRLF
	heads []string
	why   reason
}

var sniffCases = []sniffCase{
	{"get", "GET / HTTP/1.1|Host: a||", []string{"GET / HTTP/1.1"}, noReason},
	{"no headers HTTP/1.0", "GET / HTTP/1.0||", []string{"GET / HTTP/1.0"}, noReason},
	{"content-length body", "POST /a HTTP/1.1|Host: a|Content-Length: 5||hello", []string{"POST /a HTTP/1.1"}, noReason},
	{"content-length any case and spaces", "POST /a HTTP/1.1|Host: a|cOnTeNt-LeNgTh:\t 5 \t||helloGET /b HTTP/1.1|Host: a||",
		[]string{"POST /a HTTP/1.1", "GET /b HTTP/1.1"}, noReason},
	{"content-length leading zeros", "POST / HTTP/1.1|Content-Length: 0005||helloGET /b HTTP/1.1||", []string{"POST / HTTP/1.1", "GET /b HTTP/1.1"}, noReason},
	{"content-length zero", "POST / HTTP/1.1|Content-Length: 0||GET /b HTTP/1.1||", []string{"POST / HTTP/1.1", "GET /b HTTP/1.1"}, noReason},
	{"GET with a body", "GET / HTTP/1.1|Content-Length: 3||abcGET /b HTTP/1.1||", []string{"GET / HTTP/1.1", "GET /b HTTP/1.1"}, noReason},
	{"HEAD with a chunked body", "HEAD / HTTP/1.1|Transfer-Encoding: chunked||1|a|0||HEAD /b HTTP/1.1||", []string{"HEAD / HTTP/1.1", "HEAD /b HTTP/1.1"}, noReason},
	{"pipelined", "GET /1 HTTP/1.1||GET /2 HTTP/1.1||GET /3 HTTP/1.1||", []string{"GET /1 HTTP/1.1", "GET /2 HTTP/1.1", "GET /3 HTTP/1.1"}, noReason},
	{"chunked", "POST / HTTP/1.1|Transfer-Encoding: chunked||5|hello|0||GET /b HTTP/1.1||",
		[]string{"POST / HTTP/1.1", "GET /b HTTP/1.1"}, noReason},
	{"chunked any case", "POST / HTTP/1.1|transfer-encoding:  ChUnKeD  ||0||", []string{"POST / HTTP/1.1"}, noReason},
	{"chunk extensions, leading zeros, upper hex, trailing space", "POST / HTTP/1.1|Transfer-Encoding: chunked||00A;name=\"v;x\";b|0123456789|1 \t|x|0;last||GET /b HTTP/1.1||",
		[]string{"POST / HTTP/1.1", "GET /b HTTP/1.1"}, noReason},
	{"trailers", "POST / HTTP/1.1|Transfer-Encoding: chunked||1|x|0|Checksum: abc|X-Other:\t1||GET /b HTTP/1.1||",
		[]string{"POST / HTTP/1.1", "GET /b HTTP/1.1"}, noReason},
	{"chunk size of 16 hex digits", "POST / HTTP/1.1|Transfer-Encoding: chunked||0000000000000001|x|0||", []string{"POST / HTTP/1.1"}, noReason},
	{"CRLF after a POST", "POST / HTTP/1.1|Content-Length: 1||x|GET /b HTTP/1.1||", []string{"POST / HTTP/1.1", "GET /b HTTP/1.1"}, noReason},
	{"two CRLFs after a POST", "POST / HTTP/1.1|Content-Length: 1||x||GET /b HTTP/1.1||", []string{"POST / HTTP/1.1", "GET /b HTTP/1.1"}, noReason},
	{"OPTIONS *", "OPTIONS * HTTP/1.1|Host: a||", []string{"OPTIONS * HTTP/1.1"}, noReason},
	{"expect 100-continue", "PUT / HTTP/1.1|Expect: 100-continue|Content-Length: 2||okGET / HTTP/1.1||", []string{"PUT / HTTP/1.1", "GET / HTTP/1.1"}, noReason},
	{"Connection and Cookie headers skipped", "GET / HTTP/1.1|Connection: keep-alive|Cookie: content-length=5|Content-Type: x|Transfer: y|TE: trailers||",
		[]string{"GET / HTTP/1.1"}, noReason},
	{"HTTP/1.0 with Content-Length and keep-alive", "POST / HTTP/1.0|Connection: keep-alive|Content-Length: 1||xGET / HTTP/1.0||", []string{"POST / HTTP/1.0", "GET / HTTP/1.0"}, noReason},

	// The payloads of request-smuggling scanners (smuggler.py's mutations
	// and the like): refused, never followed.
	{"CL.TE", "POST / HTTP/1.1|Host: a|Content-Length: 13|Transfer-Encoding: chunked||0||SMUGGLED", nil, rBoth},
	{"TE.CL", "POST / HTTP/1.1|Host: a|Transfer-Encoding: chunked|Content-Length: 3||8|SMUGGLED|0||", nil, rBoth},
	{"CL.TE after a good request", "GET / HTTP/1.1||POST / HTTP/1.1|Content-Length: 6|Transfer-Encoding: chunked||0||G", []string{"GET / HTTP/1.1"}, rBoth},
	{"TE space before colon", "POST / HTTP/1.1|Content-Length: 4|Transfer-Encoding : chunked||0||", nil, rHead},
	{"TE tab value", "POST / HTTP/1.1|Content-Length: 4|Transfer-Encoding:\tchunked||0||", nil, rBoth},
	{"TE xchunked", "POST / HTTP/1.1|Transfer-Encoding: xchunked||0||", nil, rTE},
	{"TE chunkedx", "POST / HTTP/1.1|Transfer-Encoding: chunkedx||0||", nil, rTE},
	{"TE newline before colon", "POST / HTTP/1.1|Content-Length: 4|Transfer-Encoding\n: chunked||0||", nil, rHead},
	{"TE folded", "POST / HTTP/1.1|Content-Length: 4|Transfer-Encoding:| chunked||0||", nil, rTE},
	{"TE folded after value", "POST / HTTP/1.1|Transfer-Encoding: chunked| , identity||0||", nil, rFold},
	{"header folded into TE", "POST / HTTP/1.1|Content-Length: 4|X: y| Transfer-Encoding: chunked||0||", nil, rFold},
	{"TE twice", "POST / HTTP/1.1|Transfer-Encoding: chunked|Transfer-Encoding: chunked||0||", nil, rTE},
	{"TE twice, identity", "POST / HTTP/1.1|Transfer-Encoding: chunked|Transfer-Encoding: identity||0||", nil, rTE},
	{"TE list", "POST / HTTP/1.1|Transfer-Encoding: gzip, chunked||0||", nil, rTE},
	{"TE chunked, chunked", "POST / HTTP/1.1|Transfer-Encoding: chunked, chunked||0||", nil, rTE},
	{"TE quoted", "POST / HTTP/1.1|Transfer-Encoding: \"chunked\"||0||", nil, rTE},
	{"TE space inside", "POST / HTTP/1.1|Transfer-Encoding: chun ked||0||", nil, rTE},
	{"TE empty", "POST / HTTP/1.1|Transfer-Encoding:||", nil, rTE},
	{"TE vertical tab", "POST / HTTP/1.1|Transfer-Encoding:\vchunked||0||", nil, rTE},
	{"TE NUL", "POST / HTTP/1.1|Transfer-Encoding: chunked\x00||0||", nil, rTE},
	{"TE CR", "POST / HTTP/1.1|Transfer-Encoding: chunked\r||0||", nil, rHead},
	{"TE bare LF", "POST / HTTP/1.1|Transfer-Encoding: chunked\n|0||", nil, rTE},
	{"TE in HTTP/1.0", "POST / HTTP/1.0|Connection: keep-alive|Transfer-Encoding: chunked||0||", nil, rTE10},
	{"TE underscore", "POST / HTTP/1.1|Content-Length: 4|Transfer_Encoding: chunked||0||", nil, rLookalike},
	{"CL underscore", "POST / HTTP/1.1|Content_Length: 4||abcd", nil, rLookalike},
	{"TE upper case", "POST / HTTP/1.1|Content-Length: 4|TRANSFER-ENCODING: CHUNKED||0||", nil, rBoth},
	{"TE prefixed name", "POST / HTTP/1.1|Content-Length: 4|X-Transfer-Encoding: chunked||abcd", []string{"POST / HTTP/1.1"}, noReason},
	{"TE longer name", "POST / HTTP/1.1|Content-Length: 4|Transfer-Encodings: chunked||abcd", []string{"POST / HTTP/1.1"}, noReason},
	{"TE in the request line", "POST /Transfer-Encoding:chunked HTTP/1.1|Content-Length: 1||x", []string{"POST /Transfer-Encoding:chunked HTTP/1.1"}, noReason},
	{"CL twice, different", "POST / HTTP/1.1|Content-Length: 5|Content-Length: 6||hello!", nil, rCLTwice},
	{"CL twice, same", "POST / HTTP/1.1|Content-Length: 5|Content-Length: 5||hello", nil, rCLTwice},
	{"CL list", "POST / HTTP/1.1|Content-Length: 5, 5||hello", nil, rCL},
	{"CL plus", "POST / HTTP/1.1|Content-Length: +5||hello", nil, rCL},
	{"CL minus", "POST / HTTP/1.1|Content-Length: -1||", nil, rCL},
	{"CL hex", "POST / HTTP/1.1|Content-Length: 0x5||hello", nil, rCL},
	{"CL empty", "POST / HTTP/1.1|Content-Length: ||", nil, rCL},
	{"CL space inside", "POST / HTTP/1.1|Content-Length: 1 2||", nil, rCL},
	{"CL overflow", "POST / HTTP/1.1|Content-Length: 9223372036854775808||", nil, rCL},
	{"CL largest", "POST / HTTP/1.1|Content-Length: 9223372036854775807||x", []string{"POST / HTTP/1.1"}, noReason},
	{"CL folded", "POST / HTTP/1.1|Content-Length:| 5||hello", nil, rCL},
	{"CL bare LF", "POST / HTTP/1.1\nContent-Length: 5\n\nhello", nil, rBareLF},
	{"bare LF end", "GET / HTTP/1.1|Host: a\n\n", nil, rBareLF},
	{"bare LF request line", "GET / HTTP/1.1\n\n", nil, rBareLF},
	{"CR inside a line", "GET / HTTP/1.1|X: a\rb||", []string{"GET / HTTP/1.1"}, noReason}, // net/http refuses the head itself
	{"space before the first header", "GET / HTTP/1.1| Host: a||", nil, rFold},
	{"whitespace-only line", "GET / HTTP/1.1|X: a| ||", nil, rFold},

	// Chunked bodies net/http refuses or that could be read two ways.
	{"chunk size 0x", "POST / HTTP/1.1|Transfer-Encoding: chunked||0x5|hello|0||", []string{"POST / HTTP/1.1"}, rChunked},
	{"chunk size negative", "POST / HTTP/1.1|Transfer-Encoding: chunked||-5|hello|0||", []string{"POST / HTTP/1.1"}, rChunked},
	{"chunk size leading space", "POST / HTTP/1.1|Transfer-Encoding: chunked|| 5|hello|0||", []string{"POST / HTTP/1.1"}, rChunked},
	{"chunk size space before extension", "POST / HTTP/1.1|Transfer-Encoding: chunked||5 ;x|hello|0||", []string{"POST / HTTP/1.1"}, rChunked},
	{"chunk size 17 digits", "POST / HTTP/1.1|Transfer-Encoding: chunked||00000000000000005|hello|0||", []string{"POST / HTTP/1.1"}, rChunked},
	{"chunk size overflow", "POST / HTTP/1.1|Transfer-Encoding: chunked||fffffffffffffffff|", []string{"POST / HTTP/1.1"}, rChunked},
	{"chunk size huge", "POST / HTTP/1.1|Transfer-Encoding: chunked||ffffffffffffffff|", []string{"POST / HTTP/1.1"}, rChunked},
	{"chunk size empty", "POST / HTTP/1.1|Transfer-Encoding: chunked|||", []string{"POST / HTTP/1.1"}, rChunked},
	{"chunk bare LF", "POST / HTTP/1.1|Transfer-Encoding: chunked||5\nhello|0||", []string{"POST / HTTP/1.1"}, rChunked},
	{"chunk data too long", "POST / HTTP/1.1|Transfer-Encoding: chunked||3|hello|0||", []string{"POST / HTTP/1.1"}, rChunked},
	{"chunk data bare LF", "POST / HTTP/1.1|Transfer-Encoding: chunked||5|hello\n0||", []string{"POST / HTTP/1.1"}, rChunked},
	{"chunk extension with CR", "POST / HTTP/1.1|Transfer-Encoding: chunked||5;a\rb|hello|0||", []string{"POST / HTTP/1.1"}, rChunked},
	{"chunk extension with LF", "POST / HTTP/1.1|Transfer-Encoding: chunked||5;a\nb|hello|0||", []string{"POST / HTTP/1.1"}, rChunked},
	{"chunk line too long", "POST / HTTP/1.1|Transfer-Encoding: chunked||5;" + strings.Repeat("x", maxChunkLine) + "|hello|0||", []string{"POST / HTTP/1.1"}, rChunked},
	{"trailer folded", "POST / HTTP/1.1|Transfer-Encoding: chunked||0|X: a| b||GET / HTTP/1.1||", []string{"POST / HTTP/1.1"}, rTrailer},
	{"trailer bare LF", "POST / HTTP/1.1|Transfer-Encoding: chunked||0\n\nGET / HTTP/1.1||", []string{"POST / HTTP/1.1"}, rChunked},
	{"trailer end bare LF", "POST / HTTP/1.1|Transfer-Encoding: chunked||0|\nGET / HTTP/1.1||", []string{"POST / HTTP/1.1"}, rTrailer},
	{"trailer without colon", "POST / HTTP/1.1|Transfer-Encoding: chunked||0|X||GET / HTTP/1.1||", []string{"POST / HTTP/1.1"}, rTrailer},
	{"trailer too long", "POST / HTTP/1.1|Transfer-Encoding: chunked||0|X: " + strings.Repeat("x", maxTrailer) + "||GET / HTTP/1.1||", []string{"POST / HTTP/1.1"}, rTrailer},
	{"trailer smuggles a request", "POST / HTTP/1.1|Transfer-Encoding: chunked||0|GET /admin HTTP/1.1||", []string{"POST / HTTP/1.1"}, rTrailer},
	{"too much chunk overhead", "POST / HTTP/1.1|Transfer-Encoding: chunked||" + strings.Repeat("1;"+strings.Repeat("e", 900)+"|x|", 20) + "0||", []string{"POST / HTTP/1.1"}, rChunked},

	// Heads net/http refuses itself; the sniffer stops following.
	{"HTTP/2 preface", "PRI * HTTP/2.0||SM||", nil, rVersion},
	{"HTTP/0.9", "GET /\r\n", nil, rHead},
	{"HTTP/1.10", "GET / HTTP/1.10||", nil, rHead},
	{"lower-case proto", "GET / http/1.1||", nil, rHead},
	{"empty request line", "|GET / HTTP/1.1||", nil, rHead},
	{"CRLF before a request after GET", "GET / HTTP/1.1|||GET / HTTP/1.1||", []string{"GET / HTTP/1.1"}, rHead},
	{"three CRLFs after a POST", "POST / HTTP/1.1|Content-Length: 0||||||GET / HTTP/1.1||", []string{"POST / HTTP/1.1"}, rHead},
	{"lone CR after a POST", "POST / HTTP/1.1|Content-Length: 0||\rGET / HTTP/1.1||", []string{"POST / HTTP/1.1"}, rHead},
	{"two spaces", "GET  / HTTP/1.1||", nil, rHead},
	{"control byte in target", "GET /\x01 HTTP/1.1||", nil, rHead},
	{"TLS handshake", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", nil, rHead},
	{"WebSocket frame after an upgrade", "GET /ws HTTP/1.1|Upgrade: websocket|Connection: Upgrade||\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
		[]string{"GET /ws HTTP/1.1"}, rHead},
	{"head too large", "GET / HTTP/1.1|X: " + strings.Repeat("a", hdrLimit) + "||", nil, rHeadTooLarge},
}

func TestSniffer(t *testing.T) {
	for _, tc := range sniffCases {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(crlf(tc.in))
			var want []uint64
			for _, h := range tc.heads {
				m, rest, _ := strings.Cut(h, " ")
				u, p, _ := strings.Cut(rest, " ")
				want = append(want, fingerprint(m, u, p))
			}
			got := sniffBytewise(data, hdrLimit)
			if !slices.Equal(got.fps, want) || got.why != tc.why {
				t.Errorf("byte by byte: %d heads, stopped for %q; want %d heads, %q", len(got.fps), got.why, len(want), tc.why)
			}
			fps, why := sniffSplit(data, nil, hdrLimit)
			if !slices.Equal(fps, want) || why != tc.why {
				t.Errorf("at once: %d heads, stopped for %q; want %d heads, %q", len(fps), why, len(want), tc.why)
			}
			r := rand.New(rand.NewPCG(1, uint64(len(data))))
			for range 20 {
				cuts := randomCuts(r, len(data))
				fps, why := sniffSplit(data, cuts, hdrLimit)
				if !slices.Equal(fps, want) || why != tc.why {
					t.Fatalf("cut at %v: %d heads, stopped for %q; want %d heads, %q", cuts, len(fps), why, len(want), tc.why)
				}
			}
		})
	}
}

func randomCuts(r *rand.Rand, n int) []int {
	if n == 0 {
		return nil
	}
	cuts := make([]int, r.IntN(8))
	for i := range cuts {
		cuts[i] = r.IntN(n + 1)
	}
	slices.Sort(cuts)
	return cuts
}

func TestQueueNoAllocs(t *testing.T) {
	var q queue
	allocs := testing.AllocsPerRun(100, func() {
		for range 4 {
			q.push(1)
		}
		for q.len() > 0 {
			q.pop()
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per round of four", allocs)
	}
}
