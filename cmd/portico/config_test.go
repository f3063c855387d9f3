package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLoadConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "portico.yaml")
	os.WriteFile(file, []byte("gateway_addr: \":1111\"\nadmin_addr: \":2222\"\nlog_level: debug\nlb_factor: 3\nshutdown_timeout: 5s\n"), 0o644)
	env := map[string]string{"PORTICO_CONFIG": file, "PORTICO_ADMIN_ADDR": ":3333", "PORTICO_LOG_FORMAT": "json"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	c, err := LoadConfig([]string{"--log-format", "text", "--data-dir", "/tmp/x"}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.ConfigFile = file
	want.GatewayAddr = ":1111" // file
	want.AdminAddr = ":3333"   // env over file
	want.LogLevel = "debug"    // file
	want.LogFormat = "text"    // flag over env
	want.DataDir = "/tmp/x"    // flag
	want.LBFactor = 3          // file
	want.ShutdownTimeout = time.Second * 5
	if c != want {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("gatway_addr: x\n"), 0o644)
	none := func(string) (string, bool) { return "", false }
	for _, args := range [][]string{
		{"--config", bad},
		{"--log-level", "loud"},
		{"--lb-factor", "0"},
		{"--nope"},
		{"extra"},
	} {
		if _, err := LoadConfig(args, none); err == nil {
			t.Errorf("LoadConfig(%q) succeeded", args)
		}
	}
}

func TestNodeFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, NodeFile), []byte("datastore: redis://127.0.0.1:7000/0\n"), 0o644)
	none := func(string) (string, bool) { return "", false }
	c, err := LoadConfig([]string{"--data-dir", dir}, none)
	if err != nil || c.Datastore != "redis://127.0.0.1:7000/0" {
		t.Fatalf("node file not applied: %q, %v", c.Datastore, err)
	}
	c, err = LoadConfig([]string{"--data-dir", dir, "--datastore", "embedded"}, none)
	if err != nil || c.Datastore != "embedded" {
		t.Fatalf("a flag must win over the node file: %q, %v", c.Datastore, err)
	}
}
