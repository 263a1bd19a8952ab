/* Writes a file, fsyncs it and reports what the calls said, for the trace package's tests. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
	const char *path = argc > 1 ? argv[1] : "data";
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0) { fprintf(stderr, "open %s: %s\n", path, strerror(errno)); return 2; }
	for (int i = 0; i < 3; i++) {
		ssize_t n = write(fd, "0123456789", 10);
		if (n != 10) { fprintf(stderr, "write %d: %s\n", i + 1, n < 0 ? strerror(errno) : "short"); return 3; }
	}
	if (fsync(fd) != 0) { fprintf(stderr, "fsync: %s\n", strerror(errno)); return 4; }
	close(fd);
	printf("ok\n");
	return 0;
}
