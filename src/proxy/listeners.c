/* SPDX-License-Identifier: MIT */
/*
 * listeners.c - the proxy's listening sockets (see listeners.h): one
 * SO_REUSEPORT socket per worker and address, a probe bind that refuses a
 * port some other process holds, adoption of sockets inherited from an
 * older binary, and changes of the address list on reload.
 *
 * Addresses and their sockets are linked lists that only grow while the
 * proxy lives: an address removed on reload is marked and its sockets
 * closed by their workers, but the structures stay until destroy, so a
 * task posted to a worker can never point at freed memory. Reloads that
 * change listen addresses are rare enough for that to cost nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "proxy/listeners.h"
#include "proxy/proxy_priv.h"

#define BACKLOG 1024

struct listen_sock {
	struct hp_io io;               /* on its worker's loop once started */
	struct hp_worker *w;           /* the worker accepting on it */
	struct hp_listeners *ls;
	int fd;                        /* -1 once closed; export reads it under ls->lock */
	struct hp_post post;           /* a reload's start or close, run on its worker; a
					  later one replaces a pending one (the newest intent) */
	struct listen_sock *next;      /* in its address's list */
};

struct listen_addr {
	char *name;                    /* as configured */
	struct sockaddr_storage ss;
	socklen_t len;
	struct listen_sock *socks;
	bool removed;                  /* no longer configured: sockets closed or closing */
	struct listen_addr *next;
};

struct hp_listeners {
	pthread_mutex_t lock;          /* the lists and every sock's fd */
	struct hp_proxy *px;
	struct listen_addr *addrs;     /* configuration order; removed ones stay to the end */
};

/* ==== Sockets inherited from an older binary ==== */

struct inherited {
	int fd;
	struct sockaddr_storage ss;
	socklen_t len;
	bool taken;
};

/* Process-wide: descriptors are a property of the process, not of one proxy. */
static struct inherited *inherited;
static size_t ninherited;

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

/* A descriptor we may adopt: open, a listening stream socket. Close-on-exec
 * is set again, so that it reaches a later binary only when exported. */
static bool check_inherited(int fd, struct inherited *out)
{
	int v = 0;
	socklen_t vl = sizeof(v);
	if (fcntl(fd, F_GETFD) < 0)
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) < 0 || v != 1)
		return false;
	out->len = sizeof(out->ss);
	if (getsockname(fd, (struct sockaddr *)&out->ss, &out->len) < 0)
		return false;
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	out->fd = fd;
	out->taken = false;
	return true;
}

int hp_listeners_inherit(const char *spec, char *err, size_t errlen)
{
	if (spec == NULL || *spec == '\0')
		return 0;
	const char *p = spec;
	while (*p != '\0') {
		const char *eq = strchr(p, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s: expected ADDR=fd,...: '%s'", HP_LISTEN_FDS_ENV, p);
			return -1;
		}
		p = eq + 1;
		for (;;) {
			char *end;
			long fd = strtol(p, &end, 10);
			if (end == p || fd < 3 || fd > 1 << 20) {
				snprintf(err, errlen, "%s: bad descriptor at '%s'", HP_LISTEN_FDS_ENV, p);
				return -1;
			}
			struct inherited in;
			if (check_inherited((int)fd, &in)) {
				inherited = hp_xrealloc(inherited, (ninherited + 1) * sizeof(*inherited));
				inherited[ninherited++] = in;
			} else {
				hp_log_warn("%s: descriptor %ld is not a listening socket: ignored",
					    HP_LISTEN_FDS_ENV, fd);
			}
			p = end;
			if (*p != ',')
				break;
			p++;
		}
		if (*p == ';')
			p++;
		else if (*p != '\0') {
			snprintf(err, errlen, "%s: unexpected '%c'", HP_LISTEN_FDS_ENV, *p);
			return -1;
		}
	}
	return 0;
}

/* Inherited sockets no address claimed: the older binary listened on an
 * address the new configuration dropped. Closing our copy is enough; the
 * older process closes its own when it drains. Sockets taken by an
 * address whose setup then failed are closed by their owner. */
void hp_listeners_inherit_end(void)
{
	for (size_t i = 0; i < ninherited; i++) {
		if (inherited[i].taken)
			continue;
		char name[64];
		hp_net_format_addr((const struct sockaddr *)&inherited[i].ss, name, sizeof(name));
		hp_log_info("inherited listener %s is no longer configured: closed", name);
		close(inherited[i].fd);
	}
	free(inherited);
	inherited = NULL;
	ninherited = 0;
}

int hp_listeners_take_inherited(const struct sockaddr_storage *ss)
{
	for (size_t i = 0; i < ninherited; i++) {
		if (!inherited[i].taken && same_addr(&inherited[i].ss, ss)) {
			inherited[i].taken = true;
			return inherited[i].fd;
		}
	}
	return -1;
}

/* ==== Binding ==== */

static const char *why(int neg_errno)
{
	/* The wording operators grep for, as nginx and HAProxy print it. */
	return neg_errno == -EADDRINUSE ? "address already in use" : strerror(-neg_errno);
}

/* A plain bind without SO_REUSEPORT fails while any socket holds the port,
 * which the reuseport binds below would join instead. It never listens:
 * a connection queued on it would be reset when it closes. SO_REUSEADDR
 * keeps connections of an earlier run in TIME_WAIT from counting. */
static int probe(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	int rc = bind(fd, (const struct sockaddr *)ss, len) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static void link_sock(struct hp_listeners *ls, struct listen_addr *a, int fd, struct hp_worker *w)
{
	struct listen_sock *s = hp_xcalloc(1, sizeof(*s));
	s->fd = fd;
	s->w = w;
	s->ls = ls;
	s->io.fd = -1;
	s->next = a->socks;
	a->socks = s;
}

static void close_sock(struct listen_sock *s)
{
	/* hp_io_stop first: another process may hold the same socket (after an
	 * upgrade, or between fork and exec), and then close() alone would
	 * leave it in our epoll set. */
	hp_io_stop(&s->io);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static void free_addr(struct listen_addr *a)
{
	while (a->socks != NULL) {
		struct listen_sock *s = a->socks;
		a->socks = s->next;
		close_sock(s);
		free(s);
	}
	free(a->name);
	free(a);
}

/* Sockets for every worker on <a>: inherited ones first, round robin over
 * the workers (all are kept, even beyond the worker count, so that no
 * accept queue is dropped), then reuseport binds for workers still without
 * one. Returns 0 or -1 with <err>; on failure the sockets bound so far
 * stay on <a>, for its owner to close. */
static int bind_addr(struct hp_listeners *ls, struct listen_addr *a, char *err, size_t errlen)
{
	struct hp_proxy *px = ls->px;
	unsigned k = 0;
	for (size_t i = 0; i < ninherited; i++) {
		if (inherited[i].taken || !same_addr(&inherited[i].ss, &a->ss))
			continue;
		inherited[i].taken = true;
		link_sock(ls, a, inherited[i].fd, &px->workers[k++ % px->nworkers]);
	}
	if (k > 0)
		hp_log_info("listen %s: %u socket%s inherited", a->name, k, k == 1 ? "" : "s");
	if (k == 0) {
		int rc = probe(&a->ss, a->len);
		if (rc < 0) {
			snprintf(err, errlen, "listen %s: %s", a->name, why(rc));
			return -1;
		}
	}
	for (; k < px->nworkers; k++) {
		int fd = hp_net_listen((const struct sockaddr *)&a->ss, a->len, true, BACKLOG);
		if (fd < 0) {
			snprintf(err, errlen, "listen %s: %s", a->name, why(fd));
			return -1;
		}
		link_sock(ls, a, fd, &px->workers[k]);
	}
	return 0;
}

static struct listen_addr *resolve_addr(const char *name, char *err, size_t errlen)
{
	struct listen_addr *a = hp_xcalloc(1, sizeof(*a));
	a->name = hp_xstrdup(name);
	char rerr[256];
	if (hp_net_resolve(name, &a->ss, &a->len, rerr, sizeof(rerr)) < 0) {
		snprintf(err, errlen, "listen: %s", rerr);
		free_addr(a);
		return NULL;
	}
	return a;
}

/* The configured (not removed) address bound to the same place as <ss>. */
static struct listen_addr *find_addr(struct listen_addr *list, const struct sockaddr_storage *ss)
{
	for (struct listen_addr *a = list; a != NULL; a = a->next)
		if (!a->removed && same_addr(&a->ss, ss))
			return a;
	return NULL;
}

static void append_addrs(struct listen_addr **list, struct listen_addr *more)
{
	while (*list != NULL)
		list = &(*list)->next;
	*list = more;
}

/* ==== Accepting ==== */

static void on_accept(struct hp_io *io, unsigned events)
{
	(void)events;
	struct listen_sock *s = HP_CONTAINER_OF(io, struct listen_sock, io);
	hp_client_accept_pending(s->w, io->fd, hp_pipeline_run);
}

static int start_sock(struct listen_sock *s)
{
	return hp_io_start(s->w->loop, &s->io, s->fd, on_accept);
}

/* ==== Life cycle ==== */

struct hp_listeners *hp_listeners_create(struct hp_proxy *px, char *err, size_t errlen)
{
	const struct hp_config *cfg = px->boot;
	struct hp_listeners *ls = hp_xcalloc(1, sizeof(*ls));
	pthread_mutex_init(&ls->lock, NULL);
	ls->px = px;
	for (size_t i = 0; i < cfg->nlisten; i++) {
		struct listen_addr *a = resolve_addr(cfg->listen[i], err, errlen);
		if (a == NULL)
			goto fail;
		if (find_addr(ls->addrs, &a->ss) != NULL) {
			/* Two spellings of one address: the first one serves (a
			 * second bind would fail the probe against the first). */
			free_addr(a);
			continue;
		}
		append_addrs(&ls->addrs, a);
		if (bind_addr(ls, a, err, errlen) < 0)
			goto fail;
		for (struct listen_sock *s = a->socks; s != NULL; s = s->next) {
			if (start_sock(s) < 0) {
				snprintf(err, errlen, "listen %s: cannot register", a->name);
				goto fail;
			}
		}
	}
	return ls;
fail:
	hp_listeners_destroy(ls);
	return NULL;
}

void hp_listeners_destroy(struct hp_listeners *ls)
{
	if (ls == NULL)
		return;
	while (ls->addrs != NULL) {
		struct listen_addr *a = ls->addrs;
		ls->addrs = a->next;
		free_addr(a);
	}
	pthread_mutex_destroy(&ls->lock);
	free(ls);
}

void hp_listeners_close_worker(struct hp_listeners *ls, struct hp_worker *w)
{
	pthread_mutex_lock(&ls->lock);
	for (struct listen_addr *a = ls->addrs; a != NULL; a = a->next)
		for (struct listen_sock *s = a->socks; s != NULL; s = s->next)
			if (s->w == w)
				close_sock(s);
	pthread_mutex_unlock(&ls->lock);
}

/* ==== Reload ==== */

/* On the socket's worker: start accepting, unless it is draining. */
static void start_posted(struct hp_post *p)
{
	struct listen_sock *s = HP_CONTAINER_OF(p, struct listen_sock, post);
	pthread_mutex_lock(&s->ls->lock);
	if (s->fd >= 0 && (s->w->draining || start_sock(s) < 0))
		close_sock(s);
	pthread_mutex_unlock(&s->ls->lock);
}

static void close_posted(struct hp_post *p)
{
	struct listen_sock *s = HP_CONTAINER_OF(p, struct listen_sock, post);
	pthread_mutex_lock(&s->ls->lock);
	close_sock(s);
	pthread_mutex_unlock(&s->ls->lock);
}

static bool configured(const struct hp_config *cfg, const struct sockaddr_storage *resolved,
		       const struct listen_addr *a)
{
	for (size_t i = 0; i < cfg->nlisten; i++)
		if (same_addr(&resolved[i], &a->ss))
			return true;
	return false;
}

int hp_listeners_update(struct hp_proxy *px, const struct hp_config *cfg, char *err,
			size_t errlen)
{
	struct hp_listeners *ls = px->listeners;
	struct sockaddr_storage *resolved = hp_xcalloc(cfg->nlisten, sizeof(*resolved));
	struct listen_addr *added = NULL;
	int rc = -1;
	pthread_mutex_lock(&ls->lock);
	for (size_t i = 0; i < cfg->nlisten; i++) {
		socklen_t len;
		char rerr[256];
		if (hp_net_resolve(cfg->listen[i], &resolved[i], &len, rerr, sizeof(rerr)) < 0) {
			snprintf(err, errlen, "listen: %s", rerr);
			goto out;
		}
		if (find_addr(ls->addrs, &resolved[i]) || find_addr(added, &resolved[i]))
			continue;
		struct listen_addr *a = resolve_addr(cfg->listen[i], err, errlen);
		if (a == NULL)
			goto out;
		append_addrs(&added, a);
		if (bind_addr(ls, a, err, errlen) < 0)
			goto out;
	}
	/* Every bind succeeded: from here on nothing can fail. */
	for (struct listen_addr *a = ls->addrs; a != NULL; a = a->next) {
		if (a->removed || configured(cfg, resolved, a))
			continue;
		a->removed = true;
		hp_log_info("listen %s: no longer configured, closing", a->name);
		for (struct listen_sock *s = a->socks; s != NULL; s = s->next)
			hp_loop_post_node(s->w->loop, &s->post, close_posted);
	}
	for (struct listen_addr *a = added; a != NULL; a = a->next) {
		hp_log_info("listen %s: added", a->name);
		for (struct listen_sock *s = a->socks; s != NULL; s = s->next)
			hp_loop_post_node(s->w->loop, &s->post, start_posted);
	}
	append_addrs(&ls->addrs, added);
	added = NULL;
	rc = 0;
out:
	while (added != NULL) {
		struct listen_addr *a = added;
		added = a->next;
		free_addr(a);
	}
	pthread_mutex_unlock(&ls->lock);
	free(resolved);
	return rc;
}

/* ==== Upgrade ==== */

char *hp_listeners_export(struct hp_proxy *px, int **fds, size_t *nfds)
{
	struct hp_listeners *ls = px->listeners;
	struct hp_buf out = {0};
	*fds = NULL;
	*nfds = 0;
	pthread_mutex_lock(&ls->lock);
	for (struct listen_addr *a = ls->addrs; a != NULL; a = a->next) {
		if (a->removed)
			continue;
		char sep = '=';
		for (struct listen_sock *s = a->socks; s != NULL; s = s->next) {
			if (s->fd < 0)
				continue;
			if (sep == '=') {
				if (out.len > 0)
					hp_buf_append(&out, ";", 1);
				hp_buf_append(&out, a->name, strlen(a->name));
			}
			char num[16];
			int k = snprintf(num, sizeof(num), "%c%d", sep, s->fd);
			hp_buf_append(&out, num, (size_t)k);
			sep = ',';
			*fds = hp_xrealloc(*fds, (*nfds + 1) * sizeof(**fds));
			(*fds)[(*nfds)++] = s->fd;
		}
	}
	pthread_mutex_unlock(&ls->lock);
	char *str = hp_xmalloc(out.len + 1);
	memcpy(str, hp_buf_data(&out), out.len);
	str[out.len] = '\0';
	hp_buf_fini(&out);
	return str;
}
