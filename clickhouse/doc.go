// Package clickhouse is Portico's ClickHouse analytics store: a
// portico.AnalyticsSink that writes batches of request records and a
// portico.AnalyticsQuerier that answers analytics queries, both over
// ClickHouse's HTTP interface with net/http (no driver). It works with
// Debian's clickhouse-server 18.16 and with current ClickHouse releases.
//
// # Moving parts
//
//   - Config and ParseURL: the addresses (--analytics
//     clickhouse://host:8123[,host2:8123]), the database and table, the
//     cluster (--analytics-cluster), retention and timeouts.
//   - Store: New checks the Config; Open creates the schema on every
//     address and starts the retention job; Close stops it. SetAddrs adds
//     or removes addresses at run time.
//   - Write: one INSERT … FORMAT TabSeparated per batch, the rows encoded
//     into one buffer and sent as the POST body.
//   - Query: one SELECT per query, aggregated in ClickHouse; nothing but
//     the rows comes back.
//
// # Schema
//
// Open runs, on every address (IF NOT EXISTS makes it idempotent, and a
// restart leaves data alone):
//
//	CREATE DATABASE IF NOT EXISTS `portico`;
//
//	CREATE TABLE IF NOT EXISTS `portico`.`requests` (
//	    time DateTime('UTC'),
//	    time_us UInt32,
//	    request_id String,
//	    api String,
//	    api_version String,
//	    api_id String,
//	    publisher LowCardinality(String),
//	    subscriber String,
//	    application String,
//	    plan String,
//	    resource String,
//	    method String,
//	    status UInt16,
//	    error_code String,
//	    request_bytes UInt64,
//	    response_bytes UInt64,
//	    request_type String,
//	    response_type String,
//	    latency_us UInt64,
//	    upstream_latency_us UInt64,
//	    client_ip String,
//	    node String
//	) ENGINE = MergeTree()
//	PARTITION BY toYYYYMMDD(time)
//	ORDER BY (api, time);
//
// publisher is dictionary-encoded because every query of a publisher
// filters on it: the filter is then decided once per distinct value, not
// once per row. ClickHouse before 19 creates such a column only with the
// setting allow_experimental_low_cardinality_type, which Open passes when
// the server knows it. A table made by an older Portico, with publisher
// String, is still accepted; Open logs the ALTER TABLE that converts it.
//
// Every field of portico.Record has a column. time holds whole seconds
// and time_us the microseconds within the second, so records keep
// microsecond order and [From, To) is exact to the microsecond; latencies
// are whole microseconds, from which the percentiles are computed.
// Partitions are UTC days; the sort key serves per-API time ranges. Open
// then checks that the table has these columns with these types, so that
// a foreign table of the same name is an error rather than a silent
// mismatch.
//
// With Config.Cluster (--analytics-cluster NAME) the MergeTree table is
// named requests_local on every address, and a Distributed table over the
// cluster's shards takes the name requests:
//
//	CREATE TABLE IF NOT EXISTS `portico`.`requests_local` ( …as above… ) ENGINE = MergeTree() …;
//
//	CREATE TABLE IF NOT EXISTS `portico`.`requests` AS `portico`.`requests_local`
//	ENGINE = Distributed('NAME', 'portico', 'requests_local', rand());
//
// The statements run on each address rather than ON CLUSTER, which needs
// ZooKeeper; so list every shard's address. NAME must be declared in
// remote_servers of every server.
//
// With Config.BufferFlush, writes go through a Buffer table in front of
// the MergeTree table on each address (see Config.BufferFlush for the
// durability trade):
//
//	CREATE TABLE IF NOT EXISTS `portico`.`requests_buffer` AS `portico`.`requests`
//	ENGINE = Buffer(`portico`, `requests`, 2, <BufferFlush/2>, <BufferFlush>, 100000, 1000000, 10000000, 100000000);
//
// # Writes and addresses
//
// Each batch goes to one address, round robin over those that are up.
// With a cluster, a batch goes straight to the local MergeTree table of
// the address it lands on, so each address is a shard that takes whole
// batches: the write is synchronous (visible to queries, on disk, when
// Write returns), needs no Distributed spool, and survives a shard being
// down by going to another shard. Queries read the Distributed table, so
// they see every shard. Without a cluster, all addresses are taken to
// serve the same data (one server under several names, or a setup that
// replicates); batches spread over them the same way and a query reads
// one of them. To spread data over independent servers, name a cluster.
//
// When an address fails — connection refused, reset or timed out, or a
// 5xx answer to an insert — it is marked down for Config.DownFor and the
// batch goes to the next address. When all are down, Write returns a
// portico.EUnavailable error at once without waiting for timeouts, and the
// recorder spools the batch. A 4xx answer (a bad statement or value) fails
// the call without failover: no other address would take it. An answer
// that the table or database is missing sends the call to the next
// address and sets the schema up again on that address before its next
// use. A query that fails with a 5xx (too much memory, say) tries the next
// address but does not mark the address down for writes.
//
// TabSeparated rather than JSONEachRow: for a batch of 5,000 records
// TabSeparated is 1.0 MB against 2.5 MB, and 18.16 parses it in a median
// of 6.3 ms against 10.7 ms (into a Null table on the 2-core test
// machine). Time goes in as "YYYY-MM-DD hh:mm:ss" text in UTC, which every
// version reads into a DateTime('UTC') column whatever the server's time
// zone (18.16 fails to read a bare Unix timestamp that ends the body).
//
// # Queries
//
// Query builds one SELECT. Dimensions map to columns through a fixed
// list; every filter value is a quoted string literal with backslash and
// quote escaped (18.16 has no query parameters), and a status filter is a
// checked integer. Buckets are intDiv(toUInt32(time), n) * n with n = 60,
// 3600 or 86400, which are UTC minutes, hours and days whatever the
// server's time zone. Percentiles are exact nearest-rank: quantilesExact
// at levels just below 0.5, 0.95 and 0.99 picks the latency at rank
// ceil(p × n) (percentileLevels in query.go proves it for every group of
// up to a billion records; TestPercentileLevels checks it on a server).
// Groups come back hex-encoded, so that no value needs unescaping.
//
// # Hourly rollup
//
// A dashboard shows, besides its series, the top APIs, applications,
// status codes, resources and nodes of its range: counts only, no
// percentiles. Over a week of 10 M records each of those was a scan of
// every record. So Open also makes, on every address (unless
// Config.NoRollup), a SummingMergeTree table of hourly counts and a
// materialized view that fills it from every insert into the MergeTree
// table (from the Buffer table's flushes too):
//
//	CREATE TABLE IF NOT EXISTS `portico`.`requests_hourly` (
//	    dim String, api String, hour DateTime('UTC'), value String, publisher String,
//	    requests UInt64, errors UInt64, request_bytes UInt64, response_bytes UInt64
//	) ENGINE = SummingMergeTree() PARTITION BY toYYYYMMDD(hour)
//	ORDER BY (dim, api, hour, value, publisher);
//
//	CREATE MATERIALIZED VIEW IF NOT EXISTS `portico`.`requests_hourly_mv` TO `portico`.`requests_hourly`
//	AS SELECT tupleElement(d, 1) AS dim, api, <hour of time> AS hour, tupleElement(d, 2) AS value, …
//	FROM `portico`.`requests` ARRAY JOIN [tuple('node', node), tuple('application', application),
//	    tuple('status', toString(status)), tuple('resource', resource)] AS d
//	GROUP BY dim, api, hour, value, publisher;
//
// Each record counts once under each dimension; grouping by API reads the
// rows of the first. With a Cluster the tables are requests_local_hourly
// (and its view) on every shard and a Distributed requests_hourly over
// them. A query with a group the rollup keeps, no bucket, no
// percentiles and no filter but api and publisher (as the dashboard's
// tops are) reads the whole hours of its range from the rollup and its
// ragged ends, before the first and after the last whole hour, from the
// records, in one SELECT over a UNION ALL; the answer is exactly the
// records' (TestRollupMatchesRecords compares 300 random queries).
// Series and totals, which have percentiles, always read the records.
//
// A view sees only the inserts made after it exists. Whenever Open has to
// create the records' table, the rollup table or the view while either
// table holds rows (an upgrade, a table dropped by hand), the two may not
// agree on what is there; it then writes a mark row (dim '#since') at
// the latest of two whole hours ahead, the hour after the latest record
// and the hour after the latest rollup row, and the store reads the
// rollup only from the latest mark of its addresses on: earlier hours
// come from the records until retention has dropped them, marks included
// (TestRollupOverExistingRecords, TestRollupNeverReadsWhatItMissed). A
// table or view by the rollup's names that is not Portico's (another
// engine, other columns, a view that fills another table) is an error
// naming it, and no view is made over it (TestRollupNamesTaken).
// Records deleted by hand (ALTER … DELETE, a partition dropped) stay
// counted in the rollup; drop requests_hourly too, and Open makes it
// again with a new mark. Retention drops the rollup's day
// partitions with the records' (also a store with NoRollup: another
// node may keep the view filling it). One case is not exact: when the server
// stores a batch in the records but the view then fails (a full disk),
// the insert answers an error, and the store, finding the batch stored
// when it is sent again, does not insert it twice; the tops of that hour
// then count fewer records than its series.
//
// # Retention
//
// 18.16 has no table TTL (it arrived in 19.6). Rather than two mechanisms
// for two versions, the store drops whole day partitions older than
// Config.RetentionDays on every address, at Open, then hourly, and at
// once when Store.SetRetentionDays changes it at run time
// (ALTER TABLE … DROP PARTITION ID 'YYYYMMDD'). This works on every
// version, takes effect at once when the retention changes, and is
// cheaper than TTL merges. Each Portico node runs the job; dropping twice
// is harmless. ClickHouse refuses to drop partitions over 50 GB unless
// max_partition_size_to_drop is raised; the job then logs the error.
//
// # Compatibility with 18.16
//
// Only SQL that 18.16 and current releases both accept: no DateTime64,
// TTL, query parameters or ON CLUSTER; LowCardinality only with the
// setting 18.16 needs for it, and cast to String where a value of it
// leaves the table (18.16's toString of such a column keeps the type); DateTime('UTC')
// columns; MergeTree() with PARTITION BY and ORDER BY; Distributed and
// Buffer with the classic argument lists; wait_end_of_query=1, so that a
// query error is an HTTP error status rather than text in a 200 body.
// Error codes are read from the X-ClickHouse-Exception-Code header of
// current releases or the "Code: N" prefix of 18.16's error body.
//
// # Throughput
//
// On the 2-core test machine, writing batches of 5,000 records one after
// another into Debian's 18.16 (BenchmarkWrite, 2 million records per run)
// the store sustained 75,000 to 105,000 records/s, and between 40,000 and
// 180,000 records/s across all runs, depending on what else the machine
// was doing. The store's own cost is small (encoding a batch takes 2 to 4 ms
// without allocating, BenchmarkEncodeBatch); the server's is one MergeTree part of 22 columns, about 50
// files, per batch, and file creation on this machine's disk is slow, so
// the rate also falls as background merges compete. Through a Buffer table
// (BenchmarkWriteBuffered) it wrote 340,000 to 415,000 records/s.
package clickhouse
