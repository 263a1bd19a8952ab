// Package chunkcachecli is the command line of package chunkcache: one command tree
// (server, bench, adapters) that both the chunkcache binary and 'faultbox chunkcache' run, so
// that each names itself as typed ("faultbox chunkcache server ..." or "chunkcache server
// ..."). It parses flags into chunkcache.ServerConfig and chunkcache.BenchConfig and reports
// their Validate errors in flag terms; the library holds no flag parsing.
package chunkcachecli
