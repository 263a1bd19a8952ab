//go:build linux

package trace

import "testing"

func TestQuoteBufLikeStrace(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		max  int
		more bool
		want string
	}{
		{"hello\n", 32, false, `"hello\n"`},
		{"\x7fELF\x02\x01", 32, false, `"\177ELF\2\1"`},
		{"\x001", 32, false, `"\0001"`}, // a digit follows: three octal digits
		{"a\"b\\c\t", 32, false, `"a\"b\\c\t"`},
		{"abcdef", 3, false, `"abc"...`},
		{"abc", 3, true, `"abc"...`},
		{"", 32, false, `""`},
	}
	for _, c := range cases {
		if got := quoteBuf([]byte(c.in), c.max, c.more); got != c.want {
			t.Errorf("quoteBuf(%q, %d, %v) = %s, want %s", c.in, c.max, c.more, got, c.want)
		}
	}
}

func TestFlagsLikeStrace(t *testing.T) {
	t.Parallel()
	cases := []struct{ got, want string }{
		{openFlags(0), "O_RDONLY"},
		{openFlags(0o1 | 0o100 | 0o1000 | 0o2000000), "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC"},
		{openFlags(0o2 | 0o200000), "O_RDWR|O_DIRECTORY"},
		{sockType(1 | 0o2000000), "SOCK_STREAM|SOCK_CLOEXEC"},
		{retText(-2), "-1 ENOENT (No such file or directory)"},
		{retText(7), "7"},
		{sockaddrText([]byte{2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}),
			`{sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}`},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
}
