// skew prints each clock read two ways, through the C library (the vDSO, when the process
// has one) and by the system call itself, in seconds:
// "realtime VDSO SYSCALL\nmonotonic VDSO SYSCALL\nboottime VDSO SYSCALL\ngettimeofday VDSO SYSCALL\ntime VDSO SYSCALL\n".
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void clock2(const char *name, clockid_t id) {
	struct timespec v, s;
	clock_gettime(id, &v);
	syscall(SYS_clock_gettime, id, &s);
	printf("%s %lld %lld\n", name, (long long)v.tv_sec, (long long)s.tv_sec);
}

int main(void) {
	clock2("realtime", CLOCK_REALTIME);
	clock2("monotonic", CLOCK_MONOTONIC);
	clock2("boottime", CLOCK_BOOTTIME);
	struct timeval v, s;
	gettimeofday(&v, NULL);
	syscall(SYS_gettimeofday, &s, NULL);
	printf("gettimeofday %lld %lld\n", (long long)v.tv_sec, (long long)s.tv_sec);
	time_t tv = time(NULL), ts = 0;
	long r = syscall(SYS_time, &ts);
	printf("time %lld %lld %ld\n", (long long)tv, (long long)ts, r);
	return 0;
}
