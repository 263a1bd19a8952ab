// Command chunkcache runs the chunk cache server and its bench client; the logic lives in
// package chunkcache.
package main
