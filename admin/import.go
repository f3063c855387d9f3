package admin

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/openapi"
	"github.com/portico-gw/portico/soap"
)

// importAPI creates or updates an API from a description document sent
// as the body (OpenAPI or Swagger, JSON or YAML). The query gives what
// the document cannot: api (the ID of the API to update; none creates
// one), context (derived from the document when creating, else kept),
// target (repeatable; the document's absolute http(s) servers when
// creating, else kept), name and version (in place of the document's
// title and version, so that one document can make two APIs), dry_run=true
// (answer without writing). Updating replaces name, version, description,
// tags, resources and document and leaves everything else — plans,
// policies, subscriptions — as it was.
func (s *Server) importAPI(w http.ResponseWriter, r *http.Request, c *call) error {
	if !canPublish(c.user) {
		return forbidden("only publishers and admins import APIs")
	}
	q := r.URL.Query()
	for name := range q {
		if !slices.Contains([]string{"api", "context", "target", "name", "version", "dry_run"}, name) {
			return invalid(name, "unknown parameter %q; the import takes api, context, target, name, version and dry_run", name)
		}
	}
	for _, f := range []struct {
		name string
		max  int
	}{{"name", maxName}, {"version", maxVersion}} {
		if v, ok := q[f.name]; ok {
			if len(v) > 1 {
				return invalid(f.name, "%s is given %d times: give it once", f.name, len(v))
			}
			if err := text(f.name, v[0], true, f.max); err != nil {
				return err
			}
		}
	}
	dryRun := false
	if v := q.Get("dry_run"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return invalid("dry_run", "dry_run is true or false")
		}
		dryRun = b
	}
	ds := s.documents()
	if ds == nil {
		return portico.Errorf(portico.EUnavailable, "this node keeps no documents: its store is not a document store")
	}
	body := &bodyReader{r: http.MaxBytesReader(w, r.Body, portico.MaxDocumentBytes)}
	doc, err := io.ReadAll(body)
	if err != nil {
		w.Header().Set("Connection", "close")
		return readError(err)
	}
	// Into an API that validates requests, the gateway's validator must
	// compile the new document: checked with the parse, in its slot.
	compile := validates(c.cfg.APIs.Get(q.Get("api")))
	release, err := s.parseSlot(r.Context())
	if err != nil {
		return err
	}
	d, err := readDocument(doc)
	if err == nil && compile && d.format == portico.FormatOpenAPI {
		err = checkValidator(d.stored, "document")
	}
	release()
	if err != nil {
		return err
	}
	stored := d.stored
	sum := sha256.Sum256(stored)
	ref := &portico.DocumentRef{
		Format:  d.format,
		Version: d.version,
		SHA256:  hex.EncodeToString(sum[:]),
		Size:    int64(len(stored)),
	}
	resources := d.resources
	targets, err := importTargets(q["target"], d.servers)
	if err != nil {
		return err
	}

	id := q.Get("api")
	create := id == ""
	if create {
		id = portico.NewID()
	}
	if !dryRun {
		if err := ds.PutDocument(r.Context(), id, ref.SHA256, stored); err != nil {
			return err
		}
	}
	var (
		out    portico.ImportResult
		oldRef *portico.DocumentRef
	)
	err = s.update(r.Context(), c.user.ID, func(t *tx) error {
		ref.ImportedAt = t.now
		var n portico.API
		var old *portico.API
		if create {
			if len(targets) == 0 {
				return invalid("target", "the document names no absolute http or https server: give the backend with target=URL")
			}
			n = portico.API{
				ID: id, State: portico.Draft, Owner: t.me.ID, CreatedAt: t.now,
				Context: d.context, Visibility: portico.Public,
				Auth: portico.AuthMethods{portico.AuthAPIKey}, Plans: []string{},
			}
		} else {
			old = t.cfg.APIs.Get(id)
			if old == nil || !t.cfg.CanSeeAPI(t.me, old) {
				return notFound("API", id)
			}
			if !canManageAPI(t.me, old) {
				return forbidden("only the API's owner or an admin may import into it")
			}
			n = *old
		}
		if ctx := q.Get("context"); ctx != "" {
			n.Context = ctx
		}
		if len(targets) > 0 && (create || len(q["target"]) > 0) {
			n.Endpoint = portico.Endpoint{Type: portico.Single, Targets: targets}
			if len(targets) > 1 {
				n.Endpoint.Type, n.Endpoint.Algorithm = portico.LoadBalancer, portico.RoundRobin
			}
		}
		n.Name = clip(d.title, maxName)
		if v := q.Get("name"); v != "" {
			n.Name = v
		}
		n.Version = clip(d.apiVersion, maxVersion)
		if v := q.Get("version"); v != "" {
			n.Version = v
		}
		n.Description = clip(d.description, maxDescription)
		n.Tags = usableTags(d.tags)
		n.Resources = resources
		n.Document = ref
		n.UpdatedAt = t.now
		if err := validateAPI(&n); err != nil {
			return err
		}
		if validates(&n) && !compile {
			return portico.Errorf(portico.EConflict, "request validation was turned on for the API during the import; import again")
		}
		if err := checkAPIRefs(t.cfg, t.me, &n, old, false); err != nil {
			if portico.ErrorFieldOf(err) == "name" {
				if q.Has("name") || q.Has("version") {
					return portico.FieldErrorf(portico.EConflict, "name", "another API is named %q version %q: an API's name and version are unique in any case; "+
						"import into that API (api=ID), or give another name= or version=", n.Name, n.Version)
				}
				return portico.FieldErrorf(portico.EConflict, "document", "the document names the API %q version %q (info.title and info.version; "+
					"a WSDL's service and version 1), and another API has that name and version: an API's name and version are unique in any case; "+
					"import into that API (api=ID), give another name= or version=, or change them in the document", n.Name, n.Version)
			}
			return err
		}
		out = portico.ImportResult{API: &n, Created: create, DryRun: dryRun}
		if old != nil {
			out.Added, out.Removed = resourceDiff(old.Resources, n.Resources)
			oldRef = old.Document
		} else {
			out.Added, out.Removed = n.Resources, []portico.Resource{}
		}
		if dryRun {
			return errDryRun
		}
		t.put(&n)
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil {
		if !dryRun && (oldRef == nil || oldRef.SHA256 != ref.SHA256) {
			s.dropDocument(id, ref.SHA256)
		}
		return err
	}
	if !dryRun && oldRef != nil && oldRef.SHA256 != ref.SHA256 {
		s.dropDocument(id, oldRef.SHA256)
	}
	out.API = out.API.Redacted()
	if create && !dryRun {
		writeCreated(w, "/api/v1/apis/"+id, out)
		return nil
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// document is what the import takes from a description document.
type document struct {
	format        portico.DocumentFormat
	version       string // of the format
	stored        []byte // what the document store keeps
	title         string
	apiVersion    string
	description   string
	tags, servers []string
	context       string // derived, for a new API
	resources     []portico.Resource
}

// readDocument reads an OpenAPI document, or a WSDL one (XML: its first
// character other than a space is "<").
func readDocument(doc []byte) (*document, error) {
	if portico.DocumentMediaType(doc) == "text/xml" {
		svc, err := soap.ParseWSDL(doc)
		if err != nil {
			return nil, err
		}
		d := &document{
			format: portico.FormatWSDL, version: "1.1", stored: doc,
			title: svc.Name, apiVersion: "1", description: svc.Documentation,
			context:   (&openapi.Spec{Title: svc.Name}).Context(),
			resources: svc.Resources(),
		}
		if len(svc.Endpoints) > 0 {
			d.servers = []string{svc.Endpoints[0].Address}
		}
		return d, nil
	}
	spec, err := openapi.Parse(doc)
	if err != nil {
		return nil, err
	}
	return &document{
		format: portico.FormatOpenAPI, version: spec.OpenAPI, stored: spec.Document,
		title: spec.Title, apiVersion: spec.Version, description: spec.Description,
		tags: spec.Tags, servers: spec.Servers, context: spec.Context(),
		resources: resourcesOf(spec.Operations),
	}, nil
}

// maxParses bounds the documents a node parses at once (imports and
// config applies): the parser's model of a document at openapi.MaxNodes
// takes about 0.5 GB while it is built.
const maxParses = 2

// parseSlot waits for one of the maxParses slots, until ctx ends, and
// returns the function that frees it.
func (s *Server) parseSlot(ctx context.Context) (func(), error) {
	select {
	case s.parses <- struct{}{}:
		return func() { <-s.parses }, nil
	case <-ctx.Done():
		return nil, &portico.Error{Code: portico.EUnavailable, Message: "the node is parsing other documents; try again", Err: ctx.Err()}
	}
}

// errDryRun ends a dry run's update before it writes.
var errDryRun = errors.New("dry run")

// dropDocument deletes a document no API refers to any more, if the
// Config does not say otherwise: the write that dropped it may have
// raced another node's import of the same document into the same API.
func (s *Server) dropDocument(api, sha string) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if a := s.cv.Load(); a != nil {
		if cur := a.APIs.Get(api); cur != nil && cur.Document != nil && cur.Document.SHA256 == sha {
			return
		}
	}
	if err := s.documents().DeleteDocument(ctx, api, sha); err != nil {
		s.log.Warn("an API's old document stays in the store", "api", api, "sha256", sha, "err", err)
	}
}

// resourcesOf makes an API's resources of a document's operations.
func resourcesOf(ops []openapi.Operation) []portico.Resource {
	rs := make([]portico.Resource, 0, len(ops))
	seen := map[string]bool{}
	for _, o := range ops {
		r := portico.Resource{
			Pattern: o.Resource(),
			Path:    clip(o.Path, 2048),
			Summary: clip(o.Summary, 1000),
		}
		// An operation ID the document gives twice (a mistake OpenAPI
		// forbids, and real documents make) is kept the first time.
		if id := clip(o.OperationID, 200); id != "" && !seen[id] {
			r.OperationID, seen[id] = id, true
		}
		rs = append(rs, r)
	}
	return rs
}

// resourceDiff lists the resources of to that from lacks and those of
// from that to lacks, by method and path.
func resourceDiff(from, to []portico.Resource) (added, removed []portico.Resource) {
	key := func(r portico.Resource) string {
		if r.Path == "" { // a SOAP operation: every one is POST /
			return r.Pattern + " " + r.OperationID + " " + r.SOAPAction
		}
		return r.Pattern + " " + r.Path
	}
	has := func(rs []portico.Resource) map[string]bool {
		m := make(map[string]bool, len(rs))
		for _, r := range rs {
			m[key(r)] = true
		}
		return m
	}
	inFrom, inTo := has(from), has(to)
	added, removed = []portico.Resource{}, []portico.Resource{}
	for _, r := range to {
		if !inFrom[key(r)] {
			added = append(added, r)
		}
	}
	for _, r := range from {
		if !inTo[key(r)] {
			removed = append(removed, r)
		}
	}
	return added, removed
}

// importTargets returns the backend URLs given, checked, or else the
// document's absolute http(s) servers.
func importTargets(given, servers []string) ([]portico.Target, error) {
	var ts []portico.Target
	if len(given) > 0 {
		for _, g := range given {
			ts = append(ts, portico.Target{URL: g})
		}
		return ts, nil // validateAPI checks them, naming endpoint.targets[i]
	}
	for _, s := range servers {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			continue
		}
		if !slices.ContainsFunc(ts, func(t portico.Target) bool { return t.URL == s }) {
			ts = append(ts, portico.Target{URL: s})
		}
		if len(ts) == 10 {
			break
		}
	}
	return ts, nil
}

// usableTags keeps the tags portico.CheckTags takes, at most
// portico.MaxTags: a document's tags are free text.
func usableTags(tags []string) []string {
	var out []string
	for _, t := range tags {
		if len(out) == portico.MaxTags {
			break
		}
		if portico.CheckTags(append(slices.Clone(out), t)) == nil {
			out = append(out, t)
		}
	}
	return out
}

// clip makes a document's text fit a field: control characters become
// spaces, bidirectional controls go, spaces at the ends go, and the text is cut at max bytes on a
// character boundary.
func clip(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case portico.IsBidiControl(r):
			return -1
		case unicode.IsControl(r) || r == utf8.RuneError:
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimSpace(s[:cut])
}

// exportOpenAPI answers GET /api/v1/apis/{id}/openapi: the API as the
// gateway publishes it, an OpenAPI 3.1 document (openapi.Export) — its
// imported document with the gateway's servers and security in place of
// the backend's, or else one made of its resources. Whoever may see the
// API may read it, anonymous visitors of public APIs too: it names no
// backend.
func (s *Server) exportOpenAPI(w http.ResponseWriter, r *http.Request, c *call) error {
	a := c.cfg.APIs.Get(r.PathValue("id"))
	if a == nil || !c.cfg.CanSeeAPI(c.user, a) {
		return notFound("API", r.PathValue("id"))
	}
	in := openapi.ExportInput{API: a, FrontDoor: s.PublicURL}
	if a.Document != nil && a.Document.Format == portico.FormatOpenAPI {
		doc, err := s.storedDocument(r.Context(), a)
		if err != nil {
			return err
		}
		in.Document = doc
	} else {
		in.Operations = exportOperations(a.Resources)
	}
	b, err := openapi.Export(in)
	if err != nil && in.Document == nil {
		// A resource written by hand that OpenAPI cannot name: the
		// document says what the gateway does, forward any path.
		in.Operations = nil
		b, err = openapi.Export(in)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(b)
	return nil
}

// exportOperations makes OpenAPI operations of resources written by
// hand: a pattern without a method is an operation for each of GET, PUT,
// POST, DELETE and PATCH.
func exportOperations(rs []portico.Resource) []openapi.Operation {
	var ops []openapi.Operation
	for _, res := range rs {
		method, pattern, ok := strings.Cut(res.Pattern, " ")
		methods := []string{method}
		if !ok {
			pattern, methods = res.Pattern, []string{"GET", "PUT", "POST", "DELETE", "PATCH"}
		}
		for i, m := range methods {
			o := openapi.Operation{Method: m, Path: cmp.Or(res.Path, pattern), Pattern: pattern, Summary: res.Summary}
			if i == 0 {
				o.OperationID = res.OperationID
			}
			ops = append(ops, o)
		}
	}
	return ops
}

// getDocument answers GET /api/v1/apis/{id}/document: the document the
// API was imported from, as stored. Only who may change the API reads
// it: it names the backend's servers.
func (s *Server) getDocument(w http.ResponseWriter, r *http.Request, c *call) error {
	a := c.cfg.APIs.Get(r.PathValue("id"))
	if a == nil || !c.cfg.CanSeeAPI(c.user, a) {
		return notFound("API", r.PathValue("id"))
	}
	if !canManageAPI(c.user, a) {
		return forbidden("only the API's owner or an admin may read its imported document")
	}
	if a.Document == nil {
		return portico.Errorf(portico.ENotFound, "API %s was not imported from a document", a.ID)
	}
	doc, err := s.storedDocument(r.Context(), a)
	if err != nil {
		return err
	}
	ct := "application/json"
	if a.Document.Format == portico.FormatWSDL {
		ct = "text/xml; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "sandbox")
	w.Write(doc)
	return nil
}

// checkStoredValidator checks, in a parse slot, that the gateway's
// request validator compiles a's stored document (see checkValidator).
func (s *Server) checkStoredValidator(ctx context.Context, a *portico.API) error {
	doc, err := s.storedDocument(ctx, a)
	if err != nil {
		return err
	}
	release, err := s.parseSlot(ctx)
	if err != nil {
		return err
	}
	defer release()
	return checkValidator(doc, "policies.validate_requests")
}

// storedDocument reads a's document from the document store.
func (s *Server) storedDocument(ctx context.Context, a *portico.API) ([]byte, error) {
	ds := s.documents()
	if ds == nil {
		return nil, portico.Errorf(portico.EUnavailable, "this node keeps no documents: its store is not a document store")
	}
	doc, err := ds.Document(ctx, a.ID, a.Document.SHA256)
	if portico.ErrorCodeOf(err) == portico.ENotFound {
		return nil, &portico.Error{Code: portico.EUnavailable, Message: "the API's document is missing from the store; import it again", Err: err}
	}
	return doc, err
}
