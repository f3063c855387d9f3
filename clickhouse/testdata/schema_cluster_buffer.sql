CREATE DATABASE IF NOT EXISTS `portico`;

CREATE TABLE IF NOT EXISTS `portico`.`requests_local` (
    time DateTime('UTC'),
    time_us UInt32,
    request_id String,
    api String,
    api_version String,
    api_id String,
    publisher LowCardinality(String),
    subscriber String,
    application String,
    plan String,
    resource String,
    method String,
    status UInt16,
    error_code String,
    request_bytes UInt64,
    response_bytes UInt64,
    request_type String,
    response_type String,
    latency_us UInt64,
    upstream_latency_us UInt64,
    client_ip String,
    node String
) ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(time)
ORDER BY (api, time);

CREATE TABLE IF NOT EXISTS `portico`.`requests` AS `portico`.`requests_local`
ENGINE = Distributed('NAME', 'portico', 'requests_local', rand());

CREATE TABLE IF NOT EXISTS `portico`.`requests_local_buffer` AS `portico`.`requests_local`
ENGINE = Buffer(`portico`, `requests_local`, 2, 2, 5, 100000, 1000000, 10000000, 100000000);
