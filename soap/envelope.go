package soap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"strings"

	"github.com/portico-gw/portico"
)

// The namespaces of SOAP envelopes.
const (
	nsEnv11 = "http://schemas.xmlsoap.org/soap/envelope/"
	nsEnv12 = "http://www.w3.org/2003/05/soap-envelope"
)

// maxBoundaryLine bounds the first line of a multipart body: its
// boundary (at most 70 characters, RFC 2046) and transport padding.
const maxBoundaryLine = 200

// BodyElement reads a request's envelope from r, sent with contentType,
// up to the start of the first child element of its soap:Body, and
// returns that element's name in Clark notation ("{namespace}local", or
// "local" in no namespace), as Operation.BodyElement and
// portico.Resource.SOAPBody give an operation's. It is how the gateway
// tells which operation an envelope calls, to match it with the action
// the request names.
//
// The content type is read as Action reads it: text/xml is SOAP 1.1,
// application/soap+xml SOAP 1.2 (a charset other than UTF-8 or US-ASCII
// is refused), multipart/related (SOAP with attachments, MTOM) carries
// the envelope in its first part, of either version as its type (or,
// for MTOM, start-info) says. Of a multipart body BodyElement takes
// only a first part that is the root (a start parameter must name it)
// and comes first (nothing but line breaks before its boundary), not
// encoded for transfer (no Content-Transfer-Encoding but 7bit, 8bit or
// binary).
//
// The envelope must be well-formed XML as ParseWSDL reads documents (no
// DOCTYPE or other markup declaration, namespace prefixes declared,
// UTF-8, MaxDepth and MaxNodes) as far as BodyElement reads it; its root
// the Envelope of the content type's SOAP version, whose children are a
// Header (optional) and then the Body, with nothing but spaces around
// them; and the Body must have a child element, with nothing but spaces
// before it. BodyElement reads no further: what follows that child's
// start tag, its other children included, is not read. It reads r
// through an xml.Decoder, which reads ahead of that point; r itself
// bounds how much it may read.
//
// An envelope that is not so is refused with an *Error (portico.EInvalid)
// saying what is wrong and, for the XML, where; the first error r
// returns other than io.EOF is returned as it is.
func BodyElement(r io.Reader, contentType string) (string, error) {
	m, ok := parseMedia(contentType)
	if !ok {
		return "", &Error{Code: portico.EInvalid, Message: "the Content-Type is not SOAP's: text/xml (SOAP 1.1), application/soap+xml (SOAP 1.2) or multipart/related with either"}
	}
	if cs, ok := m.params["charset"]; ok && !utf8Charset(cs) {
		return "", &Error{Code: portico.EInvalid, Message: fmt.Sprintf("the Content-Type's charset is %s: Portico reads envelopes in UTF-8", quote(cs))}
	}
	if m.multipart {
		rec := &recorder{r: r}
		part, err := rootPart(rec, m.params)
		if rec.err != nil {
			return "", rec.err
		}
		if err != nil {
			return "", err
		}
		name, err := readBodyElement(newSource(part), m.version)
		if rec.err != nil {
			return "", rec.err
		}
		return name, err
	}
	src := newSource(r)
	name, err := readBodyElement(src, m.version)
	if src.err != nil {
		return "", src.err
	}
	return name, err
}

// recorder remembers the first error of r other than io.EOF.
type recorder struct {
	r   io.Reader
	err error
}

func (s *recorder) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// source is what the decoder reads: r, through a bufio.Reader unless r
// is an io.ByteReader (the decoder then reads through no buffer of its
// own), after the bytes read ahead to look for a byte order mark. It
// remembers the first error of r other than io.EOF.
type source struct {
	r    io.Reader
	br   io.ByteReader // r, or its bufio.Reader
	head []byte        // read ahead, to give back first
	err  error
}

func newSource(r io.Reader) *source {
	if br, ok := r.(io.ByteReader); ok {
		return &source{r: r, br: br}
	}
	b := bufio.NewReader(r)
	return &source{r: b, br: b}
}

func (s *source) ReadByte() (byte, error) {
	if len(s.head) > 0 {
		c := s.head[0]
		s.head = s.head[1:]
		return c, nil
	}
	c, err := s.br.ReadByte()
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return c, err
}

func (s *source) Read(p []byte) (int, error) {
	if len(s.head) > 0 {
		n := copy(p, s.head)
		s.head = s.head[n:]
		return n, nil
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// utf8Charset reports whether a charset parameter names UTF-8 or its
// subset US-ASCII.
func utf8Charset(cs string) bool {
	switch strings.ToLower(strings.TrimSpace(cs)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return true
	}
	return false
}

// rootPart returns the first part of a multipart/related body, after
// checking that it is the root and is not encoded for transfer.
func rootPart(r io.Reader, params map[string]string) (io.Reader, error) {
	boundary := params["boundary"]
	if boundary == "" {
		return nil, &Error{Code: portico.EInvalid, Message: "the multipart/related Content-Type has no boundary"}
	}
	br := bufio.NewReader(r)
	// Nothing but line breaks before the first boundary: a preamble is
	// where parsers of multipart bodies part ways.
	for {
		b, err := br.Peek(1)
		if err != nil {
			return nil, &Error{Code: portico.EInvalid, Message: "the multipart body is empty"}
		}
		if b[0] != '\r' && b[0] != '\n' {
			break
		}
		br.Discard(1)
	}
	if msg := checkBoundaryLine(br, boundary); msg != "" {
		return nil, &Error{Code: portico.EInvalid, Message: "the multipart body " + msg}
	}
	mr := multipart.NewReader(br, boundary)
	part, err := mr.NextRawPart()
	if err != nil {
		return nil, &Error{Code: portico.EInvalid, Message: "the multipart body's first part does not read: " + truncate(strings.TrimPrefix(err.Error(), "multipart: "), 200)}
	}
	if start := params["start"]; start != "" {
		cid := part.Header[textproto.CanonicalMIMEHeaderKey("Content-Id")]
		if len(cid) != 1 || contentID(cid[0]) != contentID(start) {
			return nil, &Error{Code: portico.EInvalid, Message: fmt.Sprintf("the root part (start=%s) is not the first part: Portico reads the envelope of a multipart body in its first part, which must be the root", quote(start))}
		}
	}
	if te := part.Header.Values("Content-Transfer-Encoding"); len(te) > 1 || (len(te) == 1 && !identityTransfer(te[0])) {
		return nil, &Error{Code: portico.EInvalid, Message: fmt.Sprintf("the root part is encoded for transfer (Content-Transfer-Encoding %s): send it in 8bit or binary", quote(strings.Join(te, ", ")))}
	}
	if ct := part.Header.Values("Content-Type"); len(ct) == 1 {
		if cs, ok := mediaParam(ct[0], "charset"); ok && !utf8Charset(cs) {
			return nil, &Error{Code: portico.EInvalid, Message: fmt.Sprintf("the root part's charset is %s: Portico reads envelopes in UTF-8", quote(cs))}
		}
	}
	return part, nil
}

// checkBoundaryLine checks that br starts with the line of boundary: its
// delimiter, then spaces or tabs at most, then a line break. It leaves
// the line for the multipart reader.
func checkBoundaryLine(br *bufio.Reader, boundary string) string {
	dash := "--" + boundary
	cr := false
	for n := 1; n <= len(dash)+maxBoundaryLine; n++ {
		b, err := br.Peek(n)
		if err != nil {
			return "ends in its first line"
		}
		c := b[n-1]
		switch {
		case n <= len(dash):
			if c != dash[n-1] {
				return "does not start with its boundary: Portico takes nothing but line breaks before it"
			}
		case c == '\n':
			return ""
		case cr || (c != ' ' && c != '\t' && c != '\r'):
			return "has more than spaces after its first boundary"
		default:
			cr = c == '\r'
		}
	}
	return "has more than spaces after its first boundary"
}

// contentID returns a Content-ID, or a start parameter, without its
// angle brackets and spaces.
func contentID(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
		s = s[1 : len(s)-1]
	}
	return strings.TrimSpace(s)
}

func identityTransfer(te string) bool {
	switch strings.ToLower(strings.TrimSpace(te)) {
	case "7bit", "8bit", "binary":
		return true
	}
	return false
}

// errFound stops the reader at the Body's first child.
var errFound = errors.New("found")

// envelope reads an envelope's elements as they pass, up to the Body's
// first child.
type envelope struct {
	r       *reader
	version string
	ns      string // the envelope namespace of version
	header  bool   // the Header has passed
	inBody  bool
	found   string
}

// readBodyElement reads the envelope of version in src.
func readBodyElement(src *source, version string) (string, error) {
	// A byte order mark: UTF-8's is taken off, UTF-16's refused.
	var head [3]byte
	n := 0
	for ; n < len(head); n++ {
		c, err := src.ReadByte()
		if err != nil {
			break
		}
		head[n] = c
	}
	switch {
	case n >= 2 && (head[0] == 0xfe && head[1] == 0xff || head[0] == 0xff && head[1] == 0xfe):
		return "", &Error{Code: portico.EInvalid, Line: 1, Column: 1, Message: "the envelope is in UTF-16; Portico reads envelopes in UTF-8"}
	case n == 3 && head == [3]byte{0xef, 0xbb, 0xbf}:
		n = 0
	}
	src.head = head[:n]
	e := &envelope{version: version, ns: nsEnv11}
	if version == SOAP12 {
		e.ns = nsEnv12
	}
	e.r = newStreamReader(src, "envelopes")
	err := e.r.run(e)
	switch {
	case err == errFound:
		return e.found, nil
	case err != nil:
		return "", err
	}
	return "", &Error{Code: portico.EInvalid, Message: "the envelope has no Body"} // cannot happen: the Envelope's end says so
}

func (e *envelope) start(el *element) error {
	r := e.r
	switch len(r.stack) {
	case 1:
		switch {
		case el.is(e.ns, "Envelope"):
			return nil
		case el.local == "Envelope" && (el.space == nsEnv11 || el.space == nsEnv12):
			other := SOAP11
			if el.space == nsEnv12 {
				other = SOAP12
			}
			return r.errorAt(el.off, "the envelope is a SOAP %s one, but the Content-Type is SOAP %s's (%s)", other, e.version, contentTypeOf(e.version))
		}
		return r.errorAt(el.off, "the root element is %s, not a SOAP %s Envelope (in %s)", quote(clark(el.space, el.local)), e.version, e.ns)
	case 2:
		switch {
		case el.is(e.ns, "Header") && !e.header:
			e.header = true
			return nil
		case el.is(e.ns, "Body"):
			e.inBody = true
			return nil
		}
		return r.errorAt(el.off, "the Envelope holds %s where its Header (at most one) or its Body should be", quote(clark(el.space, el.local)))
	case 3:
		if e.inBody {
			if msg := checkElement(el.space, el.local); msg != "" {
				return r.errorAt(el.off, "the Body's element %s %s", quote(el.local), msg)
			}
			e.found = clark(el.space, el.local)
			return errFound
		}
	}
	return nil
}

func (e *envelope) end(el *element) error {
	switch {
	case len(e.r.stack) == 1:
		return e.r.errorAt(el.off, "the envelope has no Body")
	case len(e.r.stack) == 2 && e.inBody:
		return e.r.errorAt(el.off, "the Body is empty: it has no element")
	}
	return nil
}

func (e *envelope) text(t []byte) error {
	if n := len(e.r.stack); n == 1 || (n == 2 && e.inBody) {
		if len(bytes.Trim(t, " \t\r\n")) > 0 {
			return e.r.errorAt(0, "text in the %s, where only elements may be", e.r.stack[n-1].local)
		}
	}
	return nil
}

func contentTypeOf(version string) string {
	if version == SOAP12 {
		return "application/soap+xml"
	}
	return "text/xml"
}
