package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/portico-gw/portico"
)

const apiUsage = `usage:
  portico api import [--admin URL] [--timeout D] [--api ID] [--context PATH] [--target URL]…
                     [--name NAME] [--version VERSION] [--dry-run] FILE

Imports an OpenAPI 3.0/3.1 or Swagger 2.0 document (YAML or JSON) or a WSDL 1.1
document (FILE, or - for standard input) as a new API, or with --api into an API
(POST /api/v1/apis/import), and prints what it added and removed. --name and
--version take the place of the document's title and version (an API's name and
version are unique: one document imported twice needs them). Credentials come
from the environment: PORTICO_ADMIN_TOKEN, or PORTICO_ADMIN_USER and
PORTICO_ADMIN_PASSWORD; --admin defaults to PORTICO_ADMIN_URL, else
http://localhost:9080; --timeout bounds each call of the admin API (default 2m).
`

// apiCmd runs `portico api import`.
func apiCmd(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runAPI(ctx, args, os.LookupEnv, os.Stdin, stdout, stderr)
}

func runAPI(ctx context.Context, args []string, getenv func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "import" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, apiUsage)
			return 0
		}
		fmt.Fprint(stderr, apiUsage)
		return 2
	}
	fs := flag.NewFlagSet("portico api import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	admin := fs.String("admin", "", "the admin API of a node: http(s)://host:port (default $PORTICO_ADMIN_URL, else "+defaultAdminURL+")")
	timeout := timeoutFlag(fs)
	apiID := fs.String("api", "", "the ID of the API to import into (default: a new API)")
	ctxPath := fs.String("context", "", "the API's context path (default: derived from the document for a new API, else kept)")
	name := fs.String("name", "", "the API's name (default: the document's title)")
	version := fs.String("version", "", "the API's version (default: the document's)")
	dryRun := fs.Bool("dry-run", false, "print what would change, change nothing")
	var targets []string
	fs.Func("target", "a backend URL (repeatable; default: the document's servers for a new API, else kept)", func(v string) error {
		targets = append(targets, v)
		return nil
	})
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, "portico api import: give one FILE (- for standard input)\n\n"+apiUsage)
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "portico api import: %v\n", err)
		return 1
	}
	doc, err := readDocumentFile(fs.Arg(0), stdin)
	if err != nil {
		return fail(err)
	}
	q := url.Values{}
	if *apiID != "" {
		q.Set("api", *apiID)
	}
	if *ctxPath != "" {
		q.Set("context", *ctxPath)
	}
	for _, t := range targets {
		q.Add("target", t)
	}
	if *name != "" {
		q.Set("name", *name)
	}
	if *version != "" {
		q.Set("version", *version)
	}
	if *dryRun {
		q.Set("dry_run", "true")
	}
	c, err := newAdminClient(ctx, *admin, *timeout, getenv)
	if err != nil {
		return fail(err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	var res portico.ImportResult
	if err := c.call(ctx, "POST", "/api/v1/apis/import", q, doc, portico.DocumentMediaType(doc), nil, &res); err != nil {
		return fail(err)
	}
	if res.API == nil {
		return fail(errors.New("the admin API's answer names no API"))
	}
	verb := "updated"
	switch {
	case res.DryRun:
		verb = "would update (dry run, nothing saved)"
		if res.Created {
			verb = "would create (dry run, nothing saved)"
		}
	case res.Created:
		verb = "created (a draft: add plans and publish it)"
	}
	// What the server answers is printed with its control characters
	// escaped: a document's title or summary could hold a terminal's.
	fmt.Fprintf(stdout, "%s: %s\n", terminalSafe(fmt.Sprintf("%s %s %s at %s", res.API.ID, res.API.Name, res.API.Version, res.API.Context)), verb)
	for _, r := range res.Added {
		fmt.Fprintf(stdout, "+ %s\n", terminalSafe(resourceLine(r)))
	}
	for _, r := range res.Removed {
		fmt.Fprintf(stdout, "- %s\n", terminalSafe(resourceLine(r)))
	}
	return 0
}

// resourceLine shows a resource on one line: "GET /pets/{id} showPet".
func resourceLine(r portico.Resource) string {
	s := r.Pattern
	if method, _, ok := strings.Cut(r.Pattern, " "); ok && r.Path != "" {
		s = method + " " + r.Path
	}
	if r.OperationID != "" {
		s += " " + r.OperationID
	}
	if r.SOAPAction != "" {
		b, _ := json.Marshal(r.SOAPAction)
		s += " SOAPAction " + string(b)
	}
	return s
}

// readDocumentFile reads a document to import, at most
// portico.MaxDocumentBytes: a file, or standard input for "-".
func readDocumentFile(name string, stdin io.Reader) ([]byte, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, portico.MaxDocumentBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > portico.MaxDocumentBytes {
		return nil, fmt.Errorf("%s is larger than %d MiB, the most Portico imports", name, portico.MaxDocumentBytes>>20)
	}
	return b, nil
}
