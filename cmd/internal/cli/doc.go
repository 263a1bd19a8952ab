// Package cli is the one manner every faultbox binary talks in on the command line. Each
// command and subcommand is a Command, described once (summary, usage line, flags, exit
// codes), and so answers -h, -help, --help and help alike: its help on stdout, exit 0. A
// wrong command line is a usage error: the message and the usage lines on stderr, exit 2
// (fault.ExitUsage). Usage lines name the command as typed ("faultbox disk torture").
//
// Commands form a tree (Main dispatches, Walk visits), so a test can ask every command for
// its help and a new command cannot be forgotten.
package cli
