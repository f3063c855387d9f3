package portico

import (
	"context"
	"time"
)

// Record is the analytics record of one gateway response, rejected ones
// (401, 403, 404, 429, …) included. Names are copied in at record time so
// that a record stays meaningful after the API or plan is gone.
type Record struct {
	Time            time.Time     `json:"time"` // when the request arrived, UTC
	RequestID       string        `json:"request_id"`
	API             string        `json:"api"`         // API name; "" when no API matched
	APIVersion      string        `json:"api_version"` // API version
	APIID           string        `json:"api_id"`
	Publisher       string        `json:"publisher"`   // user ID of the API's owner
	Subscriber      string        `json:"subscriber"`  // user ID of the application's owner
	Application     string        `json:"application"` // application ID
	Plan            string        `json:"plan"`        // plan ID
	Resource        string        `json:"resource"`    // the matched per-resource pattern, if any; for a SOAP call its operation ("POST / GetBooking")
	Method          string        `json:"method"`
	Status          int           `json:"status"`
	ErrorCode       string        `json:"error_code"` // the gateway's error code, "" when proxied ("aborted": a proxied response cut off mid-body)
	RequestBytes    int64         `json:"request_bytes"`
	ResponseBytes   int64         `json:"response_bytes"`
	RequestType     string        `json:"request_type"`     // Content-Type of the request
	ResponseType    string        `json:"response_type"`    // Content-Type of the response
	Latency         time.Duration `json:"latency"`          // arrival to last byte written
	UpstreamLatency time.Duration `json:"upstream_latency"` // backend call to response headers; 0 when not proxied
	ClientIP        string        `json:"client_ip"`
	Node            string        `json:"node"`
}

// IsError reports whether the record counts as an error in analytics:
// any status of 400 or more.
func (r *Record) IsError() bool { return r.Status >= 400 }

// AnalyticsSink stores batches of records. Implementations are safe for
// concurrent use; a Write that returns an error stored nothing (or the
// whole batch is safe to write again: sinks deduplicate on RequestID
// only where they say so). Write must not keep batch, or pointers into
// it, after it returns: the caller reuses its memory.
type AnalyticsSink interface {
	Write(ctx context.Context, batch []Record) error
}

// AnalyticsQuerier answers analytics queries.
type AnalyticsQuerier interface {
	Query(ctx context.Context, q AnalyticsQuery) ([]AnalyticsRow, error)
}

// AnalyticsStore is an analytics store: a sink that answers queries.
type AnalyticsStore interface {
	AnalyticsSink
	AnalyticsQuerier
}

// Dimensions of analytics records for grouping and filtering.
const (
	DimAPI         = "api"         // API name
	DimVersion     = "version"     // API version
	DimApplication = "application" // application ID
	DimSubscriber  = "subscriber"  // subscriber user ID
	DimPublisher   = "publisher"   // publisher user ID (filter only, for role scoping)
	DimPlan        = "plan"        // plan ID
	DimStatus      = "status"      // HTTP status code
	DimMethod      = "method"      // HTTP method
	DimResource    = "resource"    // per-resource pattern
	DimNode        = "node"        // node name
)

// AnalyticsQuery selects records in [From, To) that match every filter
// (dimension → exact value) and aggregates them: into one row; into one row
// per Bucket (minute, hour or day, UTC, only buckets that have records);
// per value of GroupBy; or both (rows ordered by bucket, then group).
//
// With GroupBy, a Limit above 0 keeps only the Limit groups with the most
// requests in the whole range (ties by group value, bytes compared, the
// smaller first), and orders the groups that way instead of by value:
// rows by bucket, then by that rank. Stores choose the groups before they
// compute percentiles, so a top list costs little more than counting.
// Limit is ignored without GroupBy.
type AnalyticsQuery struct {
	From, To time.Time
	Bucket   Period            // "", Minute, Hour or Day
	GroupBy  string            // "" or a Dim* constant
	Filters  map[string]string // Dim* → value
	Limit    int               // with GroupBy, the most groups answered; 0 (or less) for all
	// NoLatency skips the latency percentiles: LatencyP50, LatencyP95 and
	// LatencyP99 of every row are 0, and stores do none of their work
	// (latencies are neither collected nor sorted).
	NoLatency bool
	// NoBytes skips the byte counts: RequestBytes and ResponseBytes of
	// every row are 0, and stores do not read them.
	NoBytes bool
	// Totals, with a Bucket or a GroupBy, adds one row after the others:
	// the aggregate over every selected record (all groups, also those a
	// Limit leaves out), as the query without Bucket, GroupBy and Limit
	// would answer it, with Total set. It comes only when some record is
	// selected. A store computes it in the same pass as the other rows
	// where it can, which costs less than a second query.
	Totals bool
}

// AnalyticsRow is one aggregate. Latency percentiles are nearest-rank
// (the value at rank ceil(p × n) of the sorted latencies), in
// milliseconds with microsecond precision, so that every store gives the
// same numbers on the same records.
type AnalyticsRow struct {
	Bucket        time.Time `json:"bucket,omitzero"`
	Group         string    `json:"group,omitempty"`
	Requests      int64     `json:"requests"`
	Errors        int64     `json:"errors"`
	ErrorRate     float64   `json:"error_rate"` // Errors / Requests
	LatencyP50    float64   `json:"latency_p50_ms"`
	LatencyP95    float64   `json:"latency_p95_ms"`
	LatencyP99    float64   `json:"latency_p99_ms"`
	RequestBytes  int64     `json:"request_bytes"`
	ResponseBytes int64     `json:"response_bytes"`
	// Total marks the row of AnalyticsQuery.Totals: the aggregate over
	// every selected record.
	Total bool `json:"-"`
}
