//go:build linux && amd64

package trace

// Where struct stat keeps what the text trace shows, on x86-64 (arch/x86/include/uapi/asm/stat.h).
const (
	statLen     = 144
	statModeOff = 24 // st_mode, 32 bits (after st_dev, st_ino, st_nlink: 64 bits each)
	statRdevOff = 40
	statSizeOff = 48
)
