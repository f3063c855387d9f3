package soap

import (
	"mime"
	"strings"
	"unicode/utf8"
)

// maxContentTypeBytes bounds the Content-Type Action parses.
const maxContentTypeBytes = 4096

// Action tells which SOAP version a request speaks and the action it
// names, from its Content-Type and its SOAPAction header (the value of
// its one SOAPAction field; "" when it has none):
//   - SOAP 1.1: Content-Type text/xml, and the action in the SOAPAction
//     header, a quoted string (SOAPAction: "urn:Add"; "" is the empty
//     action) or, as some clients send it, a bare value without spaces
//     or quotes; no header is the action "".
//   - SOAP 1.2: Content-Type application/soap+xml, and the action in its
//     action parameter ("" when it has none); the SOAPAction header is
//     not read.
//   - Either, with attachments: multipart/related whose type parameter
//     is text/xml or application/soap+xml (SOAP with attachments), or
//     application/xop+xml (MTOM) with the SOAP type in its start-info
//     parameter; a SOAP 1.2 action is read from start-info, or else from
//     the multipart type's own action parameter.
//
// Media types compare as mime.ParseMediaType reads them (any case,
// parameters in any order, RFC 2231 encodings; a parameter given twice,
// or a value that is neither a token nor quoted, such as action=urn:x,
// is refused). ok is
// false for a request that is neither version, and for one whose
// Content-Type does not parse or is over 4 KiB, whose SOAPAction is not
// one quoted string or bare value, or whose action is over
// MaxActionBytes, not UTF-8, or holds control characters.
func Action(contentType, soapAction string) (version, action string, ok bool) {
	m, ok := parseMedia(contentType)
	switch {
	case !ok:
		return "", "", false
	case m.version == SOAP11:
		return soap11Action(soapAction)
	}
	return soap12Action(m.action)
}

// media is what a request's Content-Type says of its SOAP message.
type media struct {
	version   string
	action    string // SOAP 1.2's action parameter (of start-info, for MTOM, when it has one)
	multipart bool   // multipart/related: the envelope is in a part
	params    map[string]string
}

// parseMedia reads a Content-Type as Action does; ok is false for one
// that is not SOAP's.
func parseMedia(contentType string) (m media, ok bool) {
	if len(contentType) > maxContentTypeBytes {
		return m, false
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return m, false
	}
	m.params = params
	switch mt {
	case "text/xml":
		m.version = SOAP11
	case "application/soap+xml":
		m.version, m.action = SOAP12, params["action"]
	case "multipart/related":
		m.multipart = true
		switch strings.ToLower(strings.TrimSpace(params["type"])) {
		case "text/xml":
			m.version = SOAP11
		case "application/soap+xml":
			m.version, m.action = SOAP12, params["action"]
		case "application/xop+xml":
			start, startParams, err := mime.ParseMediaType(params["start-info"])
			if err != nil {
				return media{}, false
			}
			switch start {
			case "text/xml":
				m.version = SOAP11
			case "application/soap+xml":
				m.version = SOAP12
				if a, ok := startParams["action"]; ok {
					m.action = a
				} else {
					m.action = params["action"]
				}
			}
		}
	}
	if m.version == "" {
		return media{}, false
	}
	return m, true
}

// mediaParam returns the parameter name of a media type.
func mediaParam(contentType, name string) (string, bool) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", false
	}
	v, ok := params[name]
	return v, ok
}

// soap11Action reads the value of a SOAPAction header.
func soap11Action(h string) (version, action string, ok bool) {
	h = strings.Trim(h, " \t")
	switch {
	case h == "":
	case h[0] == '"':
		var b strings.Builder
		i := 1
		for ; i < len(h) && h[i] != '"'; i++ {
			if h[i] == '\\' { // a quoted-pair
				i++
				if i == len(h) {
					return "", "", false
				}
			}
			b.WriteByte(h[i])
		}
		if i != len(h)-1 { // no closing quote, or more after it
			return "", "", false
		}
		action = b.String()
	case strings.ContainsAny(h, " \t\"\\,"):
		return "", "", false
	default:
		action = h
	}
	if !checkAction(action) {
		return "", "", false
	}
	return SOAP11, action, true
}

func soap12Action(a string) (version, action string, ok bool) {
	if !checkAction(a) {
		return "", "", false
	}
	return SOAP12, a, true
}

// checkAction reports whether a is an action Portico takes: at most
// MaxActionBytes of UTF-8 without control characters.
func checkAction(a string) bool {
	return len(a) <= MaxActionBytes && utf8.ValidString(a) && !strings.ContainsFunc(a, isControl)
}
