/* SPDX-License-Identifier: MIT */
/*
 * delay_origin.c - an origin that holds every response back by a known
 * delay, to check the latency a load generator reports.
 *
 * One thread per connection reads a request head, sleeps DELAY_MS with
 * clock_nanosleep on CLOCK_MONOTONIC (microsecond accuracy, where an event
 * loop's millisecond timer would add up to a millisecond: 5 % of 20 ms),
 * then answers 100 bytes. Blocking threads cost nothing while they sleep,
 * and a generator's reported latency should be the delay plus one loopback
 * round trip. Request bodies are not expected (GET only).
 *
 * A sleep is never exactly the delay: the kernel wakes the thread late by
 * its timer slack (50 us by default, set to 1 ns here) plus scheduling
 * latency, which on a shared 2-vCPU machine reaches a millisecond at the
 * tail. So the origin also measures what it actually held each response
 * (head parsed to reply written) and GET /__held answers the p50 and p99
 * of those hold times in milliseconds since the last such request: a
 * generator is accurate when its p99 matches the origin's own, not the
 * nominal delay.
 *
 *     build/bench/delay_origin PORT DELAY_MS
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\n"
			    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			    "xxxxxxxxxxxxxxxxxxxxxxxxxx";
static long delay_ns;

/* Hold times in microseconds since the last GET /__held, under one lock:
 * at a few thousand responses a second the lock costs nothing measurable. */
static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t *held_us;
static size_t held_n, held_cap;

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void record_held(int64_t ns)
{
	pthread_mutex_lock(&held_lock);
	if (held_n == held_cap) {
		size_t cap = held_cap ? held_cap * 2 : 65536;
		uint32_t *p = realloc(held_us, cap * sizeof(*p));
		if (p) {
			held_us = p;
			held_cap = cap;
		}
	}
	if (held_n < held_cap)
		held_us[held_n++] = (uint32_t)(ns / 1000);
	pthread_mutex_unlock(&held_lock);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Answers "p50 P50 p99 P99 n N\n" (milliseconds) and starts a new window. */
static int answer_held(int fd)
{
	char body[128], msg[256];
	pthread_mutex_lock(&held_lock);
	qsort(held_us, held_n, sizeof(*held_us), cmp_u32);
	double p50 = held_n ? held_us[(held_n - 1) * 50 / 100] / 1000.0 : 0;
	double p99 = held_n ? held_us[(held_n - 1) * 99 / 100] / 1000.0 : 0;
	int blen = snprintf(body, sizeof(body), "p50 %.3f p99 %.3f n %zu\n", p50, p99, held_n);
	held_n = 0;
	pthread_mutex_unlock(&held_lock);
	int mlen = snprintf(msg, sizeof(msg), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
			    "Content-Type: text/plain\r\n\r\n%s", blen, body);
	return write(fd, msg, (size_t)mlen) == mlen ? 0 : -1;
}

/* Bytes of <buf>[0..n) up to and including the first blank line, or 0. */
static size_t head_end(const char *buf, size_t n)
{
	for (size_t i = 3; i < n; i++)
		if (memcmp(buf + i - 3, "\r\n\r\n", 4) == 0)
			return i + 1;
	return 0;
}

static void pause_delay(int64_t from_ns)
{
	struct timespec t = {.tv_sec = from_ns / 1000000000, .tv_nsec = from_ns % 1000000000};
	t.tv_nsec += delay_ns;
	t.tv_sec += t.tv_nsec / 1000000000;
	t.tv_nsec %= 1000000000;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
		;
}

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	char buf[16384];
	size_t have = 0;
	for (;;) {
		size_t end;
		while ((end = head_end(buf, have)) == 0) {
			if (have == sizeof(buf))
				goto out;
			ssize_t n = read(fd, buf + have, sizeof(buf) - have);
			if (n <= 0)
				goto out;
			have += (size_t)n;
		}
		int held_query = memcmp(buf, "GET /__held ", 12) == 0;
		memmove(buf, buf + end, have - end);
		have -= end;
		if (held_query) {
			if (answer_held(fd) < 0)
				goto out;
			continue;
		}
		int64_t t0 = now_ns();
		pause_delay(t0);
		if (write(fd, reply, sizeof(reply) - 1) != (ssize_t)(sizeof(reply) - 1))
			goto out;
		record_held(now_ns() - t0);
	}
out:
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: delay_origin PORT DELAY_MS\n");
		return 2;
	}
	delay_ns = atol(argv[2]) * 1000000L;
	/* Threads inherit the slack: wake as close to the deadline as the
	 * kernel can, instead of up to 50 us late by default. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1024) < 0) {
		perror("delay_origin");
		return 1;
	}
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			continue;
		pthread_t t;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&at, 64 * 1024);
		if (pthread_create(&t, &at, serve, (void *)(long)fd) != 0)
			close(fd);
		pthread_attr_destroy(&at);
	}
}
