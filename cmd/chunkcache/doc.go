// Command chunkcache runs the chunk cache server and its bench client. Its command line is
// cmd/internal/chunkcachecli's, which 'faultbox chunkcache' shares; the logic lives in
// package chunkcache.
package main
