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
