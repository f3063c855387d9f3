package jsonxml

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/portico-gw/portico"
)

// Namespace is the namespace of the type marker attribute (doc.go, "Type
// markers"): JSONToXML writes type="number" and the like in it where the
// XML alone would not say the JSON type, and XMLToJSON reads them.
const Namespace = "urn:portico:json"

// DefaultMaxDepth is the nesting bound of Options.MaxDepth's zero value.
const DefaultMaxDepth = 1000

// Options bound and shape a conversion. The zero value converts with the
// defaults of portico.Conversion.
type Options struct {
	// Root names the document element JSONToXML writes; "" means
	// portico.DefaultConversionRoot. XMLToJSON ignores the name of the
	// document element it reads. A Root that is no XML name is escaped
	// like a member name.
	Root string

	// MaxBytes bounds the input: a longer one is refused with an
	// *portico.Error of code ETooLarge. 0 (or less) means
	// portico.DefaultConversionMaxBytes.
	MaxBytes int64

	// MaxDepth bounds nesting: of arrays and objects in JSON input ("[]"
	// is 1), of elements in XML input (the document element is 1). Deeper
	// input is refused with EInvalid. 0 (or less) means DefaultMaxDepth.
	// XMLToJSON can nest its output deeper than its input (repeated
	// elements become an array in an object), JSONToXML one level more at
	// most (the items of an array nest in its element).
	MaxDepth int
}

// OptionsFor returns the options of conversion policy c.
func OptionsFor(c *portico.Conversion) Options {
	return Options{Root: c.RootOrDefault(), MaxBytes: c.MaxBytesOrDefault()}
}

func (o Options) root() string {
	if o.Root == "" {
		return portico.DefaultConversionRoot
	}
	return o.Root
}

func (o Options) maxBytes() int64 {
	if o.MaxBytes <= 0 {
		return portico.DefaultConversionMaxBytes
	}
	return o.MaxBytes
}

func (o Options) maxDepth() int {
	if o.MaxDepth <= 0 {
		return DefaultMaxDepth
	}
	return o.MaxDepth
}

// JSONToXML reads one JSON document from src and writes it to dst as XML
// by the mapping of doc.go. Input over opts.MaxBytes is refused with an
// *portico.Error of code ETooLarge, input that is not JSON or that the
// mapping cannot carry (a member name used twice in an object, a string
// holding a character XML 1.0 has no place for) with EInvalid; both
// before anything is written to dst. An error reading src or writing dst
// is returned wrapped; dst may then hold part of the output.
func JSONToXML(dst io.Writer, src io.Reader, opts Options) error {
	buf, err := readBody(src, opts.maxBytes())
	if err != nil {
		return err
	}
	in := string(buf.Bytes())
	releaseBody(buf)
	p := jsonParsers.Get().(*jsonParser)
	defer p.release()
	if err := p.parse(in, opts.maxDepth()); err != nil {
		return err
	}
	return writeXML(newOut(dst), &p.jsonDoc, opts.root())
}

// XMLToJSON reads one XML document from src and writes it to dst as JSON
// by the mapping of doc.go. Input over opts.MaxBytes is refused with an
// *portico.Error of code ETooLarge; input that is not namespace
// well-formed XML 1.0 in UTF-8, that has a document type declaration
// (<!DOCTYPE …>) or a reference to an entity other than the five
// predefined ones, or whose type markers contradict its content, with
// EInvalid; both before anything is written to dst. An error reading src
// or writing dst is returned wrapped.
func XMLToJSON(dst io.Writer, src io.Reader, opts Options) error {
	buf, err := readBody(src, opts.maxBytes())
	if err != nil {
		return err
	}
	r := xmlReaders.Get().(*xmlReader)
	defer r.release()
	err = r.parse(buf.Bytes(), opts.maxDepth())
	releaseBody(buf)
	if err != nil {
		return err
	}
	return writeJSON(newOut(dst), &r.xmlDoc)
}

// Buffers for bodies, kept for the next conversion unless a large body
// grew them. With the pools of parsers (json.go) and readers (xmlread.go)
// they take a JSON→XML conversion of 2 KiB from 23 allocations to 5
// (BenchmarkJSONToXML); XMLToJSON's are mostly encoding/xml's.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readBody reads all of src, at most max bytes, into a buffer of bodies.
func readBody(src io.Reader, max int64) (*bytes.Buffer, error) {
	buf := bodies.Get().(*bytes.Buffer)
	if n, ok := src.(interface{ Len() int }); ok && int64(n.Len()) <= max {
		buf.Grow(n.Len() + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(src, max+1))
	if err != nil {
		releaseBody(buf)
		return nil, fmt.Errorf("jsonxml: reading the body: %w", err)
	}
	if n > max {
		releaseBody(buf)
		return nil, portico.Errorf(portico.ETooLarge, "the body is over %d bytes, the most the conversion takes", max)
	}
	return buf, nil
}

func releaseBody(buf *bytes.Buffer) {
	if buf.Cap() <= maxPoolSize {
		buf.Reset()
		bodies.Put(buf)
	}
}
