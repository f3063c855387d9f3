package console

import (
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/portico-gw/portico"
)

// importData is what the import page shows: the form as typed, and the
// admin API's answer after an import or a preview.
type importData struct {
	API     string // the ID of the API to update; "" creates one
	Context string
	Name    string // in place of the document's title ("": the document's)
	Version string // in place of the document's version
	Targets string // one URL a line
	Result  *portico.ImportResult
}

// importPage shows the form that imports an OpenAPI document: as a new
// API, or (?api=ID, from an API's page) into an existing one.
func (s *Server) importPage(w http.ResponseWriter, r *http.Request, ss *session) {
	d := importData{API: r.URL.Query().Get("api")}
	s.render(w, r, http.StatusOK, "api_import", &page{Title: "Import an API", Session: ss, Data: d})
}

// importAPI sends the uploaded (or pasted) document to POST
// /api/v1/apis/import with the form's options, and shows what changed;
// errors show at their fields, the form kept.
func (s *Server) importAPI(w http.ResponseWriter, r *http.Request, ss *session) {
	f := r.PostFormValue
	d := importData{API: strings.TrimSpace(f("api")), Context: strings.TrimSpace(f("context")),
		Name: strings.TrimSpace(f("name")), Version: strings.TrimSpace(f("version")), Targets: f("targets")}
	var doc []byte
	if file, _, err := r.FormFile("document"); err == nil {
		doc, err = io.ReadAll(file)
		file.Close()
		if err != nil {
			s.fail(w, r, ss, http.StatusBadRequest, "The document could not be read.")
			return
		}
	}
	if len(doc) == 0 {
		doc = []byte(f("text"))
	}
	title := "Import an API"
	if len(doc) == 0 {
		s.render(w, r, http.StatusBadRequest, "api_import", &page{Title: title, Session: ss, Data: d,
			Error: &apiError{Status: http.StatusBadRequest, Field: "document", Message: "Choose a document file or paste one."}})
		return
	}
	q := url.Values{}
	if d.API != "" {
		q.Set("api", d.API)
	}
	if d.Context != "" {
		q.Set("context", d.Context)
	}
	if d.Name != "" {
		q.Set("name", d.Name)
	}
	if d.Version != "" {
		q.Set("version", d.Version)
	}
	for _, t := range strings.Fields(d.Targets) {
		q.Add("target", t)
	}
	if f("dry_run") != "" {
		q.Set("dry_run", "true")
	}
	var res portico.ImportResult
	if err := s.do(r, apiCall{method: http.MethodPost, path: "/apis/import", query: q, raw: doc, rawType: portico.DocumentMediaType(doc), token: ss.token}, &res); err != nil {
		s.formFailed(w, r, ss, err, "api_import", title, d)
		return
	}
	d.Result = &res
	if !res.DryRun {
		d.API = res.API.ID
	}
	s.render(w, r, http.StatusOK, "api_import", &page{Title: title, Session: ss, Data: d})
}
