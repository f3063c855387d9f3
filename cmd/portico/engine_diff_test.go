package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The differential test of the gateway's HTTP/1.1 engines (issue 13,
// "strict HTTP/1.1 parsing at the edge"). Every case of the corpus in
// testdata/desync (its README says how a case is written) is sent, raw,
// over a fresh connection to two nodes, one per engine ("std": net/http
// for every request; "fast": Portico's own connection loop), each in
// front of its own rawBackend, which records the bytes it receives and
// splits them with a strict RFC 9112 parser (parseWire). Each node must
// either refuse (400 and close, nothing forwarded from that point) or
// forward each request it answers as one unambiguous request, and the two
// must agree on what the client saw and on what the backend got.

var (
	updateDesync  = flag.Bool("update-desync", false, "rewrite the want line of each testdata/desync case from what the first engine of -desync-engines does (review the diff)")
	desyncEngines = flag.String("desync-engines", "std,fast", "the two gateway engines TestEngineDifferential and FuzzEngineFraming compare (std,std checks the corpus against net/http alone)")
)

// desyncDir holds the corpus: one raw request stream per *.http file.
const desyncDir = "testdata/desync"

// Each node serves two APIs in front of its backend: desyncOpen without
// authentication and desyncKeyed with API keys; the corpus writes their
// context paths literally and the key as keyPlaceholder.
const (
	desyncOpen     = "/d"
	desyncKeyed    = "/k"
	keyPlaceholder = "{{key}}"
)

// ignoredForwardedFields are the header fields of a forwarded request
// that legitimately differ from node to node or run to run: the request
// id each node makes up, the Via pseudonym of the process, the client
// address (and any port) in X-Forwarded-For, and a Date should a client
// of a node add one. The Host field, each node's own backend address, is
// compared as "{{backend}}".
var ignoredForwardedFields = []string{"X-Request-Id", "Via", "X-Forwarded-For", "Date"}

// desyncCase is one corpus file.
type desyncCase struct {
	name  string
	path  string
	input []byte // the bytes to send, with keyPlaceholder for the key
	want  *desyncWant
}

// desyncWant is a case's want line: "want: 200 400 close fwd=1".
type desyncWant struct {
	statuses  []int
	closed    bool
	forwarded int
}

func (w desyncWant) String() string {
	var b strings.Builder
	b.WriteString("want:")
	for _, s := range w.statuses {
		fmt.Fprintf(&b, " %d", s)
	}
	if w.closed {
		b.WriteString(" close")
	} else {
		b.WriteString(" open")
	}
	fmt.Fprintf(&b, " fwd=%d", w.forwarded)
	return b.String()
}

func parseWant(line string) (*desyncWant, error) {
	rest, ok := strings.CutPrefix(line, "want:")
	if !ok {
		return nil, fmt.Errorf("first line %q: want \"want: STATUS… close|open fwd=N\"", line)
	}
	if strings.TrimSpace(rest) == "?" {
		return nil, nil // not yet known: -update-desync fills it in
	}
	w := &desyncWant{forwarded: -1}
	var how bool
	for _, f := range strings.Fields(rest) {
		switch {
		case f == "close" || f == "open":
			w.closed, how = f == "close", true
		case strings.HasPrefix(f, "fwd="):
			n, err := strconv.Atoi(f[4:])
			if err != nil {
				return nil, fmt.Errorf("%q: %v", f, err)
			}
			w.forwarded = n
		default:
			n, err := strconv.Atoi(f)
			if err != nil || n < 100 || n > 599 {
				return nil, fmt.Errorf("%q is not a status", f)
			}
			w.statuses = append(w.statuses, n)
		}
	}
	if !how || w.forwarded < 0 {
		return nil, fmt.Errorf("%q: want close or open, and fwd=N", line)
	}
	return w, nil
}

// loadDesyncCorpus reads every case of testdata/desync.
func loadDesyncCorpus(tb testing.TB) []desyncCase {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(desyncDir, "*.http"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no corpus in %s (%v)", desyncDir, err)
	}
	var cases []desyncCase
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		first, input, ok := bytes.Cut(b, []byte("\n"))
		if !ok {
			tb.Fatalf("%s: no want line", p)
		}
		want, err := parseWant(string(first))
		if err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		cases = append(cases, desyncCase{name: strings.TrimSuffix(filepath.Base(p), ".http"), path: p, input: input, want: want})
	}
	return cases
}

// TestEngineDifferential sends each corpus case to a std and a fast node
// and checks what each did (engineProblems, the case's want line) and
// that they did the same. With -update-desync it rewrites the want lines
// from what the first node did instead of checking them.
func TestEngineDifferential(t *testing.T) {
	cases := loadDesyncCorpus(t)
	pair := startEnginePair(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantResponses := -1
			if c.want != nil && !*updateDesync {
				wantResponses = len(c.want.statuses)
			}
			std, fast, _ := pair.exchange(c.input, wantResponses, patientIdle)
			for _, p := range engineProblems(std, fast, c.input) {
				t.Error(p)
			}
			for _, o := range []*outcome{std, fast} {
				if o.keyLeaked {
					t.Errorf("%s: the API key reached the backend\n%s", o.engine, o)
				}
			}
			switch {
			case *updateDesync:
				w := desyncWant{statuses: std.statuses, closed: std.closed, forwarded: len(std.forwarded)}
				if err := os.WriteFile(c.path, append([]byte(w.String()+"\n"), c.input...), 0o644); err != nil {
					t.Fatal(err)
				}
			case c.want == nil:
				t.Errorf("%s has no want line yet: run with -args -update-desync and review it", c.path)
			default:
				for _, o := range []*outcome{std, fast} {
					if !slices.Equal(o.statuses, c.want.statuses) || o.closed != c.want.closed || len(o.forwarded) != c.want.forwarded {
						got := desyncWant{statuses: o.statuses, closed: o.closed, forwarded: len(o.forwarded)}
						t.Errorf("%s: %s, the case says %s\n%s", o.engine, got, c.want, o)
					}
				}
			}
		})
	}
}

// FuzzEngineFraming sends each input to a std and a fast node started
// once per fuzzing process and applies TestEngineDifferential's checks,
// less the want lines. The seeds are the corpus.
func FuzzEngineFraming(f *testing.F) {
	names := map[string]string{} // seed input to case name
	for _, c := range loadDesyncCorpus(f) {
		f.Add(c.input)
		names[string(c.input)] = c.name
	}
	pair := startEnginePair(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 256<<10 {
			t.Skip("longer than 256 KiB")
		}
		if name, ok := names[string(in)]; ok {
			t.Logf("corpus case %s", name)
		}
		// Most inputs leave a request unfinished and both nodes waiting:
		// a quick look first, and what fails it looked at again with more
		// patience, so that a node slow to answer is not taken for one
		// that does not answer.
		var bad []string
		for _, idle := range []time.Duration{quickIdle, patientIdle} {
			if idle == patientIdle {
				// What the quick look's requests forwarded late (a
				// loaded node may not have forwarded any when the
				// backend's quiet spell ended) is not the patient
				// look's: let it arrive, and drop it.
				pair.drain(patientIdle)
			}
			if bad = engineProblems(pair.exchange(in, -1, idle)); len(bad) == 0 {
				return
			}
		}
		for _, p := range bad {
			t.Error(p)
		}
	})
}

// engineProblems returns what checkOutcome finds wrong with either
// outcome and, if they differ, the difference.
func engineProblems(a, b *outcome, input []byte) []string {
	var bad []string
	for _, o := range []*outcome{a, b} {
		for _, p := range checkOutcome(o, input) {
			bad = append(bad, fmt.Sprintf("%s: %s\n%s", o.engine, p, o))
		}
	}
	if d := diffOutcomes(a, b); d != "" {
		bad = append(bad, fmt.Sprintf("the engines differ (- %s, + %s):\n%s", a.engine, b.engine, d))
	}
	return bad
}

// checkOutcome returns what is wrong with o whatever the other engine
// did: the backend got only strictly framed requests (so none with a
// Transfer-Encoding other than chunked, or both Content-Length and
// Transfer-Encoding), no more than the client sent unambiguously (see
// countStrict), and each got its answer through; the client got no more
// final responses than that count and one refusal, so no answer to a
// request hidden in a refused one; a response that says the connection
// closes is the last, and the connection closes.
func checkOutcome(o *outcome, input []byte) []string {
	var bad []string
	for _, e := range o.backendErrs {
		bad = append(bad, "the backend received a request a strict parser refuses: "+e)
	}
	for i, r := range o.forwarded {
		te, cl := r.Header.Values("Transfer-Encoding"), r.Header.Values("Content-Length")
		if len(te) > 0 && (len(te) != 1 || !strings.EqualFold(te[0], "chunked")) {
			bad = append(bad, fmt.Sprintf("forwarded request %d has Transfer-Encoding %q", i, te))
		}
		if len(te) > 0 && len(cl) > 0 {
			bad = append(bad, fmt.Sprintf("forwarded request %d has both Content-Length and Transfer-Encoding", i))
		}
	}
	if n := countStrict(input); len(o.forwarded) > n {
		bad = append(bad, fmt.Sprintf("%d requests forwarded, but the client sent only %d unambiguous ones", len(o.forwarded), n))
	}
	if len(o.forwarded) != o.fromBackend {
		bad = append(bad, fmt.Sprintf("the backend received %d requests, the client got %d answers from it", len(o.forwarded), o.fromBackend))
	}
	final := 0
	for i, r := range o.responses {
		if r.status >= 200 {
			final++
		}
		if r.close && (i != len(o.responses)-1 || !o.closed) {
			bad = append(bad, fmt.Sprintf("response %d (%d) says the connection closes, but it is not the last one before the node closed it", i, r.status))
		}
	}
	if n := countStrict(input); final > n+1 {
		bad = append(bad, fmt.Sprintf("%d final responses to %d unambiguous requests and what follows them", final, n))
	}
	if o.tail > 0 && o.closed {
		bad = append(bad, fmt.Sprintf("%d bytes after the last complete response", o.tail))
	}
	return bad
}

// diffOutcomes compares what the client saw (statuses, whether the
// connection closed, how many answers came from the backend) and what the
// backend received (each complete request, described by
// wireRequest.describe); "" if they agree. Requests the backend received
// only part of (the gateway gave up on the client's body mid-way) depend
// on timing and are left out.
func diffOutcomes(a, b *outcome) string {
	al, bl := a.lines(), b.lines()
	if slices.Equal(al, bl) {
		return ""
	}
	var d strings.Builder
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x == y {
			fmt.Fprintf(&d, "  %s\n", x)
			continue
		}
		if i < len(al) {
			fmt.Fprintf(&d, "- %s\n", x)
		}
		if i < len(bl) {
			fmt.Fprintf(&d, "+ %s\n", y)
		}
	}
	return d.String()
}

// outcome is what one node did with one input.
type outcome struct {
	engine      string
	statuses    []int // of every response, 1xx included, in order
	responses   []clientResponse
	closed      bool // the node closed the connection
	fromBackend int  // responses that carry the backend's mark
	tail        int  // bytes after the last complete response
	forwarded   []*wireRequest
	partial     int      // requests the backend received only part of
	backendErrs []string // what the backend could not parse, and why
	keyLeaked   bool     // the node's API key is in a forwarded request
	raw         []byte   // what the client received
}

// lines is the part of o that both engines must agree on, one fact a
// line.
func (o *outcome) lines() []string {
	l := []string{fmt.Sprintf("statuses %v", o.statuses), fmt.Sprintf("closed %v", o.closed),
		fmt.Sprintf("answers from the backend %d", o.fromBackend), fmt.Sprintf("forwarded %d", len(o.forwarded))}
	for i, r := range o.forwarded {
		for _, x := range r.describe() {
			l = append(l, fmt.Sprintf("forwarded[%d] %s", i, x))
		}
	}
	return l
}

func (o *outcome) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s: %s\n", o.engine, strings.Join(o.lines(), "\n    "))
	if o.partial > 0 {
		fmt.Fprintf(&b, "    %d requests reached the backend in part\n", o.partial)
	}
	raw := o.raw
	if len(raw) > 2048 {
		raw = raw[:2048]
	}
	fmt.Fprintf(&b, "    the client received %d bytes: %q", len(o.raw), raw)
	return b.String()
}

// enginePair is two nodes, each with its own backend: by default the
// std engine's and the fast engine's (see -desync-engines).
type enginePair struct{ std, fast *engineNode }

// drain waits until neither backend has received anything for d (at
// most 10 s) and drops what they received.
func (p *enginePair) drain(d time.Duration) {
	for _, n := range []*engineNode{p.std, p.fast} {
		n.backend.quiet(d, 10*time.Second)
		n.backend.take()
	}
}

func startEnginePair(tb testing.TB) *enginePair {
	tb.Helper()
	a, b, ok := strings.Cut(*desyncEngines, ",")
	if !ok {
		tb.Fatalf("-desync-engines %q: want two engines, as std,fast", *desyncEngines)
	}
	p := &enginePair{std: startEngineNode(tb, a), fast: startEngineNode(tb, b)}
	if a == b {
		p.fast.engine += "#2"
	}
	return p
}

// exchange sends input to both nodes at once (see engineNode.exchange)
// and returns their outcomes and input, for engineProblems.
func (p *enginePair) exchange(input []byte, wantResponses int, idle time.Duration) (std, fast *outcome, _ []byte) {
	var wg sync.WaitGroup
	wg.Go(func() { fast = p.fast.exchange(input, wantResponses, idle) })
	std = p.std.exchange(input, wantResponses, idle)
	wg.Wait()
	return std, fast, input
}

// engineNode is a node serving desyncOpen and desyncKeyed in front of
// backend.
type engineNode struct {
	engine  string
	m       *Main
	backend *rawBackend
	key     string // an API key subscribed to desyncKeyed
}

func startEngineNode(tb testing.TB, engine string) *engineNode {
	tb.Helper()
	n := &engineNode{engine: engine, backend: startRawBackend(tb)}
	tb.Setenv("PORTICO_ADMIN_PASSWORD", adminPassword)
	c := DefaultConfig()
	c.DataDir = tb.TempDir()
	c.GatewayAddr, c.AdminAddr = "127.0.0.1:0", "127.0.0.1:0"
	c.LogLevel = "error"
	c.ShutdownTimeout = 5 * time.Second
	c.GatewayEngine = engine
	if err := c.validate(); err != nil {
		tb.Fatal(err)
	}
	n.m = &Main{Config: c, Stdout: io.Discard, Stderr: io.Discard}
	if err := n.m.Run(context.Background()); err != nil {
		n.m.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { n.m.Close() })

	admin := client{tb, "http://" + n.m.AdminAddr + "/api/v1", "admin", adminPassword}
	target := "http://" + n.backend.l.Addr().String()
	api := admin.call("POST", "/apis", map[string]any{"name": "open", "version": "v1", "context": desyncOpen, "auth": "none",
		"endpoint": map[string]any{"type": "single", "targets": []any{map[string]any{"url": target}}}}, 201)
	admin.call("POST", "/apis/"+api["id"].(string)+"/publish", nil, 200)
	plan := admin.call("POST", "/plans", map[string]any{"name": "free", "auto_approve": true,
		"rate_limit": map[string]any{"limit": 1000000, "per": "minute"}}, 201)
	n.key, _ = keyedAPI(tb, admin, strings.TrimPrefix(desyncKeyed, "/"), target, plan["id"].(string))

	// Both APIs answer once the gateway took the new config.
	ready := []byte("GET " + desyncOpen + "/ready HTTP/1.1\r\nHost: gw\r\n\r\nGET " + desyncKeyed + "/ready HTTP/1.1\r\nHost: gw\r\nX-API-Key: " + keyPlaceholder + "\r\nConnection: close\r\n\r\n")
	deadline := time.Now().Add(15 * time.Second)
	for {
		o := n.exchange(ready, 2, patientIdle)
		if slices.Equal(o.statuses, []int{200, 200}) {
			return n
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s node: the APIs did not come up:\n%s", engine, o)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Bounds of one exchange.
const (
	exchangeTimeout = 6 * time.Second        // the whole exchange
	answerTimeout   = 3 * time.Second        // waiting for a response the case names
	closeGrace      = 150 * time.Millisecond // after the last response named: does more come, or a close?
	quickIdle       = 150 * time.Millisecond // without named responses: nothing more is coming…
	patientIdle     = time.Second            // …even on a loaded machine
)

// exchange sends input (keyPlaceholder replaced by n's key) over a new
// connection and reads what the node answers until it closes the
// connection, or until wantResponses responses came and closeGrace
// passed without more, or (wantResponses < 0) until idle passes without
// a byte; then it takes what the backend received meanwhile.
func (n *engineNode) exchange(input []byte, wantResponses int, idle time.Duration) *outcome {
	o := &outcome{engine: n.engine}
	input = bytes.ReplaceAll(input, []byte(keyPlaceholder), []byte(n.key))
	methods := strictMethods(input)
	c, err := net.DialTimeout("tcp", n.m.GatewayAddr, 5*time.Second)
	if err != nil {
		o.backendErrs = append(o.backendErrs, "dial: "+err.Error()) // shows as a failure
		return o
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		c.SetWriteDeadline(time.Now().Add(exchangeTimeout))
		c.Write(input) // a node that refuses may close before reading it all
	})
	end := time.Now().Add(exchangeTimeout)
	buf := make([]byte, 0, 4096)
	var responses []clientResponse
	for {
		wait := idle
		if wantResponses >= 0 {
			wait = answerTimeout
			if len(responses) >= wantResponses {
				wait = closeGrace
			}
		}
		dl := time.Now().Add(wait)
		if dl.After(end) {
			dl = end
		}
		c.SetReadDeadline(dl)
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, len(buf))
		}
		k, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if k > 0 {
			responses, o.tail = parseResponses(buf, methods)
		}
		if err != nil {
			var ne net.Error
			o.closed = !(errors.As(err, &ne) && ne.Timeout())
			break
		}
	}
	c.Close()
	wg.Wait()
	o.raw = buf
	o.responses = responses
	for _, r := range responses {
		o.statuses = append(o.statuses, r.status)
		if r.fromBackend {
			o.fromBackend++
		}
	}
	n.backend.quiet(50*time.Millisecond, 2*time.Second)
	for _, e := range n.backend.take() {
		switch {
		case e.err != nil:
			o.backendErrs = append(o.backendErrs, fmt.Sprintf("%v in %q", e.err, e.raw))
		case e.req == nil:
			o.partial++
		default:
			if bytes.Contains(e.raw, []byte(n.key)) {
				o.keyLeaked = true
			}
			// Each node's target is its own backend.
			if h := e.req.Header["Host"]; len(h) == 1 && h[0] == n.backend.l.Addr().String() {
				h[0] = "{{backend}}"
			}
			o.forwarded = append(o.forwarded, e.req)
		}
	}
	return o
}

// clientResponse is one response a node sent.
type clientResponse struct {
	status      int
	fromBackend bool
	close       bool // it says the connection closes after it
}

// parseResponses parses the complete responses at the start of b; methods
// are the requests' methods in order, where known (an answer to HEAD has
// no body). It returns them and the number of bytes after the last one.
func parseResponses(b []byte, methods []string) ([]clientResponse, int) {
	var rs []clientResponse
	rd := bytes.NewReader(b)
	br := bufio.NewReader(rd)
	used, final := 0, 0
	for used < len(b) {
		req := &http.Request{Method: "GET"}
		if final < len(methods) {
			req.Method = methods[final]
		}
		res, err := http.ReadResponse(br, req)
		if err != nil {
			break
		}
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			break
		}
		rs = append(rs, clientResponse{status: res.StatusCode, fromBackend: res.Header.Get(backendMark) != "", close: res.Close})
		if res.StatusCode >= 200 {
			final++
		}
		used = len(b) - rd.Len() - br.Buffered()
	}
	return rs, len(b) - used
}

// backendMark is a header field of every rawBackend response.
const backendMark = "X-Desync-Backend"

// rawBackend is a backend on a raw socket: it records every byte each
// connection brings, splits them into requests with parseWire, and
// answers each complete request with a small fixed response (keeping the
// connection unless the request closes it). On bytes parseWire refuses it
// records why and closes the connection.
type rawBackend struct {
	l  net.Listener
	wg sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	events []backendEvent
	last   time.Time // of the last byte received
}

// backendEvent is a complete request (req), a request cut short by the
// end of its connection (req nil, err nil) or bytes parseWire refused
// (err). raw holds its bytes.
type backendEvent struct {
	req *wireRequest
	err error
	raw []byte
}

func startRawBackend(tb testing.TB) *rawBackend {
	tb.Helper()
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	b := &rawBackend{l: l, conns: map[net.Conn]struct{}{}}
	b.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns[c] = struct{}{}
			b.mu.Unlock()
			b.wg.Go(func() { b.serve(c) })
		}
	})
	tb.Cleanup(b.close)
	return b
}

func (b *rawBackend) close() {
	b.l.Close()
	b.mu.Lock()
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *rawBackend) record(e backendEvent) {
	b.mu.Lock()
	b.events = append(b.events, e)
	b.mu.Unlock()
}

// take returns and forgets the events recorded so far.
func (b *rawBackend) take() []backendEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.events
	b.events = nil
	return e
}

// quiet waits until no byte arrived for d, at most limit.
func (b *rawBackend) quiet(d, limit time.Duration) {
	end := time.Now().Add(limit)
	for time.Now().Before(end) {
		b.mu.Lock()
		since := time.Since(b.last)
		b.mu.Unlock()
		if since >= d {
			return
		}
		time.Sleep(d - since)
	}
}

// maxBackendBuffer bounds what a backend connection holds unparsed.
const maxBackendBuffer = 8 << 20

func (b *rawBackend) serve(c net.Conn) {
	defer func() {
		c.Close()
		b.mu.Lock()
		delete(b.conns, c)
		b.mu.Unlock()
	}()
	var buf []byte
	continued := false // a 100 Continue was sent for the request at buf[0]
	tmp := make([]byte, 32<<10)
	for {
		c.SetReadDeadline(time.Now().Add(time.Minute))
		n, rerr := c.Read(tmp)
		if n > 0 {
			b.mu.Lock()
			b.last = time.Now()
			b.mu.Unlock()
			buf = append(buf, tmp[:n]...)
		}
		for len(buf) > 0 {
			req, used, err := parseWire(buf)
			if errors.Is(err, errIncomplete) {
				if req != nil && !continued && strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
					c.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
					continued = true
				}
				if len(buf) > maxBackendBuffer {
					b.record(backendEvent{err: errors.New("over 8 MiB without a complete request"), raw: buf[:1024]})
					return
				}
				break
			}
			if err != nil {
				b.record(backendEvent{err: err, raw: buf})
				return
			}
			b.record(backendEvent{req: req, raw: buf[:used]})
			buf, continued = buf[used:], false
			res := "HTTP/1.1 200 OK\r\n" + backendMark + ": 1\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
			if req.closes() {
				res += "Connection: close\r\n"
			}
			res += "\r\n"
			if req.Method != "HEAD" {
				res += "ok"
			}
			if _, err := io.WriteString(c, res); err != nil || req.closes() {
				return
			}
		}
		if rerr != nil {
			if len(buf) > 0 {
				b.record(backendEvent{raw: buf})
			}
			return
		}
	}
}

// wireRequest is a request as parseWire read it off the wire.
type wireRequest struct {
	Method, Target string
	Minor          int // HTTP/1.Minor
	Header         http.Header
	Trailer        http.Header
	Chunked        bool
	Body           []byte
}

// closes reports whether the connection ends after r.
func (r *wireRequest) closes() bool {
	conn := strings.ToLower(strings.Join(r.Header.Values("Connection"), ","))
	if r.Minor == 0 {
		return !strings.Contains(conn, "keep-alive")
	}
	return strings.Contains(conn, "close")
}

// describe returns what a backend would make of r, one fact a line:
// request line, header fields (names canonical, sorted by name, values in
// order, ignoredForwardedFields left out), body and trailer.
func (r *wireRequest) describe() []string {
	l := []string{fmt.Sprintf("%s %s HTTP/1.%d", r.Method, r.Target, r.Minor)}
	fields := func(prefix string, h http.Header) {
		names := slices.Sorted(func(yield func(string) bool) {
			for k := range h {
				if !slices.Contains(ignoredForwardedFields, k) && !yield(k) {
					return
				}
			}
		})
		for _, k := range names {
			for _, v := range h[k] {
				l = append(l, fmt.Sprintf("%s%s: %q", prefix, k, v))
			}
		}
	}
	fields("", r.Header)
	switch {
	case len(r.Body) <= 256:
		l = append(l, fmt.Sprintf("body %q (chunked %v)", r.Body, r.Chunked))
	default:
		l = append(l, fmt.Sprintf("body of %d bytes, sha256 %x, starting %q (chunked %v)", len(r.Body), sha256.Sum256(r.Body), r.Body[:64], r.Chunked))
	}
	fields("trailer ", r.Trailer)
	return l
}

// errIncomplete: the bytes end before the request does.
var errIncomplete = errors.New("incomplete request")

// Limits of parseWire.
const (
	maxWireLine = 128 << 10
	maxWireHead = 1 << 20
	maxWireBody = 16 << 20
)

// parseWire reads the request at the start of b by RFC 9112's framing
// rules without their leniencies, and with the gateway's refusals: lines
// end in CRLF (no bare LF or CR), up to four empty lines before the
// request line, a request line of three parts split by single spaces (a
// method token, a target without controls or spaces, HTTP/1.x), field
// lines "token:value" with no obs-fold and no control character but HTAB,
// exactly one Host in HTTP/1.1 (at most one in 1.0), at most one
// Content-Length (digits only), Transfer-Encoding only as one "chunked" in
// HTTP/1.1 and never with a Content-Length, no Content_Length or
// Transfer_Encoding field, chunk-size lines of 1 to 16 hex digits, then
// optional spaces and ";" extensions (whose bytes up to the CRLF are
// skipped: no reader interprets or forwards them), chunk data ended by
// CRLF, trailer fields as header fields. What is not framing (the
// target's URI syntax, "#", bytes over 0x7f) is left to the gateway's
// rules.
//
// It returns the request and its length in b; errIncomplete if b ends
// first. With an error it returns the request's head when that was
// read and valid (the error is in its body, or b ends in it).
func parseWire(b []byte) (*wireRequest, int, error) {
	off := 0
	var line string
	var err error
	for blank := 0; ; blank++ {
		if line, off, err = wireLine(b, off, maxWireLine); err != nil {
			return nil, 0, err
		}
		if line != "" {
			break
		}
		if blank == 4 {
			return nil, 0, errors.New("more than four empty lines before a request line")
		}
	}
	parts := strings.Split(line, " ")
	if len(parts) != 3 {
		return nil, 0, fmt.Errorf("request line %q: not three parts split by single spaces", line)
	}
	r := &wireRequest{Method: parts[0], Target: parts[1], Header: http.Header{}}
	if !isToken(r.Method) {
		return nil, 0, fmt.Errorf("method %q is not a token", r.Method)
	}
	if r.Target == "" || strings.IndexFunc(r.Target, func(c rune) bool { return c <= ' ' || c == 0x7f }) >= 0 {
		return nil, 0, fmt.Errorf("request target %q", r.Target)
	}
	v, ok := strings.CutPrefix(parts[2], "HTTP/1.")
	if !ok || len(v) != 1 || v[0] < '0' || v[0] > '9' {
		return nil, 0, fmt.Errorf("version %q", parts[2])
	}
	r.Minor = int(v[0] - '0')
	if off, err = wireFields(b, off, r.Header); err != nil {
		return nil, 0, err
	}
	if off > maxWireHead {
		return nil, 0, errors.New("head over 1 MiB")
	}
	h := r.Header
	hosts, cl, te := h.Values("Host"), h.Values("Content-Length"), h.Values("Transfer-Encoding")
	switch {
	case r.Minor >= 1 && len(hosts) != 1:
		return nil, 0, fmt.Errorf("%d Host fields in HTTP/1.1", len(hosts))
	case len(hosts) > 1:
		return nil, 0, fmt.Errorf("%d Host fields", len(hosts))
	case len(cl) > 1:
		return nil, 0, fmt.Errorf("Content-Length given %d times: %q", len(cl), cl)
	case len(te) > 0 && len(cl) > 0:
		return nil, 0, fmt.Errorf("both Content-Length %q and Transfer-Encoding %q", cl, te)
	case len(te) > 0 && (r.Minor == 0 || len(te) != 1 || !strings.EqualFold(te[0], "chunked")):
		return nil, 0, fmt.Errorf("Transfer-Encoding %q in HTTP/1.%d", te, r.Minor)
	case h["Content_length"] != nil || h["Transfer_encoding"] != nil:
		return nil, 0, errors.New("a Content_Length or Transfer_Encoding field")
	}
	head := off
	switch {
	case len(te) > 0:
		r.Chunked = true
		r.Trailer = http.Header{}
		for {
			line, next, err := wireLine(b, off, 4096)
			if err != nil {
				return r, 0, err
			}
			digits := len(line) - len(strings.TrimLeft(line, "0123456789abcdefABCDEF"))
			if digits == 0 || digits > 16 {
				return r, 0, fmt.Errorf("chunk size line %q", line)
			}
			size, err := strconv.ParseUint(line[:digits], 16, 64)
			if err != nil || size > maxWireBody {
				return r, 0, fmt.Errorf("chunk size %q", line[:digits])
			}
			if ext := strings.TrimLeft(line[digits:], " \t"); ext != "" && ext[0] != ';' {
				return r, 0, fmt.Errorf("chunk extension in %q", line)
			}
			off = next
			if size == 0 {
				if off, err = wireFields(b, off, r.Trailer); err != nil {
					return r, 0, err
				}
				return r, off, nil
			}
			if len(b) < off+int(size)+2 {
				if len(b) > off+int(size) && b[off+int(size)] != '\r' {
					return r, 0, fmt.Errorf("chunk data not followed by CRLF but %q", b[off+int(size):])
				}
				return r, 0, errIncomplete
			}
			if b[off+int(size)] != '\r' || b[off+int(size)+1] != '\n' {
				return r, 0, fmt.Errorf("chunk data not followed by CRLF but %q", b[off+int(size):off+int(size)+2])
			}
			r.Body = append(r.Body, b[off:off+int(size)]...)
			if len(r.Body) > maxWireBody {
				return r, 0, errors.New("chunked body over 16 MiB")
			}
			off += int(size) + 2
		}
	case len(cl) == 1:
		if cl[0] == "" || len(cl[0]) > 18 || strings.Trim(cl[0], "0123456789") != "" {
			return nil, 0, fmt.Errorf("Content-Length %q", cl[0])
		}
		n, _ := strconv.Atoi(cl[0])
		if n > maxWireBody {
			return nil, 0, fmt.Errorf("Content-Length %d over 16 MiB", n)
		}
		if len(b) < head+n {
			return r, 0, errIncomplete
		}
		r.Body = b[head : head+n : head+n]
		return r, head + n, nil
	}
	return r, head, nil
}

// wireFields reads field lines from b[off:] into h up to the empty line
// and returns the offset after it.
func wireFields(b []byte, off int, h http.Header) (int, error) {
	for n := 0; ; n++ {
		line, next, err := wireLine(b, off, maxWireLine)
		if err != nil {
			return 0, err
		}
		off = next
		if line == "" {
			return off, nil
		}
		if n == 10000 || off > maxWireHead {
			return 0, errors.New("too many field lines")
		}
		if line[0] == ' ' || line[0] == '\t' {
			return 0, fmt.Errorf("obs-fold line %q", line)
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !isToken(name) {
			return 0, fmt.Errorf("field line %q", line)
		}
		value = strings.Trim(value, " \t")
		if !isFieldValue(value) {
			return 0, fmt.Errorf("field value %q", value)
		}
		k := textproto.CanonicalMIMEHeaderKey(name)
		h[k] = append(h[k], value)
	}
}

// wireLine returns the line at b[off:] without its CRLF and the offset
// after it.
func wireLine(b []byte, off, limit int) (string, int, error) {
	for i := off; i < len(b); i++ {
		switch {
		case i-off > limit:
			return "", 0, fmt.Errorf("line over %d bytes", limit)
		case b[i] == '\n':
			return "", 0, fmt.Errorf("bare LF after %q", b[off:i])
		case b[i] == '\r' && i+1 < len(b) && b[i+1] != '\n':
			return "", 0, fmt.Errorf("bare CR after %q", b[off:i])
		case b[i] == '\r' && i+1 < len(b):
			return string(b[off:i]), i + 2, nil
		}
	}
	return "", 0, errIncomplete
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// isFieldValue: visible ASCII, SP, HTAB and obs-text only.
func isFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// countStrict returns how many requests input holds that parseWire reads
// one after another, up to the first it refuses or one that closes the
// connection: the most a node may forward. A request refused for its body
// (a chunk extension, size or trailer) counts if its head was valid: a
// gateway streams a request to its backend before it reads the body, and
// may learn only at the end that a trailer was malformed; it must forward
// nothing after it.
func countStrict(input []byte) int {
	n := 0
	for len(input) > 0 {
		r, used, err := parseWire(input)
		if err != nil {
			if r != nil {
				n++
			}
			break
		}
		n++
		if r.closes() {
			break
		}
		input = input[used:]
	}
	return n
}

// strictMethods returns the methods of the requests countStrict counts,
// and that of the request after them if its request line can be read.
func strictMethods(input []byte) []string {
	var ms []string
	for len(input) > 0 {
		r, used, err := parseWire(input)
		if err != nil {
			if m, _, ok := strings.Cut(string(input[:min(len(input), 64)]), " "); ok {
				ms = append(ms, m)
			}
			break
		}
		ms = append(ms, r.Method)
		input = input[used:]
	}
	return ms
}
