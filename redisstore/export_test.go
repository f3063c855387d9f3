package redisstore

// SetReplicated makes s apply config changes as a Store opened through
// Sentinel does (pinned connection to the master, WAIT for a replica if
// it has any), on whatever Redis it is connected to.
func SetReplicated(s *Store) { s.replicated = true }
