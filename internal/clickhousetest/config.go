package clickhousetest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
)

// configTemplate is a minimal server configuration that both 18.16 and
// current releases accept (the <yandex> root is still read by current
// ones). Only the listed ports are opened, on 127.0.0.1 only. The short
// keep_alive_timeout keeps Stop quick: the server waits for idle HTTP
// connections to time out before it exits.
var configTemplate = template.Must(template.New("config.xml").Funcs(template.FuncMap{"x": xmlText}).Parse(`<?xml version="1.0"?>
<yandex>
    <logger>
        <level>information</level>
        <log>{{x .Dir}}/log/clickhouse-server.log</log>
        <errorlog>{{x .Dir}}/log/clickhouse-server.err.log</errorlog>
        <size>20M</size>
        <count>2</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{{.HTTPPort}}</http_port>
    <tcp_port>{{.TCPPort}}</tcp_port>
    <interserver_http_port>{{.InterserverPort}}</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <path>{{x .Dir}}/data/</path>
    <tmp_path>{{x .Dir}}/tmp/</tmp_path>
    <user_files_path>{{x .Dir}}/user_files/</user_files_path>
    <format_schema_path>{{x .Dir}}/format_schemas/</format_schema_path>
    <users_config>{{x .Dir}}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
{{- if .Timezone}}
    <timezone>{{x .Timezone}}</timezone>
{{- end}}
    <mark_cache_size>67108864</mark_cache_size>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <max_concurrent_queries>64</max_concurrent_queries>
    <keep_alive_timeout>2</keep_alive_timeout>
    <shutdown_wait_unfinished>1</shutdown_wait_unfinished>
{{- if .Cluster}}
    <remote_servers>
        <{{.Cluster}}>
{{- range .Shards}}
            <shard>
                <replica>
                    <host>127.0.0.1</host>
                    <port>{{.}}</port>
                </replica>
            </shard>
{{- end}}
        </{{.Cluster}}>
    </remote_servers>
{{- end}}
</yandex>
`))

// usersXML declares the user "default" without a password, reachable
// from loopback only.
const usersXML = `<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <!-- Idle native connections (between cluster servers) notice a
                 shutdown within a second instead of ten. -->
            <poll_interval>1</poll_interval>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
`

// writeConfig writes config.xml and users.xml into s.Dir and creates the
// directories they name. With a cluster name, remote_servers declares one
// shard per server of group.
func (s *Server) writeConfig(cluster string, group []*Server) error {
	for _, d := range []string{"log", "data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o755); err != nil {
			return err
		}
	}
	var shards []int
	if cluster != "" {
		for _, g := range group {
			shards = append(shards, g.TCPPort)
		}
	}
	var b bytes.Buffer
	err := configTemplate.Execute(&b, map[string]any{
		"Dir":             s.Dir,
		"HTTPPort":        s.HTTPPort,
		"TCPPort":         s.TCPPort,
		"InterserverPort": s.InterserverPort,
		"Timezone":        s.opts.Timezone,
		"Cluster":         cluster,
		"Shards":          shards,
	})
	if err != nil {
		return fmt.Errorf("config.xml: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "config.xml"), b.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.Dir, "users.xml"), []byte(usersXML), 0o644)
}

// xmlText escapes s for XML character data.
func xmlText(s string) (string, error) {
	var b bytes.Buffer
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		return "", err
	}
	return b.String(), nil
}
