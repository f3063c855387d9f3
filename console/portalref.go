package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sync"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/openapi"
)

// refCache keeps the documentation of the operations of the documents
// the portal's pages showed last (openapi.Describe of the API's
// export), so that a page of an API with a 10 MB document costs its
// description once, not at each view. Keyed by API and document: a new
// import is a new key.
type refCache struct {
	mu   sync.Mutex
	refs map[string]*openapi.Reference
}

// maxCachedRefs bounds the descriptions kept.
const maxCachedRefs = 64

func (c *refCache) get(key string) *openapi.Reference {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refs[key]
}

func (c *refCache) put(key string, r *openapi.Reference) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refs == nil {
		c.refs = map[string]*openapi.Reference{}
	}
	if len(c.refs) >= maxCachedRefs {
		for k := range c.refs { // any one goes
			delete(c.refs, k)
			break
		}
	}
	c.refs[key] = r
}

// reference returns the documentation of a's operations from its
// imported OpenAPI document, nil when it has none. The document is read
// through the admin API (GET /apis/{id}/openapi) as the visitor.
func (s *Server) reference(r *http.Request, token string, a *portico.API) (*openapi.Reference, error) {
	if a.Document == nil || a.Document.Format != portico.FormatOpenAPI {
		return nil, nil
	}
	key := a.ID + "/" + a.Document.SHA256
	if ref := s.refs.get(key); ref != nil {
		return ref, nil
	}
	var doc json.RawMessage
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/apis/" + url.PathEscape(a.ID) + "/openapi", token: token}, &doc); err != nil {
		return nil, err
	}
	ref, err := openapi.Describe(doc)
	if err != nil {
		return nil, err
	}
	s.refs.put(key, ref)
	return ref, nil
}
