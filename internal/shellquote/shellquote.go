// Package shellquote writes arguments as one POSIX shell command line, for the replay lines
// of reports.
package shellquote

import "strings"

// Quote writes args as one shell command line: an argument with anything but letters,
// digits and -_./:=@%+, is single-quoted, so a replay line can be pasted into sh.
func Quote(args ...string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = quote1(a)
	}
	return strings.Join(out, " ")
}

func quote1(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
