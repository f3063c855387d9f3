package portico

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// DocumentFormat is the kind of description an API was imported from.
type DocumentFormat string

// Document formats: OpenAPI (Swagger 2.0, OpenAPI 3.0 and 3.1) and WSDL
// 1.1 (SOAP).
const (
	FormatOpenAPI DocumentFormat = "openapi"
	FormatWSDL    DocumentFormat = "wsdl"
)

// DocumentRef points from an API to the description document it was
// imported from. The document itself is kept by a DocumentStore under
// the API's ID and SHA256, not in the Config: a document may be
// megabytes, and every node holds the whole Config. It is the document
// as stored: for OpenAPI, the JSON form the import made (YAML read,
// aliases expanded).
type DocumentRef struct {
	Format DocumentFormat `json:"format"`
	// Version is the version of the format the document declares: "2.0",
	// "3.0.3", "3.1.0" for OpenAPI, "1.1" for WSDL.
	Version string `json:"version"`
	// SHA256 is the hex SHA-256 of the stored document: its key in the
	// DocumentStore, and how a change of document shows in the Config.
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	ImportedAt time.Time `json:"imported_at"`
}

// Validate checks r; its errors name the field from the API's root.
func (r *DocumentRef) Validate() error {
	if r.Format != FormatOpenAPI && r.Format != FormatWSDL {
		return FieldErrorf(EInvalid, "document.format", "format is %q or %q", FormatOpenAPI, FormatWSDL)
	}
	if !IsSHA256(r.SHA256) {
		return FieldErrorf(EInvalid, "document.sha256", "sha256 is 64 lower-case hex digits")
	}
	if r.Size <= 0 || r.Size > MaxDocumentBytes {
		return FieldErrorf(EInvalid, "document.size", "size is 1 to %d bytes", MaxDocumentBytes)
	}
	if r.Version == "" || len(r.Version) > 20 || strings.ContainsFunc(r.Version, isControl) {
		return FieldErrorf(EInvalid, "document.version", "version is 1 to 20 characters without control characters")
	}
	return nil
}

// DocumentMediaType is the content type a document to import is sent
// as: text/xml (a WSDL) when its first character other than a space is
// "<", application/json when "{", else application/yaml.
func DocumentMediaType(doc []byte) string {
	switch t := bytes.TrimLeft(doc, " \t\r\n\ufeff"); {
	case bytes.HasPrefix(t, []byte("<")):
		return "text/xml"
	case bytes.HasPrefix(t, []byte("{")):
		return "application/json"
	}
	return "application/yaml"
}

// MaxDocumentBytes bounds a stored description document.
const MaxDocumentBytes = 16 << 20

// IsSHA256 reports whether s is a hex SHA-256 in lower case.
func IsSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Resource is an operation an API declares: imported from its document
// (an OpenAPI path and method, a WSDL operation) or written by hand. The
// console and the portal list them, and plans limit them by Pattern.
type Resource struct {
	// Pattern is the resource pattern the gateway matches, in the syntax
	// of ResourceLimit.Pattern, such as "GET /pets/*".
	Pattern string `json:"pattern"`
	// Path is the path template of the document, such as "/pets/{id}".
	Path        string `json:"path,omitempty"`
	OperationID string `json:"operation_id,omitempty"`
	Summary     string `json:"summary,omitempty"`
	// SOAPAction is, for a SOAP API, the action that names the operation
	// (the SOAPAction header of SOAP 1.1, the action parameter of the
	// content type of SOAP 1.2).
	SOAPAction string `json:"soap_action,omitempty"`
	// SOAPBody is, for a SOAP API, the element every envelope calling
	// the operation starts its Body with, in Clark notation:
	// "{namespace}local", or "local" for an element in no namespace
	// (the import gives it where the document tells it: see package
	// soap's doc.go). The gateway refuses a call naming the operation's
	// action whose envelope's Body starts with another element: a backend
	// that dispatches on that element would run another operation. ""
	// leaves the envelope unread.
	SOAPBody string `json:"soap_body,omitempty"`
}

// MaxResources bounds API.Resources.
const MaxResources = 5000

// MaxSOAPBodyBytes bounds a Resource's SOAPBody: a namespace of up to
// MaxSOAPActionBytes and a local name.
const MaxSOAPBodyBytes = MaxSOAPActionBytes + 256

// CheckResources checks an API's resources: at most MaxResources, each
// a valid pattern, texts of bounded length without control characters,
// a SOAPBody in Clark notation, and no operation ID or SOAP action
// twice. Errors name "resources[i]…".
func CheckResources(rs []Resource) error {
	if len(rs) > MaxResources {
		return FieldErrorf(EInvalid, "resources", "at most %d resources", MaxResources)
	}
	ids := make(map[string]int, len(rs))
	actions := make(map[string]int)
	for i, r := range rs {
		f := fmt.Sprintf("resources[%d]", i)
		if err := ValidateResourcePattern(f+".pattern", r.Pattern); err != nil {
			return err
		}
		for _, t := range []struct {
			name, v string
			max     int
		}{{"path", r.Path, 2048}, {"operation_id", r.OperationID, 200}, {"summary", r.Summary, 1000}, {"soap_action", r.SOAPAction, MaxSOAPActionBytes}} {
			if len(t.v) > t.max || !utf8.ValidString(t.v) || strings.ContainsFunc(t.v, isControl) {
				return FieldErrorf(EInvalid, f+"."+t.name, "%s is at most %d bytes of UTF-8 without control characters", t.name, t.max)
			}
		}
		if msg := checkSOAPBody(r.SOAPBody); msg != "" {
			return FieldErrorf(EInvalid, f+".soap_body", "soap_body %s", msg)
		}
		if r.OperationID != "" {
			if j, ok := ids[r.OperationID]; ok {
				return FieldErrorf(EInvalid, f+".operation_id", "operation_id %q is also resources[%d]'s", r.OperationID, j)
			}
			ids[r.OperationID] = i
		}
		if r.SOAPAction != "" {
			if j, ok := actions[r.SOAPAction]; ok {
				return FieldErrorf(EInvalid, f+".soap_action", "soap_action %q is also resources[%d]'s", r.SOAPAction, j)
			}
			actions[r.SOAPAction] = i
		}
	}
	return nil
}

// checkSOAPBody returns what is wrong with a Resource's SOAPBody, or "".
func checkSOAPBody(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > MaxSOAPBodyBytes || !utf8.ValidString(s) || strings.ContainsFunc(s, isControl) {
		return fmt.Sprintf("is at most %d bytes of UTF-8 without control characters", MaxSOAPBodyBytes)
	}
	local := s
	if s[0] == '{' {
		ns, l, ok := strings.Cut(s[1:], "}")
		if !ok || ns == "" {
			return `is "{namespace}local" (Clark notation), or "local" for an element in no namespace`
		}
		local = l
	}
	if local == "" || strings.ContainsFunc(local, func(r rune) bool { return r == ':' || r == '{' || r == '}' || unicode.IsSpace(r) }) {
		return "names an element: its local name is not empty and holds no spaces, colons or braces"
	}
	return ""
}

// isControl reports control characters and the bidirectional controls
// that make a text read other than it is (U+202A–U+202E, U+2066–U+2069).
func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || IsBidiControl(r)
}

// IsBidiControl reports the bidirectional embeddings, overrides and
// isolates, which make a text read other than it is ("exe.png" shown as
// "gnp.exe").
func IsBidiControl(r rune) bool { return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) }

// ImportResult is the admin API's answer to an import (POST
// /api/v1/apis/import): the API as imported, and the resources the
// import added to it and removed from it.
type ImportResult struct {
	API     *API       `json:"api"`
	Created bool       `json:"created"`
	DryRun  bool       `json:"dry_run,omitempty"`
	Added   []Resource `json:"added"`
	Removed []Resource `json:"removed"`
}

// DocumentStore keeps APIs' description documents, each under its API's
// ID and its SHA-256 (see DocumentRef). Documents are written before the
// change that refers to them, and deleted after the change that drops
// the reference. Implementations are safe for concurrent use.
type DocumentStore interface {
	// PutDocument stores doc, whose SHA-256 is sha, for API api. Putting
	// the same document again is not an error.
	PutDocument(ctx context.Context, api, sha string, doc []byte) error
	// Document returns the document stored under api and sha, or an
	// ENotFound error.
	Document(ctx context.Context, api, sha string) ([]byte, error)
	// DeleteDocument removes the document under api and sha, if any.
	DeleteDocument(ctx context.Context, api, sha string) error
}
