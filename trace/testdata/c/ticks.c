// ticks N MS: a client (the parent, p1) sends N numbered UDP datagrams to a server (its child,
// p1.1), tick I (from 0) (I+1)*MS milliseconds after its start (absolute times: no drift),
// then "end" a few times. The server prints "got I" for each tick it receives, as it
// receives it, and exits at "end" (or after 2 s of silence). The parent prints the server's
// end: "server exit N" or "server killed".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: ticks N MS\n");
		return 2;
	}
	int n = atoi(argv[1]), ms = atoi(argv[2]);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	if (bind(s, (void *)&a, sizeof a) || getsockname(s, (void *)&a, &al)) {
		perror("ticks: bind");
		return 1;
	}
	pid_t child = fork();
	if (child == 0) {
		struct timeval tv = {.tv_sec = 2};
		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		char buf[64], line[80];
		for (;;) {
			ssize_t got = recv(s, buf, sizeof buf - 1, 0);
			if (got < 0)
				return 3;
			buf[got] = 0;
			if (strcmp(buf, "end") == 0)
				return 0;
			int len = snprintf(line, sizeof line, "got %s\n", buf);
			write(1, line, len);
		}
	}
	int c = socket(AF_INET, SOCK_DGRAM, 0);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i <= n + 3; i++) {
		long long ns = (long long)t0.tv_nsec + (long long)(i + 1) * ms * 1000000LL;
		struct timespec at = {.tv_sec = t0.tv_sec + ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
		char msg[16];
		int len = i < n ? snprintf(msg, sizeof msg, "%d", i) : snprintf(msg, sizeof msg, "end");
		sendto(c, msg, len, 0, (void *)&a, sizeof a);
	}
	int st;
	waitpid(child, &st, 0);
	char line[64];
	int len = WIFSIGNALED(st) ? snprintf(line, sizeof line, "server killed\n")
	                          : snprintf(line, sizeof line, "server exit %d\n", WEXITSTATUS(st));
	write(1, line, len);
	return 0;
}
