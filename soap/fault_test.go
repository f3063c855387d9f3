package soap_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/portico-gw/portico/soap"
)

// fault11 and fault12 read the faults back.
type fault11 struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Body    struct {
		Fault struct {
			Code   string `xml:"faultcode"`
			String string `xml:"faultstring"`
			Detail detail `xml:"detail"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

type fault12 struct {
	XMLName xml.Name `xml:"http://www.w3.org/2003/05/soap-envelope Envelope"`
	Body    struct {
		Fault struct {
			Code struct {
				Value string `xml:"http://www.w3.org/2003/05/soap-envelope Value"`
			} `xml:"http://www.w3.org/2003/05/soap-envelope Code"`
			Reason struct {
				Text struct {
					Lang string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
					Text string `xml:",chardata"`
				} `xml:"http://www.w3.org/2003/05/soap-envelope Text"`
			} `xml:"http://www.w3.org/2003/05/soap-envelope Reason"`
			Detail detail `xml:"http://www.w3.org/2003/05/soap-envelope Detail"`
		} `xml:"http://www.w3.org/2003/05/soap-envelope Fault"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
}

type detail struct {
	Error struct {
		Code   string `xml:"urn:portico:fault code"`
		Status int    `xml:"urn:portico:fault status"`
	} `xml:"urn:portico:fault error"`
}

// wellFormed reads body to its end with encoding/xml's strict decoder
// and counts its elements.
func wellFormed(t *testing.T, body []byte) int {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(body))
	n := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, body)
		}
		if _, ok := tok.(xml.StartElement); ok {
			n++
		}
	}
}

func TestFault(t *testing.T) {
	hostile := []struct{ name, message, want string }{
		{"plain", "API key required", "API key required"},
		{"empty", "", ""}, // the status's text
		{"markup", `</faultstring><faultcode>soap:Server</faultcode><x a="&">`, `</faultstring><faultcode>soap:Server</faultcode><x a="&">`},
		{"CDATA end", "a]]>b<![CDATA[c", "a]]>b<![CDATA[c"},
		{"entities", "&lol; &amp; &#0;", "&lol; &amp; &#0;"},
		{"invalid UTF-8", "bad \xff\xfe byte", "bad \uFFFD\uFFFD byte"},
		{"control characters", "a\x00b\x01c\x1bd\x7fe", "a\uFFFDb\uFFFDc\uFFFDd\x7fe"},
		{"line breaks and tabs", "a\r\nb\tc", "a\r\nb\tc"},
		{"non-characters", "a\uFFFEb\uFFFFc", "a\uFFFDb\uFFFDc"},
		{"long", strings.Repeat("x", 100_000), strings.Repeat("x", 100_000)},
	}
	for _, status := range []int{401, 403, 413, 429, 502, 504} {
		for _, h := range hostile {
			code := "rate_limited"
			if h.name == "markup" {
				code = "<code>&"
			}
			want := h.want
			if h.message == "" {
				want = httpStatusText(status)
			}
			t.Run(strconv.Itoa(status)+"/"+h.name+"/1.1", func(t *testing.T) {
				ct, body := soap.Fault(soap.SOAP11, status, code, h.message)
				if ct != "text/xml; charset=utf-8" {
					t.Errorf("content type %q", ct)
				}
				if n := wellFormed(t, body); n != 9 {
					t.Errorf("%d elements, want 9:\n%s", n, body)
				}
				var f fault11
				if err := xml.Unmarshal(body, &f); err != nil {
					t.Fatalf("%v\n%s", err, body)
				}
				wantCode := map[bool]string{false: "soap:Client", true: "soap:Server"}[status >= 500]
				got := f.Body.Fault
				if got.Code != wantCode || got.String != want || got.Detail.Error.Code != code || got.Detail.Error.Status != status {
					t.Errorf("read back %q %q %q %d", got.Code, truncateForLog(got.String), got.Detail.Error.Code, got.Detail.Error.Status)
				}
			})
			t.Run(strconv.Itoa(status)+"/"+h.name+"/1.2", func(t *testing.T) {
				ct, body := soap.Fault(soap.SOAP12, status, code, h.message)
				if ct != "application/soap+xml; charset=utf-8" {
					t.Errorf("content type %q", ct)
				}
				if n := wellFormed(t, body); n != 11 {
					t.Errorf("%d elements, want 11:\n%s", n, body)
				}
				var f fault12
				if err := xml.Unmarshal(body, &f); err != nil {
					t.Fatalf("%v\n%s", err, body)
				}
				wantValue := map[bool]string{false: "env:Sender", true: "env:Receiver"}[status >= 500]
				got := f.Body.Fault
				if got.Code.Value != wantValue || got.Reason.Text.Text != want || got.Reason.Text.Lang != "en" ||
					got.Detail.Error.Code != code || got.Detail.Error.Status != status {
					t.Errorf("read back %q %q %q %q %d", got.Code.Value, truncateForLog(got.Reason.Text.Text), got.Reason.Text.Lang, got.Detail.Error.Code, got.Detail.Error.Status)
				}
			})
		}
	}
}

// TestFaultVersion: anything but "1.2" gets a SOAP 1.1 fault.
func TestFaultVersion(t *testing.T) {
	for _, v := range []string{"", "1.1", "1.3", "soap12"} {
		if ct, _ := soap.Fault(v, 429, "rate_limited", "slow down"); ct != soap.ContentType11 {
			t.Errorf("version %q: %q", v, ct)
		}
	}
}

func httpStatusText(status int) string {
	return map[int]string{401: "Unauthorized", 403: "Forbidden", 413: "Request Entity Too Large", 429: "Too Many Requests", 502: "Bad Gateway", 504: "Gateway Timeout"}[status]
}

func truncateForLog(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}
