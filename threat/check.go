package threat

import (
	"mime"
	"slices"
	"strings"

	"github.com/portico-gw/portico"
)

// Check applies the parts of tp known before the body is read, in this
// order, and returns the first violation as a *portico.Error:
//
//   - a method not in AllowedMethods (if set): ENotAllowed, 405;
//   - a request that has a Content-Type, or a body (contentLength is not
//     0), whose media type does not parse, is missing or is not in
//     AllowedContentTypes (if set): EUnsupported, 415; so is a JSON or
//     XML type with a charset other than utf-8 or us-ascii, which the
//     checkers cannot read;
//   - a contentLength over MaxBodyBytes: ETooLarge, 413. A negative
//     contentLength (unknown, as for a chunked body) is left to Reader.
//
// contentType is the request's Content-Type field; a caller that got
// several should join them with ", ", which does not parse and so is
// refused. A nil tp is the zero ThreatProtection.
func Check(method, contentType string, contentLength int64, tp *portico.ThreatProtection) error {
	var allowedMethods, allowedTypes []string
	if tp != nil {
		allowedMethods, allowedTypes = tp.AllowedMethods, tp.AllowedContentTypes
	}
	if len(allowedMethods) > 0 && !slices.Contains(allowedMethods, method) {
		return portico.Errorf(portico.ENotAllowed, "method %.20q not allowed (threat_protection.allowed_methods: %s)",
			method, strings.Join(allowedMethods, ", "))
	}
	if contentType != "" || contentLength != 0 {
		if err := checkContentType(contentType, allowedTypes); err != nil {
			return err
		}
	}
	if limit := tp.WithDefaults().MaxBodyBytes; contentLength > limit {
		return portico.Errorf(portico.ETooLarge, "request body of %d bytes larger than %d bytes (threat_protection.max_body_bytes)",
			contentLength, limit)
	}
	return nil
}

func checkContentType(contentType string, allowed []string) error {
	if contentType == "" {
		if len(allowed) == 0 {
			return nil
		}
		return portico.Errorf(portico.EUnsupported, "request body without a Content-Type (threat_protection.allowed_content_types: %s)",
			strings.Join(allowed, ", "))
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return portico.Errorf(portico.EUnsupported, "Content-Type %.100q is not a media type", contentType)
	}
	if len(allowed) > 0 && !slices.ContainsFunc(allowed, func(a string) bool { return matchMediaType(a, mt) }) {
		return portico.Errorf(portico.EUnsupported, "Content-Type %.100q not allowed (threat_protection.allowed_content_types: %s)",
			mt, strings.Join(allowed, ", "))
	}
	if f := formatOfMediaType(mt); f != Other {
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
			return portico.Errorf(portico.EUnsupported, "%s body in charset %.40q: only utf-8 is checked", f, cs)
		}
	}
	return nil
}

// matchMediaType reports whether the allowed entry a ("type/subtype",
// "type/*" or "*/*", any case) matches mt, a lower-case media type.
func matchMediaType(a, mt string) bool {
	if a == "*/*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(a, "/*"); ok {
		return len(mt) > len(prefix) && strings.EqualFold(mt[:len(prefix)+1], prefix+"/")
	}
	return strings.EqualFold(a, mt)
}
