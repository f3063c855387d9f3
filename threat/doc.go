// Package threat enforces a portico.ThreatProtection policy on a request:
// what can be told before the body is read, then the body itself while it
// streams to the backend, never holding it.
//
// The moving parts:
//
//   - Check looks at the method, the Content-Type and the Content-Length:
//     405 (ENotAllowed) for a method not in AllowedMethods, 415
//     (EUnsupported) for a media type that does not parse or is not in
//     AllowedContentTypes (compared as parsed by mime.ParseMediaType:
//     case-insensitive, parameters ignored, "type/*" allowed) or for a
//     JSON or XML body in a charset other than UTF-8, 413 (ETooLarge) for
//     a Content-Length over MaxBodyBytes, before a byte is read.
//   - FormatOf picks the checker from the media type: JSON for
//     application/json, text/json and +json types, XML for
//     application/xml, text/xml and +xml types, Other (the size alone)
//     for the rest.
//   - Reader wraps the body. Each Read reads into the caller's buffer, the
//     scanner of the format checks those bytes, and the Read returns them
//     unchanged, or, at the first violation, returns a *portico.Error in
//     their place (EInvalid, 400, naming the limit or the fault and the
//     byte offset; ETooLarge, 413, for the size), as every later Read
//     does. At the end of the body a document left incomplete is a
//     violation; a body of 0 bytes passes (clients send a Content-Type
//     with empty bodies).
//   - The scanners (json.go, xml.go) are state machines fed pieces of any
//     size: they keep no byte of the body, so a string or text over its
//     limit is refused when its first character over the limit arrives,
//     and 1e6 '[' are refused at the first one over MaxDepth.
//   - names.go remembers the keys of open JSON objects and the
//     attributes of an XML start tag, as hashes, to refuse one given
//     twice.
//
// JSON is held to RFC 8259 strictly (exactly what encoding/json.Valid
// takes, FuzzJSONReader checks it) and, beyond it, to I-JSON (RFC 7493),
// against parser differentials between the gateway and the backend: the
// body must be valid UTF-8 (encoding/json.Valid lets invalid bytes in
// strings pass), an object may not give a key twice (parsers disagree on
// which one wins), and a \u escape may not be half a surrogate pair. A
// byte order mark is refused too, as encoding/json does. Keys are
// compared after their escapes are decoded ("a" and "\u0061" are the same
// key) as 64-bit hashes keyed by a seed drawn when the process starts
// (hash/maphash): a false duplicate has odds of about 2^-64 a pair of
// keys, and a client cannot aim for one. Lengths count characters (code
// points), an escape counting as the one character it stands for;
// numbers are not limited but by the body's size.
//
// XML is checked for well-formedness (XML 1.0 fifth edition: names,
// characters, matching end tags, unique attributes, "--" in comments,
// "]]>" in text, one root element; names must also be qualified names of
// Namespaces in XML, one ':' at most and not at either end, though
// prefixes are not resolved) in UTF-8 only: an XML declaration may only
// say version 1.0 and encoding UTF-8, and a byte order mark may start the
// body. Refused always, at the first byte that shows them:
//
//   - a document type declaration (<!DOCTYPE) and any other markup
//     declaration: without a DTD there are no entity definitions, so no
//     billion laughs, and no external entities, so no XXE;
//   - a reference to an entity other than &lt; &gt; &amp; &apos; &quot;
//     (character references such as &#233; are accepted);
//   - a processing instruction other than the XML declaration at the very
//     start: a request body has no use for them, and some (such as
//     xml-stylesheet) make a processor fetch resources.
//
// The text limit counts the characters directly inside one element
// between two tags (character data, references and CDATA sections
// together; a comment does not split it, as parsers that merge adjacent
// text would not), and separately each attribute value and each comment.
// Element names are kept as keyed hashes, to match end tags.
//
// Memory is bounded by the limits whatever the body. A JSON scanner holds
// 32 bytes for each open array or object and, for each key of the
// objects open at once, 8 bytes for its hash and, once its object passes
// 16 keys, a slot in an open-addressing index kept at most half full: 24
// bytes a key measured, at most MaxDepth·MaxKeys keys (64,000 and 1.5 MiB
// with the defaults, for a body of 500 KB made to reach it;
// TestJSONWorstKeysMemory). An XML scanner holds 8 bytes for each open
// element, about as much for each attribute of the start tag being read,
// and 256 bytes of XML declaration. Small documents fit in room kept
// inside the scanner: a Reader costs 2 allocations and about 1 KiB.
// BenchmarkJSONReader and BenchmarkXMLReader measure a 2 KiB body.
package threat
