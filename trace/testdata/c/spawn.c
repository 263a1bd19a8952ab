/* Starts 50 processes and 50 threads that each write one line to a shared pipe, then counts
 * the lines: a tracee with many children and threads for the trace package's tests. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int pfd[2];

static void *thread_main(void *arg) {
	char buf[32];
	int n = snprintf(buf, sizeof buf, "t%ld\n", (long)arg);
	if (write(pfd[1], buf, n) != n) return (void *)1;
	return NULL;
}

int main(void) {
	if (pipe(pfd) != 0) return 2;
	for (long i = 0; i < 50; i++) {
		pid_t p = fork();
		if (p < 0) return 3;
		if (p == 0) {
			char buf[32];
			int n = snprintf(buf, sizeof buf, "p%ld\n", i);
			_exit(write(pfd[1], buf, n) == n ? 0 : 1);
		}
	}
	pthread_t th[50];
	for (long i = 0; i < 50; i++) pthread_create(&th[i], NULL, thread_main, (void *)i);
	for (int i = 0; i < 50; i++) pthread_join(th[i], NULL);
	int status, bad = 0;
	while (wait(&status) > 0) bad += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(pfd[1]);
	char buf[4096];
	int lines = 0;
	ssize_t n;
	while ((n = read(pfd[0], buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < n; i++) lines += buf[i] == '\n';
	printf("lines %d bad %d\n", lines, bad);
	return bad != 0;
}
