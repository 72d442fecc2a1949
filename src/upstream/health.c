/* SPDX-License-Identifier: MIT */
/*
 * health.c - active health checks: one thread per group that has them.
 *
 * Why a thread of its own and not a worker's loop: a check must never
 * delay a request, and a worker that is busy (or stuck behind a slow
 * filter) would delay the checks, which are the one thing meant to notice
 * trouble. A thread per group keeps the code plain and sequential (connect,
 * send, read a status line) while every wait is a poll() that also
 * watches a stop pipe, so stopping it on reload or shutdown is immediate
 * and never waits for a check to time out. The cost is one mostly
 * sleeping thread per group with checks. Results reach the workers
 * through each server's check_down flag; every change is logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/clock.h"
#include "core/log.h"
#include "upstream/upstream_priv.h"

struct hp_health {
	struct hp_upstream_group *g;
	pthread_t thread;
	int stop[2];            /* a byte written to stop[1] ends the thread */
	unsigned *passes;       /* per server, in a row */
	unsigned *fails;        /* per server, in a row */
};

/* Wait for <events> on <fd> until <deadline>. 1 ready, 0 timed out or
 * stopped (*stopped set), -1 error. */
static int wait_fd(struct hp_health *h, int fd, short events, uint64_t deadline,
		   bool *stopped)
{
	for (;;) {
		uint64_t now = hp_clock_mono_ns();
		if (now >= deadline)
			return 0;
		struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = h->stop[0], .events = POLLIN}};
		int ms = (int)((deadline - now + 999999) / 1000000);
		int n = poll(p, 2, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (p[1].revents != 0) {
			*stopped = true;
			return 0;
		}
		if (p[0].revents != 0)
			return 1;
	}
}

/* One check of <s>: true if it answered a status in range. <why> says
 * what failed otherwise. */
static bool check_server(struct hp_health *h, const struct hp_upstream_server *s,
			 char *why, size_t whylen, bool *stopped)
{
	const struct hp_config_health *hc = &h->g->conf->health;
	uint64_t deadline = hp_clock_mono_ns() + hc->timeout_ms * 1000000;
	int fd = hp_net_connect((const struct sockaddr *)&s->addr, s->addrlen);
	if (fd < 0) {
		snprintf(why, whylen, "connect: %s", strerror(-fd));
		return false;
	}
	bool ok = false;
	char buf[512];
	int rc = wait_fd(h, fd, POLLOUT, deadline, stopped);
	int err = rc > 0 ? hp_net_socket_error(fd) : 0;
	if (rc <= 0 || err != 0) {
		snprintf(why, whylen, "connect: %s", rc < 0 ? strerror(errno)
						 : err ? strerror(err) : "timed out");
		goto out;
	}
	int len = snprintf(buf, sizeof(buf),
			   "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: hotpath-health\r\n"
			   "Connection: close\r\n\r\n", hc->path, s->name);
	if (len < 0 || (size_t)len >= sizeof(buf) || write(fd, buf, (size_t)len) != len) {
		snprintf(why, whylen, "sending the check failed");
		goto out;
	}
	/* The status line is all we need: "HTTP/1.x NNN". */
	size_t got = 0;
	while (got < 12) {
		rc = wait_fd(h, fd, POLLIN, deadline, stopped);
		if (rc <= 0) {
			snprintf(why, whylen, "no status line within %llu ms",
				 (unsigned long long)hc->timeout_ms);
			goto out;
		}
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) {
			snprintf(why, whylen, "closed before a status line");
			goto out;
		}
		got += n > 0 ? (size_t)n : 0;
	}
	buf[got] = '\0';
	unsigned status;
	if (strncmp(buf, "HTTP/1.", 7) != 0 || sscanf(buf + 9, "%3u", &status) != 1) {
		snprintf(why, whylen, "not an HTTP response");
		goto out;
	}
	ok = status >= hc->status_min && status <= hc->status_max;
	if (!ok)
		snprintf(why, whylen, "status %u outside %s", status, hc->status);
out:
	close(fd);
	return ok;
}

/* Count a result; change the server's state after rise or fall of them. */
static void record(struct hp_health *h, struct hp_upstream_server *s, bool ok, const char *why)
{
	const struct hp_config_health *hc = &h->g->conf->health;
	size_t i = s->index;
	bool down = atomic_load(&s->check_down);
	if (ok) {
		h->fails[i] = 0;
		if (down && ++h->passes[i] >= hc->rise) {
			atomic_store(&s->up_since_ns, hp_clock_mono_ns());
			atomic_store(&s->check_down, false);
			hp_log_warn("upstream %s: server %s up: %u checks of %s passed in a row",
				    h->g->conf->name, s->name, hc->rise, hc->path);
		}
		return;
	}
	h->passes[i] = 0;
	if (!down && ++h->fails[i] >= hc->fall) {
		atomic_store(&s->check_down, true);
		hp_log_warn("upstream %s: server %s down: %u checks of %s failed in a row (last: %s)",
			    h->g->conf->name, s->name, hc->fall, hc->path, why);
	}
}

static void *health_main(void *arg)
{
	struct hp_health *h = arg;
	uint64_t interval = h->g->conf->health.interval_ms * 1000000;
	bool stopped = false;
	while (!stopped) {
		uint64_t next = hp_clock_mono_ns() + interval;
		for (size_t i = 0; i < h->g->nservers && !stopped; i++) {
			char why[128] = "";
			struct hp_upstream_server *s = &h->g->servers[i];
			bool ok = check_server(h, s, why, sizeof(why), &stopped);
			if (!stopped)
				record(h, s, ok, why);
		}
		if (!stopped)
			wait_fd(h, -1, 0, next, &stopped);
	}
	return NULL;
}

struct hp_health *hp_health_start(struct hp_upstream_group *g, char *err, size_t errlen)
{
	struct hp_health *h = hp_xcalloc(1, sizeof(*h));
	h->g = g;
	h->passes = hp_xcalloc(g->nservers, sizeof(*h->passes));
	h->fails = hp_xcalloc(g->nservers, sizeof(*h->fails));
	if (pipe2(h->stop, O_CLOEXEC | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "upstream %s: health checks: pipe: %s", g->conf->name,
			 strerror(errno));
		goto fail;
	}
	int rc = pthread_create(&h->thread, NULL, health_main, h);
	if (rc != 0) {
		snprintf(err, errlen, "upstream %s: health checks: thread: %s", g->conf->name,
			 strerror(rc));
		close(h->stop[0]);
		close(h->stop[1]);
		goto fail;
	}
	return h;
fail:
	free(h->passes);
	free(h->fails);
	free(h);
	return NULL;
}

void hp_health_stop(struct hp_health *h)
{
	if (h == NULL)
		return;
	ssize_t n = write(h->stop[1], "x", 1);
	(void)n;
	pthread_join(h->thread, NULL);
	close(h->stop[0]);
	close(h->stop[1]);
	free(h->passes);
	free(h->fails);
	free(h);
}
