// Command faultbox is the front door to faultbox's layers: each subcommand lives in its own
// file of this folder and registers itself in init, so that adding a layer never edits this one.
package main
