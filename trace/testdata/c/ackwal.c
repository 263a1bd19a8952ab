// ackwal DIR N [PORT]: a server that acknowledges each request before it logs it (the durability bug
// of docs/trace.md's "faults that compose in time"). It writes a header to DIR/wal, forks a
// client that sends N requests over loopback TCP and prints "acked I" for each "ok" it gets;
// the server answers each request, then appends it to the wal and syncs.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: ackwal DIR N [PORT]\n");
		return 2;
	}
	int n = atoi(argv[2]);
	char wal[4096];
	snprintf(wal, sizeof wal, "%s/wal", argv[1]);
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	if (argc == 4)
		a.sin_port = htons(atoi(argv[3]));
	if (bind(ls, (void *)&a, sizeof a) || listen(ls, 1) || getsockname(ls, (void *)&a, &al)) {
		perror("ackwal: listen");
		return 1;
	}
	printf("port %d\n", ntohs(a.sin_port));
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(ls);
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (void *)&a, sizeof a)) {
			perror("ackwal: connect");
			return 1;
		}
		for (int i = 1; i <= n; i++) {
			char req[32], ack[3];
			int m = snprintf(req, sizeof req, "put %d\n", i);
			if (write(c, req, m) != m || read(c, ack, 3) != 3) {
				printf("no ack for %d\n", i);
				return 1;
			}
			printf("acked %d\n", i);
			fflush(stdout);
		}
		return 0;
	}
	int fd = open(wal, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	write(fd, "wal v1\n", 7);
	fsync(fd);
	int s = accept(ls, NULL, NULL);
	for (int i = 1; i <= n; i++) {
		char req[32];
		int m = read(s, req, sizeof req);
		if (m <= 0)
			break;
		write(s, "ok\n", 3); // the bug: acknowledged before it is logged
		write(fd, req, m);
		fsync(fd);
	}
	int st;
	waitpid(pid, &st, 0);
	return 0;
}
