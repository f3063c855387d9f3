package threat_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/threat"
)

// chunkReader returns its data in reads of the given sizes, in turn
// (the last repeated), whatever the size of the caller's buffer.
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := c.sizes[min(c.i, len(c.sizes)-1)]
	c.i++
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// randomSizes returns read sizes from 1 to 64, most of them small.
func randomSizes(r *rand.Rand) []int {
	s := make([]int, 64)
	for i := range s {
		s[i] = 1 + r.IntN(1+r.IntN(64))
	}
	return s
}

// readAll reads body through a Reader of format f, in reads of the given
// sizes, and returns what came out and the error other than io.EOF.
func readAll(body []byte, f threat.Format, tp *portico.ThreatProtection, sizes ...int) ([]byte, error) {
	if len(sizes) == 0 {
		sizes = []int{1 << 15}
	}
	r := threat.NewReader(&chunkReader{data: body, sizes: sizes}, f, tp)
	var out bytes.Buffer
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		out.Write(buf[:n])
		if err == io.EOF {
			return out.Bytes(), nil
		}
		if err != nil {
			if n != 0 {
				return out.Bytes(), errors.New("a Read returned bytes with its violation")
			}
			// Every later Read returns the same violation.
			if n2, err2 := r.Read(buf); n2 != 0 || err2 != err {
				return out.Bytes(), errors.New("the violation is not sticky")
			}
			return out.Bytes(), err
		}
	}
}

// wantRefused checks that err is a *portico.Error of code whose message
// holds each of subs.
func wantRefused(t *testing.T, err error, code portico.ErrorCode, subs ...string) {
	t.Helper()
	var pe *portico.Error
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want a *portico.Error %s", err, code)
	}
	if pe.Code != code {
		t.Fatalf("got %v, want code %s", err, code)
	}
	for _, s := range subs {
		if !strings.Contains(pe.Message, s) {
			t.Fatalf("message %q does not say %q", pe.Message, s)
		}
	}
}

// wantPassed checks that body came through a Reader unchanged, read in
// one go, byte by byte and in random pieces.
func wantPassed(t *testing.T, body []byte, f threat.Format, tp *portico.ThreatProtection) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(len(body)), 7))
	for _, sizes := range [][]int{nil, {1}, randomSizes(r), randomSizes(r)} {
		out, err := readAll(body, f, tp, sizes...)
		if err != nil {
			t.Fatalf("reads of %v: %v", sizes, err)
		}
		if !bytes.Equal(out, body) {
			t.Fatalf("reads of %v: came out as %q, went in as %q", sizes, out, body)
		}
	}
}

// wantFailed checks that body is refused, however it is cut, with the
// same error.
func wantFailed(t *testing.T, body []byte, f threat.Format, tp *portico.ThreatProtection, code portico.ErrorCode, subs ...string) {
	t.Helper()
	_, err := readAll(body, f, tp)
	wantRefused(t, err, code, subs...)
	r := rand.New(rand.NewPCG(uint64(len(body)), 9))
	for _, sizes := range [][]int{{1}, randomSizes(r)} {
		_, err2 := readAll(body, f, tp, sizes...)
		if err2 == nil || err2.Error() != err.Error() {
			t.Fatalf("read in one go: %v; in reads of %v: %v", err, sizes, err2)
		}
	}
}
