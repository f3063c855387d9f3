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
	"regexp"
	"strings"
	"syscall"

	"github.com/portico-gw/portico/configfile"
)

const configUsage = `usage:
  portico config export [--admin URL] [--timeout D] [--include consumers] [-o FILE]
  portico config diff   [--admin URL] [--timeout D] -f FILE [--prune] [--select tag=TAG]… [--allow-nested]
  portico config apply  [--admin URL] [--timeout D] -f FILE [--prune] [--select tag=TAG]… [--allow-nested] [--dry-run]

Credentials come from the environment: PORTICO_ADMIN_TOKEN (a bearer token), or
PORTICO_ADMIN_USER and PORTICO_ADMIN_PASSWORD; --admin defaults to PORTICO_ADMIN_URL,
else http://localhost:9080; --timeout bounds each call of the admin API (default 2m).
Exit status: 0 no difference (diff) or done, 2 a difference (diff), 1 an error.
`

// Exit statuses of portico config.
const (
	configOK         = 0
	configError      = 1
	configDifference = 2 // diff found the store and the file apart
)

// configCmd runs `portico config export|diff|apply`: the configuration
// as a file (package configfile), through the admin API of any node.
func configCmd(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runConfig(ctx, args, os.LookupEnv, os.Stdin, stdout, stderr)
}

func runConfig(ctx context.Context, args []string, getenv func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "export" && args[0] != "diff" && args[0] != "apply") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, configUsage)
			return configOK
		}
		fmt.Fprint(stderr, configUsage)
		return configError
	}
	verb := args[0]
	fs := flag.NewFlagSet("portico config "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	admin := fs.String("admin", "", "the admin API of a node: http(s)://host:port (default $PORTICO_ADMIN_URL, else "+defaultAdminURL+")")
	timeout := timeoutFlag(fs)
	var include, file, out string
	var prune, dryRun, allowNested bool
	var tags []string
	if verb == "export" {
		fs.StringVar(&include, "include", "", "consumers: also the users, the applications, their keys (by hash) and subscriptions")
		fs.StringVar(&out, "o", "", "write the file here (default: standard output)")
	} else {
		fs.StringVar(&file, "f", "", "the configuration file (- for standard input)")
		fs.BoolVar(&prune, "prune", false, "also delete what the file lacks, in the sections it has (keys: revoke)")
		fs.Func("select", "tag=TAG: only the APIs with this tag, in the file and the store (repeatable: any of them)", func(v string) error {
			if !strings.HasPrefix(v, "tag=") {
				return errors.New("select takes tag=TAG")
			}
			tags = append(tags, v)
			return nil
		})
		fs.BoolVar(&allowNested, "allow-nested", false, "let APIs' contexts lie under or over other owners' APIs")
		if verb == "apply" {
			fs.BoolVar(&dryRun, "dry-run", false, "print what would change, change nothing")
		}
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return configOK
		}
		return configError
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "portico config %s: unexpected argument %q\n", verb, fs.Arg(0))
		return configError
	}
	if include != "" && include != "consumers" {
		fmt.Fprintf(stderr, "portico config export: --include takes consumers, not %q\n", include)
		return configError
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "portico config %s: %v\n", verb, err)
		return configError
	}
	var f *configfile.File
	var body []byte
	if verb != "export" {
		if file == "" {
			fmt.Fprintf(stderr, "portico config %s: -f FILE is required\n", verb)
			return configError
		}
		var err error
		if f, body, err = readConfigFile(file, stdin); err != nil {
			return fail(err)
		}
	}
	c, err := newAdminClient(ctx, *admin, *timeout, getenv)
	if err != nil {
		return fail(err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	if verb == "export" {
		q := url.Values{}
		if include != "" {
			q.Set("include", include)
		}
		b, _, err := c.do(ctx, "GET", "/api/v1/config", q, nil, "")
		if err != nil {
			return fail(err)
		}
		if out == "" {
			_, err = stdout.Write(b)
		} else {
			err = os.WriteFile(out, b, 0o600)
		}
		if err != nil {
			return fail(err)
		}
		return configOK
	}
	q := url.Values{}
	if prune {
		q.Set("prune", "true")
	}
	if dryRun || verb == "diff" {
		q.Set("dry_run", "true")
	}
	if allowNested {
		q.Set("allow_nested", "true")
	}
	for _, t := range tags {
		q.Add("select", t)
	}
	var res struct {
		DryRun      bool                    `json:"dry_run"`
		Version     int64                   `json:"version"`
		Changes     int                     `json:"changes"`
		Differences []configfile.Difference `json:"differences"`
		LeftOut     []string                `json:"left_out"`
	}
	if err := c.call(ctx, "POST", "/api/v1/config/apply", q, body, "application/json", nil, &res); err != nil {
		return fail(placeError(file, f, err))
	}
	for _, d := range res.Differences {
		for _, l := range d.Lines() {
			fmt.Fprintln(stdout, terminalSafe(l))
		}
	}
	if len(res.LeftOut) > 0 {
		fmt.Fprintf(stderr, "left out by --select: %s\n", terminalSafe(leftOut(res.LeftOut)))
	}
	switch {
	case verb == "diff" && len(res.Differences) > 0:
		fmt.Fprintf(stderr, "%s would make the store (configuration version %d) match %s\n", changes(res.Changes), res.Version, file)
		return configDifference
	case verb == "diff" || len(res.Differences) == 0:
		fmt.Fprintf(stderr, "the store (configuration version %d) matches %s\n", res.Version, file)
	case res.DryRun:
		fmt.Fprintf(stderr, "dry run: %s would be applied to configuration version %d\n", changes(res.Changes), res.Version)
	default:
		fmt.Fprintf(stderr, "applied %s as configuration version %d\n", changes(res.Changes), res.Version)
	}
	return configOK
}

// leftOut words what a --select apply left out of the file: its
// sections, then its APIs (the first few by name).
func leftOut(items []string) string {
	var sections, apis []string
	for _, it := range items {
		if strings.HasPrefix(it, "api ") {
			apis = append(apis, it)
		} else {
			sections = append(sections, it)
		}
	}
	var parts []string
	if len(sections) > 0 {
		parts = append(parts, "the file's "+strings.Join(sections, ", "))
	}
	if n := len(apis); n > 0 {
		shown := strings.Join(apis[:min(n, 5)], ", ")
		if n > 5 {
			shown += fmt.Sprintf(" and %d more", n-5)
		}
		what := "APIs"
		if n == 1 {
			what = "API"
		}
		parts = append(parts, fmt.Sprintf("%d %s without a selected tag (%s)", n, what, shown))
	}
	return strings.Join(parts, "; ")
}

func changes(n int) string {
	if n == 1 {
		return "1 change"
	}
	return fmt.Sprintf("%d changes", n)
}

// readConfigFile reads and decodes the file (- for stdin), and returns
// it with the body to send: the same file as JSON, which the admin API
// reads as YAML and takes as the JSON it requires of request bodies.
func readConfigFile(name string, stdin io.Reader) (*configfile.File, []byte, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, configfile.MaxFileBytes+1))
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, nil, err
	}
	f, err := configfile.Decode(b)
	if err != nil {
		var fe *configfile.Error
		if errors.As(err, &fe) && fe.Line > 0 {
			return nil, nil, fmt.Errorf("%s:%d: %s", name, fe.Line, strings.TrimPrefix(fe.Error(), fmt.Sprintf("line %d: ", fe.Line)))
		}
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	body, err := json.Marshal(f)
	if err != nil {
		return nil, nil, err
	}
	return f, body, nil
}

var linePrefix = regexp.MustCompile(`^line \d+: `)

// placeError puts an error of the admin API about a field of the file in
// the file: FILE:LINE: the message without the line of the body sent.
func placeError(name string, f *configfile.File, err error) error {
	var ae *adminError
	if !errors.As(err, &ae) || ae.Field == "" || f == nil {
		return err
	}
	line := f.Line(ae.Field)
	if line == 0 {
		return err
	}
	return fmt.Errorf("%s:%d: %s", name, line, terminalSafe(linePrefix.ReplaceAllString(ae.Message, "")))
}
