package threat

import (
	"io"
	"mime"
	"strings"

	"github.com/portico-gw/portico"
)

// Format is the kind of document a Reader checks a body as.
type Format int

// Formats.
const (
	Other Format = iota // only the body's size is checked
	JSON                // RFC 8259 JSON, against ThreatProtection.JSON
	XML                 // XML 1.0 in UTF-8, against ThreatProtection.XML
)

// String returns the format's name.
func (f Format) String() string {
	switch f {
	case JSON:
		return "JSON"
	case XML:
		return "XML"
	}
	return "other"
}

// FormatOf returns the Format of a body of the given Content-Type: JSON
// for application/json, text/json and any type ending in +json, XML for
// application/xml, text/xml and any type ending in +xml, Other for the
// rest (a Content-Type that does not parse too: Check refuses it).
// Media types compare case-insensitively; parameters are ignored.
func FormatOf(contentType string) Format {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && mt == "" {
		return Other
	}
	return formatOfMediaType(mt)
}

// formatOfMediaType takes a lower-case media type without parameters.
func formatOfMediaType(mt string) Format {
	switch {
	case mt == "application/json", mt == "text/json", strings.HasSuffix(mt, "+json"):
		return JSON
	case mt == "application/xml", mt == "text/xml", strings.HasSuffix(mt, "+xml"):
		return XML
	}
	return Other
}

// scanner checks a document fed to it in pieces.
type scanner interface {
	write(p []byte) error // the next piece
	close() error         // the end of the body
}

// Reader passes a request body through unchanged while it checks it: its
// size against ThreatProtection.MaxBodyBytes and, for JSON and XML, its
// structure against the limits, as the bytes stream by. Each Read reads
// into the caller's buffer and checks what it read before returning it;
// the first violation is returned instead, by that Read and every later
// one, as a *portico.Error: ETooLarge for the size, EInvalid for a
// document that is malformed or over a limit. The bytes of the Read that
// found the violation are not returned; those of earlier Reads are gone
// already, so a caller streaming the body on must abort what it sends.
// At the end of the body an incomplete document is a violation too; an
// empty body (0 bytes) passes.
//
// A Reader holds no byte of the body; its memory is bounded by the
// limits (see doc.go). It is not safe for concurrent use.
type Reader struct {
	r    io.Reader
	max  int64 // MaxBodyBytes
	n    int64 // bytes read so far
	scan scanner
	err  error // the violation found, returned by every later Read
}

// NewReader returns a Reader of r that checks its bytes as a document of
// format f against tp. A nil tp is the zero ThreatProtection: every
// limit at its default.
func NewReader(r io.Reader, f Format, tp *portico.ThreatProtection) *Reader {
	lim := tp.WithDefaults()
	rd := &Reader{r: r, max: lim.MaxBodyBytes}
	switch f {
	case JSON:
		rd.scan = newJSONScanner(lim.JSON)
	case XML:
		rd.scan = newXMLScanner(lim.XML)
	}
	return rd
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	// Read one byte more than the limit allows at most: enough to tell a
	// body over it.
	if room := r.max - r.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := r.r.Read(p)
	r.n += int64(n)
	if r.n > r.max {
		r.err = portico.Errorf(portico.ETooLarge, "request body larger than %d bytes (threat_protection.max_body_bytes)", r.max)
		return 0, r.err
	}
	if r.scan != nil {
		if n > 0 {
			if e := r.scan.write(p[:n]); e != nil {
				r.err = e
				return 0, e
			}
		}
		if err == io.EOF {
			if e := r.scan.close(); e != nil {
				r.err = e
				return 0, e
			}
		}
	}
	return n, err
}
