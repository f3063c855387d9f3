package console_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/portico-gw/portico/internal/consoletest"
)

// postUpload sends the import form as a browser does: multipart, with
// the CSRF token of the last page read and the console's Origin.
func postUpload(t *testing.T, cl *consoletest.Client, base string, fields map[string]string, doc []byte) (int, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if _, ok := fields["csrf"]; !ok {
		mw.WriteField("csrf", cl.CSRF)
	}
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if doc != nil {
		fw, _ := mw.CreateFormFile("document", "petstore.yaml")
		fw.Write(doc)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/console/apis/import", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", base)
	st, body, _ := cl.Do(req)
	return st, body
}

// TestImportForm: a publisher imports a document from the console, sees
// the resources it adds, previews a re-import that removes one, and gets
// errors at the form's fields.
func TestImportForm(t *testing.T) {
	c := consoletest.New(t)
	addUser(t, c, "pat", "publisher")
	doc, err := os.ReadFile("../openapi/testdata/petstore-openapi30.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cl := c.SignIn(t, "pat", "pat-password-1")
	if st, body := cl.Get("/console/apis/import"); st != http.StatusOK || !strings.Contains(body, `enctype="multipart/form-data"`) {
		t.Fatalf("import page: %d", st)
	}
	// A preview of a new API links to no page: there is none.
	if st, pre := postUpload(t, cl, c.URL, map[string]string{"dry_run": "1", "context": "/preview"}, doc); st != http.StatusOK || strings.Contains(between(pre, "import-result", "</section>"), "/console/apis/") {
		t.Errorf("the preview of a new API: %d, links to a page", st)
	}
	st, body := postUpload(t, cl, c.URL, nil, doc)
	if st != http.StatusOK || !strings.Contains(body, "<h2>Created</h2>") || !strings.Contains(body, "<code>GET /pets/*</code> showPetById") {
		t.Fatalf("import: %d\n%s", st, body)
	}
	// A second import of the same document as a new API is refused: its
	// name and version are the first one's.
	if st, _ := postUpload(t, cl, c.URL, map[string]string{"context": "/again"}, doc); st == http.StatusOK {
		t.Errorf("a second API of the same name and version: %d", st)
	}
	// With a name of its own it is taken.
	if st, b := postUpload(t, cl, c.URL, map[string]string{"context": "/again", "name": "Pets <Two>", "version": "2"}, doc); st != http.StatusOK ||
		!strings.Contains(b, "<h2>Created</h2>") || !strings.Contains(b, "Pets &lt;Two&gt;") {
		t.Errorf("a second API named in the form: %d\n%s", st, b)
	}
	id := consoletest.Field(body, "api")
	if id == "" {
		t.Fatal("the form does not keep the new API's ID for the next import")
	}
	// The API page links back to the form, with the document's facts.
	if _, page := cl.Get("/console/apis/" + id); !strings.Contains(page, `/console/apis/import?api=`+id) || !strings.Contains(page, "openapi 3.0.0") {
		t.Error("the API's page has no import link or document facts")
	}

	// A preview of a document without createPets saves nothing.
	cut := bytes.Replace(doc, []byte("    post:\n      summary: Create a pet"), []byte("    x-post:\n      summary: Create a pet"), 1)
	st, body = postUpload(t, cl, c.URL, map[string]string{"api": id, "dry_run": "1"}, cut)
	if st != http.StatusOK || !strings.Contains(body, "Preview: nothing was saved") || !strings.Contains(between(body, "Resources removed", "</ul>"), "createPets") {
		t.Fatalf("preview: %d\n%s", st, body)
	}
	if _, b := c.API(t, "pat", "pat-password-1", "GET", "/apis/"+id, ""); !strings.Contains(b, "createPets") {
		t.Error("the preview saved")
	}

	// Errors at their fields, the form kept.
	st, body = postUpload(t, cl, c.URL, map[string]string{"api": id}, []byte("openapi: 3.0.0\ninfo: {title: x\n"))
	if st != http.StatusBadRequest || !strings.Contains(body, "field-error") || !strings.Contains(body, "line") || !strings.Contains(body, `value="`+id+`"`) {
		t.Errorf("a broken document: %d\n%s", st, between(body, "<main", "</main>"))
	}
	st, body = postUpload(t, cl, c.URL, map[string]string{"context": "/a/../b"}, doc)
	if st != http.StatusBadRequest || !strings.Contains(body, `value="/a/../b"`) {
		t.Errorf("a bad context: %d", st)
	}
	if st, _ = postUpload(t, cl, c.URL, nil, nil); st != http.StatusBadRequest {
		t.Errorf("no document: %d, want 400", st)
	}
	// A name the admin API refuses shows at its field, the form kept.
	long := strings.Repeat("n", 201)
	st, body = postUpload(t, cl, c.URL, map[string]string{"context": "/long", "name": long}, doc)
	if st != http.StatusBadRequest || !strings.Contains(between(body, `id="name"`, "</p>"), "field-error") || !strings.Contains(body, `value="`+long+`"`) {
		t.Errorf("a name too long: %d, want 400 shown at the name field", st)
	}
	if st, _ = postUpload(t, cl, c.URL, map[string]string{"csrf": "00"}, doc); st != http.StatusForbidden {
		t.Errorf("a wrong CSRF token: %d, want 403", st)
	}
	if st, _, _ = cl.Post("/console/apis/import", nil); st != http.StatusUnsupportedMediaType {
		t.Errorf("a URL-encoded post: %d, want 415", st)
	}
	big := append(bytes.Repeat([]byte(" "), 17<<20), doc...)
	if st, _ = postUpload(t, cl, c.URL, nil, big); st != http.StatusRequestEntityTooLarge {
		t.Errorf("an 17 MiB upload: %d, want 413", st)
	}
}
