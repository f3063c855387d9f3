package main

import (
	"os"
	"path/filepath"
	"strings"
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

// TestLoadConfigAuthSettings: the trusted proxies and the OAuth2 token
// lifetime are read from flags, the environment or the config file, and a
// bad value is refused at start, naming its flag.
func TestLoadConfigAuthSettings(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	c, err := LoadConfig([]string{"--trusted-proxies", "10.0.0.0/8", "--trusted-proxies", "192.0.2.7,::1",
		"--trusted-proxies-header", "Forwarded", "--oauth2-token-lifetime", "15m"}, none)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := c.trustedProxies()
	if err != nil || tp == nil || c.TrustedProxies != "10.0.0.0/8,192.0.2.7,::1" || c.OAuth2TokenLifetime != 15*time.Minute {
		t.Fatalf("read %q, %v, %v: %v", c.TrustedProxies, tp, c.OAuth2TokenLifetime, err)
	}
	if c, err := LoadConfig([]string{"--public-url", "https://api.example.com/v"}, none); err != nil || c.PublicURL != "https://api.example.com/v" {
		t.Fatalf("--public-url read as %q, %v", c.PublicURL, err)
	}
	if c, err := LoadConfig(nil, none); err != nil || c.TrustedProxies != "" || c.OAuth2TokenLifetime != time.Hour {
		t.Fatalf("defaults: %q %v, %v", c.TrustedProxies, c.OAuth2TokenLifetime, err)
	} else if tp, _ := c.trustedProxies(); tp != nil {
		t.Fatal("no --trusted-proxies trusts someone")
	}
	for _, tt := range []struct {
		args []string
		flag string
	}{
		{[]string{"--trusted-proxies", "10.0.0.0/33"}, "trusted-proxies"},
		{[]string{"--trusted-proxies", "gateway.example"}, "trusted-proxies"},
		{[]string{"--trusted-proxies", "10.0.0.0/8", "--trusted-proxies-header", "X-Real-IP"}, "trusted-proxies"},
		{[]string{"--oauth2-token-lifetime", "30s"}, "oauth2-token-lifetime"},
		{[]string{"--oauth2-token-lifetime", "48h"}, "oauth2-token-lifetime"},
		{[]string{"--oauth2-token-lifetime", "-1h"}, "oauth2-token-lifetime"},
		{[]string{"--public-url", "api.example.com"}, "public-url"},
		{[]string{"--public-url", "ftp://api.example.com"}, "public-url"},
		{[]string{"--public-url", "https://user:pw@api.example.com"}, "public-url"},
		{[]string{"--public-url", "https://api.example.com/?x=1"}, "public-url"},
		{[]string{"--public-url", "https://api.example.com/#top"}, "public-url"},
		{[]string{"--public-url", "https://"}, "public-url"},
	} {
		if _, err := LoadConfig(tt.args, none); err == nil || !strings.Contains(err.Error(), tt.flag) {
			t.Errorf("LoadConfig(%q): %v, want an error naming %s", tt.args, err, tt.flag)
		}
	}
}
