package framing

import "bytes"

// reason says why the sniffer stopped trusting a connection; noReason
// while it follows the stream. The first reason is kept.
type reason uint8

const (
	noReason      reason = iota
	rBoth                // Content-Length and Transfer-Encoding
	rTE                  // Transfer-Encoding other than one "chunked"
	rTE10                // Transfer-Encoding in an HTTP/1.0 request
	rCL                  // Content-Length not one decimal number
	rCLTwice             // more than one Content-Length
	rLookalike           // Content_Length, Transfer_Encoding
	rFold                // obs-fold: a line starting with space or tab
	rBareLF              // a line ended by LF alone
	rHead                // a request head net/http refuses as well
	rHeadTooLarge        // a head over the limit
	rVersion             // not HTTP/1.x
	rChunked             // a malformed chunked body
	rTrailer             // a malformed or oversized trailer
	rPipeline            // too many pipelined requests ahead of the handler
	rUntracked           // the handler got a request the sniffer did not see
)

var reasonText = [...]string{
	noReason:      "",
	rBoth:         "the request has both Content-Length and Transfer-Encoding",
	rTE:           "the request's Transfer-Encoding is not a single \"chunked\"",
	rTE10:         "an HTTP/1.0 request must not have Transfer-Encoding",
	rCL:           "the request's Content-Length is not a single decimal number",
	rCLTwice:      "the request has more than one Content-Length",
	rLookalike:    "the request has a Content_Length or Transfer_Encoding header",
	rFold:         "the request head has a folded (obs-fold) line",
	rBareLF:       "the request head has a line not ended by CRLF",
	rHead:         "the request head is malformed",
	rHeadTooLarge: "the request head is too large",
	rVersion:      "the request is not HTTP/1.x",
	rChunked:      "an earlier request on this connection had a malformed chunked body",
	rTrailer:      "an earlier request on this connection had a malformed chunked trailer",
	rPipeline:     "too many pipelined requests",
	rUntracked:    "the request's framing on this connection could not be followed",
}

func (r reason) String() string { return reasonText[r] }

// Limits that mirror net/http's, or are stricter than them.
const (
	// maxChunkLine bounds a chunk-size line with its extensions and CRLF.
	// net/http allows 4096 (its bufio.Reader); real senders use a few bytes.
	maxChunkLine = 1024
	// maxTrailer bounds the trailer section, final CRLF included:
	// net/http's readTrailer looks for the end within its 4096-byte buffer.
	maxTrailer = 4096
	// maxExcess is net/http's bound on chunked overhead (chunkedReader).
	maxExcess = 16 << 10
	// maxChunkSize keeps the overhead arithmetic below (copied from
	// net/http's chunkedReader, in int64) free of overflow.
	maxChunkSize = 1 << 62
	// maxPending bounds the heads seen but not yet served. net/http reads
	// ahead at most its 4096-byte buffer, so at most ~300 minimal heads.
	maxPending = 1024
)

// Sniffer states. A head is the request line, the field lines and the
// empty line; the body follows by Content-Length or chunked framing.
const (
	stStart   uint8 = iota // before a request line (CRLFs after a POST)
	stMethod               // in the method
	stTarget               // in the request target
	stProto                // in "HTTP/x.y"
	stLineLF               // after a head line's CR
	stField                // at the start of a field line or the empty line
	stName                 // in a name that may be Content-Length or Transfer-Encoding
	stSkip                 // in any other field line, up to its LF
	stCL                   // in a Content-Length value
	stTE                   // in a Transfer-Encoding value
	stEndLF                // after the empty line's CR
	stBody                 // in a Content-Length body
	stSize                 // in a chunk-size
	stSizeOWS              // in white space after a chunk-size
	stExt                  // in chunk extensions
	stSizeLF               // after a chunk-size line's CR
	stData                 // in chunk data
	stDataCR               // after chunk data
	stDataLF               // after chunk data's CR
	stTrailer              // at the start of a trailer line or the final CRLF
	stTrName               // in a trailer field name
	stTrValue              // in a trailer field value
	stTrLF                 // after a trailer line's CR
	stTrEndLF              // after the trailer's final CR
	stStopped              // no longer following the stream
)

// A sniffer follows the HTTP/1.x requests in the bytes a server reads
// from one connection, without copying them: feed is given each read's
// bytes in order. For every head it understands it queues the head's
// fingerprint; on the first thing it does not understand, or a head
// whose framing is ambiguous, it records why and stops. Its idea of where
// each request starts is net/http's (see doc.go); where the two could
// differ it stops instead.
//
// A sniffer is not safe for concurrent use; conn guards it.
type sniffer struct {
	st     uint8
	why    reason
	maxHdr int64 // longest head followed

	off int64 // bytes fed so far; a position is off + index in p
	beg int64 // where the current head, chunk-size line or trailer began

	// The current head.
	hash    uint64 // fingerprint of the request line
	n       int    // length of the method, target or proto so far; digits of a chunk-size
	method  [8]byte
	star    bool // the target is "*"
	http10  bool
	post    bool // the method is POST (net/http skips CRLFs after one)
	options bool // the method is OPTIONS
	skipped int  // CR and LF bytes skipped after a POST
	match   string
	cl      bool
	te      bool
	value   uint64 // the Content-Length; the chunk-size; the remaining body
	vsub    uint8  // progress in a Content-Length value; a name with '_'; a CR ending the last read

	excess int64 // net/http's chunked overhead count

	pending queue
}

// fnv64 is FNV-1a; fingerprint and the sniffer must agree on it.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func (s *sniffer) stop(r reason) {
	if s.why == noReason {
		s.why = r
	}
	s.st = stStopped
}

// feed follows p, the next bytes read from the connection.
//
// Hot path: BenchmarkSniff. Field lines that cannot be Content-Length or
// Transfer-Encoding are skipped with bytes.IndexByte.
func (s *sniffer) feed(p []byte) {
	if s.st == stStopped {
		return
	}
	i := 0
	for i < len(p) && s.st != stStopped {
		switch s.st {
		case stBody:
			n := uint64(len(p) - i)
			if n >= s.value {
				i += int(s.value)
				s.value = 0
				s.next()
			} else {
				i = len(p)
				s.value -= n
			}
			continue
		case stData:
			n := uint64(len(p) - i)
			if n >= s.value {
				i += int(s.value)
				s.value = 0
				s.st = stDataCR
			} else {
				i = len(p)
				s.value -= n
			}
			continue
		case stTarget:
			// The target can be long: hash it in a tight loop.
			if s.n == 0 {
				s.star = p[i] == '*'
			}
			h, j := s.hash, i
			for ; j < len(p); j++ {
				b := p[j]
				if b <= ' ' || b == 0x7f {
					break
				}
				h = (h ^ uint64(b)) * fnvPrime
			}
			s.hash, s.n = h, s.n+j-i
			i = j
			if i == len(p) {
				continue
			}
		case stSkip:
			j := bytes.IndexByte(p[i:], '\n')
			if j < 0 {
				i = len(p)
				s.vsub = 0
				if p[len(p)-1] == '\r' {
					s.vsub = 1
				}
				continue
			}
			cr := s.vsub == 1 && j == 0 || j > 0 && p[i+j-1] == '\r'
			if !cr {
				s.stop(rBareLF)
				break
			}
			i += j + 1
			s.st = stField
			continue
		}
		b := p[i]
		i++
		switch s.st {
		case stStart:
			if s.post && s.skipped < 4 && (b == '\r' || b == '\n') {
				// net/http discards up to 4 leading CR or LF bytes after a
				// POST; only whole CRLFs are followed here.
				if b != "\r\n"[s.skipped%2] {
					s.stop(rHead)
					break
				}
				s.skipped++
				continue
			}
			if s.skipped%2 == 1 {
				s.stop(rHead)
				break
			}
			s.begin(s.off + int64(i) - 1)
			i--
		case stMethod:
			if b == ' ' {
				if s.n == 0 {
					s.stop(rHead)
					break
				}
				s.post = s.n == 4 && string(s.method[:4]) == "POST"
				s.options = s.n == 7 && string(s.method[:7]) == "OPTIONS"
				s.hash = (s.hash ^ ' ') * fnvPrime
				s.st, s.n = stTarget, 0
				continue
			}
			if !isToken(b) {
				s.stop(rHead)
				break
			}
			if s.n < len(s.method) {
				s.method[s.n] = b
			}
			s.n++
			s.hash = (s.hash ^ uint64(b)) * fnvPrime
		case stTarget:
			if b == ' ' && s.n > 0 {
				s.star = s.n == 1 && s.star
				s.hash = (s.hash ^ ' ') * fnvPrime
				s.st, s.n = stProto, 0
				continue
			}
			s.stop(rHead) // an empty target, or a control byte: url.ParseRequestURI refuses those
		case stProto:
			if s.n == 8 {
				switch b {
				case '\r':
					s.st = stLineLF
				case '\n':
					s.stop(rBareLF)
				default:
					s.stop(rHead)
				}
				continue
			}
			switch {
			case s.n == 5 && b != '1':
				if b >= '0' && b <= '9' {
					s.stop(rVersion)
				} else {
					s.stop(rHead)
				}
			case s.n == 7:
				if b < '0' || b > '9' {
					s.stop(rHead)
				}
				s.http10 = b == '0'
			case s.n < 7 && b != "HTTP/1."[s.n]:
				s.stop(rHead)
			}
			s.n++
			s.hash = (s.hash ^ uint64(b)) * fnvPrime
		case stLineLF:
			if b != '\n' {
				s.stop(rHead) // a CR inside a line: net/http refuses it too
				break
			}
			s.st = stField
		case stField:
			switch b {
			case '\r':
				s.st = stEndLF
			case '\n':
				s.stop(rBareLF)
			case ' ', '\t':
				s.stop(rFold)
			case 'c', 'C':
				s.st, s.match, s.n, s.vsub = stName, "content-length", 1, 0
			case 't', 'T':
				s.st, s.match, s.n, s.vsub = stName, "transfer-encoding", 1, 0
			default:
				s.st, s.vsub = stSkip, 0
			}
		case stName:
			if s.n < len(s.match) {
				if lower(b) == s.match[s.n] {
					s.n++
					continue
				}
				if b == '_' && s.match[s.n] == '-' {
					s.n++
					s.vsub = 1 // a lookalike, refused if the name ends here
					continue
				}
			} else if b == ':' {
				if s.vsub == 1 {
					s.stop(rLookalike)
					break
				}
				if s.match[0] == 'c' {
					if s.cl {
						s.stop(rCLTwice)
						break
					}
					s.cl, s.st = true, stCL
				} else {
					if s.te {
						s.stop(rTE)
						break
					}
					s.te, s.st = true, stTE
				}
				s.n = 0
				continue
			} else if !isToken(b) {
				s.stop(rHead) // "Content-Length :": net/http refuses it too
				break
			}
			s.st = stSkip
			s.vsub = 0
			i--
		case stCL:
			s.contentLength(b)
		case stTE:
			s.transferEncoding(b)
		case stEndLF:
			if b != '\n' {
				s.stop(rHead)
				break
			}
			s.endHead(s.off + int64(i))
		case stSize:
			if h := unhex(b); h < 16 {
				if s.n == 16 {
					s.stop(rChunked) // net/http allows 16 hex digits
					break
				}
				s.value = s.value<<4 | uint64(h)
				s.n++
				continue
			}
			if s.n == 0 {
				s.stop(rChunked)
				break
			}
			switch b {
			case ';':
				s.st = stExt
			case ' ', '\t':
				s.st = stSizeOWS
			case '\r':
				s.st = stSizeLF
			default:
				s.stop(rChunked)
			}
		case stSizeOWS:
			switch b {
			case ' ', '\t':
			case '\r':
				s.st = stSizeLF
			default:
				s.stop(rChunked) // "5 ;x": net/http refuses it too
			}
		case stExt:
			switch b {
			case '\r':
				s.st = stSizeLF
			case '\n':
				s.stop(rChunked)
			}
		case stSizeLF:
			if b != '\n' {
				s.stop(rChunked)
				break
			}
			s.endChunkLine(s.off + int64(i))
		case stDataCR:
			if b != '\r' {
				s.stop(rChunked)
				break
			}
			s.st = stDataLF
		case stDataLF:
			if b != '\n' {
				s.stop(rChunked)
				break
			}
			s.st, s.beg, s.n, s.value = stSize, s.off+int64(i), 0, 0
		case stTrailer:
			switch {
			case b == '\r':
				s.st = stTrEndLF
			case isToken(b):
				s.st = stTrName
			default:
				s.stop(rTrailer)
			}
		case stTrName:
			switch {
			case b == ':':
				s.st = stTrValue
			case !isToken(b):
				s.stop(rTrailer)
			}
		case stTrValue:
			switch {
			case b == '\r':
				s.st = stTrLF
			case !isValueByte(b):
				s.stop(rTrailer)
			}
		case stTrLF:
			if b != '\n' {
				s.stop(rTrailer)
				break
			}
			s.st = stTrailer
		case stTrEndLF:
			if b != '\n' || s.off+int64(i)-s.beg > maxTrailer {
				s.stop(rTrailer)
				break
			}
			s.next()
		}
	}
	s.off += int64(len(p))
	switch {
	case s.st >= stMethod && s.st <= stEndLF:
		if s.off-s.beg > s.maxHdr {
			s.stop(rHeadTooLarge)
		}
	case s.st >= stSize && s.st <= stSizeLF:
		if s.off-s.beg > maxChunkLine {
			s.stop(rChunked)
		}
	case s.st >= stTrailer && s.st <= stTrEndLF:
		if s.off-s.beg > maxTrailer {
			s.stop(rTrailer)
		}
	}
}

// begin starts a head at position at.
func (s *sniffer) begin(at int64) {
	s.st, s.beg = stMethod, at
	s.hash, s.n, s.star = fnvOffset, 0, false
	s.cl, s.te, s.value = false, false, 0
}

// contentLength follows a Content-Length value: optional white space, one
// decimal number below 2^63 (strconv.ParseUint(v, 10, 63) in net/http),
// optional white space, CR.
func (s *sniffer) contentLength(b byte) {
	switch {
	case b >= '0' && b <= '9' && s.vsub <= 1:
		if s.value > (1<<63-1-uint64(b-'0'))/10 {
			s.stop(rCL)
			return
		}
		s.value = s.value*10 + uint64(b-'0')
		s.vsub = 1
	case b == ' ' || b == '\t':
		if s.vsub == 1 {
			s.vsub = 2
		}
	case b == '\r' && s.vsub != 0:
		s.st = stLineLF
	default:
		s.stop(rCL)
	}
}

// transferEncoding follows a Transfer-Encoding value: optional white
// space, "chunked" in any case, optional white space, CR.
func (s *sniffer) transferEncoding(b byte) {
	const chunked = "chunked"
	switch {
	case b == ' ' || b == '\t':
		if s.n != 0 && s.n != len(chunked) {
			s.stop(rTE)
		}
	case s.n < len(chunked) && lower(b) == chunked[s.n]:
		s.n++
	case b == '\r' && s.n == len(chunked):
		s.st = stLineLF
	default:
		s.stop(rTE)
	}
}

// endHead ends the head whose empty line ends before position at, and
// decides its framing as net/http's readTransfer does, refusing what
// RFC 9112 §6 calls faulty.
func (s *sniffer) endHead(at int64) {
	switch {
	case at-s.beg > s.maxHdr:
		s.stop(rHeadTooLarge)
		return
	case s.te && s.cl:
		s.stop(rBoth)
		return
	case s.te && s.http10:
		// net/http ignores Transfer-Encoding in HTTP/1.0 and frames by
		// Content-Length; RFC 9112 §6.1 calls the framing faulty.
		s.stop(rTE10)
		return
	case s.pending.len() >= maxPending:
		s.stop(rPipeline)
		return
	}
	fp := s.hash &^ 1
	if s.star && s.options {
		fp |= 1
	}
	s.pending.push(fp)
	switch {
	case s.te:
		s.excess = 0
		s.st, s.beg, s.n, s.value = stSize, at, 0, 0
	case s.value > 0:
		s.st = stBody
	default:
		s.next()
	}
}

// endChunkLine ends a chunk-size line ending before position at, and
// counts its overhead as net/http's chunkedReader.beginChunk does.
func (s *sniffer) endChunkLine(at int64) {
	line := at - s.beg
	if line > maxChunkLine || s.value >= maxChunkSize {
		s.stop(rChunked)
		return
	}
	s.excess += line // the line with its CRLF, and the CRLF after the data
	s.excess -= 16 + 2*int64(s.value)
	s.excess = max(s.excess, 0)
	if s.excess > maxExcess {
		s.stop(rChunked)
		return
	}
	if s.value == 0 {
		s.st, s.beg = stTrailer, at
		return
	}
	s.st = stData
}

// next expects the next request's head.
func (s *sniffer) next() {
	s.st, s.skipped = stStart, 0
}

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func unhex(b byte) byte {
	switch {
	case '0' <= b && b <= '9':
		return b - '0'
	case 'a' <= b && b <= 'f':
		return b - 'a' + 10
	case 'A' <= b && b <= 'F':
		return b - 'A' + 10
	}
	return 255
}

// isToken reports whether b may appear in a method or a field name
// (RFC 9110 tchar), as net/http checks.
func isToken(b byte) bool { return tokenTable[b] }

var tokenTable = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// isValueByte reports whether b may appear in a field value: VCHAR,
// obs-text, space and tab (textproto's validHeaderValueByte).
func isValueByte(b byte) bool { return b == '\t' || b >= ' ' && b != 0x7f }

// fingerprint hashes a request line as the sniffer does, from the parts
// net/http splits it into; OPTIONS * is marked in the low bit.
func fingerprint(method, target, proto string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(method); i++ {
		h = (h ^ uint64(method[i])) * fnvPrime
	}
	h = (h ^ ' ') * fnvPrime
	for i := 0; i < len(target); i++ {
		h = (h ^ uint64(target[i])) * fnvPrime
	}
	h = (h ^ ' ') * fnvPrime
	for i := 0; i < len(proto); i++ {
		h = (h ^ uint64(proto[i])) * fnvPrime
	}
	h &^= 1
	if method == "OPTIONS" && target == "*" {
		h |= 1
	}
	return h
}

// queue holds the fingerprints of heads seen and not yet served, oldest
// first, without allocating while at most four are pending.
type queue struct {
	inline [4]uint64
	s      []uint64
}

func (q *queue) len() int { return len(q.s) }

func (q *queue) push(v uint64) {
	if q.s == nil {
		q.s = q.inline[:0]
	}
	q.s = append(q.s, v)
}

func (q *queue) pop() uint64 {
	v := q.s[0]
	q.s = q.s[1:]
	if len(q.s) == 0 {
		q.s = q.inline[:0]
	}
	return v
}
