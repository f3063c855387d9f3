// Package analyticstest is the conformance suite of Portico's analytics
// stores: it proves that every portico.AnalyticsStore gives the same
// answers on the same traffic.
//
// The moving parts:
//
//   - Records is one fixed, deterministic set of records (a seeded random
//     generator plus hand-placed records on bucket edges) whose strings
//     carry quotes, backslashes, apostrophes, unicode and LIKE wildcards to
//     catch escaping bugs. Generate makes any number of similar records for
//     benchmarks.
//   - Aggregate is the reference: the documented query semantics of
//     portico.AnalyticsQuery and portico.AnalyticsRow in plain Go.
//   - Queries is a table of queries over Records that covers every bucket,
//     every grouping, a filter on every dimension, combinations, empty
//     ranges and range edges.
//   - Run writes Records into a store and checks the store's answer to
//     every query against Aggregate, field by field and exactly.
//
// A store's test calls Run on a new, empty store:
//
//	func TestConformance(t *testing.T) {
//		analyticstest.Run(t, newEmptyStore(t))
//	}
package analyticstest
