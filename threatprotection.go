package portico

import (
	"mime"
	"strings"
)

// ThreatProtection is an API's threat protection policy: what a request
// may be before its body reaches the backend. Package threat enforces it:
// the method, media type and Content-Length before the body is read, and
// the size and structure of a JSON or XML body while it streams by.
//
// The zero value of every limit stands for its default (the
// DefaultThreat… constants), never for "no limit": an empty policy still
// bounds what a body may cost the gateway and the backend. An empty
// AllowedContentTypes or AllowedMethods allows any. WithDefaults gives the
// limits in force.
type ThreatProtection struct {
	// MaxBodyBytes bounds the request body in bytes, whatever its type;
	// 0 means DefaultThreatMaxBodyBytes. It also bounds a JSON document's
	// total size.
	MaxBodyBytes int64 `json:"max_body_bytes,omitempty"`

	JSON ThreatJSONLimits `json:"json,omitzero"` // for application/json and +json bodies
	XML  ThreatXMLLimits  `json:"xml,omitzero"`  // for application/xml, text/xml and +xml bodies

	// AllowedContentTypes lists the media types a request body may have,
	// as "type/subtype" or "type/*", without parameters; compared case
	// insensitively with the request's media type, its parameters
	// ignored. Empty allows any.
	AllowedContentTypes []string `json:"allowed_content_types,omitempty"`

	// AllowedMethods lists the request methods allowed, compared exactly
	// (methods are case-sensitive: "GET", not "get"). Empty allows any.
	AllowedMethods []string `json:"allowed_methods,omitempty"`
}

// ThreatJSONLimits bound the structure of a JSON request body. Lengths
// count characters (Unicode code points) after escapes are decoded: the
// key "\u00e9" is one character long. Zero means the default.
type ThreatJSONLimits struct {
	MaxDepth        int `json:"max_depth,omitempty"`         // nested arrays and objects; "[]" is 1; default DefaultThreatMaxDepth
	MaxKeys         int `json:"max_keys,omitempty"`          // keys in one object; default DefaultThreatMaxKeys
	MaxArrayLength  int `json:"max_array_length,omitempty"`  // elements of one array; default DefaultThreatMaxArrayLength
	MaxStringLength int `json:"max_string_length,omitempty"` // characters of one string value; default DefaultThreatMaxStringLength
	MaxKeyLength    int `json:"max_key_length,omitempty"`    // characters of one key; default DefaultThreatMaxNameLength
}

// ThreatXMLLimits bound the structure of an XML request body. Lengths
// count characters (Unicode code points); a reference such as "&amp;"
// counts as the one character it stands for. Zero means the default.
type ThreatXMLLimits struct {
	MaxDepth      int `json:"max_depth,omitempty"`      // nested elements; the root is 1; default DefaultThreatMaxDepth
	MaxAttributes int `json:"max_attributes,omitempty"` // attributes of one element, xmlns ones included; default DefaultThreatMaxAttributes

	// MaxTextLength bounds the characters of the text directly inside
	// one element between two tags (character data and CDATA sections
	// together, comments do not split it), of one attribute value and of
	// one comment; default DefaultThreatMaxTextLength.
	MaxTextLength int `json:"max_text_length,omitempty"`
	MaxNameLength int `json:"max_name_length,omitempty"` // characters of an element or attribute name, prefix included; default DefaultThreatMaxNameLength
}

// Defaults of the ThreatProtection limits, used where a limit is 0.
const (
	DefaultThreatMaxBodyBytes    = 1 << 20 // 1 MiB
	DefaultThreatMaxDepth        = 64
	DefaultThreatMaxKeys         = 1000
	DefaultThreatMaxArrayLength  = 10000
	DefaultThreatMaxStringLength = 1 << 16
	DefaultThreatMaxNameLength   = 256 // JSON keys, XML element and attribute names
	DefaultThreatMaxAttributes   = 64
	DefaultThreatMaxTextLength   = 1 << 16
)

// Ceilings of the ThreatProtection limits: Validate refuses more. The
// checker's memory grows with the depth and with the keys of the objects
// open at once (package threat's doc.go says how much); the other limits
// are counters and cost nothing.
const (
	threatCeilingBodyBytes = 1 << 32 // 4 GiB
	threatCeilingDepth     = 4096
	threatCeilingKeys      = 1 << 20 // also attributes
	threatCeilingLength    = 1 << 30 // strings, arrays, text
	threatCeilingName      = 1 << 16
)

// WithDefaults returns a copy of tp with each zero limit set to its
// default. A nil tp gives every default and allows any method and type.
func (tp *ThreatProtection) WithDefaults() ThreatProtection {
	var c ThreatProtection
	if tp != nil {
		c = *tp
	}
	threatDefault(&c.MaxBodyBytes, DefaultThreatMaxBodyBytes)
	threatDefault(&c.JSON.MaxDepth, DefaultThreatMaxDepth)
	threatDefault(&c.JSON.MaxKeys, DefaultThreatMaxKeys)
	threatDefault(&c.JSON.MaxArrayLength, DefaultThreatMaxArrayLength)
	threatDefault(&c.JSON.MaxStringLength, DefaultThreatMaxStringLength)
	threatDefault(&c.JSON.MaxKeyLength, DefaultThreatMaxNameLength)
	threatDefault(&c.XML.MaxDepth, DefaultThreatMaxDepth)
	threatDefault(&c.XML.MaxAttributes, DefaultThreatMaxAttributes)
	threatDefault(&c.XML.MaxTextLength, DefaultThreatMaxTextLength)
	threatDefault(&c.XML.MaxNameLength, DefaultThreatMaxNameLength)
	return c
}

func threatDefault[T int | int64](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// Validate checks that every limit lies between 0 (the default) and its
// ceiling, that each allowed content type is a media type without
// parameters ("type/subtype" or "type/*") and each allowed method an HTTP
// token. Errors name the field, as in "threat_protection.json.max_depth".
func (tp *ThreatProtection) Validate() error {
	if tp.MaxBodyBytes < 0 || tp.MaxBodyBytes > threatCeilingBodyBytes {
		return FieldErrorf(EInvalid, "threat_protection.max_body_bytes",
			"must be 0 (the default, %d) or up to %d bytes, not %d", DefaultThreatMaxBodyBytes, int64(threatCeilingBodyBytes), tp.MaxBodyBytes)
	}
	limits := []struct {
		field      string
		v, def, hi int
	}{
		{"json.max_depth", tp.JSON.MaxDepth, DefaultThreatMaxDepth, threatCeilingDepth},
		{"json.max_keys", tp.JSON.MaxKeys, DefaultThreatMaxKeys, threatCeilingKeys},
		{"json.max_array_length", tp.JSON.MaxArrayLength, DefaultThreatMaxArrayLength, threatCeilingLength},
		{"json.max_string_length", tp.JSON.MaxStringLength, DefaultThreatMaxStringLength, threatCeilingLength},
		{"json.max_key_length", tp.JSON.MaxKeyLength, DefaultThreatMaxNameLength, threatCeilingName},
		{"xml.max_depth", tp.XML.MaxDepth, DefaultThreatMaxDepth, threatCeilingDepth},
		{"xml.max_attributes", tp.XML.MaxAttributes, DefaultThreatMaxAttributes, threatCeilingKeys},
		{"xml.max_text_length", tp.XML.MaxTextLength, DefaultThreatMaxTextLength, threatCeilingLength},
		{"xml.max_name_length", tp.XML.MaxNameLength, DefaultThreatMaxNameLength, threatCeilingName},
	}
	for _, l := range limits {
		if l.v < 0 || l.v > l.hi {
			return FieldErrorf(EInvalid, "threat_protection."+l.field,
				"must be 0 (the default, %d) or up to %d, not %d", l.def, l.hi, l.v)
		}
	}
	for i, ct := range tp.AllowedContentTypes {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || len(params) > 0 || !strings.Contains(mt, "/") || strings.HasPrefix(mt, "*/") && mt != "*/*" {
			return FieldErrorf(EInvalid, "threat_protection.allowed_content_types",
				`entry %d: want a media type without parameters such as "application/json" or "text/*", not %.100q`, i, ct)
		}
	}
	for i, m := range tp.AllowedMethods {
		if !threatIsToken(m) {
			return FieldErrorf(EInvalid, "threat_protection.allowed_methods",
				"entry %d: %.100q is not an HTTP method", i, m)
		}
	}
	return nil
}

// threatIsToken reports whether s is an RFC 9110 token, the syntax of a
// method.
func threatIsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
