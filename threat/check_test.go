package threat_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/threat"
)

func TestCheck(t *testing.T) {
	tp := &portico.ThreatProtection{
		MaxBodyBytes:        1000,
		AllowedMethods:      []string{"GET", "POST"},
		AllowedContentTypes: []string{"application/json", "Application/XML", "text/*"},
	}
	open := &portico.ThreatProtection{MaxBodyBytes: 1000}
	tests := []struct {
		name        string
		tp          *portico.ThreatProtection
		method, ct  string
		length      int64
		code        portico.ErrorCode // "" when allowed
		wantMessage string
	}{
		{"allowed", tp, "POST", "application/json", 10, "", ""},
		{"allowed with parameters", tp, "POST", "application/json; charset=UTF-8", 10, "", ""},
		{"allowed in another case", tp, "POST", "APPLICATION/Json", 10, "", ""},
		{"allowed entry in another case", tp, "POST", "application/xml", 10, "", ""},
		{"allowed by a wildcard", tp, "POST", "text/plain", 10, "", ""},
		{"no body, no type", tp, "GET", "", 0, "", ""},
		{"at the size limit", tp, "POST", "application/json", 1000, "", ""},
		{"unknown length", tp, "POST", "application/json", -1, "", ""},
		{"nil policy", nil, "BREW", "x/y", portico.DefaultThreatMaxBodyBytes, "", ""},
		{"open policy", open, "DELETE", "image/png", 5, "", ""},
		{"open policy, no type", open, "POST", "", 5, "", ""},

		{"method", tp, "DELETE", "", 0, portico.ENotAllowed, `method "DELETE" not allowed (threat_protection.allowed_methods: GET, POST)`},
		{"method in another case", tp, "get", "", 0, portico.ENotAllowed, `method "get" not allowed`},
		{"type", tp, "POST", "application/octet-stream", 10, portico.EUnsupported, `Content-Type "application/octet-stream" not allowed (threat_protection.allowed_content_types: application/json, Application/XML, text/*)`},
		{"type by prefix only", tp, "POST", "application/jsonx", 10, portico.EUnsupported, "not allowed"},
		{"wildcard is not a prefix", tp, "POST", "textual/plain", 10, portico.EUnsupported, "not allowed"},
		{"+json not listed", tp, "POST", "application/problem+json", 10, portico.EUnsupported, "not allowed"},
		{"type on a request without a body", tp, "GET", "image/png", 0, portico.EUnsupported, "not allowed"},
		{"body without a type", tp, "POST", "", 10, portico.EUnsupported, "request body without a Content-Type"},
		{"chunked body without a type", tp, "POST", "", -1, portico.EUnsupported, "without a Content-Type"},
		{"type that does not parse", open, "POST", "application/json;;", 10, portico.EUnsupported, "is not a media type"},
		{"type with a broken parameter", open, "POST", "application/json; charset", 10, portico.EUnsupported, "is not a media type"},
		{"type given twice", open, "POST", "application/json, application/xml", 10, portico.EUnsupported, "is not a media type"},
		{"duplicate parameter", open, "POST", "application/json; charset=utf-8; charset=utf-16", 10, portico.EUnsupported, "is not a media type"},
		{"JSON in UTF-16", open, "POST", "application/json; charset=utf-16", 10, portico.EUnsupported, `JSON body in charset "utf-16": only utf-8 is checked`},
		{"XML in Latin-1", open, "POST", "text/xml; charset=iso-8859-1", 10, portico.EUnsupported, `XML body in charset "iso-8859-1"`},
		{"text in Latin-1", open, "POST", "text/plain; charset=iso-8859-1", 10, "", ""},
		{"XML in US-ASCII", open, "POST", "application/soap+xml; charset=US-ASCII", 10, "", ""},
		{"size", tp, "POST", "application/json", 1001, portico.ETooLarge, "request body of 1001 bytes larger than 1000 bytes (threat_protection.max_body_bytes)"},
		{"default size", nil, "POST", "application/json", portico.DefaultThreatMaxBodyBytes + 1, portico.ETooLarge, "larger than 1048576 bytes"},
		{"method before type", tp, "PUT", "image/png", 10, portico.ENotAllowed, "not allowed"},
		{"type before size", tp, "POST", "image/png", 1 << 40, portico.EUnsupported, "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := threat.Check(tt.method, tt.ct, tt.length, tt.tp)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			wantRefused(t, err, tt.code, tt.wantMessage)
		})
	}
}

func TestFormatOf(t *testing.T) {
	for ct, want := range map[string]threat.Format{
		"application/json":                  threat.JSON,
		"Application/JSON; charset=utf-8":   threat.JSON,
		"text/json":                         threat.JSON,
		"application/problem+json":          threat.JSON,
		"application/vnd.api+JSON":          threat.JSON,
		"application/xml":                   threat.XML,
		"text/xml; charset=utf-8":           threat.XML,
		"application/soap+xml":              threat.XML,
		"image/svg+xml":                     threat.XML,
		"application/jsonl":                 threat.Other,
		"application/x-www-form-urlencoded": threat.Other,
		"text/plain":                        threat.Other,
		"":                                  threat.Other,
		"application/json;;":                threat.JSON, // Check refuses it
		"not a type":                        threat.Other,
	} {
		if got := threat.FormatOf(ct); got != want {
			t.Errorf("FormatOf(%q) = %v, want %v", ct, got, want)
		}
	}
}

// TestReaderSize: every format is held to MaxBodyBytes, the body of
// exactly the limit passes, one byte more is 413 without reading on.
func TestReaderSize(t *testing.T) {
	tp := &portico.ThreatProtection{MaxBodyBytes: 10}
	for _, tt := range []struct {
		f        threat.Format
		ok, over string
	}{
		{threat.Other, "0123456789", "0123456789a"},
		{threat.JSON, `[1,2,3,45]`, `[1,2,3,456]`},
		{threat.XML, `<a>12</a> `, `<a>123</a> `},
	} {
		t.Run(tt.f.String(), func(t *testing.T) {
			wantPassed(t, []byte(tt.ok), tt.f, tp)
			wantFailed(t, []byte(tt.over), tt.f, tp, portico.ETooLarge, "request body larger than 10 bytes (threat_protection.max_body_bytes)")
		})
	}

	// The Reader asks for no more than the limit and one byte.
	src := &countingReader{r: strings.NewReader(strings.Repeat("x", 1<<20))}
	_, err := io.ReadAll(threat.NewReader(src, threat.Other, tp))
	wantRefused(t, err, portico.ETooLarge)
	if src.n != 11 {
		t.Fatalf("read %d bytes of the body, want 11", src.n)
	}
}

// TestReaderPassesOtherUnchanged: a body of another type is passed on as
// it is, however broken as JSON or XML.
func TestReaderPassesOtherUnchanged(t *testing.T) {
	body := []byte("\x00\xff{[<!DOCTYPE x>&lol;")
	wantPassed(t, body, threat.Other, nil)
}

// TestReaderPassesReadErrors: an error of the body itself reaches the
// caller as it is, with the bytes read.
func TestReaderPassesReadErrors(t *testing.T) {
	cut := errors.New("connection reset")
	r := threat.NewReader(io.MultiReader(strings.NewReader(`{"a":`), &errReader{cut}), threat.JSON, nil)
	out, err := io.ReadAll(r)
	if !errors.Is(err, cut) || string(out) != `{"a":` {
		t.Fatalf("read %q, %v", out, err)
	}
}

// TestReaderWithholdsTheViolatingRead: the bytes of the read that holds
// a violation are not passed on, those before it were.
func TestReaderWithholdsTheViolatingRead(t *testing.T) {
	body := []byte(`[1,2,3][4]`)
	r := threat.NewReader(&chunkReader{data: body, sizes: []int{4}}, threat.JSON, nil)
	var out bytes.Buffer
	_, err := io.Copy(&out, r)
	wantRefused(t, err, portico.EInvalid, "'[' after the document at byte 7")
	if out.String() != `[1,2` {
		t.Fatalf("passed on %q", out.String())
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }
