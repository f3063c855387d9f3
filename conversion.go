package portico

import "strings"

// Conversion is an API's JSON↔XML conversion policy: which bodies the
// gateway converts, in which direction, and the bounds of a conversion.
// Package jsonxml converts; its doc.go gives the mapping between the two
// formats. The zero value converts nothing.
type Conversion struct {
	// Request converts the request body before it reaches the backend:
	// ConvertJSONToXML for a JSON client in front of an XML backend,
	// ConvertXMLToJSON for the reverse; "" (ConvertNone) leaves it as sent.
	Request ConversionDirection `json:"request,omitempty"`

	// Response converts the backend's response body before it reaches the
	// client, with the same values as Request.
	Response ConversionDirection `json:"response,omitempty"`

	// Root names the document element of the XML written by a JSON→XML
	// conversion (an XML→JSON conversion drops the document element's
	// name); "" means DefaultConversionRoot. An XML name of ASCII letters,
	// digits, '_', '-' and '.', not starting with a digit, '-' or '.',
	// with at most one ':' after a prefix of the same kind (the prefix
	// must then be declared by an "@xmlns:prefix" member of the JSON
	// document).
	Root string `json:"root,omitempty"`

	// MaxBytes bounds a body the converter takes, in bytes; a larger one
	// is refused with ETooLarge (413 for a request). The converter holds
	// the whole body and its tree, a few times the body's size, so this
	// also bounds its memory. 0 means DefaultConversionMaxBytes, at most
	// MaxConversionMaxBytes.
	MaxBytes int64 `json:"max_bytes,omitempty"`
}

// ConversionDirection says which way a Conversion converts one body.
type ConversionDirection string

// Conversion directions.
const (
	ConvertNone      ConversionDirection = ""
	ConvertJSONToXML ConversionDirection = "json_to_xml"
	ConvertXMLToJSON ConversionDirection = "xml_to_json"
)

// Defaults and ceilings of a Conversion.
const (
	DefaultConversionRoot     = "root"
	DefaultConversionMaxBytes = 1 << 20  // 1 MiB, as DefaultThreatMaxBodyBytes
	MaxConversionMaxBytes     = 64 << 20 // 64 MiB
	maxConversionRootBytes    = 256
)

// RootOrDefault returns the name of the document element a JSON→XML
// conversion writes: Root, or DefaultConversionRoot when unset.
func (c *Conversion) RootOrDefault() string {
	if c.Root == "" {
		return DefaultConversionRoot
	}
	return c.Root
}

// MaxBytesOrDefault returns the bound on a body: MaxBytes, or
// DefaultConversionMaxBytes when unset.
func (c *Conversion) MaxBytesOrDefault() int64 {
	if c.MaxBytes == 0 {
		return DefaultConversionMaxBytes
	}
	return c.MaxBytes
}

// Converts reports whether c converts any body at all.
func (c *Conversion) Converts() bool {
	return c.Request != ConvertNone || c.Response != ConvertNone
}

// Validate checks every field of c and returns an EInvalid error naming the
// first bad one ("conversion.request", "conversion.response",
// "conversion.root", "conversion.max_bytes").
func (c *Conversion) Validate() error {
	if !c.Request.valid() {
		return FieldErrorf(EInvalid, "conversion.request", "request must be %q, %q or empty, not %.40q",
			ConvertJSONToXML, ConvertXMLToJSON, c.Request)
	}
	if !c.Response.valid() {
		return FieldErrorf(EInvalid, "conversion.response", "response must be %q, %q or empty, not %.40q",
			ConvertJSONToXML, ConvertXMLToJSON, c.Response)
	}
	if c.Root != "" && (len(c.Root) > maxConversionRootBytes || !conversionRootName(c.Root)) {
		return FieldErrorf(EInvalid, "conversion.root",
			"root must be an XML name of at most %d ASCII letters, digits, '_', '-', '.' and one ':' after a prefix, not starting with a digit, '-' or '.', not %.70q",
			maxConversionRootBytes, c.Root)
	}
	if c.MaxBytes < 0 || c.MaxBytes > MaxConversionMaxBytes {
		return FieldErrorf(EInvalid, "conversion.max_bytes", "max_bytes must be between 0 (meaning %d) and %d, not %d",
			DefaultConversionMaxBytes, MaxConversionMaxBytes, c.MaxBytes)
	}
	return nil
}

func (d ConversionDirection) valid() bool {
	return d == ConvertNone || d == ConvertJSONToXML || d == ConvertXMLToJSON
}

// conversionRootName reports whether s is an NCName or a prefixed name of
// ASCII name characters: a subset of XML names every XML parser takes.
func conversionRootName(s string) bool {
	prefix, local, prefixed := strings.Cut(s, ":")
	if prefixed {
		return asciiNCName(prefix) && asciiNCName(local)
	}
	return asciiNCName(s)
}

func asciiNCName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		letter := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || b == '_'
		if !letter && (i == 0 || !('0' <= b && b <= '9' || b == '-' || b == '.')) {
			return false
		}
	}
	return true
}
