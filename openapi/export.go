package openapi

import (
	"fmt"
	"slices"
	"strings"

	yaml "github.com/pb33f/go-yaml"

	"github.com/portico-gw/portico"
)

// ExportInput is what Export describes: an API as the gateway publishes
// it.
type ExportInput struct {
	// API gives the document's title (Name), version, description (when
	// not empty), the server path (Context), the security schemes (Auth,
	// as Effective gives it) and the OAuth2 scopes (Plans). Required.
	API *portico.API
	// FrontDoor is the gateway's public base URL, such as
	// "https://api.example.com": the document's one server is FrontDoor
	// followed by the API's context. Empty: the server is the context
	// alone, relative to where the document is read from, and the OAuth2
	// token URL likewise.
	FrontDoor string
	// Document is the API's stored document (Spec.Document) for an
	// imported API: the export is that document, as OpenAPI 3.1, with the
	// gateway's servers and security instead of the backend's. Nil: the
	// export is made from Operations.
	Document []byte
	// Operations are the API's operations when there is no Document.
	// None: one path, "/{path}", documents that the gateway forwards any
	// request under the context.
	Operations []Operation
}

// Security scheme names in exported documents.
const (
	SchemeAPIKey      = "api_key"       // the X-Api-Key header
	SchemeAPIKeyQuery = "api_key_query" // the api_key query parameter
	SchemeBasic       = "basic"
	SchemeJWT         = "jwt"
	SchemeOAuth2      = "oauth2"
)

// The gateway's names for where a caller's API key goes (package proxy
// reads them; a package below the root cannot import it).
const (
	apiKeyHeader = "X-Api-Key"
	apiKeyQuery  = "api_key"
)

// Export returns an OpenAPI 3.1 JSON document of an API as the gateway
// publishes it: info from the API; one server, the front door and the
// context; a security scheme for each of the API's auth methods (api_key
// as the X-Api-Key header and the api_key query parameter; basic; jwt as
// a bearer JWT; oauth2 as client credentials at the gateway's token
// endpoint, with the API's plans as scopes), any one of which will do,
// and none for an open API. The paths are the stored document's, whose
// servers and security requirements (the backend's) are removed
// everywhere; or else the operations'; or else (also for a stored
// document without paths) one catch-all path. Its errors are EInvalid: no API, a Document that is not JSON, an
// operation with a bad method or path.
func Export(in ExportInput) ([]byte, error) {
	a := in.API
	if a == nil {
		return nil, portico.Errorf(portico.EInvalid, "export needs an API")
	}
	base := strings.TrimRight(in.FrontDoor, "/")
	var root *yaml.Node
	if in.Document != nil {
		var err error
		if root, err = readJSON(in.Document); err != nil || root.Kind != yaml.MappingNode {
			return nil, portico.FieldErrorf(portico.EInvalid, "document", "the API's stored document is not a JSON object")
		}
		switch {
		case get(root, "swagger") != nil:
			root = fromSwagger(root)
		case strings.HasPrefix(text(get(root, "openapi")), "3.0"):
			upgrade30(root)
		}
		set(root, "openapi", str("3.1.0"))
		removeBackendSettings(root)
		if p := get(root, "paths"); p == nil || !hasPath(p) {
			paths, _ := operationPaths(nil, !a.Auth.Open())
			set(root, "paths", paths)
		}
	} else {
		paths, err := operationPaths(in.Operations, !a.Auth.Open())
		if err != nil {
			return nil, err
		}
		root = mapping("openapi", str("3.1.0"), "info", mapping(), "paths", paths)
	}

	info := get(root, "info")
	if info == nil || info.Kind != yaml.MappingNode {
		info = mapping()
		insertAfter(root, "openapi", "info", info)
	}
	set(info, "title", str(a.Name))
	set(info, "version", str(a.Version))
	if a.Description != "" {
		set(info, "description", str(a.Description))
	}
	insertAfter(root, "info", "servers", seq(mapping(
		"url", str(base+a.Context),
		"description", str("The Portico gateway"),
	)))
	schemes, requirement := security(a, base)
	comps := get(root, "components")
	if len(schemes.Content) > 0 {
		insertAfter(root, "servers", "security", requirement)
		if comps == nil || comps.Kind != yaml.MappingNode {
			comps = mapping()
			set(root, "components", comps)
		}
		set(comps, "securitySchemes", schemes)
	}
	b := appendJSON(nil, root, "  ", 0)
	return append(b, '\n'), nil
}

// hasPath reports whether a paths object holds a path.
func hasPath(paths *yaml.Node) bool {
	for i := 0; i+1 < len(paths.Content); i += 2 {
		if strings.HasPrefix(paths.Content[i].Value, "/") {
			return true
		}
	}
	return false
}

// removeBackendSettings removes from a 3.1 document the servers and
// security requirements of its path items and operations and the
// top-level ones, its security schemes and its links' servers: they
// describe the backend, which callers reach only through the gateway.
// (Extensions and callbacks are the publisher's text, exported as
// written.)
func removeBackendSettings(root *yaml.Node) {
	del(root, "servers")
	del(root, "security")
	del(get(root, "components"), "securitySchemes")
	strip := func(item *yaml.Node) {
		if item == nil || item.Kind != yaml.MappingNode {
			return
		}
		del(item, "servers")
		for _, m := range methods {
			if op := get(item, m); op != nil && op.Kind == yaml.MappingNode {
				del(op, "servers")
				del(op, "security")
			}
		}
	}
	for _, container := range []*yaml.Node{get(root, "paths"), get(get(root, "components"), "pathItems")} {
		if container != nil && container.Kind == yaml.MappingNode {
			for i := 1; i < len(container.Content); i += 2 {
				strip(container.Content[i])
			}
		}
	}
	removeLinkServers(root, 0)
}

// removeLinkServers removes the server of every Link object (a mapping
// holding operationId or operationRef): a link's server names a backend
// as the document's servers do. It walks the whole tree, for links may
// sit in components, responses and callbacks.
func removeLinkServers(n *yaml.Node, depth int) {
	if n == nil || depth > MaxDepth {
		return
	}
	if n.Kind == yaml.MappingNode && (get(n, "operationId") != nil || get(n, "operationRef") != nil) {
		if s := get(n, "server"); s != nil && s.Kind == yaml.MappingNode {
			del(n, "server")
		}
	}
	for _, c := range n.Content {
		removeLinkServers(c, depth+1)
	}
}

// security returns the security schemes of a's auth methods and the
// top-level requirement that any one of them will do.
func security(a *portico.API, base string) (schemes, requirement *yaml.Node) {
	schemes, requirement = mapping(), seq()
	add := func(name string, scheme *yaml.Node, scopes ...*yaml.Node) {
		set(schemes, name, scheme)
		requirement.Content = append(requirement.Content, mapping(name, seq(scopes...)))
	}
	if a.Auth.Open() {
		return schemes, requirement
	}
	for _, t := range a.Auth.Effective() {
		switch t {
		case portico.AuthAPIKey:
			add(SchemeAPIKey, mapping("type", str("apiKey"), "in", str("header"), "name", str(apiKeyHeader),
				"description", str("An API key of an application subscribed to the API.")))
			add(SchemeAPIKeyQuery, mapping("type", str("apiKey"), "in", str("query"), "name", str(apiKeyQuery),
				"description", str("An API key of an application subscribed to the API, as a query parameter (the gateway removes it before forwarding).")))
		case portico.AuthBasic:
			add(SchemeBasic, mapping("type", str("http"), "scheme", str("basic"),
				"description", str("HTTP Basic: the application's ID as the user name and one of its API keys as the password.")))
		case portico.AuthJWT:
			add(SchemeJWT, mapping("type", str("http"), "scheme", str("bearer"), "bearerFormat", str("JWT"),
				"description", str("A JWT signed by one of the API's trusted issuers, as Authorization: Bearer.")))
		case portico.AuthOAuth2:
			scopes := mapping()
			for _, p := range a.Plans {
				set(scopes, p, str(fmt.Sprintf("Calls under the plan %s.", p)))
			}
			add(SchemeOAuth2, mapping("type", str("oauth2"),
				"description", str("An access token from the gateway's token endpoint: the application's ID as client_id and one of its API keys as client_secret."),
				"flows", mapping("clientCredentials", mapping(
					"tokenUrl", str(base+portico.TokenEndpointPath),
					"scopes", scopes,
				))))
		}
	}
	return schemes, requirement
}

// operationPaths returns the paths object for ops, or one catch-all path
// when there are none; secured adds the gateway's 401 and 403 answers.
func operationPaths(ops []Operation, secured bool) (*yaml.Node, error) {
	paths := mapping()
	if len(ops) == 0 {
		item := mapping(
			"summary", str("Any path under the API's context"),
			"description", str("The gateway forwards requests on every path under the API's context, with any method, to the API's backend."),
			"parameters", seq(pathParam("path", "Any path below the API's context (more than one segment too).")),
		)
		for _, m := range []string{"get", "put", "post", "delete", "patch"} {
			set(item, m, operationNode(Operation{OperationID: m, Summary: "Any " + strings.ToUpper(m) + " request"}, secured))
		}
		set(paths, "/{path}", item)
		return paths, nil
	}
	for i, o := range ops {
		m := strings.ToLower(o.Method)
		switch {
		case !slices.Contains(methods, m):
			return nil, portico.FieldErrorf(portico.EInvalid, fmt.Sprintf("operations[%d].method", i), "method %.50q is not one of OpenAPI's", o.Method)
		case !strings.HasPrefix(o.Path, "/") || checkTemplate(o.Path) != "":
			return nil, portico.FieldErrorf(portico.EInvalid, fmt.Sprintf("operations[%d].path", i), "path %.100q is not an OpenAPI path template", o.Path)
		}
		item := get(paths, o.Path)
		if item == nil {
			item = mapping()
			if names := templateNames(o.Path); len(names) > 0 {
				var ps []*yaml.Node
				for _, n := range names {
					ps = append(ps, pathParam(n, ""))
				}
				set(item, "parameters", seq(ps...))
			}
			set(paths, o.Path, item)
		}
		if get(item, m) == nil {
			set(item, m, operationNode(o, secured))
		}
	}
	return paths, nil
}

func operationNode(o Operation, secured bool) *yaml.Node {
	op := mapping()
	if o.OperationID != "" {
		set(op, "operationId", str(o.OperationID))
	}
	if o.Summary != "" {
		set(op, "summary", str(o.Summary))
	}
	rs := mapping("default", mapping("description", str("The backend's response.")))
	if secured {
		set(rs, "401", mapping("description", str("The gateway found no valid credentials.")))
		set(rs, "403", mapping("description", str("The caller's application has no approved subscription to the API, or the gateway's policies refuse the request.")))
		set(rs, "429", mapping("description", str("A rate limit or quota of the caller's plan is used up.")))
	}
	set(op, "responses", rs)
	return op
}

func pathParam(name, description string) *yaml.Node {
	p := mapping("name", str(name), "in", str("path"), "required", boolean(true))
	if description != "" {
		set(p, "description", str(description))
	}
	set(p, "schema", mapping("type", str("string")))
	return p
}

// templateNames returns the names of a path template's expressions, each
// once, in order.
func templateNames(t string) []string {
	var names []string
	for {
		i := strings.IndexByte(t, '{')
		j := strings.IndexByte(t, '}')
		if i < 0 || j < i {
			return names
		}
		if n := t[i+1 : j]; !slices.Contains(names, n) {
			names = append(names, n)
		}
		t = t[j+1:]
	}
}

// insertAfter sets key in mapping m to v: in place if it is there, else
// right after the key after (at the end if after is missing).
func insertAfter(m *yaml.Node, after, key string, v *yaml.Node) {
	if get(m, key) != nil {
		set(m, key, v)
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == after {
			m.Content = slices.Insert(m.Content, i+2, str(key), v)
			return
		}
	}
	m.Content = append(m.Content, str(key), v)
}
