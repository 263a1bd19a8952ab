// stalefd DIR: reads a byte of DIR/b on fd 3, closes it, opens DIR/a (fd 3 again) and writes
// "ok" to it. Under -P DIR/a every call on b is hidden, and so is the open of a (a relative
// path, which -P does not match, as in strace): the tracer must still see b closed, or it
// names fd 3 from its cache as b and hides the write to a.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc != 2 || chdir(argv[1]) != 0) {
		fprintf(stderr, "usage: stalefd DIR\n");
		return 2;
	}
	char c;
	int b = open("b", O_RDONLY);
	if (b < 0 || read(b, &c, 1) != 1) {
		perror("stalefd: b");
		return 1;
	}
	close(b);
	int a = open("a", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (a != b || write(a, "ok", 2) != 2) {
		perror("stalefd: a");
		return 1;
	}
	return 0;
}
