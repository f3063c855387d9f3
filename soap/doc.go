// Package soap is what Portico knows of SOAP: it reads a WSDL 1.1
// document into the service an API is imported from (ParseWSDL, Service,
// Service.Resources), tells which operation a request names (Action) and
// which its envelope calls (BodyElement), and writes the gateway's own
// errors as SOAP faults (Fault). It is a library of pure functions: no
// goroutines, no state between calls, no I/O but reading the io.Reader
// BodyElement is given. Documents and envelopes come from outside (issue
// 12's import, a gateway's clients): ParseWSDL takes any bytes and
// refuses, with an *Error naming the element, its line and its column,
// what it cannot take whole; BodyElement likewise refuses an envelope it
// cannot read. The gateway passes envelopes through untouched: it only
// reads the start of some (proxy's doc.go, "SOAP APIs").
//
// # Moving parts
//
//   - xml.go: the reader. encoding/xml's RawToken reads the syntax; the
//     reader adds what RawToken leaves out (end tags that match, one root,
//     attributes given once, namespace prefixes resolved, so that WSDL's
//     elements are matched by namespace URI whatever prefix a document
//     binds, and QNames in attribute values resolved in scope) and the
//     limits. It keeps only the open elements.
//   - wsdl.go: ParseWSDL and the types. As elements pass it keeps, of
//     each message, port type, binding and service, what Portico uses
//     (names, documentation, the elements of messages' parts, inputs,
//     soapActions, styles, the soap:body of inputs, ports and
//     addresses), and skips the rest, schemas included; then it puts the
//     Service together and checks the references.
//   - resource.go: Service.Resources and ResourcePattern.
//   - action.go: Action, from a request's Content-Type and SOAPAction.
//   - envelope.go: BodyElement, the first element of an envelope's Body,
//     read from a stream with the reader of xml.go.
//   - fault.go: Fault, in SOAP 1.1 or 1.2.
//   - error.go: Error, and positions in the document.
//
// # What a SOAP API is made of
//
// A WSDL may describe several services; an API is one: the first service
// with a SOAP port (a port with a soap:address or soap12:address). Its
// SOAP ports are the Endpoints, and the API's target is the first one's
// address; ports of other bindings (ASP.NET's HTTP GET and POST, Axis2's
// HTTP binding) are left out. Clients post every envelope to the API's
// context root, which the gateway forwards to the address, so every
// operation's resource has the pattern "POST /" (ResourcePattern) and
// the action names the operation.
//
// Operations are those of the bindings of the SOAP ports, in the order
// of the first binding that lists each, once by name: ASP.NET, Axis2 and
// WCF publish a SOAP 1.1 and a SOAP 1.2 binding of one port type, and
// each operation appears in both. Operation.Versions says which versions
// list it; SOAPAction is the SOAP 1.1 binding's action, and SOAP12Action
// the SOAP 1.2 binding's when it differs (real documents give both the
// same). Two bindings of one version that give one operation different
// actions are refused: no request could tell which is meant.
//
// A resource's SOAPAction is the action clients send: a SOAP 1.1
// client in the SOAPAction header, a SOAP 1.2 client in the action
// parameter of its content type. Where a binding gives "" (JAX-WS and
// CXF give it to every operation) or none, the resource has none, and
// the operation cannot be limited separately; so too for an action that
// several operations share (the WSDL 1.1 Note's rpc example does), and
// for an operation whose SOAP 1.1 and 1.2 bindings give different
// actions: the clients of one version would not send the resource's
// action, and so would dodge its limits — or, where every other
// operation has an action, be refused by the gateway (proxy's doc.go,
// "SOAP APIs"). The
// WS-Addressing action of a port type operation, explicit or by its
// default pattern, is not used in its place: clients put it in the
// envelope, which the gateway does not read, and in the HTTP action only
// when they use WS-Addressing, and then SOAP 1.1 clients may still send
// "". Nor is the body's first element, by which JAX-WS services
// dispatch: it is no name for the limits, but what the gateway checks a
// call's envelope against (below).
//
// An operation's body element (Operation.BodyElement, a Resource's
// SOAPBody) is the element, in Clark notation ("{namespace}local"), that
// the soap:Body of every request calling it starts with, where the
// document tells it: in document style, the element of the one part of
// its input message that the input's soap:body binds (all the message's
// parts, or those its parts attribute names; a soap:body inside a MIME
// multipartRelated counts); in rpc style, the operation's name in the
// soap:body's namespace attribute. It is left empty — the gateway then
// does not check the envelope against it — where the document does not
// tell it: an operation without input or without soap:body, a document
// style body of no part or several (WS-I's Basic Profile allows one,
// R2201), or of a part with a type (its content, not an element, is the
// Body's), an rpc soap:body without namespace (R2717 requires one), and
// an operation that two bindings give different elements. The schemas
// are not read: that the element is declared is not checked.
//
// # Hostile documents
//
// ParseWSDL never reads a file or the network: encoding/xml fetches
// nothing, and ParseWSDL follows no import. It refuses:
//   - a document over portico.MaxDocumentBytes (16 MiB), before reading
//     it;
//   - any document type declaration (<!DOCTYPE) or other markup
//     declaration, wherever it stands: without a DTD no entity is ever
//     defined, so none expands ("billion laughs") or is fetched (XXE); an
//     entity reference other than XML's five is a syntax error;
//   - XML that is not well-formed (names, characters and UTF-8 as
//     encoding/xml checks them, end tags that match, one root, no text
//     outside it, attributes unique by name and by namespace), namespace
//     prefixes not declared, reserved ones rebound, and encodings other
//     than UTF-8 and US-ASCII (UTF-16 and ISO-8859-1 are named: convert
//     the document);
//   - elements nested deeper than MaxDepth (100; the documents of
//     testdata nest 13 deep at most), and more than MaxNodes (2^20)
//     elements and attributes: memory is bounded by the open elements
//     and what is kept of the WSDL, whatever the document;
//   - a wsdl:import, and an XML Schema import, include, redefine or
//     override with a schemaLocation: they are never followed, and the
//     document must be whole. An XML Schema import without a location is
//     taken: it names a namespace that another schema of the same types
//     section defines (WCF's documents import so), or a well-known one;
//   - WSDL 2.0, named as such, and any root but WSDL 1.1's definitions;
//   - names empty, over MaxNameBytes (200, the bound of an operation ID)
//     or holding spaces, colons or control characters (Unicode's C0 and
//     C1 ranges, which portico.CheckResources refuses), parts' names
//     likewise (colons allowed); soapActions over MaxActionBytes or with
//     control characters; names given twice (messages and the parts of
//     one included) and overloaded operations;
//   - a part with both an element and a type (R2306), a part's element
//     or an input's message that is not a QName with a declared prefix,
//     an element in a namespace over MaxActionBytes or holding control
//     characters or braces (Clark notation could not write it), a
//     soap:body namespace likewise, a use neither literal nor encoded, a
//     second input in an operation or soap:body in an input;
//   - references to nothing: a binding's port type or a port's binding
//     (by namespace and name), the input message of an operation of a
//     SOAP binding's port type, a part a soap:body's parts attribute
//     names, SOAP bindings that lack an operation of their port type or
//     list one it lacks (no operation without a SOAP binding), SOAP
//     versions that do not match between port, binding, operation and
//     soap:body;
//   - no service with a SOAP port, and SOAP addresses that are not an
//     absolute http or https URL with a host, or that carry credentials,
//     a query or a fragment (an API's target has none);
//   - more operations than portico.MaxResources (5,000).
//
// Every refusal has a test (refuse_test.go). FuzzParseWSDL checks that
// ParseWSDL never panics, refuses only with an *Error, and that the
// resources of what it accepts pass portico.CheckResources; the golden
// tests check that for every document of testdata.
//
// The time is linear in the size: the reader makes one pass, and every
// lookup is a map's. Measured on a 2-core machine shared with other work
// (TestParseWSDLLarge, BenchmarkParseWSDLLarge), best of three: a
// generated ASP.NET-style document of 5,000 operations in SOAP 1.1 and
// 1.2 bindings, 8.9 MB, takes 0.23–0.36 s and allocates 66 MB; the
// costliest hostile shapes found take 0.4–0.95 s: 2^20 empty elements
// (4 MB) 0.50–0.72 s, elements of 100 attributes up to 2^20 nodes
// (7.2 MB) 0.50–0.76 s, 16 MiB of nesting to MaxDepth, refused at 2^20
// nodes, 0.42–0.56 s, one text of 16 MiB full of entity references
// 0.45–0.94 s, 90,000 namespace declarations on 90 nested elements
// 0.04–0.1 s.
//
// # Requests and faults
//
// Action reads only headers: text/xml with the SOAPAction header is SOAP
// 1.1, application/soap+xml with its action parameter SOAP 1.2 (and
// either inside multipart/related, for attachments and MTOM). It refuses
// (ok false) what is neither, and actions a Resource could not hold.
//
// BodyElement reads a request's envelope, of the version its
// Content-Type names, up to the start tag of the Body's first child, and
// not a byte further but what the decoder reads ahead (its caller bounds
// the reader: the gateway holds 64 KiB at most). It reads with the
// WSDL's reader, so with its refusals (no DOCTYPE, declared prefixes,
// UTF-8, MaxDepth), one pass, no copy of the envelope kept; and it is
// stricter than SOAP stacks are where they could part ways with it: the
// Envelope of the Content-Type's version as the root, an optional Header
// and then the Body as its first children, nothing but spaces in the
// Envelope and in the Body before its child, a Content-Type charset of
// UTF-8 (or US-ASCII) if any. Of a multipart body (SOAP with
// attachments, MTOM) it reads the first part, which must be the root
// (the start parameter, when given, names its Content-ID), come after
// nothing but line breaks, with a boundary line of the boundary and
// spaces alone, and not be encoded for transfer (base64,
// quoted-printable). FuzzBodyElement checks that it never panics, that
// the names it gives fit a Resource, and that they are those
// encoding/xml's own namespace handling finds.
// Fault writes a fault of the request's version, Client or Sender for a
// 4xx status and Server or Receiver for a 5xx, with the message as its
// text and Portico's error code in the detail, escaped so that no
// message can add markup.
package soap
