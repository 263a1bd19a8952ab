// clocks prints CLOCK_MONOTONIC and CLOCK_BOOTTIME in seconds, read through the vDSO as any
// program reads them: "monotonic S\nboottime S\n".
#include <stdio.h>
#include <time.h>

int main(void) {
	struct timespec m, b;
	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_BOOTTIME, &b);
	printf("monotonic %lld\nboottime %lld\n", (long long)m.tv_sec, (long long)b.tv_sec);
	return 0;
}
