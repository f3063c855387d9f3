package redisstore

// SetSentinel makes s apply config changes as a Store opened through
// Sentinel does (pinned connection, WAIT for a replica), on whatever
// Redis it is connected to.
func SetSentinel(s *Store) { s.sentinel = true }
