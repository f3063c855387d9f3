// Package configfile is Portico's configuration as a file — config as
// code: the format (format_version 1, YAML), its strict reading (Decode)
// and deterministic writing (Encode), the file of a configuration
// (FromConfig), and what makes a store match a file (Plan). It is a
// library of pure functions over the root's types: no I/O, no
// goroutines, no state between calls; what needs I/O (reading an API's
// stored document) or the admin API's rules (Options.Validate) is passed
// in. The admin API serves it (GET /api/v1/config, POST
// /api/v1/config/apply) and `portico config export|diff|apply` calls
// those.
//
// # The format
//
// A file is a mapping: format_version: 1, then the sections plans,
// groups, apis, users and applications, each a list of entities with
// the fields of the admin API's bodies (snake_case, the same values),
// and with names where the store has IDs:
//
//	format_version: 1
//	plans:
//	  - name: gold
//	    owner: pat                      # a username
//	    rate_limit: {limit: 100, per: second, window: fixed}
//	groups:
//	  - name: partners
//	    members: [sam]                  # usernames
//	apis:
//	  - name: weather                   # an API is known by name and version
//	    version: "1.0"
//	    context: /weather/v1
//	    owner: pat
//	    state: published
//	    plans:                          # plans: by name those of the API's owner,
//	      - gold
//	      - {name: basic, owner: admin} # another owner's by name and owner
//	    groups: [partners]              # group names
//	    endpoint:
//	      type: single
//	      targets: [{url: "http://10.0.0.5:7001"}]
//	    document:                       # the imported OpenAPI document, inline
//	      format: openapi
//	      content: {openapi: 3.0.3, info: {title: Weather, version: "1.0"}, paths: {}}
//	users:                              # consumers: exported with include=consumers
//	  - {username: sam, roles: [subscriber]}
//	applications:
//	  - name: sam-app
//	    owner: sam
//	    keys: [{prefix: pk_Ab3dE, hash: <hex SHA-256 of the key>}]
//	    subscriptions: [{api: weather, api_version: "1.0", plan: gold, status: approved}]
//
// Entities are known by name, never by ID, so that a file applies to any
// store, and names are compared in any case: groups by name and users by
// username, APIs by name and version, plans by owner and name,
// applications by owner and name, keys by hash, subscriptions by
// application and API (one per application and API: the live one, else
// the one that ended last). The store keeps these names unique (package
// portico's names.go), at every route that creates or renames an entity:
// plans and applications among one owner's, so that no user can take a
// name another needs or make another's file ambiguous. A reference to a
// plan (PlanRef) is its name alone when the plan is the API owner's (in
// an API's plans) or, in a subscription, the plan of that name the API
// offers (else the API owner's); any other plan is named with its owner,
// {name: gold, owner: pat}. Another user's plan "gold" never changes what
// a file's "gold" is. A plan's owner is part of its name: a plan whose
// owner the file leaves out is one of whoever applies the file, and a
// plan given with another owner is another plan. A store written before
// names were unique may hold two entities of one name, or a plan without
// an owner: it cannot be exported (EConflict, naming both and how to
// rename one), and an apply refuses to name either.
//
// A section left out is not managed: an apply neither changes nor prunes
// that kind, so a file of APIs alone may be applied to a store whose
// plans are kept by hand; an empty section ([]) manages the kind and
// says there are none. Within an entity, what the file gives replaces
// what is stored (fields left out get the admin API's defaults), but for
// an API's state (left out: a new API is a draft, an existing one keeps
// its state), an API's owner (left out: a new API belongs to whoever
// applies the file, an existing one keeps its owner, and must be the
// applier's: a file that leaves the owner out never changes another
// user's API of the same name), a group's members (left
// out: kept, as the admin API's PUT keeps them) and a subscription's
// status (left out: approved).
//
// # Secrets
//
// No file holds a secret. Passwords are never exported, and a user a
// file creates has none until an admin sets one. API keys are given by
// the hex SHA-256 of their text (portico.HashKey), as the store keeps
// them: a key exported from one store works, with the same text, on the
// store the file is applied to. So a file can also create a key from any
// hash, one whose text whoever wrote the file knows: only admins apply
// files (SECURITY.md says so too). Only live keys are exported; a
// key the file gives that the store holds revoked is refused (a revoked
// key never comes back), a key's end (expires_at of a rotation) cannot
// be moved, and a key the file creates or gives an end must end after
// the apply. A user who signed up and waits for an admin's approval is
// exported with pending_approval (and disabled); the file gives that to
// the user it creates, and approves a stored one by enabling it. An HS256 JWT issuer's secret is exported as nothing
// (portico.JWTIssuer.Redacted); applied to the store it came from, the
// issuer keeps its stored secret (the admin API's keepSecrets, through
// Options.Validate). On another store the file must give the secret in
// key: differences show "(secret) → (another secret)", never the value.
//
// # Documents
//
// An API's imported document (portico.DocumentRef; the document itself
// in a portico.DocumentStore) is inline, under document.content: an
// OpenAPI document as a YAML mapping, in the order of its JSON, so that a
// file reads and diffs as YAML; a WSDL document as text. Decode reads an
// OpenAPI document back as JSON in canonical form (CanonicalJSON): keys
// in order, numbers as written, no insignificant space. Plan compares
// documents by SHA-256 and, when those differ, by canonical form (an
// import stores the JSON it was sent, which may be indented): the same
// document is no difference. A changed document is one of the
// Changeset's Documents, to store before the change that refers to it
// (PutDocument under the API's ID and SHA-256); the replaced one is in
// Dropped.
//
// # Plan
//
// Plan compares the file with a configuration entity by entity and
// returns a Changeset: the changes — new entities with new IDs, changed
// ones with their own, deletes first and in the order dependents go
// first — and the differences by entity and field, for people ("api
// weather 1.0: plans: [gold] → [gold silver]"). Entities whose file form
// does not differ are not written, so the same file applied twice
// changes nothing the second time, and export → apply on an empty store
// → export gives the same bytes. With Prune it deletes the entities of
// the sections the file has that the file lacks, with what the admin API
// deletes with them (an API's subscriptions, an application's keys and
// subscriptions, a user's applications and group memberships), and
// revokes an application's live keys the file lacks.
//
// # Select
//
// Select (select=tag=… of the admin API, --select of portico config)
// confines an apply to the selected APIs: those carrying one of the tags,
// in any case. Nothing outside the selection changes:
//
//   - the file's other sections (plans, groups, users, applications) are
//     left out, as if the file lacked them; a selected API's references
//     to plans, groups and owners are resolved in the store;
//   - an API of the file that carries no selected tag, in the file nor in
//     the store, is left out;
//   - an API the file gives with a selected tag that the store holds
//     without one is refused (it would take over an API of another
//     team), and so is an API the store holds with a selected tag that
//     the file gives without one (it would leave the selection): change
//     an API's tags with an apply without Select;
//   - Prune deletes only selected APIs the file lacks, with their
//     subscriptions, nothing of other kinds.
//
// What is left out is reported (Changeset.LeftOut: the sections, then
// the APIs), and the differences are those of the selected APIs alone.
//
// Plan resolves names and checks what it can see itself: a name that
// refers to nothing (or to what the apply deletes), names the store gives
// twice, keys. The admin API's rules come in through Options.Validate,
// for each entity it creates or changes, and the checks of the whole
// result (references, ownership, what may be deleted) are the admin
// API's, on the Config the changes give. Every error is an *Error placed
// in the file: the field from the file's root ("apis[3].plans[1]"), its
// line, and the entity's name in the message.
//
// # Bounds
//
// Decode refuses files over MaxFileBytes (64 MiB), of more than
// MaxValues (1.5 million) values, nesting deeper than MaxDepth (110),
// lists over MaxItems; anchors, aliases, merge keys, tags other than
// YAML's own, complex or repeated keys; more than one YAML document.
// Values are counted on the bytes before the parser runs (a bound of the
// nodes it makes, from the indicators that start them; FuzzValueBound):
// a parsed value costs about 330 bytes while the file is read, so a file
// at the bound takes about 500 MB, less than an imported document at the
// import's bound, and the admin API reads files in the parse slots
// of imports (two at a time per node). A document inline in the file is
// read once, as canonical JSON straight from the file's tree.
// FuzzDecode checks that Decode never panics, refuses only with an
// *Error, and that what it takes encodes to a file it takes again and
// encodes alike.
package configfile
