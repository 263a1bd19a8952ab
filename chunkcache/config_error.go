package chunkcache

import "fmt"

// FieldError is a configuration value that is out of range: it names the field, the value
// and what was expected. A command line that fills a config from flags can rename Field to
// the flag it came from (see cmd/internal/chunkcachecli).
type FieldError struct {
	Field    string // "ChunkSize"
	Value    any    // the rejected value
	Expected string // "an integer in [1, 1048576]"
}

func (e *FieldError) Error() string {
	if s, ok := e.Value.(string); ok {
		return fmt.Sprintf("%s %q: expected %s", e.Field, s, e.Expected)
	}
	return fmt.Sprintf("%s %v: expected %s", e.Field, e.Value, e.Expected)
}
