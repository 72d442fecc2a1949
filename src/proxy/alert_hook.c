/* SPDX-License-Identifier: MIT */
/*
 * alert_hook.c - the webhook of alert rules: a thread of its own POSTs
 * queued notifications, so neither a worker nor the sampler waits for a
 * slow or dead receiver. Each attempt is bounded by the webhook's timeout
 * (connect, send and the answer's status line together); a failed one is
 * tried again after 1 s, 2 s, 4 s..., up to the configured retries. A 2xx
 * answer is success. The queue is bounded: beyond HOOK_QUEUE_MAX waiting
 * notifications the oldest is dropped, and logged.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/proxy_priv.h"

#define HOOK_QUEUE_MAX 256

struct note {
	struct hp_list link;
	char *url;
	char *body;
	uint64_t timeout_ms;
	uint32_t retries;
};

struct hp_alert_hook {
	pthread_t thread;
	pthread_mutex_t lock;          /* guards queue, nqueued, stop */
	pthread_cond_t cond;           /* a note was queued, or stop */
	struct hp_list queue;          /* struct note.link, oldest first */
	size_t nqueued;
	bool stop;
};

static void note_free(struct note *n)
{
	free(n->url);
	free(n->body);
	free(n);
}

/* ==== One attempt ==== */

static int64_t ms_left(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static bool wait_fd(int fd, short events, const struct timespec *deadline)
{
	int64_t left = ms_left(deadline);
	if (left <= 0)
		return false;
	struct pollfd p = {.fd = fd, .events = events};
	return poll(&p, 1, (int)left) == 1;
}

/* "http://host[:port][/path]" -> host, port and path (default "/"). */
static bool split_url(const char *url, char *host, size_t hostlen, char *port, size_t portlen,
		      const char **path)
{
	const char *auth = url + 7;
	size_t alen = strcspn(auth, "/");
	*path = auth[alen] ? auth + alen : "/";
	const char *colon = memchr(auth, ':', alen);
	size_t hlen = colon ? (size_t)(colon - auth) : alen;
	if (hlen == 0 || hlen >= hostlen)
		return false;
	memcpy(host, auth, hlen);
	host[hlen] = '\0';
	size_t plen = colon ? alen - hlen - 1 : 2;
	if (plen == 0 || plen >= portlen)
		return false;
	memcpy(port, colon ? colon + 1 : "80", plen);
	port[plen] = '\0';
	return true;
}

static int connect_to(const char *host, const char *port, const struct timespec *deadline)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) < 0 && errno != EINPROGRESS) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return -1;
	int err = 0;
	socklen_t len = sizeof(err);
	if (!wait_fd(fd, POLLOUT, deadline) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *p, size_t n, const struct timespec *deadline)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
		} else if (k < 0 && errno != EAGAIN && errno != EINTR) {
			return false;
		} else if (!wait_fd(fd, POLLOUT, deadline)) {
			return false;
		}
	}
	return true;
}

/* The answer's status code, once its status line is in; 0 on failure. */
static int read_status(int fd, const struct timespec *deadline)
{
	char buf[64];
	size_t have = 0;
	while (have < sizeof(buf) - 1 && memchr(buf, '\n', have) == NULL) {
		if (!wait_fd(fd, POLLIN, deadline))
			return 0;
		ssize_t k = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (k <= 0)
			return 0;
		have += (size_t)k;
	}
	buf[have] = '\0';
	int status = 0;
	return sscanf(buf, "HTTP/1.%*d %d", &status) == 1 ? status : 0;
}

/* One POST within <n>'s timeout. Returns the reason it failed, or NULL. */
static const char *post_once(const struct note *n)
{
	char host[256];
	char port[16];
	const char *path;
	if (!split_url(n->url, host, sizeof(host), port, sizeof(port), &path))
		return "bad URL";
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)(n->timeout_ms / 1000);
	deadline.tv_nsec += (long)(n->timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	int fd = connect_to(host, port, &deadline);
	if (fd < 0)
		return "cannot connect";
	size_t blen = strlen(n->body);
	char head[512];
	int hlen = snprintf(head, sizeof(head),
			    "POST %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: hotpath/%s\r\n"
			    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
			    "Connection: close\r\n\r\n",
			    path, host, port, HOTPATH_VERSION, blen);
	const char *why = NULL;
	int status = 0;
	if (hlen < 0 || (size_t)hlen >= sizeof(head))
		why = "URL too long";
	else if (!send_all(fd, head, (size_t)hlen, &deadline) ||
		 !send_all(fd, n->body, blen, &deadline))
		why = "send failed or timed out";
	else if ((status = read_status(fd, &deadline)) == 0)
		why = "no answer in time";
	else if (status < 200 || status > 299)
		why = "answered with an error status";
	close(fd);
	return why;
}

/* ==== The thread ==== */

/* Wait <ms> or until stop; false if stopping. Called with the lock held. */
static bool backoff(struct hp_alert_hook *h, uint64_t ms)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(ms / 1000);
	int rc = 0;
	while (!h->stop && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&h->cond, &h->lock, &until);
	return !h->stop;
}

static void *hook_main(void *arg)
{
	struct hp_alert_hook *h = arg;
	HP_AZ(pthread_mutex_lock(&h->lock));
	while (!h->stop) {
		if (hp_list_empty(&h->queue)) {
			pthread_cond_wait(&h->cond, &h->lock);
			continue;
		}
		struct note *n = HP_LIST_FIRST(&h->queue, struct note, link);
		hp_list_unlink(&n->link);
		h->nqueued--;
		for (uint32_t attempt = 0;; attempt++) {
			HP_AZ(pthread_mutex_unlock(&h->lock));
			const char *why = post_once(n);
			HP_AZ(pthread_mutex_lock(&h->lock));
			if (why == NULL)
				break;
			hp_log_warn("alert webhook %s: %s (attempt %u of %u)", n->url, why,
				    attempt + 1, n->retries + 1);
			if (attempt >= n->retries || !backoff(h, 1000ull << (attempt < 5 ? attempt : 5)))
				break;
		}
		note_free(n);
	}
	HP_AZ(pthread_mutex_unlock(&h->lock));
	return NULL;
}

struct hp_alert_hook *hp_alert_hook_create(void)
{
	struct hp_alert_hook *h = hp_xcalloc(1, sizeof(*h));
	HP_AZ(pthread_mutex_init(&h->lock, NULL));
	pthread_condattr_t ca;
	HP_AZ(pthread_condattr_init(&ca));
	HP_AZ(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
	HP_AZ(pthread_cond_init(&h->cond, &ca));
	pthread_condattr_destroy(&ca);
	hp_list_init(&h->queue);
	HP_AZ(pthread_create(&h->thread, NULL, hook_main, h));
	return h;
}

void hp_alert_hook_destroy(struct hp_alert_hook *h)
{
	if (h == NULL)
		return;
	HP_AZ(pthread_mutex_lock(&h->lock));
	h->stop = true;
	HP_AZ(pthread_cond_signal(&h->cond));
	HP_AZ(pthread_mutex_unlock(&h->lock));
	pthread_join(h->thread, NULL);
	while (!hp_list_empty(&h->queue)) {
		struct note *n = HP_LIST_FIRST(&h->queue, struct note, link);
		hp_list_unlink(&n->link);
		note_free(n);
	}
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void hp_alert_hook_post(struct hp_alert_hook *h, const char *url, uint64_t timeout_ms,
			uint32_t retries, const char *body)
{
	struct note *n = hp_xcalloc(1, sizeof(*n));
	n->url = hp_xstrdup(url);
	n->body = hp_xstrdup(body);
	n->timeout_ms = timeout_ms;
	n->retries = retries;
	HP_AZ(pthread_mutex_lock(&h->lock));
	if (h->nqueued == HOOK_QUEUE_MAX) {
		struct note *old = HP_LIST_FIRST(&h->queue, struct note, link);
		hp_list_unlink(&old->link);
		h->nqueued--;
		hp_log_warn("alert webhook: queue full, a notification was dropped");
		note_free(old);
	}
	hp_list_link_tail(&h->queue, &n->link);
	h->nqueued++;
	HP_AZ(pthread_cond_signal(&h->cond));
	HP_AZ(pthread_mutex_unlock(&h->lock));
}
