package failpoint

// CompiledOut reports whether the program was built with the failpoint_off tag, which turns
// every site into the constant "off".
func CompiledOut() bool { return compiledOut }
