package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestWebhookAllowCIDRFlag: --webhook-allow-cidr takes CIDRs and
// addresses, comma-separated or repeated; a source of higher rank
// (file < environment < flags) replaces the list of a lower one rather
// than adding to it; a malformed range or one with bits set past its
// length is refused.
func TestWebhookAllowCIDRFlag(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "portico.yaml")
	os.WriteFile(file, []byte("webhook_allow_cidr: [10.0.0.0/8, 127.0.0.1]\n"), 0o600)
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"repeated and comma-separated", []string{"--webhook-allow-cidr", "10.0.0.0/8", "--webhook-allow-cidr", "192.168.1.7, fd00::/8"}, nil,
			[]string{"10.0.0.0/8", "192.168.1.7/32", "fd00::/8"}},
		{"file list", []string{"--config", file}, nil, []string{"10.0.0.0/8", "127.0.0.1/32"}},
		{"environment over file", []string{"--config", file}, map[string]string{"PORTICO_WEBHOOK_ALLOW_CIDR": "172.16.0.0/12"},
			[]string{"172.16.0.0/12"}},
		{"flag over environment", []string{"--webhook-allow-cidr", "::1"}, map[string]string{"PORTICO_WEBHOOK_ALLOW_CIDR": "172.16.0.0/12"},
			[]string{"::1/128"}},
		{"none", nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(append(tc.args, "--data-dir", dir), func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			prefixes, err := c.webhookAllowCIDRs()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range prefixes {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	none := func(string) (string, bool) { return "", false }
	for _, tc := range []struct{ value, want string }{
		{"10.0.0.5/8", "did you mean 10.0.0.0/8"},
		{"example.com", "want a CIDR"},
		{"10.0.0.0/33", "want a CIDR"},
	} {
		_, err := LoadConfig([]string{"--data-dir", dir, "--webhook-allow-cidr", tc.value}, none)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v", tc.value, err)
		}
	}
}
