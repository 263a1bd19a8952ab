//go:build linux && !amd64

package trace

// Where struct stat keeps what the text trace shows, in the generic layout arm64 and the newer
// architectures use (include/uapi/asm-generic/stat.h).
const (
	statLen     = 128
	statModeOff = 16 // st_mode, 32 bits (after st_dev, st_ino: 64 bits each)
	statRdevOff = 32
	statSizeOff = 48
)
