/* A client and a server that talk over TCP loopback, UDP, a unix socket and a pipe, with a
 * file written and fsynced on the side: the multi-process program of the trace package's
 * tests and demo. Every receive reads a fixed size so that a run's events do not depend on
 * timing.
 *
 *   netapp all DIR      start "netapp server DIR FD" and "netapp client DIR FD" and wait
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MSG 16
#define NMSG 5

static void die(const char *what) {
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	exit(1);
}

static long drain(int fd, int size) {
	char buf[64];
	long total = 0;
	for (;;) {
		ssize_t n = recv(fd, buf, size, MSG_WAITALL);
		if (n <= 0) return n < 0 ? -1 : total;
		total += n;
	}
}

static int server(const char *dir, int pfd) {
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (void *)&a, sizeof a) || listen(ls, 8) || getsockname(ls, (void *)&a, &al)) die("tcp listen");
	int tport = ntohs(a.sin_port);
	int us = socket(AF_INET, SOCK_DGRAM, 0);
	a.sin_port = 0;
	al = sizeof a;
	if (us < 0 || bind(us, (void *)&a, sizeof a) || getsockname(us, (void *)&a, &al)) die("udp bind");
	int uport = ntohs(a.sin_port);
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	snprintf(un.sun_path, sizeof un.sun_path, "%s/s.sock", dir);
	unlink(un.sun_path);
	int xs = socket(AF_UNIX, SOCK_STREAM, 0);
	if (xs < 0 || bind(xs, (void *)&un, sizeof un) || listen(xs, 8)) die("unix listen");
	char line[64];
	int n = snprintf(line, sizeof line, "%d %d\n", tport, uport);
	if (write(pfd, line, n) != n) die("pipe write");
	close(pfd);
	for (int c = 1; c <= 2; c++) {
		int s = accept(ls, NULL, NULL);
		if (s < 0) die("accept");
		printf("tcp%d %ld\n", c, drain(s, MSG));
		fflush(stdout);
		close(s);
	}
	struct timeval tv = {.tv_sec = 2};
	setsockopt(us, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	int dgrams = 0;
	for (;;) {
		char buf[64];
		ssize_t r = recvfrom(us, buf, sizeof buf, 0, NULL, NULL);
		if (r < 0 || (r == 3 && memcmp(buf, "end", 3) == 0)) break;
		dgrams++;
	}
	printf("udp %d\n", dgrams);
	int s = accept(xs, NULL, NULL);
	if (s < 0) die("unix accept");
	printf("unix %ld\n", drain(s, 10));
	close(s);
	char path[512];
	snprintf(path, sizeof path, "%s/data", dir);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	for (int i = 0; i < 3; i++)
		if (write(fd, "0123456789", 10) != 10) die("file write");
	printf("fsync %s\n", fsync(fd) == 0 ? "ok" : strerror(errno));
	close(fd);
	struct stat st;
	stat(path, &st);
	printf("size %ld\n", (long)st.st_size);
	return 0;
}

static int client(const char *dir, int pfd) {
	signal(SIGPIPE, SIG_IGN); /* a crashed server makes writes fail, not kill the client */
	char line[64] = {0};
	if (read(pfd, line, sizeof line - 1) <= 0) die("pipe read");
	int tport, uport;
	if (sscanf(line, "%d %d", &tport, &uport) != 2) die("ports");
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	for (int c = 1; c <= 2; c++) {
		a.sin_port = htons(tport);
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(s, (void *)&a, sizeof a)) {
			fprintf(stderr, "client: connect %d: %s\n", c, strerror(errno));
			continue;
		}
		for (int i = 1; i <= (c == 1 ? NMSG : 1); i++) {
			char m[MSG];
			snprintf(m, sizeof m, "conn%d-msg%d......", c, i);
			if (send(s, m, MSG, MSG_NOSIGNAL) != MSG) fprintf(stderr, "client: send %d: %s\n", i, strerror(errno));
		}
		close(s);
	}
	int us = socket(AF_INET, SOCK_DGRAM, 0);
	a.sin_port = htons(uport);
	for (int i = 1; i <= 3; i++) {
		char m[8];
		snprintf(m, sizeof m, "dgram-%d", i);
		sendto(us, m, 7, 0, (void *)&a, sizeof a);
	}
	sendto(us, "end", 3, 0, (void *)&a, sizeof a);
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	snprintf(un.sun_path, sizeof un.sun_path, "%s/s.sock", dir);
	int xs = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(xs, (void *)&un, sizeof un)) {
		fprintf(stderr, "client: unix connect: %s\n", strerror(errno));
		return 0;
	}
	for (int i = 0; i < 2; i++)
		if (write(xs, "abcdefghij", 10) != 10) fprintf(stderr, "client: unix write: %s\n", strerror(errno));
	close(xs);
	return 0;
}

int main(int argc, char **argv) {
	if (argc == 4 && strcmp(argv[1], "server") == 0) return server(argv[2], atoi(argv[3]));
	if (argc == 4 && strcmp(argv[1], "client") == 0) return client(argv[2], atoi(argv[3]));
	if (argc != 3 || strcmp(argv[1], "all") != 0) {
		fprintf(stderr, "usage: netapp all DIR\n");
		return 2;
	}
	int p[2];
	if (pipe(p)) die("pipe");
	char fd[16];
	pid_t sp = fork();
	if (sp == 0) {
		close(p[0]);
		snprintf(fd, sizeof fd, "%d", p[1]);
		execl("/proc/self/exe", argv[0], "server", argv[2], fd, (char *)NULL);
		die("exec server");
	}
	pid_t cp = fork();
	if (cp == 0) {
		close(p[1]);
		snprintf(fd, sizeof fd, "%d", p[0]);
		execl("/proc/self/exe", argv[0], "client", argv[2], fd, (char *)NULL);
		die("exec client");
	}
	close(p[0]);
	close(p[1]);
	int st, bad = 0;
	for (int i = 0; i < 2; i++) {
		pid_t w = wait(&st);
		if (WIFSIGNALED(st)) {
			printf("%s killed by signal %d\n", w == sp ? "server" : "client", WTERMSIG(st));
			bad = 1;
		} else if (WEXITSTATUS(st) != 0) {
			bad = 1;
		}
	}
	return bad;
}
