package portico_test

import (
	"encoding/json"
	"testing"

	"github.com/portico-gw/portico"
)

func TestThreatProtectionValidate(t *testing.T) {
	tests := []struct {
		name  string
		tp    portico.ThreatProtection
		field string // "" when valid
	}{
		{"zero", portico.ThreatProtection{}, ""},
		{"all set", portico.ThreatProtection{
			MaxBodyBytes:        4096,
			JSON:                portico.ThreatJSONLimits{MaxDepth: 10, MaxKeys: 20, MaxArrayLength: 30, MaxStringLength: 40, MaxKeyLength: 50},
			XML:                 portico.ThreatXMLLimits{MaxDepth: 10, MaxAttributes: 5, MaxTextLength: 100, MaxNameLength: 20},
			AllowedContentTypes: []string{"application/json", "Application/XML", "text/*", "*/*"},
			AllowedMethods:      []string{"GET", "POST", "PROPFIND"},
		}, ""},
		{"negative body", portico.ThreatProtection{MaxBodyBytes: -1}, "threat_protection.max_body_bytes"},
		{"absurd body", portico.ThreatProtection{MaxBodyBytes: 1 << 40}, "threat_protection.max_body_bytes"},
		{"negative json depth", portico.ThreatProtection{JSON: portico.ThreatJSONLimits{MaxDepth: -1}}, "threat_protection.json.max_depth"},
		{"absurd json depth", portico.ThreatProtection{JSON: portico.ThreatJSONLimits{MaxDepth: 1 << 20}}, "threat_protection.json.max_depth"},
		{"negative keys", portico.ThreatProtection{JSON: portico.ThreatJSONLimits{MaxKeys: -5}}, "threat_protection.json.max_keys"},
		{"absurd keys", portico.ThreatProtection{JSON: portico.ThreatJSONLimits{MaxKeys: 1 << 30}}, "threat_protection.json.max_keys"},
		{"negative array", portico.ThreatProtection{JSON: portico.ThreatJSONLimits{MaxArrayLength: -1}}, "threat_protection.json.max_array_length"},
		{"negative string", portico.ThreatProtection{JSON: portico.ThreatJSONLimits{MaxStringLength: -1}}, "threat_protection.json.max_string_length"},
		{"absurd key length", portico.ThreatProtection{JSON: portico.ThreatJSONLimits{MaxKeyLength: 1 << 20}}, "threat_protection.json.max_key_length"},
		{"negative xml depth", portico.ThreatProtection{XML: portico.ThreatXMLLimits{MaxDepth: -1}}, "threat_protection.xml.max_depth"},
		{"absurd attributes", portico.ThreatProtection{XML: portico.ThreatXMLLimits{MaxAttributes: 1 << 30}}, "threat_protection.xml.max_attributes"},
		{"negative text", portico.ThreatProtection{XML: portico.ThreatXMLLimits{MaxTextLength: -1}}, "threat_protection.xml.max_text_length"},
		{"negative name", portico.ThreatProtection{XML: portico.ThreatXMLLimits{MaxNameLength: -1}}, "threat_protection.xml.max_name_length"},
		{"type with parameter", portico.ThreatProtection{AllowedContentTypes: []string{"application/json; charset=utf-8"}}, "threat_protection.allowed_content_types"},
		{"type without subtype", portico.ThreatProtection{AllowedContentTypes: []string{"json"}}, "threat_protection.allowed_content_types"},
		{"wildcard type", portico.ThreatProtection{AllowedContentTypes: []string{"*/json"}}, "threat_protection.allowed_content_types"},
		{"empty type", portico.ThreatProtection{AllowedContentTypes: []string{""}}, "threat_protection.allowed_content_types"},
		{"method with space", portico.ThreatProtection{AllowedMethods: []string{"GET "}}, "threat_protection.allowed_methods"},
		{"empty method", portico.ThreatProtection{AllowedMethods: []string{""}}, "threat_protection.allowed_methods"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.tp.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if portico.ErrorCodeOf(err) != portico.EInvalid || portico.ErrorFieldOf(err) != tt.field {
				t.Fatalf("Validate = %v, want %s on field %s", err, portico.EInvalid, tt.field)
			}
		})
	}
}

func TestThreatProtectionWithDefaults(t *testing.T) {
	var nilTP *portico.ThreatProtection
	d := nilTP.WithDefaults()
	want := portico.ThreatProtection{
		MaxBodyBytes: portico.DefaultThreatMaxBodyBytes,
		JSON: portico.ThreatJSONLimits{
			MaxDepth:        portico.DefaultThreatMaxDepth,
			MaxKeys:         portico.DefaultThreatMaxKeys,
			MaxArrayLength:  portico.DefaultThreatMaxArrayLength,
			MaxStringLength: portico.DefaultThreatMaxStringLength,
			MaxKeyLength:    portico.DefaultThreatMaxNameLength,
		},
		XML: portico.ThreatXMLLimits{
			MaxDepth:      portico.DefaultThreatMaxDepth,
			MaxAttributes: portico.DefaultThreatMaxAttributes,
			MaxTextLength: portico.DefaultThreatMaxTextLength,
			MaxNameLength: portico.DefaultThreatMaxNameLength,
		},
	}
	if d.MaxBodyBytes != want.MaxBodyBytes || d.JSON != want.JSON || d.XML != want.XML {
		t.Fatalf("nil.WithDefaults() = %+v, want %+v", d, want)
	}

	set := &portico.ThreatProtection{MaxBodyBytes: 10, JSON: portico.ThreatJSONLimits{MaxDepth: 3}, XML: portico.ThreatXMLLimits{MaxTextLength: 7}}
	d = set.WithDefaults()
	if d.MaxBodyBytes != 10 || d.JSON.MaxDepth != 3 || d.XML.MaxTextLength != 7 || d.JSON.MaxKeys != portico.DefaultThreatMaxKeys || d.XML.MaxDepth != portico.DefaultThreatMaxDepth {
		t.Fatalf("WithDefaults() = %+v: set limits must stay, zero ones take defaults", d)
	}
	if set.JSON.MaxKeys != 0 {
		t.Fatal("WithDefaults changed its receiver")
	}
}

// TestThreatProtectionJSON: the policy reads from the admin API's
// snake_case JSON, and the zero value encodes as {}.
func TestThreatProtectionJSON(t *testing.T) {
	var tp portico.ThreatProtection
	in := `{"max_body_bytes":2048,"json":{"max_depth":5,"max_keys":6,"max_array_length":7,"max_string_length":8,"max_key_length":9},` +
		`"xml":{"max_depth":4,"max_attributes":3,"max_text_length":2,"max_name_length":1},` +
		`"allowed_content_types":["application/json"],"allowed_methods":["POST"]}`
	if err := json.Unmarshal([]byte(in), &tp); err != nil {
		t.Fatal(err)
	}
	if tp.MaxBodyBytes != 2048 || tp.JSON != (portico.ThreatJSONLimits{MaxDepth: 5, MaxKeys: 6, MaxArrayLength: 7, MaxStringLength: 8, MaxKeyLength: 9}) || tp.XML != (portico.ThreatXMLLimits{MaxDepth: 4, MaxAttributes: 3, MaxTextLength: 2, MaxNameLength: 1}) ||
		len(tp.AllowedContentTypes) != 1 || len(tp.AllowedMethods) != 1 {
		t.Fatalf("decoded %+v", tp)
	}
	out, err := json.Marshal(tp)
	if err != nil || string(out) != in {
		t.Fatalf("round trip: %s, %v; want %s", out, err, in)
	}
	if out, _ := json.Marshal(portico.ThreatProtection{}); string(out) != "{}" {
		t.Fatalf("zero value encodes as %s, want {}", out)
	}
}
