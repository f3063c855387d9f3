//go:build !unix

package main

// lockOutDir does nothing where flock is not available.
func lockOutDir(string) (func(bool), error) { return func(bool) {}, nil }
