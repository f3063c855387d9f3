// Package framing refuses HTTP/1.x requests whose framing is ambiguous,
// the ground request smuggling grows on (RFC 9112 §6.1, §6.3, §11.2).
//
// net/http cannot do it alone: when a request has both Content-Length
// and Transfer-Encoding: chunked, it deletes Content-Length, frames the
// body as chunked and keeps the connection. A handler never learns the
// request had both. Behind a front end that frames by Content-Length,
// the bytes the two disagree about are read by net/http as the next
// request (a CL.TE desync). net/http also accepts folded header lines,
// lines ended by a bare LF, Transfer-Encoding in HTTP/1.0 (ignored) and
// repeated equal Content-Lengths, which other servers read differently.
//
// The moving parts:
//
//   - Listener wraps the server's net.Listener. Each accepted connection
//     carries a sniffer that sees the bytes of every Read the server makes,
//     in order, without copying or delaying them and without a goroutine.
//     The sniffer parses each request head as it streams by (across
//     reads), notes whether its framing is ambiguous, then skips the body
//     by net/http's rules (chunked wins over Content-Length; chunk
//     extensions; trailers) to find the next head.
//   - For each head it follows, the sniffer queues a fingerprint of the
//     request line. On anything it does not understand exactly as net/http
//     does (a malformed chunk, an over-long head or trailer, a head
//     net/http would refuse), or a head with ambiguous framing, it records
//     why and stops: no later head on that connection gets a fingerprint.
//   - ConnContext, set as http.Server.ConnContext, puts the connection in
//     each request's context.
//   - Handler, the server's outermost handler, takes the oldest
//     fingerprint of the request's connection: net/http serves a
//     connection's requests one at a time, in the order they came (an
//     OPTIONS * request answered by net/http itself is skipped). If it
//     matches the request (method, target, protocol) the request goes on;
//     otherwise (no fingerprint: the sniffer stopped before this head, or
//     lost track) the request is answered 400 with Connection: close, and
//     the connection reads nothing more, so neither the refused request's
//     body nor a request hidden in it is read.
//
// The sniffer keeps to net/http's idea of where a request starts
// (net/http/request.go readRequest, transfer.go readTransfer and
// fixLength, internal/chunked.go, server.go readRequest): lines end at LF;
// the head ends at the first empty line; a body is chunked when the one
// Transfer-Encoding is "chunked" in any case (HTTP/1.1 and later),
// otherwise Content-Length bytes long, otherwise empty, whatever the
// method; a chunk-size is 1 to 16 hex digits, optionally followed by
// spaces or by ";" and extensions, then CRLF; chunk data is followed by
// CRLF; a trailer is field lines ending at an empty line; after a POST up
// to four CR or LF bytes before the next request line are skipped. Where
// net/http is more lenient the sniffer is stricter and stops: bare LF
// line ends, obs-fold, a CRLF before a request line after anything but a
// POST, chunk lines over 1024 bytes, trailers over 4096 bytes. net/http's
// own limits (16 KiB of chunk overhead, MaxHeaderBytes + 4096 for a head)
// stop it too. FuzzSniffer checks the sniffer against net/http's parser
// and a real server.
//
// What is refused (400, {"error":{"code":"invalid",...}}, Connection:
// close): both Content-Length and Transfer-Encoding; a Transfer-Encoding
// other than one "chunked" (net/http answers 501 to those itself);
// Transfer-Encoding in HTTP/1.0; a Content-Length that is not one decimal
// number below 2^63, or given twice (even with equal values); a
// Content_Length or Transfer_Encoding header, which some servers read as
// the real one; an obs-fold line; a head line ended by a bare LF; and
// every request on a connection after one whose framing could not be
// followed.
//
// Limits. The sniffer needs the plaintext: on a TLS listener, whose
// *tls.Conn http.Server must see to offer HTTP/2, it cannot be used, and
// Handler falls back to closing the connection after every HTTP/1.x
// request with a chunked body and every HTTP/1.0 request (net/http hides
// whether the request also had a Content-Length, or a Transfer-Encoding
// in HTTP/1.0; RFC 9112 §6.1 requires closing after those). The 400 is
// given on plain listeners only. HTTP/2 requests are passed: their
// framing is not in question. After a 101 (a WebSocket upgrade) the
// connection carries another protocol: the handler that hijacked it reads
// through the wrapper, the sniffer keeps watching (usually it stops at
// the first frame, which is not an HTTP head) and never changes a byte;
// its verdicts are no longer asked for. Reads through the wrapper cannot
// use splice(2) for such tunnels; writes, and sendfile(2) for responses,
// are not affected.
//
// Cost: BenchmarkSniff, BenchmarkReadAndAdmit. No allocation per request
// while at most four pipelined requests are ahead of the handler.
package framing
