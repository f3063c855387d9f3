package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/openapi"
)

// This file is request validation (portico.Policies.ValidateRequests):
// the validators of the APIs' documents, compiled once per document off
// the request path, and the check of each request against its API's.

// DefaultValidateMaxBody bounds the body the gateway reads to validate a
// request when the API has no threat protection (whose MaxBodyBytes
// bounds it otherwise); a larger one is a 413.
const DefaultValidateMaxBody = 1 << 20

// DefaultDocumentRetry is the pause between two tries to load a
// document when Gateway.DocumentRetry is zero.
const DefaultDocumentRetry = 5 * time.Second

// DefaultDocumentWait bounds Update's wait for new documents when
// Gateway.DocumentWait is zero.
const DefaultDocumentWait = 2 * time.Second

// docValidator is the compiled validator of one document, by its
// SHA-256, shared by the upstreams of every API (and API version) with
// that document. Its loader goroutine reads the document from the
// Gateway's Documents and compiles it, retrying while it cannot be
// read; until it is compiled, requests to its APIs get 503.
type docValidator struct {
	sha    string
	v      atomic.Pointer[openapi.Validator]
	broken atomic.Bool // the document does not compile: 503 for good
	cancel context.CancelFunc
	// settled is closed once the first try ended: compiled, refused, or
	// the document could not be read.
	settled chan struct{}

	mu   sync.Mutex
	apis map[string]int // the IDs of the APIs using it, each with its count of upstreams
}

// anyAPI returns the ID of an API using the document, to read it under.
func (d *docValidator) anyAPI() (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id := range d.apis {
		return id, true
	}
	return "", false
}

// acquireValidator returns the validator of document sha for API api,
// starting its loader when it is new. Under Gateway.mu.
func (g *Gateway) acquireValidator(api, sha string) *docValidator {
	if g.validators == nil {
		g.validators = map[string]*docValidator{}
		g.loadCtx, g.stopLoads = context.WithCancel(context.Background())
	}
	if d := g.validators[sha]; d != nil {
		d.mu.Lock()
		d.apis[api]++
		d.mu.Unlock()
		return d
	}
	d := &docValidator{sha: sha, apis: map[string]int{api: 1}, settled: make(chan struct{})}
	var ctx context.Context
	ctx, d.cancel = context.WithCancel(g.loadCtx)
	g.validators[sha] = d
	g.fresh = append(g.fresh, d)
	g.loaders.Add(1)
	go g.loadValidator(ctx, d)
	return d
}

// awaitValidators waits, up to DocumentWait in all, for the first try of
// each validator the Update under way made. Under Gateway.mu.
func (g *Gateway) awaitValidators() {
	fresh := g.fresh
	g.fresh = nil
	wait := g.DocumentWait
	if wait == 0 {
		wait = DefaultDocumentWait
	}
	if len(fresh) == 0 || wait < 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for _, d := range fresh {
		select {
		case <-d.settled:
		case <-t.C:
			return
		}
	}
}

// releaseValidator drops API api's use of d; the last use stops its
// loader and forgets it. Under Gateway.mu.
func (g *Gateway) releaseValidator(d *docValidator, api string) {
	d.mu.Lock()
	if d.apis[api]--; d.apis[api] <= 0 {
		delete(d.apis, api)
	}
	last := len(d.apis) == 0
	d.mu.Unlock()
	if last {
		d.cancel()
		delete(g.validators, d.sha)
	}
}

// loadValidator reads d's document and compiles it, trying again every
// DocumentRetry while it cannot be read, until ctx is done. A document
// that reads but does not compile (or does not match its SHA-256) is not
// tried again: it will not change under its SHA-256.
func (g *Gateway) loadValidator(ctx context.Context, d *docValidator) {
	defer g.loaders.Done()
	var settle sync.Once
	defer settle.Do(func() { close(d.settled) })
	pause := g.DocumentRetry
	if pause <= 0 {
		pause = DefaultDocumentRetry
	}
	log := g.logger().With("document", d.sha)
	for failures := 0; ; failures++ {
		api, ok := d.anyAPI()
		if !ok {
			return
		}
		doc, err := g.readDocument(ctx, api, d.sha)
		switch {
		case err == nil:
			if sum := sha256.Sum256(doc); hex.EncodeToString(sum[:]) != d.sha {
				log.Error("the stored document does not match its SHA-256: the APIs that validate requests against it answer 503", "api", api)
				d.broken.Store(true)
				return
			}
			v, err := openapi.NewValidator(doc)
			if err != nil {
				log.Error("the document cannot be used to validate requests: the APIs that validate against it answer 503", "api", api, "err", err)
				d.broken.Store(true)
				return
			}
			d.v.Store(v)
			if failures > 0 {
				log.Info("document loaded for request validation", "api", api, "failures", failures)
			}
			return
		case ctx.Err() != nil:
			return
		case failures == 0:
			log.Warn("cannot load the document to validate requests: its APIs answer 503 until it loads; retrying",
				"api", api, "every", pause, "err", err)
			settle.Do(func() { close(d.settled) })
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

var errNoDocuments = errors.New("the gateway has no document store")

func (g *Gateway) readDocument(ctx context.Context, api, sha string) ([]byte, error) {
	if g.Documents == nil {
		return nil, errNoDocuments
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return g.Documents.Document(ctx, api, sha)
}

// stopValidators stops the loaders and waits for them. Under Gateway.mu.
func (g *Gateway) stopValidators() {
	if g.stopLoads != nil {
		g.stopLoads()
	}
	g.loaders.Wait()
}

// validatorFor sets up request validation of API a on up: the shared
// validator of its document, or, when a has no OpenAPI document (the
// admin API refuses that), up.valErr.
func (g *Gateway) validatorFor(up *upstream, a *portico.API) {
	if a.Policies == nil || !a.Policies.ValidateRequests {
		return
	}
	if a.Document == nil || a.Document.Format != portico.FormatOpenAPI || !portico.IsSHA256(a.Document.SHA256) {
		g.logger().Error("API validates requests but has no OpenAPI document: the API answers 503", "api", a.Name, "version", a.Version)
		up.valErr = true
		return
	}
	up.val = g.acquireValidator(a.ID, a.Document.SHA256)
}

// validateRequest reads the request's body (within the threat
// protection's MaxBodyBytes, else DefaultValidateMaxBody), checks the
// request against its API's document, and puts the same bytes back as
// the body to forward. It reports whether the request may go on; when
// not, it has answered: 503 while the document is not compiled, 413 for
// a body over the bound, the body errors of the client and of threat
// protection as elsewhere, 400 with the problems found.
func (g *Gateway) validateRequest(w http.ResponseWriter, r *http.Request, st *reqState) bool {
	v := st.val.v.Load()
	if v == nil {
		if r.ContentLength != 0 {
			w.Header()["Connection"] = []string{"close"}
		}
		if st.val.broken.Load() {
			st.form.write(w, http.StatusServiceUnavailable, portico.EUnavailable, "this API's document cannot be used to validate requests")
		} else {
			w.Header()["Retry-After"] = []string{"1"}
			st.form.write(w, http.StatusServiceUnavailable, portico.EUnavailable, "this API's document is not loaded yet to validate requests; retry later")
		}
		return false
	}
	var body []byte
	if hasBody(r) {
		limit := int64(DefaultValidateMaxBody)
		if tp := st.body.threat; tp != nil {
			limit = tp.WithDefaults().MaxBodyBytes
		}
		tooLarge := func() bool {
			w.Header()["Connection"] = []string{"close"}
			st.form.write(w, http.StatusRequestEntityTooLarge, portico.ETooLarge,
				fmt.Sprintf("the request body is larger than the %d bytes the gateway reads to validate it", limit))
			return false
		}
		if r.ContentLength > limit {
			return tooLarge()
		}
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			if clientBodyError(w, r, st.form) || violationError(w, r, st.form) {
				return false
			}
			w.Header()["Connection"] = []string{"close"}
			st.form.write(w, http.StatusBadRequest, portico.EInvalid, "the request body could not be read")
			return false
		}
		if int64(len(body)) > limit {
			return tooLarge()
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.TransferEncoding = nil
		r.Header["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	if ps := v.Validate(r, st.path, body); len(ps) > 0 {
		st.form.writeProblems(w, ps)
		return false
	}
	return true
}
