// Package ajp serves an http.Handler over AJP/1.3, the binary protocol
// web servers speak to servlet containers: Apache's mod_jk (as
// ColdFusion's wsconfig set it up) and mod_proxy_ajp.
// Server is the container's side, what Tomcat's AJP connector is; the
// codec is Portico's own, written from the protocol's byte layouts (no
// maintained Go library implements this side).
//
// # The protocol
//
// The web server opens connections, keeps them in a pool and sends one
// request at a time on each. Every message is a packet: 0x12 0x34 (from
// the web server) or 'A' 'B' (to it), the payload's length in two bytes,
// the payload — a message code and its fields: bytes, big-endian
// uint16s, and strings (a uint16 length, the bytes, a NUL; 0xFFFF is a
// null string). A request goes:
//
//   - Forward Request (code 2): the method (a code, or 0xFF and the name
//     in the stored_method attribute), protocol, URI, the client's
//     address, the server's name and port, whether the client came over
//     TLS, the request fields (14 common names coded 0xA001…0xA00E, others
//     as strings), then attributes (the query string, the secret, TLS
//     details, named req_attribute pairs…) up to 0xFF.
//   - The request body, in packets of a uint16 length and the data: the
//     first comes unasked after the Forward Request when the request has
//     a Content-Length; the container asks for each other one with
//     GET_BODY_CHUNK (6). A packet without data ends a body sent without
//     a Content-Length (chunked by the client).
//   - The response: SEND_HEADERS (4: status, message, fields, 11 common
//     names coded 0xA001…0xA00B), SEND_BODY_CHUNKs (3: a uint16 length,
//     the data and a NUL; an empty one asks the web server to flush), and
//     END_RESPONSE (5) with a flag saying whether the connection may carry
//     another request.
//
// Between requests the web server may send a CPing (10); the container
// answers CPong (9). mod_jk's ping_mode and mod_proxy_ajp's ping= use
// them as health checks.
//
// # The moving parts
//
//   - Server: the accept loop, Shutdown, and the connections' set, as in
//     proxy.Server.
//   - conn: one connection's loop. Between messages it is idle (no packet
//     buffer held; Shutdown closes it; IdleTimeout bounds the wait). It
//     reads each packet whole into a buffer of the packet size from a pool,
//     after checking the signature and the length against the packet size:
//     nothing is allocated from a length it did not check.
//   - parseForward (request.go) decodes a Forward Request: every field
//     read is bounds-checked (decoder), a string must end with its NUL,
//     and nothing may follow the attributes. The payload is copied into
//     one string that every name and value of the request shares: ten
//     allocations decode a request of eight fields
//     (BenchmarkParseForwardRequest). forwardRequest.request builds the
//     *http.Request from it.
//   - body: the request body as an io.Reader, asking for each packet when
//     a Read needs it, so that a body streams at its reader's pace and
//     is never held whole. Reads may come from a transport's goroutine,
//     also after the handler returned: the connection waits for them
//     before its next request.
//   - response: the http.ResponseWriter, also an http.Flusher and a
//     target of http.ResponseController (Flush, read and write
//     deadlines). It makes SEND_HEADERS at WriteHeader and holds it with
//     one packet of body: a response that fits goes out in one write with
//     its END_RESPONSE, and with a Content-Length when the handler set
//     none; a longer one streams packet by packet, and Flush sends what is
//     held with an empty SEND_BODY_CHUNK, so that streamed responses reach
//     the client as they are written (BenchmarkServe: a request on a kept
//     connection, client included).
//   - Writes to the web server — the response's packets and the body's
//     GET_BODY_CHUNKs, from up to two goroutines — go through one mutex,
//     each batch in one write (writev).
//
// # The request a handler sees
//
//   - Method, URL and RequestURI from the Forward Request (URI + "?" + the
//     query_string attribute); Proto as the web server got it.
//   - Host: the client's Host field, else server_name (with server_port
//     unless it is the scheme's default).
//   - RemoteAddr: remote_addr — the client's address as the web server
//     saw it — with the AJP_REMOTE_PORT attribute's port (0 when not
//     sent). Limits, analytics and X-Forwarded-For use it as they use a
//     direct client's.
//   - TLS: when is_ssl is set, a ConnectionState with HandshakeComplete
//     and the version from AJP_SSL_PROTOCOL (0 when not sent), nothing
//     else: it says the client's connection to the web server was TLS (so
//     X-Forwarded-Proto is https), not how the web server reached Portico.
//   - Header: the fields, canonicalized; Host, Transfer-Encoding (moved to
//     TransferEncoding, ContentLength -1) and Upgrade removed.
//   - Body: http.NoBody without a Content-Length or Transfer-Encoding;
//     ContentLength as given otherwise.
//   - Context: cancelled when the handler returns, when a write to the web
//     server fails, or when Shutdown gives up waiting. AJP gives no sign
//     of a client that went away before the response is written.
//
// Not supported: Hijack (http.ResponseController.Hijack returns
// http.ErrNotSupported) — an AJP connection cannot switch protocols, so
// WebSockets are not carried over AJP (the Upgrade field is removed: the
// request goes on as a plain one); interim responses (1xx are dropped);
// trailers (dropped); fields larger than one packet (the response becomes
// a 500, logged).
//
// # Security
//
// An AJP port is trusted with what an HTTP port is not: the client's
// address and TLS state, and, in Tomcat, request attributes. Ghostcat
// (CVE-2020-1938) was an AJP port reachable without a secret, whose
// javax.servlet.include.* attributes made Tomcat read any file of a web
// application. Server follows Tomcat's answer and goes further:
//
//   - Secret: when set, every Forward Request must carry it (attribute
//     0x0C, which mod_jk sends from worker.<name>.secret and mod_proxy_ajp
//     from secret=). It is compared in constant time (as SHA-256 digests,
//     so the length does not leak either); a request without it or with
//     another gets a 403 and the connection is closed. Serve refuses a
//     listener that is not on loopback when no secret is set
//     (ErrSecretRequired).
//   - Attributes: only those Portico uses, and those the two web servers
//     send with every request in their default setup, are taken — the
//     query string, the secret, stored_method, the AJP_REMOTE_PORT and
//     AJP_SSL_PROTOCOL pairs used; route, ssl_cert, ssl_cipher,
//     ssl_session, ssl_key_size and the AJP_LOCAL_ADDR and
//     JK_LB_ACTIVATION pairs read and ignored. Any other — context,
//     servlet_path, remote_user and auth_type (Portico does not take the
//     web server's authentication), any other req_attribute name
//     (javax.servlet.include.* among them; mod_jk's JkEnvVar and
//     mod_proxy_ajp's AJP_* environment variables send such pairs), an
//     unknown code, a repeated one — gets a 403 and the connection is
//     closed.
//   - No shutdown message: code 7 (and any code other than Forward
//     Request and CPing between requests) closes the connection.
//   - Bounds: a packet larger than PacketSize, without its signature, or
//     whose fields run past its end closes the connection before anything
//     is allocated for it; a request body packet must hold exactly the
//     length it states, and a body no more than its Content-Length.
//   - What net/http refuses is refused (400, connection closed): a method
//     or field name that is not a token, a control character in a field
//     value or the URI, two Host fields, several Content-Length fields,
//     both Content-Length and Transfer-Encoding, an invalid remote_addr;
//     a transfer coding other than chunked is a 501. Response field values
//     have their control characters turned into spaces (the web server
//     writes them to the client as they come).
//
// A refused request is logged (why, never sent to the web server) and
// answered before the connection is closed; the server reads what the
// web server still sends for a second at most, so that closing does not
// reset the connection before the answer is read.
package ajp
