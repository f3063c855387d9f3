package portico_test

import (
	"encoding/json"
	"testing"

	"github.com/portico-gw/portico"
)

func TestConversionValidate(t *testing.T) {
	tests := []struct {
		name  string
		c     portico.Conversion
		field string // "" when valid
	}{
		{"zero", portico.Conversion{}, ""},
		{"request json to xml", portico.Conversion{Request: portico.ConvertJSONToXML}, ""},
		{"both ways", portico.Conversion{Request: portico.ConvertJSONToXML, Response: portico.ConvertXMLToJSON, Root: "order", MaxBytes: 4096}, ""},
		{"prefixed root", portico.Conversion{Request: portico.ConvertJSONToXML, Root: "soap:Envelope"}, ""},
		{"root with digits and dots", portico.Conversion{Root: "_a1.b-c"}, ""},
		{"max bytes at ceiling", portico.Conversion{MaxBytes: portico.MaxConversionMaxBytes}, ""},
		{"unknown request", portico.Conversion{Request: "json2xml"}, "conversion.request"},
		{"unknown response", portico.Conversion{Response: "XML_TO_JSON"}, "conversion.response"},
		{"root starting with digit", portico.Conversion{Root: "1root"}, "conversion.root"},
		{"root with space", portico.Conversion{Root: "my root"}, "conversion.root"},
		{"root with two colons", portico.Conversion{Root: "a:b:c"}, "conversion.root"},
		{"root with empty prefix", portico.Conversion{Root: ":a"}, "conversion.root"},
		{"root with empty local", portico.Conversion{Root: "a:"}, "conversion.root"},
		{"root not ascii", portico.Conversion{Root: "prénom"}, "conversion.root"},
		{"root too long", portico.Conversion{Root: string(make([]byte, 300))}, "conversion.root"},
		{"negative max bytes", portico.Conversion{MaxBytes: -1}, "conversion.max_bytes"},
		{"max bytes over ceiling", portico.Conversion{MaxBytes: portico.MaxConversionMaxBytes + 1}, "conversion.max_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if portico.ErrorCodeOf(err) != portico.EInvalid || portico.ErrorFieldOf(err) != tt.field {
				t.Fatalf("Validate() = %v, want EInvalid on %s", err, tt.field)
			}
		})
	}
}

func TestConversionDefaults(t *testing.T) {
	var c portico.Conversion
	if c.Converts() {
		t.Error("the zero Conversion converts")
	}
	if got := c.RootOrDefault(); got != portico.DefaultConversionRoot {
		t.Errorf("RootOrDefault() = %q, want %q", got, portico.DefaultConversionRoot)
	}
	if got := c.MaxBytesOrDefault(); got != portico.DefaultConversionMaxBytes {
		t.Errorf("MaxBytesOrDefault() = %d, want %d", got, portico.DefaultConversionMaxBytes)
	}
	c = portico.Conversion{Response: portico.ConvertXMLToJSON, Root: "order", MaxBytes: 10}
	if !c.Converts() || c.RootOrDefault() != "order" || c.MaxBytesOrDefault() != 10 {
		t.Errorf("set fields not used: %+v", c)
	}
}

// TestConversionJSON: the field names of the admin API, and empty fields
// left out.
func TestConversionJSON(t *testing.T) {
	b, err := json.Marshal(portico.Conversion{Request: portico.ConvertJSONToXML, Root: "order"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"request":"json_to_xml","root":"order"}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	var c portico.Conversion
	if err := json.Unmarshal([]byte(`{"request":"xml_to_json","response":"json_to_xml","max_bytes":2048}`), &c); err != nil {
		t.Fatal(err)
	}
	want := portico.Conversion{Request: portico.ConvertXMLToJSON, Response: portico.ConvertJSONToXML, MaxBytes: 2048}
	if c != want {
		t.Errorf("got %+v, want %+v", c, want)
	}
}
