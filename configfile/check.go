package configfile

import (
	"fmt"
	"strings"

	"github.com/portico-gw/portico"
)

// check checks what Decode promises beyond the types: names, their
// uniqueness, lists of names, keys and documents.
func (f *File) check() error {
	name := func(path, field, v string) error {
		if strings.TrimSpace(v) == "" {
			p := path + "." + field
			return errorf(f.Line(path), p, "%s is required", field)
		}
		return nil
	}
	// unique returns a check that key k of the item at path is not the
	// key of an earlier item.
	unique := func(what string) func(path, k, shown string) error {
		seen := map[string]string{}
		return func(path, k, shown string) error {
			if first, ok := seen[k]; ok {
				return errorf(f.Line(path), path, "%s %s is given twice (also %s)", what, shown, first)
			}
			seen[k] = path
			return nil
		}
	}
	if f.Plans != nil {
		u := unique("the plan")
		for i, p := range *f.Plans {
			path := fmt.Sprintf("plans[%d]", i)
			if err := name(path, "name", p.Name); err != nil {
				return err
			}
			shown := quoteValue(p.Name)
			if p.Owner != "" {
				shown += " of " + quoteValue(p.Owner)
			}
			if err := u(path, strings.ToLower(p.Owner)+"\x00"+strings.ToLower(p.Name), shown); err != nil {
				return err
			}
		}
	}
	if f.Groups != nil {
		u := unique("the group")
		for i, g := range *f.Groups {
			path := fmt.Sprintf("groups[%d]", i)
			if err := name(path, "name", g.Name); err != nil {
				return err
			}
			if err := u(path, strings.ToLower(g.Name), quoteValue(g.Name)); err != nil {
				return err
			}
			if g.Members != nil {
				if err := f.names(path+".members", *g.Members, true); err != nil {
					return err
				}
			}
		}
	}
	if f.APIs != nil {
		u := unique("the API")
		for i, a := range *f.APIs {
			path := fmt.Sprintf("apis[%d]", i)
			if err := name(path, "name", a.Name); err != nil {
				return err
			}
			if err := name(path, "version", a.Version); err != nil {
				return err
			}
			if err := u(path, portico.APINameKey(a.Name, a.Version), quoteValue(a.Name)+" version "+quoteValue(a.Version)); err != nil {
				return err
			}
			if err := f.planRefs(path+".plans", a.Plans); err != nil {
				return err
			}
			if err := f.names(path+".groups", a.Groups, true); err != nil {
				return err
			}
			if err := f.checkDocument(path+".document", a.Document); err != nil {
				return err
			}
		}
	}
	if f.Users != nil {
		u := unique("the user")
		for i, us := range *f.Users {
			path := fmt.Sprintf("users[%d]", i)
			if err := name(path, "username", us.Username); err != nil {
				return err
			}
			if err := u(path, strings.ToLower(us.Username), quoteValue(us.Username)); err != nil {
				return err
			}
		}
	}
	if f.Applications != nil {
		u := unique("the application")
		keys := unique("the key")
		for i, a := range *f.Applications {
			path := fmt.Sprintf("applications[%d]", i)
			if err := name(path, "name", a.Name); err != nil {
				return err
			}
			if err := name(path, "owner", a.Owner); err != nil {
				return err
			}
			if err := u(path, strings.ToLower(a.Owner)+"\x00"+strings.ToLower(a.Name), quoteValue(a.Name)+" of "+quoteValue(a.Owner)); err != nil {
				return err
			}
			for j, k := range a.Keys {
				kp := fmt.Sprintf("%s.keys[%d]", path, j)
				if !portico.IsSHA256(k.Hash) {
					return errorf(f.Line(kp+".hash"), kp+".hash", "hash must be the key's hex SHA-256: 64 digits 0-9 and a-f")
				}
				if k.Prefix == "" || len(k.Prefix) > 16 || strings.ContainsFunc(k.Prefix, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
					return errorf(f.Line(kp+".prefix"), kp+".prefix", "prefix must be the first characters of the key: 1 to 16 printable ASCII characters")
				}
				if err := keys(kp, k.Hash, "with hash "+k.Hash[:12]+"…"); err != nil {
					return err
				}
			}
			subs := unique("a subscription to")
			for j, s := range a.Subscriptions {
				sp := fmt.Sprintf("%s.subscriptions[%d]", path, j)
				if err := name(sp, "api", s.API); err != nil {
					return err
				}
				if err := name(sp, "api_version", s.APIVersion); err != nil {
					return err
				}
				switch s.Status {
				case "", portico.Pending, portico.Approved:
					if err := name(sp, "plan", s.Plan.Name); err != nil {
						return err
					}
				case portico.Cancelled, portico.Evicted:
				default:
					return errorf(f.Line(sp+".status"), sp+".status", "status must be one of pending, approved, cancelled, evicted, not %s", quoteValue(string(s.Status)))
				}
				if err := subs(sp, portico.APINameKey(s.API, s.APIVersion), "API "+quoteValue(s.API)+" version "+quoteValue(s.APIVersion)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// names checks a list of names: none empty, none twice (in any case when
// fold).
func (f *File) names(path string, names []string, fold bool) error {
	seen := make(map[string]int, len(names))
	for i, n := range names {
		p := fmt.Sprintf("%s[%d]", path, i)
		if strings.TrimSpace(n) == "" {
			return errorf(f.Line(p), p, "a name is required")
		}
		k := n
		if fold {
			k = strings.ToLower(n)
		}
		if j, ok := seen[k]; ok {
			return errorf(f.Line(p), p, "%s is listed twice (also %s[%d])", quoteValue(n), path, j)
		}
		seen[k] = i
	}
	return nil
}

// planRefs checks a list of plans: each has a name, none is given twice
// (by name and owner, in any case).
func (f *File) planRefs(path string, refs []PlanRef) error {
	seen := make(map[string]int, len(refs))
	for i, r := range refs {
		p := fmt.Sprintf("%s[%d]", path, i)
		if strings.TrimSpace(r.Name) == "" {
			return errorf(f.Line(p), p, "a name is required")
		}
		k := strings.ToLower(r.Owner) + "\x00" + strings.ToLower(r.Name)
		if j, ok := seen[k]; ok {
			return errorf(f.Line(p), p, "plan %s is listed twice (also %s[%d])", quoteValue(r.String()), path, j)
		}
		seen[k] = i
	}
	return nil
}

// checkDocument checks an API's document: a known format, JSON content
// for OpenAPI and text for WSDL, within portico.MaxDocumentBytes.
func (f *File) checkDocument(path string, d *Document) error {
	if d == nil {
		return nil
	}
	c := path + ".content"
	switch d.Format {
	case portico.FormatOpenAPI:
		if !d.Content.IsJSON() {
			return errorf(f.Line(c), c, "an openapi document's content is the document as a mapping (YAML or JSON), not text")
		}
	case portico.FormatWSDL:
		if d.Content.IsJSON() {
			return errorf(f.Line(c), c, "a wsdl document's content is its text")
		}
	default:
		return errorf(f.Line(path+".format"), path+".format", "format must be %q or %q", portico.FormatOpenAPI, portico.FormatWSDL)
	}
	if n := len(d.Content.Bytes()); n == 0 || n > portico.MaxDocumentBytes {
		return errorf(f.Line(c), c, "the document must be 1 to %d bytes (as JSON for openapi), not %d", portico.MaxDocumentBytes, n)
	}
	return nil
}
