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
 *     build/bench/delay_origin PORT DELAY_MS
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\n"
			    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			    "xxxxxxxxxxxxxxxxxxxxxxxxxx";
static long delay_ns;

/* Bytes of <buf>[0..n) up to and including the first blank line, or 0. */
static size_t head_end(const char *buf, size_t n)
{
	for (size_t i = 3; i < n; i++)
		if (memcmp(buf + i - 3, "\r\n\r\n", 4) == 0)
			return i + 1;
	return 0;
}

static void pause_delay(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
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
		memmove(buf, buf + end, have - end);
		have -= end;
		pause_delay();
		if (write(fd, reply, sizeof(reply) - 1) != (ssize_t)(sizeof(reply) - 1))
			goto out;
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
