// Command portico runs the Portico API manager.
//
//	portico serve [flags]   run a node: gateway and admin API
//	portico version         print the version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

// Version returns the version of this build.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if dirty {
				rev += "-dirty"
			}
			return "dev-" + rev
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "dev"
}

const usage = `Portico is an API manager: a gateway and an admin API.

Usage:
  portico serve [flags]    run a node (portico serve -h lists the flags; SIGHUP reloads its TLS certificates)
  portico datastore migrate --to redis://host:port/db [--data-dir DIR] [--cluster-name NAME] [--force]
                           copy the embedded store's config, users and keys into Redis
  portico wsconfig --ws nginx|apache|apache-jk|haproxy|iis --out DIR (--cluster-xml FILE | --datastore URL) [--watch]
                           write the front-end web server's config for the cluster (portico wsconfig -h lists the flags)
  portico config export|diff|apply [flags]
                           the configuration as a file, through a node's admin API (portico config -h)
  portico api import [flags] FILE
                           import an OpenAPI or WSDL document as an API, or into one (portico api -h)
  portico version          print the version
`

func main() {
	if os.Getenv("GOGC") == "" {
		// The gateway allocates short-lived garbage per request; collecting
		// less often costs a little memory and buys throughput. GOGC set in
		// the environment wins.
		debug.SetGCPercent(400)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "portico", Version())
		return 0
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "datastore":
		return datastoreCmd(args[1:], stdout, stderr)
	case "wsconfig":
		return wsconfigCmd(args[1:], stdout, stderr)
	case "config":
		return configCmd(args[1:], stdout, stderr)
	case "api":
		return apiCmd(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "portico: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func serve(args []string, stdout, stderr io.Writer) int {
	cfg, err := LoadConfig(args, os.LookupEnv)
	if errors.Is(err, errHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "portico serve:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGHUP reloads the TLS certificates. Taken before Run, so that one
	// sent while the node starts does not end it (the default action).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	m := &Main{Config: cfg, Stdout: stdout, Stderr: stderr}
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(stderr, "portico serve:", err)
		m.Close()
		return 1
	}
	code := 0
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case err := <-m.Failed():
			fmt.Fprintln(stderr, "portico serve:", err)
			code = 1
			break wait
		case <-hup:
			m.ReloadCertificates() // logs what it did
		}
	}
	stop()
	if err := m.Close(); err != nil {
		fmt.Fprintln(stderr, "portico serve: shutdown:", err)
		return 1
	}
	return code
}
