package redisstore

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseSentinelURL(t *testing.T) {
	o, err := parseSentinelURL("redis-sentinel://ann:p%40ss@10.0.0.1:26380,10.0.0.2,[::1]:26381/mymaster/3?dial_timeout=2s&sentinel_password=sp")
	if err != nil {
		t.Fatal(err)
	}
	if o.MasterName != "mymaster" || o.DB != 3 || o.Username != "ann" || o.Password != "p@ss" ||
		o.SentinelPassword != "sp" || o.DialTimeout != 2*time.Second || o.TLSConfig != nil {
		t.Errorf("options %+v", o)
	}
	if want := []string{"10.0.0.1:26380", "10.0.0.2:26379", "[::1]:26381"}; !slices.Equal(o.SentinelAddrs, want) {
		t.Errorf("sentinels %v, want %v", o.SentinelAddrs, want)
	}
	o, err = parseSentinelURL("rediss-sentinel://s1:26379/m")
	if err != nil || o.DB != 0 || o.TLSConfig == nil || o.MasterName != "m" || o.Password != "" {
		t.Errorf("TLS URL: %+v %v", o, err)
	}
	for _, bad := range []string{
		"redis-sentinel://s1:26379",             // no master
		"redis-sentinel://s1:26379/",            // no master
		"redis-sentinel://s1:26379/m/x",         // db not a number
		"redis-sentinel://s1:26379,,s2/m",       // empty address
		"redis-sentinel://s1:26379/m?bogus=1",   // unknown option
		"redis-sentinel://:s3cret@s1:26379/m/x", // the password stays out of the message
	} {
		_, err := parseSentinelURL(bad)
		if err == nil {
			t.Errorf("%s: no error", bad)
		} else if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "redis-sentinel://") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if !IsSentinelURL("redis-sentinel://x/m") || !IsSentinelURL("rediss-sentinel://x/m") || IsSentinelURL("redis://x/0") {
		t.Error("IsSentinelURL")
	}
}

func TestParseClusterURL(t *testing.T) {
	o, err := parseClusterURL("redis-cluster://ann:p%40ss@10.0.0.1:7000,10.0.0.2?dial_timeout=2s")
	if err != nil {
		t.Fatal(err)
	}
	if o.Username != "ann" || o.Password != "p@ss" || o.DialTimeout != 2*time.Second || o.TLSConfig != nil {
		t.Errorf("options %+v", o)
	}
	if want := []string{"10.0.0.1:7000", "10.0.0.2:6379"}; !slices.Equal(o.Addrs, want) {
		t.Errorf("nodes %v, want %v", o.Addrs, want)
	}
	if o, err := parseClusterURL("rediss-cluster://n1:7000/0"); err != nil || o.TLSConfig == nil {
		t.Errorf("TLS URL: %+v %v", o, err)
	}
	for _, bad := range []string{
		"redis-cluster://n1:7000/3",            // only database 0
		"redis-cluster://n1:7000,,n2",          // empty address
		"redis-cluster://n1:7000?bogus=1",      // unknown option
		"redis-cluster://:s3cret@n1:7000/nope", // the password stays out of the message
	} {
		_, err := parseClusterURL(bad)
		if err == nil {
			t.Errorf("%s: no error", bad)
		} else if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "redis-cluster://") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if !IsClusterURL("redis-cluster://x") || !IsClusterURL("rediss-cluster://x") || IsClusterURL("redis://x/0") {
		t.Error("IsClusterURL")
	}
}

// TestRedact: the secrets of every form of data store URL stay out of
// RedactURL's result and of Open's error messages, however go-redis
// quotes the URL it was given.
func TestRedact(t *testing.T) {
	for _, u := range []string{
		"redis://ann:s3cret@h:6379/0",
		"redis-sentinel://s1:26379,s2:26379/mymaster/0?sentinel_password=s3cret",
		"redis-sentinel://u:s3cret@[::1]:26379,[::1]:26380/mymaster/0",
		"redis-sentinel://u:s3cret%21x@s1/m/0",
		"redis-cluster://u:s3cret@n1:7000,n2:7000?dial_timeout=x",
		"redis-sentinel://u:s3cret!x@s1/m/0?bogus=1",
		"redis-sentinel://s1/m/0?sentinel_password=s3cret!x&bogus=1",
		"redis-sentinel://u:s3cret@h1:abc/m/0?sentinel_password=s3cret",
		"redis-cluster://u:s3cret@h1:abc",
	} {
		if r := RedactURL(u); strings.Contains(r, "s3cret") {
			t.Errorf("RedactURL(%q) = %q", u, r)
		}
		for _, parse := range []func(string) error{
			func(u string) error { _, err := parseSentinelURL(u); return err },
			func(u string) error { _, err := parseClusterURL(u); return err },
		} {
			if err := parse(u); err != nil && strings.Contains(redactURL(err, u), "s3cret") {
				t.Errorf("%s: %s", u, redactURL(err, u))
			}
		}
	}
}
