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
// description once, not at each view, and requests that come while it
// is being made wait for it rather than make it again. Keyed by API and
// document: a new import is a new key.
type refCache struct {
	mu      sync.Mutex
	refs    map[string]*openapi.Reference
	pending map[string]chan struct{} // descriptions being made, closed when done
}

// maxCachedRefs bounds the descriptions kept.
const maxCachedRefs = 64

// claim returns the description under key when there is one; else, when
// another request is making it, a channel closed once it is done; else
// nil, nil: the caller makes it and calls done.
func (c *refCache) claim(key string) (*openapi.Reference, chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.refs[key]; r != nil {
		return r, nil
	}
	if ch, ok := c.pending[key]; ok {
		return nil, ch
	}
	if c.pending == nil {
		c.pending = map[string]chan struct{}{}
	}
	c.pending[key] = make(chan struct{})
	return nil, nil
}

// done keeps r (when not nil) under key and wakes who waits for it.
func (c *refCache) done(key string, r *openapi.Reference) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r != nil {
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
	close(c.pending[key])
	delete(c.pending, key)
}

// reference returns the documentation of a's operations from its
// imported OpenAPI document, nil when it has none. The document is read
// through the admin API (GET /apis/{id}/openapi) as the visitor.
func (s *Server) reference(r *http.Request, token string, a *portico.API) (*openapi.Reference, error) {
	if a.Document == nil || a.Document.Format != portico.FormatOpenAPI {
		return nil, nil
	}
	key := a.ID + "/" + a.Document.SHA256
	for {
		ref, wait := s.refs.claim(key)
		if ref != nil {
			return ref, nil
		}
		if wait == nil {
			break // this request makes it
		}
		select { // another request is making it: one description at a time
		case <-wait:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	var ref *openapi.Reference
	defer func() { s.refs.done(key, ref) }()
	var doc json.RawMessage
	if err := s.do(r, apiCall{method: http.MethodGet, path: "/apis/" + url.PathEscape(a.ID) + "/openapi", token: token}, &doc); err != nil {
		return nil, err
	}
	var err error
	if ref, err = openapi.Describe(doc); err != nil {
		return nil, err
	}
	return ref, nil
}
