package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// apiError is an error answer of the admin API: its status and the
// {"error":{"code","message","field"}} body. Pages show Message, next to
// the input named by Field when there is one.
type apiError struct {
	Status     int
	Code       string `json:"code"`
	Message    string `json:"message"`
	Field      string `json:"field"`
	RetryAfter string
}

func (e *apiError) Error() string { return e.Message }

// recorder is the http.ResponseWriter an in-process call of the admin API
// answers into.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

// apiCall is one call of the admin API on behalf of the browser request
// from: same context, client address, Host and TLS state, so that the
// admin API throttles and logs it as the browser's own.
type apiCall struct {
	method string
	path   string     // under /api/v1, e.g. "/apis/abc"
	query  url.Values // may be nil
	body   any        // encoded as JSON when not nil
	raw    []byte     // sent as is when body is nil (an imported document)
	// rawType is raw's content type.
	rawType string
	token   string     // bearer token; empty with basic set
	basic   *[2]string // user name and password
}

// do runs c against the admin API and decodes a 2xx answer's body into
// out (when out is not nil). An error answer is an *apiError.
func (s *Server) do(from *http.Request, c apiCall, out any) error {
	var body io.Reader = http.NoBody
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			return fmt.Errorf("encoding the request: %w", err)
		}
		body = bytes.NewReader(b)
	} else if c.raw != nil {
		body = bytes.NewReader(c.raw)
	}
	u := "/api/v1" + c.path
	if len(c.query) > 0 {
		u += "?" + c.query.Encode()
	}
	req, err := http.NewRequestWithContext(from.Context(), c.method, u, body)
	if err != nil {
		return fmt.Errorf("building the request: %w", err)
	}
	req.RemoteAddr = from.RemoteAddr
	req.Host = from.Host
	req.TLS = from.TLS
	// The front door's report of the client: the admin API believes it
	// only from its trusted proxies (admin.Server.TrustedProxies).
	for _, h := range []string{"X-Forwarded-For", "Forwarded"} {
		if v, ok := from.Header[h]; ok {
			req.Header[h] = v
		}
	}
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	} else if c.raw != nil {
		req.Header.Set("Content-Type", c.rawType)
	}
	switch {
	case c.basic != nil:
		req.SetBasicAuth(c.basic[0], c.basic[1])
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	rec := &recorder{header: http.Header{}}
	s.API.ServeHTTP(rec, req)
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	if rec.code >= 300 {
		var e struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(rec.body.Bytes(), &e) != nil || e.Error.Message == "" {
			e.Error.Message = http.StatusText(rec.code)
		}
		e.Error.Status = rec.code
		e.Error.RetryAfter = rec.header.Get("Retry-After")
		return &e.Error
	}
	if out != nil && rec.body.Len() > 0 {
		if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
			return fmt.Errorf("decoding the answer of %s %s: %w", c.method, c.path, err)
		}
	}
	return nil
}

// list is a page of a list answer of the admin API.
type list[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// pager is what a list page needs to link to its neighbours.
type pager struct {
	Q            string
	Offset, Size int
	Total        int
	Base         url.Values // other filters kept by the links
}

// listQuery reads ?q= and ?offset= of a list page into the admin API's
// parameters.
func listQuery(r *http.Request, keep ...string) (url.Values, pager) {
	in := r.URL.Query()
	q := url.Values{}
	p := pager{Size: pageSize, Base: url.Values{}}
	if v := in.Get("q"); v != "" {
		q.Set("q", v)
		p.Q = v
	}
	if n, err := strconv.Atoi(in.Get("offset")); err == nil && n > 0 {
		p.Offset = n
	}
	q.Set("offset", strconv.Itoa(p.Offset))
	q.Set("limit", strconv.Itoa(pageSize))
	for _, k := range keep {
		if v := in.Get(k); v != "" {
			q.Set(k, v)
			p.Base.Set(k, v)
		}
	}
	return q, p
}

// Prev is the query string of the previous page, or "" on the first.
func (p pager) Prev() string {
	if p.Offset == 0 {
		return ""
	}
	return p.link(max(0, p.Offset-p.Size))
}

// Next is the query string of the next page, or "" on the last.
func (p pager) Next() string {
	if p.Offset+p.Size >= p.Total {
		return ""
	}
	return p.link(p.Offset + p.Size)
}

// First and Last number the items shown, from 1.
func (p pager) First() int { return min(p.Offset+1, p.Total) }

// Last is the number of the last item shown.
func (p pager) Last() int { return min(p.Offset+p.Size, p.Total) }

func (p pager) link(offset int) string {
	v := url.Values{}
	for k, vs := range p.Base {
		v[k] = vs
	}
	if p.Q != "" {
		v.Set("q", p.Q)
	}
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
	return "?" + v.Encode()
}
