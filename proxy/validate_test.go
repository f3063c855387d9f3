package proxy

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/openapi"
)

// docStore is a portico.DocumentStore in memory (the interface is the
// root's; sqlitestore and redisstore run its contract suite). down makes
// every read fail as a store that cannot be reached.
type docStore struct {
	mu    sync.Mutex
	docs  map[string][]byte // by API ID + "/" + SHA-256
	down  bool
	gate  chan struct{} // when not nil, reads wait for it to close
	reads atomic.Int32
}

func (s *docStore) PutDocument(_ context.Context, api, sha string, doc []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.docs == nil {
		s.docs = map[string][]byte{}
	}
	s.docs[api+"/"+sha] = doc
	return nil
}

func (s *docStore) Document(ctx context.Context, api, sha string) ([]byte, error) {
	s.reads.Add(1)
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, errors.New("connection refused")
	}
	doc, ok := s.docs[api+"/"+sha]
	if !ok {
		return nil, portico.Errorf(portico.ENotFound, "no document %s of API %s", sha, api)
	}
	return doc, nil
}

func (s *docStore) DeleteDocument(_ context.Context, api, sha string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.docs, api+"/"+sha)
	return nil
}

func (s *docStore) setDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// ordersDocument returns the stored form (Spec.Document) of one of the
// orders documents of package openapi's validation tests, and its
// DocumentRef.
func ordersDocument(t testing.TB, file string) ([]byte, *portico.DocumentRef) {
	t.Helper()
	src, err := os.ReadFile("../openapi/testdata/validate/" + file)
	if err != nil {
		t.Fatal(err)
	}
	s, err := openapi.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return s.Document, docRef(s.Document, s.Version)
}

func docRef(doc []byte, version string) *portico.DocumentRef {
	sum := sha256.Sum256(doc)
	return &portico.DocumentRef{Format: portico.FormatOpenAPI, Version: version, SHA256: hex.EncodeToString(sum[:]),
		Size: int64(len(doc)), ImportedAt: time.Unix(1e9, 0)}
}

// validatingWorld is a gateway whose documents are in store, retried
// every 10 ms.
func validatingWorld(t *testing.T) (*world, *docStore) {
	t.Helper()
	store := &docStore{}
	gw := &Gateway{Documents: store, DocumentRetry: 10 * time.Millisecond}
	t.Cleanup(gw.Close)
	srv := newGatewayServer(t, gw)
	return &world{cfg: portico.NewConfig(), gw: gw, srv: srv}, store
}

// validatingAPI puts an open API at ctx that validates requests against
// doc, with policies p (nil: none other).
func (w *world) validatingAPI(id, ctx, target string, ref *portico.DocumentRef, p *portico.Policies) *portico.API {
	if p == nil {
		p = &portico.Policies{}
	}
	p.ValidateRequests = true
	return w.authAPI(id, ctx, target, portico.AuthMethods{portico.AuthNone}, func(a *portico.API) {
		a.Policies, a.Document = p, ref
	})
}

// send sends a request to the gateway and returns its status, body and
// problems.
func send(t *testing.T, srvURL, method, path string, hdr map[string]string, body io.Reader) (*http.Response, string, []string) {
	t.Helper()
	req, err := http.NewRequest(method, srvURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct {
			Problems []openapi.Problem `json:"problems"`
		} `json:"error"`
	}
	json.Unmarshal(b, &e)
	var ps []string
	for _, p := range e.Error.Problems {
		ps = append(ps, p.In+" "+p.Name)
	}
	return resp, string(b), ps
}

// waitStatus polls GET path until it answers other than 503, or fails
// the test after 5 s.
func waitStatus(t *testing.T, srvURL, path string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, body, _ := send(t, srvURL, "GET", path, nil, nil)
		if resp.StatusCode == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d %s, want %d", path, resp.StatusCode, body, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestValidateRequests(t *testing.T) {
	order := `{"customer":"Ada","note":null,"items":[{"sku":"ABC-0001","qty":2,"price":9.5,"tags":["gift"]}]}`
	jsonCT := map[string]string{"Content-Type": "application/json"}
	for _, file := range []string{"orders-openapi31.yaml", "orders-openapi30.yaml", "orders-swagger2.yaml"} {
		t.Run(file, func(t *testing.T) {
			w, store := validatingWorld(t)
			be := newCapture(t, nil)
			doc, ref := ordersDocument(t, file)
			store.PutDocument(t.Context(), "api", ref.SHA256, doc)
			w.validatingAPI("api", "/shop", be.URL+"/base", ref, nil)
			waitStatus(t, w.srv.URL, "/shop/orders/1", 200)

			for _, c := range []struct {
				name, method, path string
				hdr                map[string]string
				body               string
				chunked            bool
				status             int
				problems           []string
			}{
				{"valid", "PUT", "/shop/orders/12?dry_run=true", map[string]string{"Content-Type": "application/json", "X-Trace": "deadbeef"}, order, false, 200, nil},
				{"valid, chunked", "PUT", "/shop/orders/12?dry_run=true", jsonCT, order, true, 200, nil},
				{"valid GET", "GET", "/shop/orders?status=open&status=closed&ids=1,2", nil, "", false, 200, nil},
				{"path parameter", "PUT", "/shop/orders/x?dry_run=true", jsonCT, order, false, 400, []string{"path id"}},
				{"missing query parameter", "PUT", "/shop/orders/12", jsonCT, order, false, 400, []string{"query dry_run"}},
				{"bad header", "PUT", "/shop/orders/12?dry_run=true", map[string]string{"Content-Type": "application/json", "X-Trace": "nothex"}, order, false, 400,
					[]string{"header X-Trace"}},
				{"body schema", "PUT", "/shop/orders/12?dry_run=true", jsonCT, `{"customer":"Ada","items":[{"sku":"ABC-0001","qty":0}]}`, false, 400,
					[]string{"body /items/0/qty"}},
				{"body schema, chunked", "PUT", "/shop/orders/12?dry_run=true", jsonCT, `{"customer":"Ada","items":[{"sku":"x","qty":1}]}`, true, 400,
					[]string{"body /items/0/sku"}},
				{"wrong content type", "PUT", "/shop/orders/12?dry_run=true", map[string]string{"Content-Type": "text/plain"}, order, false, 400,
					[]string{"header Content-Type"}},
				{"body missing", "PUT", "/shop/orders/12?dry_run=true", jsonCT, "", false, 400, []string{"body "}},
				{"unknown operation", "DELETE", "/shop/orders/12", nil, "", false, 400, []string{"path "}},
				{"unknown path", "GET", "/shop/nowhere", nil, "", false, 400, []string{"path "}},
				{"the context alone", "GET", "/shop", nil, "", false, 400, []string{"path "}},
			} {
				t.Run(c.name, func(t *testing.T) {
					n := be.count()
					var body io.Reader
					if c.body != "" {
						body = strings.NewReader(c.body)
						if c.chunked {
							body = io.MultiReader(body) // of unknown length: sent chunked
						}
					}
					resp, text, ps := send(t, w.srv.URL, c.method, c.path, c.hdr, body)
					if resp.StatusCode != c.status || strings.Join(ps, "|") != strings.Join(c.problems, "|") {
						t.Fatalf("%d %s, want %d with problems %q", resp.StatusCode, text, c.status, c.problems)
					}
					if c.status != 200 {
						if be.count() != n {
							t.Errorf("the backend got a request the gateway refused")
						}
						if code := errorCode(t, text); c.status == 400 && code != "invalid" || c.status == 413 && code != "too_large" {
							t.Errorf("error code %q", code)
						}
						return
					}
					got := be.last(t)
					if got.body != c.body || got.length != int64(len(c.body)) {
						t.Errorf("the backend got %d bytes (Content-Length %d), want the %d sent", len(got.body), got.length, len(c.body))
					}
				})
			}
			for _, chunked := range []bool{false, true} {
				resp, body := sendLarge(t, w.srv.URL, "/shop/orders/12?dry_run=true", DefaultValidateMaxBody+1, chunked)
				if resp.StatusCode != 413 || errorCode(t, body) != "too_large" || !resp.Close {
					t.Errorf("over the default bound (chunked %v): %d %v %s, want 413", chunked, resp.StatusCode, resp.Header, body)
				}
			}
		})
	}
}

// sendLarge sends a PUT of path with a JSON body of size bytes, with its
// Content-Length or chunked, and reads the answer while it writes (the
// gateway may answer before it read the body).
func sendLarge(t *testing.T, srvURL, path string, size int, chunked bool) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(srvURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	head := "PUT " + path + " HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
	if chunked {
		head += "Transfer-Encoding: chunked\r\n\r\n"
	} else {
		head += "Content-Length: " + strconv.Itoa(size) + "\r\n\r\n"
	}
	go func() {
		bw := bufio.NewWriter(c)
		bw.WriteString(head)
		chunk := strings.Repeat("x", 32<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			n := min(len(chunk), size-sent)
			if chunked {
				fmt.Fprintf(bw, "%x\r\n", n)
			}
			if _, err := bw.WriteString(chunk[:n]); err != nil {
				return
			}
			if chunked {
				bw.WriteString("\r\n")
			}
		}
		if chunked {
			bw.WriteString("0\r\n\r\n")
		}
		bw.Flush()
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestValidateRequestsOrder: validation comes after auth (an unknown
// caller gets 401, not the problems of its request) and after threat
// protection, whose MaxBodyBytes bounds the body read and whose body
// checks answer as they do without validation; header rules apply after
// it (a header they set does not satisfy the document).
func TestValidateRequestsOrder(t *testing.T) {
	w, store := validatingWorld(t)
	be := newCapture(t, nil)
	doc, ref := ordersDocument(t, "orders-openapi31.yaml")
	store.PutDocument(t.Context(), "api", ref.SHA256, doc)
	store.PutDocument(t.Context(), "keyed", ref.SHA256, doc)
	w.validatingAPI("api", "/shop", be.URL, ref, &portico.Policies{
		ThreatProtection: &portico.ThreatProtection{MaxBodyBytes: 4096, JSON: portico.ThreatJSONLimits{MaxDepth: 3}},
		Headers:          &portico.HeaderRules{Request: []portico.HeaderOp{{Op: portico.HeaderSet, Name: "X-Trace", Value: "nothex"}}},
	})
	w.authAPI("keyed", "/keyed", be.URL, portico.AuthMethods{portico.AuthAPIKey}, func(a *portico.API) {
		a.Policies, a.Document = &portico.Policies{ValidateRequests: true}, ref
	})
	waitStatus(t, w.srv.URL, "/shop/orders/1", 200)
	jsonCT := map[string]string{"Content-Type": "application/json"}

	if resp, body, _ := send(t, w.srv.URL, "GET", "/keyed/orders/x", nil, nil); resp.StatusCode != 401 {
		t.Errorf("no key: %d %s, want 401", resp.StatusCode, body)
	}
	if resp, body, _ := send(t, w.srv.URL, "PUT", "/shop/orders/1?dry_run=true", jsonCT, strings.NewReader(`"`+strings.Repeat("x", 5000)+`"`)); resp.StatusCode != 413 ||
		!strings.Contains(body, "4096") {
		t.Errorf("over threat protection's bound: %d %s, want 413", resp.StatusCode, body)
	}
	resp, body, ps := send(t, w.srv.URL, "PUT", "/shop/orders/1?dry_run=true", jsonCT, io.MultiReader(strings.NewReader(`{"customer":"a","items":[[[[1]]]]}`)))
	if resp.StatusCode != 400 || ps != nil || !strings.Contains(body, "depth") {
		t.Errorf("too deep for threat protection: %d %s, want its 400", resp.StatusCode, body)
	}
	resp, body, _ = send(t, w.srv.URL, "PUT", "/shop/orders/1?dry_run=true", map[string]string{"Content-Type": "application/json", "X-Trace": "deadbeef"},
		strings.NewReader(`{"customer":"a","items":[]}`))
	if resp.StatusCode != 200 {
		t.Fatalf("valid: %d %s", resp.StatusCode, body)
	}
	if got := be.last(t).header.Get("X-Trace"); got != "nothex" {
		t.Errorf("the backend got X-Trace %q, want the header rule's", got)
	}
}

// TestValidateRequestsDocumentUnavailable: while the document cannot be
// read (the store down, the document not there), the API answers 503
// and no request passes; once it can, validation starts.
func TestValidateRequestsDocumentUnavailable(t *testing.T) {
	w, store := validatingWorld(t)
	be := newCapture(t, nil)
	doc, ref := ordersDocument(t, "orders-openapi31.yaml")
	store.setDown(true)
	w.validatingAPI("api", "/shop", be.URL, ref, nil)
	for range 3 {
		resp, body, _ := send(t, w.srv.URL, "GET", "/shop/orders/1", nil, nil)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "not loaded yet") {
			t.Fatalf("store down: %d %s, want 503 with Retry-After", resp.StatusCode, body)
		}
	}
	store.setDown(false) // up, but the document is not there yet
	reads := store.reads.Load()
	for store.reads.Load() < reads+2 {
		time.Sleep(5 * time.Millisecond)
	}
	if resp, body, _ := send(t, w.srv.URL, "GET", "/shop/orders/1", nil, nil); resp.StatusCode != 503 {
		t.Fatalf("document missing: %d %s, want 503", resp.StatusCode, body)
	}
	store.PutDocument(t.Context(), "api", ref.SHA256, doc)
	waitStatus(t, w.srv.URL, "/shop/orders/1", 200)
	if resp, body, ps := send(t, w.srv.URL, "GET", "/shop/orders/x", nil, nil); resp.StatusCode != 400 || len(ps) != 1 {
		t.Errorf("after recovery: %d %s, want 400", resp.StatusCode, body)
	}
	if be.count() != 1 {
		t.Errorf("the backend got %d requests, want the one valid", be.count())
	}
}

// TestValidateRequestsDocumentChanged: a new document (a new SHA-256)
// gets a new validator, and the old one is dropped; versions of an API
// with the same document share one, read once.
func TestValidateRequestsDocumentChanged(t *testing.T) {
	w, store := validatingWorld(t)
	be := newCapture(t, nil)
	doc31, ref31 := ordersDocument(t, "orders-openapi31.yaml")
	doc2, ref2 := ordersDocument(t, "orders-swagger2.yaml")
	for _, api := range []string{"v1", "v2"} {
		store.PutDocument(t.Context(), api, ref31.SHA256, doc31)
		store.PutDocument(t.Context(), api, ref2.SHA256, doc2)
	}
	w.validatingAPI("v1", "/shop/v1", be.URL, ref31, nil)
	w.validatingAPI("v2", "/shop/v2", be.URL, ref31, nil)
	waitStatus(t, w.srv.URL, "/shop/v1/orders/1?session=x", 200)
	waitStatus(t, w.srv.URL, "/shop/v2/orders/1", 200)
	if n := store.reads.Load(); n != 1 {
		t.Errorf("the document was read %d times for two APIs, want once", n)
	}
	// The 3.1 document checks the session cookie; the Swagger 2.0 one has none.
	cookie := map[string]string{"Cookie": "session=x"}
	if resp, body, _ := send(t, w.srv.URL, "GET", "/shop/v2/orders/1", cookie, nil); resp.StatusCode != 400 {
		t.Fatalf("3.1 document: %d %s, want 400", resp.StatusCode, body)
	}
	w.validatingAPI("v2", "/shop/v2", be.URL, ref2, nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _, _ := send(t, w.srv.URL, "GET", "/shop/v2/orders/1", cookie, nil)
		if resp.StatusCode == 200 {
			break
		}
		if resp.StatusCode != 503 || time.Now().After(deadline) {
			t.Fatalf("after the change: %d, want 503 then 200", resp.StatusCode)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if resp, body, _ := send(t, w.srv.URL, "GET", "/shop/v1/orders/1", cookie, nil); resp.StatusCode != 400 {
		t.Errorf("v1 keeps its document: %d %s, want 400", resp.StatusCode, body)
	}
	w.gw.mu.Lock()
	n := len(w.gw.validators)
	w.gw.mu.Unlock()
	if n != 2 {
		t.Errorf("%d validators for two documents", n)
	}
	w.apply(portico.Delete(portico.KindAPI, "v1"))
	w.gw.mu.Lock()
	_, kept := w.gw.validators[ref31.SHA256]
	w.gw.mu.Unlock()
	if kept {
		t.Errorf("the validator of a document no API uses is kept")
	}
}

// TestValidateRequestsCannot: an API that validates requests without a
// document it can use answers 503 to every request.
func TestValidateRequestsCannot(t *testing.T) {
	w, store := validatingWorld(t)
	be := newCapture(t, nil)
	lookahead := []byte(`{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"parameters":[{"name":"q","in":"query","schema":{"type":"string","pattern":"^(?=x)"}}],"responses":{}}}}}`)
	broken := docRef(lookahead, "3.1.0")
	store.PutDocument(t.Context(), "broken", broken.SHA256, lookahead)
	w.validatingAPI("broken", "/broken", be.URL, broken, nil)
	tampered := docRef([]byte(`{"openapi":"3.1.0"}`), "3.1.0")
	store.PutDocument(t.Context(), "tampered", tampered.SHA256, []byte(`{"openapi":"3.1.0","paths":{}}`))
	w.validatingAPI("tampered", "/tampered", be.URL, tampered, nil)
	w.validatingAPI("none", "/none", be.URL, nil, nil)
	wsdl := docRef([]byte("<definitions/>"), "1.1")
	wsdl.Format = portico.FormatWSDL
	w.validatingAPI("wsdl", "/wsdl", be.URL, wsdl, nil)

	for _, c := range []struct{ path, msg string }{
		{"/broken/a", "cannot be used to validate"},
		{"/tampered/a", "cannot be used to validate"},
		{"/none/a", "cannot be applied"},
		{"/wsdl/a", "cannot be applied"},
	} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			resp, body, _ := send(t, w.srv.URL, "GET", c.path, nil, nil)
			if resp.StatusCode == 503 && strings.Contains(body, c.msg) {
				break
			}
			if resp.StatusCode != 503 || time.Now().After(deadline) {
				t.Fatalf("%s: %d %s, want 503 %q", c.path, resp.StatusCode, body, c.msg)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if be.count() != 0 {
		t.Errorf("the backend got %d requests", be.count())
	}

	// A gateway without a document store.
	gw := &Gateway{}
	defer gw.Close()
	srv := newGatewayServer(t, gw)
	w2 := &world{cfg: portico.NewConfig(), gw: gw, srv: srv}
	_, ref := ordersDocument(t, "orders-openapi31.yaml")
	w2.validatingAPI("api", "/shop", be.URL, ref, nil)
	if resp, body, _ := send(t, srv.URL, "GET", "/shop/orders/1", nil, nil); resp.StatusCode != 503 {
		t.Errorf("no document store: %d %s, want 503", resp.StatusCode, body)
	}
}

// TestValidateRequestsUpdateWaits: Update waits for a new document to be
// compiled before it swaps the change in, so that the API's first
// requests are validated rather than answered 503; but no longer than
// DocumentWait.
func TestValidateRequestsUpdateWaits(t *testing.T) {
	w, store := validatingWorld(t)
	be := newCapture(t, nil)
	doc, ref := ordersDocument(t, "orders-openapi31.yaml")
	store.PutDocument(t.Context(), "api", ref.SHA256, doc)
	w.validatingAPI("api", "/shop", be.URL, ref, nil)
	if resp, body, _ := send(t, w.srv.URL, "GET", "/shop/orders/1", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("right after Update: %d %s, want 200", resp.StatusCode, body)
	}

	// A store that does not answer: Update waits DocumentWait, then the
	// API answers 503 until the document comes.
	w.gw.DocumentWait = 50 * time.Millisecond
	gate := make(chan struct{})
	store.mu.Lock()
	store.gate = gate
	store.mu.Unlock()
	doc2, ref2 := ordersDocument(t, "orders-swagger2.yaml")
	store.PutDocument(t.Context(), "api", ref2.SHA256, doc2)
	start := time.Now()
	w.validatingAPI("api", "/shop", be.URL, ref2, nil)
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("Update took %v with a store that does not answer, want DocumentWait (50ms)", d)
	}
	if resp, body, _ := send(t, w.srv.URL, "GET", "/shop/orders/1", nil, nil); resp.StatusCode != 503 {
		t.Errorf("document not read yet: %d %s, want 503", resp.StatusCode, body)
	}
	close(gate)
	waitStatus(t, w.srv.URL, "/shop/orders/1", 200)
}

// readsDocument is a document whose operations take a form, a text body
// and no body, with formats.
const readsDocument = `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{
"/form":{"post":{"requestBody":{"required":true,"content":{"application/x-www-form-urlencoded":{"schema":{"type":"object","required":["name"],
	"properties":{"name":{"type":"string","maxLength":5},"age":{"type":"integer","minimum":0},"born":{"type":"string","format":"date"}}}}}},"responses":{}}},
"/note":{"put":{"requestBody":{"content":{"text/plain":{"schema":{"type":"string","maxLength":5}},
	"application/xml":{"schema":{"type":"object","required":["a"]}}}},"responses":{}}},
"/ping":{"get":{"responses":{}}}}}`

// TestValidateRequestsReads: through the gateway, a form and a text body
// are checked against their schemas and forwarded unchanged when they
// conform; a body to an operation that declares none, a body the gateway
// cannot read against its schema and a bad date are refused with 400
// before the backend.
func TestValidateRequestsReads(t *testing.T) {
	w, store := validatingWorld(t)
	be := newCapture(t, nil)
	doc := []byte(readsDocument)
	ref := docRef(doc, "3.1.0")
	store.PutDocument(t.Context(), "api", ref.SHA256, doc)
	w.validatingAPI("api", "/r", be.URL, ref, nil)
	waitStatus(t, w.srv.URL, "/r/ping", 200)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for _, c := range []struct {
		name, method, path string
		hdr                map[string]string
		body               string
		status             int
		problems           []string
	}{
		{"form", "POST", "/r/form", form, "name=ada&age=36&born=1815-12-10", 200, nil},
		{"form against its schema", "POST", "/r/form", form, "name=adalovelace&age=-1", 400, []string{"body /age", "body /name"}},
		{"form with a bad date", "POST", "/r/form", form, "name=ada&born=1815-13-10", 400, []string{"body /born"}},
		{"text", "PUT", "/r/note", map[string]string{"Content-Type": "text/plain"}, "hello", 200, nil},
		{"text against its schema", "PUT", "/r/note", map[string]string{"Content-Type": "text/plain"}, "hello world", 400, []string{"body "}},
		{"XML", "PUT", "/r/note", map[string]string{"Content-Type": "application/xml"}, "<a/>", 400, []string{"body "}},
		{"a body where none is declared", "GET", "/r/ping", map[string]string{"Content-Type": "application/json"}, "{}", 400, []string{"body "}},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := be.count()
			resp, text, ps := send(t, w.srv.URL, c.method, c.path, c.hdr, strings.NewReader(c.body))
			if resp.StatusCode != c.status || strings.Join(ps, "|") != strings.Join(c.problems, "|") {
				t.Fatalf("%d %s, want %d with problems %q", resp.StatusCode, text, c.status, c.problems)
			}
			if c.status != 200 {
				if be.count() != n {
					t.Errorf("the backend got a request the gateway refused")
				}
				return
			}
			if got := be.last(t); got.body != c.body {
				t.Errorf("the backend got %q, want %q", got.body, c.body)
			}
		})
	}
}

// TestValidateRequestsBudget: an API whose document could make a request
// cost more than the validator's bounds (the probe's anyOf fan-out)
// answers 503 rather than check requests against it; a body priced over
// openapi.MaxRequestCost is refused with 400 before any schema runs.
func TestValidateRequestsBudget(t *testing.T) {
	w, store := validatingWorld(t)
	be := newCapture(t, nil)
	var schemas []string
	for i := range 13 {
		schemas = append(schemas, fmt.Sprintf(`"L%d":{"anyOf":[{"$ref":"#/components/schemas/L%d"},{"$ref":"#/components/schemas/L%d"},{"$ref":"#/components/schemas/L%d"}]}`, i, i+1, i+1, i+1))
	}
	fanOut := []byte(`{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"post":{"requestBody":{"content":{"application/json":` +
		`{"schema":{"$ref":"#/components/schemas/L0"}}}},"responses":{}}}},"components":{"schemas":{` + strings.Join(schemas, ",") + `,"L13":{"type":"string"}}}}`)
	costly := []byte(`{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a":{"post":{"requestBody":{"content":{"application/json":` +
		`{"schema":{"type":"array","items":{"anyOf":[` + strings.TrimSuffix(strings.Repeat(`{"type":"integer"},`, 150), ",") + `]}}}}},"responses":{}}}}}`)
	for _, d := range []struct {
		id  string
		doc []byte
	}{{"fanout", fanOut}, {"costly", costly}} {
		ref := docRef(d.doc, "3.1.0")
		store.PutDocument(t.Context(), d.id, ref.SHA256, d.doc)
		w.validatingAPI(d.id, "/"+d.id, be.URL, ref, nil)
	}
	jsonCT := map[string]string{"Content-Type": "application/json"}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, body, _ := send(t, w.srv.URL, "POST", "/fanout/a", jsonCT, strings.NewReader(`true`))
		if resp.StatusCode == 503 && strings.Contains(body, "cannot be used to validate") {
			break
		}
		if resp.StatusCode != 503 || time.Now().After(deadline) {
			t.Fatalf("fan-out document: %d %s, want 503", resp.StatusCode, body)
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitStatus(t, w.srv.URL, "/costly/a", 400) // a GET: no such operation
	resp, body, ps := send(t, w.srv.URL, "POST", "/costly/a", jsonCT, strings.NewReader("["+strings.TrimSuffix(strings.Repeat("1.5,", 5000), ",")+"]"))
	if resp.StatusCode != 400 || len(ps) != 1 || !strings.Contains(body, "too large to check") {
		t.Errorf("a body over the budget: %d %s, want 400", resp.StatusCode, body)
	}
	if resp, body, _ := send(t, w.srv.URL, "POST", "/costly/a", jsonCT, strings.NewReader("[1,2,3]")); resp.StatusCode != 200 {
		t.Errorf("a body within it: %d %s, want 200", resp.StatusCode, body)
	}
	if be.count() != 1 {
		t.Errorf("the backend got %d requests, want the one valid", be.count())
	}
}
