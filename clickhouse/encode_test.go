package clickhouse

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/internal/clickhousetest"
)

// unquoteLiteral reads a ClickHouse string literal the way its parser
// does: backslash escapes (\b \f \n \r \t \0 \a \v \xHH, and any other
// character stands for itself) inside single quotes. rest is what follows
// the closing quote.
func unquoteLiteral(lit string) (val, rest string, err error) {
	if !strings.HasPrefix(lit, "'") {
		return "", "", fmt.Errorf("no opening quote")
	}
	var b strings.Builder
	for i := 1; i < len(lit); i++ {
		switch c := lit[i]; c {
		case '\'':
			return b.String(), lit[i+1:], nil
		case '\\':
			i++
			if i >= len(lit) {
				return "", "", fmt.Errorf("backslash at the end")
			}
			switch e := lit[i]; e {
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '0':
				b.WriteByte(0)
			case 'a':
				b.WriteByte('\a')
			case 'v':
				b.WriteByte('\v')
			case 'x':
				return "", "", fmt.Errorf("\\x escape not expected from quoteString")
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fmt.Errorf("no closing quote")
}

func FuzzQuoteString(f *testing.F) {
	for _, s := range []string{"", "a", "'", `\`, `\'`, `'\`, "' OR 1=1 --", "a\x00b\nc\rd\te", "\xff'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit := quoteString(s)
		got, rest, err := unquoteLiteral(lit)
		if err != nil || got != s || rest != "" {
			t.Fatalf("quoteString(%q) = %s reads back as %q, rest %q, err %v", s, lit, got, rest, err)
		}
	})
}

// unescapeTSV undoes TabSeparated escaping of one field.
func unescapeTSV(f string) string {
	r := strings.NewReplacer(`\\`, `\`, `\t`, "\t", `\n`, "\n", `\r`, "\r", `\0`, "\x00")
	return r.Replace(f)
}

func FuzzAppendField(f *testing.F) {
	for _, s := range []string{"", "plain", "a\tb", "a\nb", `a\b`, `\N`, "\\\t\n\r\x00", "ünï"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := string(appendField(nil, s))
		if out[0] != '\t' {
			t.Fatalf("no leading tab: %q", out)
		}
		field := out[1:]
		if strings.ContainsAny(field, "\t\n\r\x00") {
			t.Fatalf("appendField(%q) = %q has a raw separator", s, out)
		}
		if got := unescapeTSV(field); got != s {
			t.Fatalf("appendField(%q) = %q reads back as %q", s, out, got)
		}
	})
}

func TestAppendDateTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	secs := []int64{0, 59, 86399, 86400, 951782400 /* 2000-02-29 */, 1709164800 /* 2024-02-29 */, math.MaxUint32}
	for range 10000 {
		secs = append(secs, rng.Int64N(math.MaxUint32+1))
	}
	for _, sec := range secs {
		want := time.Unix(sec, 0).UTC().Format(time.DateTime)
		if got := string(appendDateTime(nil, sec)); got != want {
			t.Fatalf("appendDateTime(%d) = %s, want %s", sec, got, want)
		}
	}
}

func TestAppendRowClamps(t *testing.T) {
	r := portico.Record{
		Time:            time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC),
		Status:          -1,
		RequestBytes:    -5,
		ResponseBytes:   math.MaxInt64,
		Latency:         -time.Second,
		UpstreamLatency: 1500 * time.Nanosecond,
	}
	got := strings.Split(strings.TrimSuffix(string(appendRow(nil, &r)), "\n"), "\t")
	if len(got) != len(columns) {
		t.Fatalf("%d fields, want %d", len(got), len(columns))
	}
	want := map[string]string{
		"time": "1970-01-01 00:00:00", "time_us": "0", "status": "0", "request_bytes": "0",
		"response_bytes": "9223372036854775807", "latency_us": "0", "upstream_latency_us": "1",
	}
	for i, c := range columns {
		if w, ok := want[c.name]; ok && got[i] != w {
			t.Errorf("%s = %q, want %q", c.name, got[i], w)
		}
	}
	r.Time = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
	r.Status = 70000
	got = strings.Split(string(appendRow(nil, &r)), "\t")
	if got[0] != "2106-02-07 06:28:15" || got[12] != "65535" {
		t.Errorf("far future / big status: time %q status %q", got[0], got[12])
	}
}

// TestQuoteStringServer checks quoteString against the server's own
// parser: every literal must read back as exactly the bytes quoted.
func TestQuoteStringServer(t *testing.T) {
	srv := clickhousetest.Start(t)
	rng := rand.New(rand.NewPCG(7, 7))
	values := []string{"", "'", `\`, `\'`, `''`, `\\'`, "' OR 1=1 --", "a\x00b\nc\rd\te", "\xff\xfe'", "ünï'cødé\\", "?", "{x:String}", "`", `"`}
	alphabet := []byte("'\\\"`\x00\n\r\t ab;-/*?{}\xff")
	for range 200 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		values = append(values, string(b))
	}
	var sel []string
	for _, v := range values {
		sel = append(sel, "hex("+quoteString(v)+")")
	}
	out := srv.Query(t, "SELECT "+strings.Join(sel, ", ")+" FORMAT TabSeparated")
	got := strings.Split(out, "\t")
	if len(got) != len(values) {
		t.Fatalf("%d values back, want %d", len(got), len(values))
	}
	for i, v := range values {
		if want := strings.ToUpper(hex.EncodeToString([]byte(v))); got[i] != want {
			t.Errorf("%q came back as hex %s, want %s", v, got[i], want)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err   error
		write bool
		want  errorKind
	}{
		{fmt.Errorf("dial tcp: connection refused"), true, kindAddress},
		{fmt.Errorf("dial tcp: connection refused"), false, kindAddress},
		{&serverError{Status: 500, Code: 241}, true, kindAddress}, // memory limit on insert
		{&serverError{Status: 500, Code: 241}, false, kindNext},   // a heavy query does not stop writes
		{&serverError{Status: 503}, false, kindAddress},           // a proxy in front says the server is gone
		{&serverError{Status: 404, Code: 60}, true, kindNext},     // table dropped: set it up again
		{&serverError{Status: 404, Code: 81}, false, kindNext},    // database dropped
		{&serverError{Status: 400, Code: 62}, true, kindFatal},    // syntax error: our bug, nowhere better
		{&serverError{Status: 400, Code: 27}, true, kindFatal},    // cannot parse input
		{&serverError{Status: 401, Code: 193}, false, kindFatal},  // wrong password
	}
	for _, tt := range tests {
		if got := classify(tt.err, tt.write); got != tt.want {
			t.Errorf("classify(%v, write=%v) = %d, want %d", tt.err, tt.write, got, tt.want)
		}
	}
}

func TestDropExpired(t *testing.T) {
	srv := clickhousetest.Start(t)
	s, err := New(Config{Addrs: []string{srv.Addr()}, RetentionDays: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	// Not Open: no retention job runs behind the test's back.
	if err := s.prepareAll(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	days := []time.Time{
		time.Date(2026, 5, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 6, 6, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 6, 7, 0, 0, 0, 0, time.UTC), // exactly the first day kept
		time.Date(2026, 6, 9, 12, 0, 0, 0, time.UTC),
		now,
	}
	for i, d := range days {
		if err := s.Write(ctx, []portico.Record{{Time: d, RequestID: fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.dropExpired(ctx, now); err != nil {
		t.Fatal(err)
	}
	got := srv.Query(t, "SELECT groupArray(request_id) FROM (SELECT request_id FROM portico.requests ORDER BY request_id)")
	if got != "['2','3','4']" {
		t.Fatalf("kept %s, want records 2, 3 and 4", got)
	}
	// Idempotent, and a negative retention keeps everything.
	if err := s.dropExpired(ctx, now); err != nil {
		t.Fatal(err)
	}
	s.SetRetentionDays(-1)
	if err := s.dropExpired(ctx, now.AddDate(1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if n := srv.Query(t, "SELECT count() FROM portico.requests"); n != "3" {
		t.Fatalf("count %s after a drop with retention off", n)
	}

	// Open runs the job at once: with a 1-day retention the store drops
	// everything before yesterday (UTC) by itself.
	s2, err := New(Config{Addrs: []string{srv.Addr()}, RetentionDays: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Open(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for srv.Query(t, "SELECT count() FROM portico.requests") != "0" {
		if time.Now().After(deadline) {
			t.Fatal("Open did not drop the expired partitions")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSetRetentionDays: a retention shortened at run time drops what it
// expires at once, without waiting for the hourly job.
func TestSetRetentionDays(t *testing.T) {
	srv := clickhousetest.Start(t)
	s, err := New(Config{Addrs: []string{srv.Addr()}, RetentionDays: 3650})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i, d := range []time.Time{now.AddDate(0, 0, -10), now} {
		if err := s.Write(ctx, []portico.Record{{Time: d, RequestID: fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	s.SetRetentionDays(3)
	if got := s.RetentionDays(); got != 3 {
		t.Fatalf("RetentionDays() = %d, want 3", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for srv.Query(t, "SELECT groupArray(request_id) FROM portico.requests") != "['1']" {
		if time.Now().After(deadline) {
			t.Fatal("the record of 10 days ago is still there after SetRetentionDays(3)")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.SetRetentionDays(0)
	if got := s.RetentionDays(); got != DefaultRetentionDays {
		t.Fatalf("RetentionDays() after SetRetentionDays(0) = %d, want %d", got, DefaultRetentionDays)
	}
}

func TestBuildQuerySQL(t *testing.T) {
	s, err := New(Config{Addrs: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 1, 2, 3, 4, 5, 600000000, time.UTC)
	minute := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	const percentiles = "arrayElement(quantilesExact(0.499999999999, 0.949999999999, 0.989999999999)(latency_us) AS _q, 1), _q[2], _q[3]"
	for _, c := range []struct {
		name string
		q    portico.AnalyticsQuery
		want string
	}{
		{"bounds between seconds", portico.AnalyticsQuery{
			From: from, To: from.Add(time.Hour), Bucket: portico.Hour, GroupBy: portico.DimStatus,
			Filters: map[string]string{portico.DimAPI: `it's \ here`, portico.DimStatus: "404"},
		}, "SELECT intDiv(toUInt32(time), 3600) * 3600 AS _b, hex(toString(status)) AS _g, count() AS _n, countIf(status >= 400) AS _e, " +
			"sum(request_bytes) AS _rq, sum(response_bytes) AS _rs, " + percentiles + "\n" +
			"FROM `portico`.`requests`\n" +
			"WHERE time >= toDateTime(1767323045)\n" +
			"  AND time <= toDateTime(1767326645)\n" +
			"  AND (time != toDateTime(1767323045) OR time_us >= 600000)\n" +
			"  AND (time != toDateTime(1767326645) OR time_us <= 599999)\n" +
			"  AND api = 'it\\'s \\\\ here'\n" +
			"  AND status = 404\n" +
			"GROUP BY _b, toString(status)\n" +
			"ORDER BY _b, toString(status)\n" +
			"FORMAT TabSeparated"},
		{"top groups without percentiles, whole minutes", portico.AnalyticsQuery{
			From: minute, To: minute.Add(time.Hour), GroupBy: portico.DimApplication, Limit: 10, NoLatency: true,
		}, "SELECT hex(application) AS _g, count() AS _n, countIf(status >= 400) AS _e, " +
			"sum(request_bytes) AS _rq, sum(response_bytes) AS _rs, 0, 0, 0\n" +
			"FROM `portico`.`requests`\n" +
			"WHERE time >= toDateTime(1767323040)\n" +
			"  AND time <= toDateTime(1767326639)\n" +
			"GROUP BY application\n" +
			"ORDER BY _n DESC, application LIMIT 10\n" +
			"FORMAT TabSeparated"},
		{"top groups by hour", portico.AnalyticsQuery{
			From: minute, To: minute.Add(time.Hour), Bucket: portico.Hour, GroupBy: portico.DimNode, Limit: 3,
			Filters: map[string]string{portico.DimAPI: "a"},
		}, "SELECT intDiv(toUInt32(time), 3600) * 3600 AS _b, hex(node) AS _g, count() AS _n, countIf(status >= 400) AS _e, " +
			"sum(request_bytes) AS _rq, sum(response_bytes) AS _rs, " + percentiles + "\n" +
			"FROM `portico`.`requests`\n" +
			"WHERE time >= toDateTime(1767323040)\n" +
			"  AND time <= toDateTime(1767326639)\n" +
			"  AND api = 'a'\n" +
			"  AND node IN (SELECT node FROM `portico`.`requests` WHERE time >= toDateTime(1767323040) AND time <= toDateTime(1767326639) AND api = 'a' " +
			"GROUP BY node ORDER BY count() DESC, node LIMIT 3)\n" +
			"GROUP BY _b, node\n" +
			"ORDER BY _b, node\n" +
			"FORMAT TabSeparated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sql, ok, err := s.buildQuery(c.q)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			if sql != c.want {
				t.Fatalf("SQL:\n%s\nwant:\n%s", sql, c.want)
			}
		})
	}
}

// BenchmarkEncodeBatch measures the store's own share of a write: encoding
// a batch of 5,000 records as TabSeparated.
func BenchmarkEncodeBatch(b *testing.B) {
	recs := make([]portico.Record, 5000)
	at := time.Now()
	for i := range recs {
		recs[i] = portico.Record{
			Time: at.Add(time.Duration(i) * time.Microsecond), RequestID: fmt.Sprintf("01J9Z%021d", i),
			API: "weather", APIVersion: "v1", APIID: "api-1", Publisher: "pub-1", Subscriber: "user-1",
			Application: "app-1", Plan: "gold", Resource: "/forecast/{city}", Method: "GET", Status: 200,
			RequestBytes: 100, ResponseBytes: 1000, RequestType: "application/json",
			ResponseType: "application/json; charset=utf-8", Latency: 12 * time.Millisecond,
			UpstreamLatency: 10 * time.Millisecond, ClientIP: "192.0.2.7", Node: "node-a",
		}
	}
	buf := make([]byte, 0, 2<<20)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for i := range recs {
			buf = appendRow(buf, &recs[i])
		}
	}
	b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
}
