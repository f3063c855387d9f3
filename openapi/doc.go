// Package openapi reads API descriptions — Swagger 2.0, OpenAPI 3.0 and
// 3.1, in YAML or JSON — into what Portico makes of them (Parse, Spec,
// Operation, Spec.Context), compares two of them (Diff), writes an API
// as the gateway publishes it as an OpenAPI 3.1 document (Export), and
// checks requests against an API's document (NewValidator, Validator,
// Problem).
// It is a library of pure functions: no I/O, no goroutines of its own,
// no state between calls (the parser it uses builds its model on
// goroutines it waits for, and keeps a cache it clears). Documents come
// from outside (issue 12's import): Parse takes any bytes and refuses,
// with an *Error naming the JSON pointer and line of the problem, what
// it cannot take whole.
//
// # Moving parts
//
//   - parse.go: Parse and the types. The document goes to the parser
//     (libopenapi), set never to follow a reference out of the document
//     and not to log; the checks below run on the parser's node tree, and
//     read the Spec from it, before the parser builds its model
//     (model.go) as the last check. The Spec is not read from the model:
//     the parser is lenient where the checks are not (it takes
//     "operationID" for "operationId"), and the Spec must say what the
//     errors point at.
//   - tree.go: limits on the tree as YAML aliases expand it (MaxDepth,
//     what aliases may add, keys twice, keys that are not strings), the
//     $refs collected, and aliases and merge keys expanded into a plain
//     tree when there are any. That tree, as JSON, is what the parser
//     then reads: it never sees an alias.
//   - check.go: the $refs (only inside the document, each to something,
//     no cycle of bare $refs, chains of at most 32) and the parts of the
//     document Portico reads, in the form OpenAPI gives them.
//   - pattern.go: path templates to resource patterns ("/pets/{id}" →
//     "/pets/*"), each one checked by portico.ValidateResourcePattern.
//   - context.go: a context path derived from the first server or the
//     title, in the form the admin API takes.
//   - export.go and convert.go: Export, and the conversion of a stored
//     Swagger 2.0 or OpenAPI 3.0 document to OpenAPI 3.1.
//   - jsonenc.go: node trees to and from JSON, in the order written.
//   - validate.go, validateparam.go, validatebody.go, validatejson.go:
//     request validation; budget.go: what it may cost (below).
//
// # Hostile documents
//
// Parse refuses documents over MaxDocumentBytes (16 MiB) before reading
// them; JSON that does not parse, with its line and column; a YAML
// stream of several documents; nesting deeper than MaxDepth (100: large
// real documents nest 25 levels); aliases that expand the document by
// more than 2^20 nodes or 16 MiB ("billion laughs"), or an alias inside
// its own anchor; a key twice in a mapping (found in linear time: the
// parser's own check is quadratic in a mapping's keys and is off); every
// $ref not starting with "#" (files, URLs: never fetched, whatever the
// parser would do); and the rest check.go lists. Every refusal has a
// test (refuse_test.go), and FuzzParse checks that Parse never panics,
// refuses only with an *Error, and that what it accepts exports and
// parses again alike. Parse recovers from a panic of the parser on its
// own goroutine (the document is refused); one on the goroutines the
// parser starts to build its model would end the process: fuzzing has
// found none.
//
// The time is linear in the size: a 15 MB document of 9,000 schemas
// nested 10 to 48 levels, the parser's costliest shape found, takes
// 1.6–3 s; a 3.8 MB YAML mapping of 300,000 keys 0.8–1 s.
//
// # Choosing the parser
//
// Issue 12 asks for a well-kept parser: github.com/getkin/kin-openapi
// (v0.153.0) or github.com/pb33f/libopenapi (v0.42.5), compared on real
// documents. Both are MIT-licensed and both load the Swagger 2.0, OpenAPI
// 3.0 and 3.1 documents of testdata and Asana's (152 operations): the
// 3.1 petstore with type arrays, a path item by $ref to
// components/pathItems and webhooks, and the webhook-only 3.1 example.
// kin converts Swagger 2.0 to OpenAPI 3.0 (openapi2conv); libopenapi
// has a model of its own for 2.0 and no conversion. Measured on a
// 2-core machine shared with other work, best of three, with a document
// generated as large_test.go does (10 MB, 1,000 operations, 250 schemas
// of 150 properties that refer to each other, parameters, bodies and
// responses by $ref):
//
//	                               kin-openapi            libopenapi
//	load, 10 MB JSON               1.34 s (2.0–3.9 s      0.51 s, 187 MB allocated,
//	                               under load), 974 MB    208 MB peak RSS
//	                               allocated, 552 MB RSS
//	  with line/column origins     2.0 s, 1,029 MB        (always)
//	load, 10 MB YAML               0.90 s, 219 MB         0.84 s, 183 MB
//	validate, 10 MB JSON           57 s, 5.9 GB           — (no document validation
//	                               (examples off)         in the module)
//	alias bomb in a schema, 1.3 KB out of memory at 4 GB  refused in 15 ms
//	"billion laughs" in an         refused (YAML          refused (its YAML
//	  extension                    decoder)               decoder), with a path
//	5,000 chained $refs, 243 KB    39.6 s, 5.3 GB         0.22 s
//	300,000 YAML keys, 3.8 MB      > 100 s (stopped)      > 100 s; 1.0 s with
//	                                                      SkipJSONConversion
//	3,000 nested schemas, 111 KB   0.13 s, 45 MB          1.3 s, 508 MB
//	external $ref (file, URL)      never read (strace:    never read; "component
//	                               no open, no connect);  `#/Pet` does not exist";
//	                               "disallowed external   logs to stdout unless
//	                               reference"             given a logger
//	$ref cycle A → B → A           accepted silently      refused, with line:col;
//	                                                      also legal recursion
//	                                                      through required
//	                                                      properties (Stripe's)
//	error locations                JSON pointer on type   line:column on syntax
//	                               errors; Validate's     and reference errors
//	                               errors name the path
//	                               and method only
//	invalid documents (no info,    found by Validate      accepted (paths: [],
//	  bad "in", path without "/")  only                   parameters: 5 too)
//
// Portico uses libopenapi. It meets the 2 s bound on the 10 MB document
// with room to spare and is the faster on every large input, and it
// survived every hostile input but the quadratic key check, which a
// configuration option turns off; kin ran out of memory on a 1.3 KB
// document and took 40 s on a 243 KB one, and its validation, the one
// way it finds an invalid document, took 57 s on the 10 MB document and
// refuses real ones (Asana's) for an example that does not match its
// schema. libopenapi's gaps are filled here: Parse checks itself what
// Portico reads (check.go), with the JSON pointer and line of each
// problem; it refuses external references with its own message; it
// ignores the circular-reference findings real schemas have; and
// Export converts Swagger 2.0 itself (convert.go), as it must bring
// OpenAPI 3.0 to 3.1 anyway, which kin does not do either. For the
// request validation issue 12 asks next, libopenapi's companion module
// libopenapi-validator reads the same model.
//
// With the checks, Parse takes 0.33 s and 203 MB for the 10 MB JSON
// document and 0.55–0.68 s and 252 MB for its YAML form
// (BenchmarkParseLarge).
//
// # Request validation
//
// NewValidator compiles an API's stored document once (the gateway does
// it off the request path, once per document SHA-256; the admin API
// when validation is turned on, to refuse a document it cannot use);
// Validate then checks a request, from any number of goroutines, and
// returns at most MaxProblems problems, each with where it is ("path",
// "query", "header", "cookie", "body"), the parameter's name or the body
// value's JSON pointer, and a message. Swagger 2.0 is converted and 3.0
// schemas upgraded first, as Export does (an array parameter of Swagger
// 2.0 without collectionFormat is csv, which the conversion alone would
// read as exploded; a form field keeps its collectionFormat as its
// encoding), so that every schema is JSON Schema 2020-12. The operation
// is found by the path inside the API (the gateway strips the context)
// and the method: literal segments before templated ones
// ("/orders/latest" before "/orders/{id}"), templates inside a segment
// ("/files/{name}.json") matched in linear time without a regular
// expression, HEAD as GET when the document has no HEAD. Parameters are
// read by their style (simple, label, matrix, form with and without
// explode, spaceDelimited, pipeDelimited, deepObject) or their content,
// their text taken as the type the schema asks for before the schema
// checks it; bodies by their Content-Type against the media types
// declared (exact, then "type/*", then "*/*") and read as that type says
// (validatebody.go): JSON, a form or multipart form as an object of its
// fields, text as a string, a binary string by its size. What the
// validator cannot read against a schema that constrains it (an XML
// body, a part of another type than JSON for an object field) is a
// problem: nothing of a request passes unchecked. Formats are asserted
// (the schema library's, and int32 and int64). Validate's doc comment
// lists what is checked and what is not.
//
// Hostile input: schema patterns run on Go's regexp (the schema
// library's default), whose time is linear in the text — "^(a+)+$"
// against 100,000 "a"s and a "!" is a test — and a pattern it does not
// take (a lookahead) makes NewValidator refuse the document, naming the
// pattern, rather than skip the check. Bodies are read by validatejson.go,
// which refuses a key twice in an object (which one counts is up to the
// backend's parser), nesting deeper than MaxDepth, and numbers over
// 1,000 characters or with an exponent over 1,000 (the schema library
// reads numbers as big.Rat: "1e1000000" alone costs 30 ms). The gateway
// bounds the body before (threat protection's MaxBodyBytes, else 1
// MiB). Messages do not quote a value that failed a pattern, and are cut
// to 300 bytes; NewValidator's errors name places in the document, never
// the compiler's resource. FuzzValidate checks that Validate never
// panics, keeps to MaxProblems and never takes for JSON a body that is
// not.
//
// # The budget
//
// A document sets what each request costs: the schema library has no
// step limit, evaluates every alternative of an anyOf that fails and
// every one of a oneOf, allocates an error for each failure, reads
// numbers as big.Rat for each enum member, and a regular expression
// costs, for each byte, as many steps as Go's matcher runs threads. A
// document of schemas L0…L13, each an anyOf of three $refs to the next,
// made a 4-byte body cost 9 s and 1.8 GB; a pattern of a hundred
// ".{1,1000}" in a row 11.6 s on a 2 KB string, going on after the
// client left. budget.go bounds it in two steps.
//
// At NewValidator, for every schema a request's values meet, the most
// one value can cost is worked out for each depth the body reader allows
// (0 to MaxDepth), level by level over the graph of compiled schemas:
// on one value, the schemas applied to it add up (allOf, anyOf, oneOf,
// not, if, then, else, $ref, dependentSchemas), with their enum and
// const members and the numbers they read; on a member or item, the
// parent's schemas visiting it and each of its schemas that may take it
// (the most costly of properties and additionalProperties, every
// patternProperties, unevaluatedProperties, propertyNames; prefixItems
// or items, contains, unevaluatedItems, uniqueItems hashing it). A cycle
// that applies a schema to the same value again is refused (the library
// would refuse every value reaching it), as is a $dynamicRef or
// $recursiveRef resolved by the way to it. Regular expressions are
// compiled by the package's own engine for the library: a program over
// MaxPatternSize instructions is refused, and each pattern is priced by
// the most threads Go's NFA can run at once on it, found by following
// the sets of instructions it reaches when every character is taken to
// match (an upper bound for any text: 4 for "^.{1,255}$", whose 513
// instructions a program size would count, 1,779 for ten ".{1,100}" in
// a row). A document whose values could cost more than MaxValueCost
// units (500) or whose bytes more than MaxPatternWork steps (2,000) is
// refused, with the place where the cost adds up ("at
// /components/schemas/L8/anyOf: checking one value of a request can
// cost up to 727 schema evaluations here, over the 500…"). So every
// request costs at most a known multiple of its size. The bounds leave
// room for real documents: the documents of testdata cost at most 26
// units a body value and 141 for an operation's parameters together
// (Asana's, whose opt_fields list hundreds of names), 11 steps a byte;
// the 10 MB document of large_test.go 10 units, and the analysis takes
// 11 ms of its compilation. Within them, an anyOf of three $refs nests
// four deep, an enum holds about 130 numbers or 7,900 names.
//
// At Validate, the body read is priced before any schema runs, by a dry
// run over the schemas and the instance that follows the library's
// steps, taking every branch (pricer), stops once over MaxRequestCost
// (600,000 units) and refuses the body; a body too small to reach it at
// the document's bounds is not priced. A unit is about one evaluation:
// 0.22–0.3 µs passing, up to 1 µs failing (its error); a 1 MiB body of
// the orders documents prices at 382,000 and takes 85 ms. The library
// cannot be stopped inside an evaluation (no context, no step hook: its
// extensions see no request), so the dry run is the run-time step
// budget; between parameters and before the body, a request whose
// context is done is not checked further.
//
// BenchmarkValidateWorst measures documents at the bounds on the 2-core
// test machine, under a load average of 8 (other work): an anyOf of 165
// alternatives all failing, 2 KiB of "1.5" items, 140–330 ms and 44 MB;
// a pattern of 1,779 threads, 2 KiB of 1,000-character strings, 20–25 ms
// and 34 KB; an enum of 120 numbers none matches, 2 KiB of "1" items,
// 140–250 ms and 31 MB; 1 MiB bodies of each are priced over the budget
// and refused in 1.4–220 ms, most of it reading the JSON (53 MB for
// 524,000 numbers). BenchmarkValidate's request (the orders documents,
// 2 KiB) is not priced and costs what it did: 82.9 KB, 2,093
// allocations.
//
// # Choosing the validator
//
// Issue 12 offers github.com/pb33f/libopenapi-validator (v0.16.3, for
// libopenapi's model; it builds with the v0.42.5 Parse uses) or
// parameter checks written here over a JSON Schema library
// (github.com/santhosh-tekuri/jsonschema/v6 v6.0.3). Both were measured
// on the same request, a PUT with a path parameter, a query parameter,
// a header with a pattern and a 2 KiB JSON body of 23 items checked
// against patterns, bounds and an enum, on the 2-core machine shared
// with other work:
//
//	                        libopenapi-validator      here, santhosh-tekuri
//	per request             265–377 µs, 111 KB,       211–273 µs, 82 KB,
//	                        1,991 allocations         1,766 allocations
//	new modules             8: its own, a fork of     1 (and golang.org/x/text,
//	                        santhosh-tekuri's JSON    already in the build)
//	                        Schema library, regexp2,
//	                        goxml2json, goccy/go-yaml,
//	                        go-openapi/jsonpointer,
//	                        x/net, x/text
//	regular expressions     Go's regexp for schemas   Go's regexp
//	                        (regexp2, a backtracking
//	                        engine, in its Arazzo
//	                        package and CLI only)
//	Swagger 2.0             no (3.x model only)       converted here
//
// Both spend most of the time in the same JSON Schema engine
// (libopenapi-validator uses a fork of santhosh-tekuri's), half of it
// reading the body and checking numbers as big.Rat; the validator adds
// its routing, its parameter decoding and, by default, checks of
// security requirements (the backend's, which the gateway's auth
// replaces) to it. Portico writes the parameter checks here: 20–30 %
// less time and allocation, one module instead of eight, the
// hostile-input rules above (duplicate keys, number bounds) where the
// body is read, and refusals in Portico's terms. The cost: the
// parameter styles and body readers are Portico's to keep. With the final code, BenchmarkValidate
// measures the request above at 200–311 µs, 83 KB and 2,093
// allocations (load average 3.3). In `make bench-auth`, the
// portico-validate target (the 2 KiB POST checked against a document
// of patterns and bounds on every member) costs the gateway 394 µs of
// CPU per request, against 138 µs for the same POST with threat
// protection alone: 3,689 requests/s, 0.25 × the portico target's
// GET, on a machine that was not quiet. Most of it is the JSON Schema
// engine's (number checks as big.Rat, an allocation per value): a
// validator compiled here for the common keywords, falling back to the
// library for the others, is where to gain more.
package openapi
