/* SPDX-License-Identifier: MIT */
/*
 * listeners.h - the proxy's listening sockets: binding, handing them to the
 * workers, adding and removing addresses on reload, and passing them to a
 * new binary on a zero-downtime upgrade.
 *
 * Every configured address has one SO_REUSEPORT socket per worker, so the
 * kernel spreads connections and no worker's accept queue is shared. Before
 * binding an address for the first time, a plain bind without SO_REUSEPORT
 * probes it: that fails while any other socket (another hotpath, nginx...)
 * holds the port, which the reuseport binds alone would silently join.
 *
 * Upgrade: the old process lists its sockets as "ADDR=fd,fd;ADDR=fd" in
 * HOTPATH_LISTEN_FDS for the new one, which adopts every inherited socket
 * whose bound address matches a configured one (compared by getsockname,
 * not by spelling), spreads them over its workers, binds extra reuseport
 * sockets when it has more workers, and closes inherited sockets it no
 * longer wants. A socket survives as long as either process holds it, so
 * its accept queue is never lost.
 *
 * Threads: create, update, export and destroy run on the main (or admin)
 * thread and are serialised by an internal lock; a socket's registration
 * on a worker's loop is only touched on that worker's thread once the
 * workers run (changes are posted with hp_loop_post).
 */
#ifndef HP_PROXY_LISTENERS_H
#define HP_PROXY_LISTENERS_H

#include <stddef.h>
#include <sys/socket.h>

struct hp_config;
struct hp_listeners;
struct hp_proxy;
struct hp_worker;

/* The environment variable that carries inherited sockets. */
#define HP_LISTEN_FDS_ENV "HOTPATH_LISTEN_FDS"

/*
 * Process-wide, before hp_proxy_create(): take the sockets described by
 * <spec> ("ADDR=fd,fd;ADDR=fd", as hp_listeners_export() writes it; NULL
 * or "" = none) for adoption. Descriptors that are not listening TCP
 * sockets are refused. Returns 0, or -1 with a reason in <err>.
 */
int hp_listeners_inherit(const char *spec, char *err, size_t errlen);
/* Take the inherited socket bound to <ss> (the admin listener's), or -1.
 * The caller owns the descriptor. */
int hp_listeners_take_inherited(const struct sockaddr_storage *ss);
/* After hp_proxy_create() and the admin: close the inherited sockets that
 * no configured address claimed, logging each. */
void hp_listeners_inherit_end(void);

/*
 * Bind px->cfg->listen for every worker of <px> (workers and their loops
 * already created, threads not started) and register each socket on its
 * worker's loop. Inherited sockets are adopted first. Returns the set, or NULL with "listen ADDR: reason" in <err>
 * (e.g. "listen 127.0.0.1:8080: address already in use").
 */
struct hp_listeners *hp_listeners_create(struct hp_proxy *px, char *err, size_t errlen);

/*
 * Reload: bind the addresses of <cfg> that are not bound yet (probed as at
 * start), hand them to the workers, and close those no longer configured.
 * All new binds happen before anything changes: returns 0, or -1 with a
 * reason in <err> and nothing changed. Logs each address added or removed.
 * Main or admin thread, while the workers run.
 */
int hp_listeners_update(struct hp_proxy *px, const struct hp_config *cfg, char *err,
			size_t errlen);

/* Drain: unregister and close the sockets of <w>. On <w>'s thread. */
void hp_listeners_close_worker(struct hp_listeners *ls, struct hp_worker *w);

/*
 * Upgrade: the open sockets as an HP_LISTEN_FDS_ENV value (malloc'd, the
 * caller frees), and their descriptors in *<fds> (malloc'd) and *<nfds>,
 * for the caller to keep open across exec.
 */
char *hp_listeners_export(struct hp_proxy *px, int **fds, size_t *nfds);

/* Close every socket (the workers have stopped) and free. NULL is allowed. */
void hp_listeners_destroy(struct hp_listeners *ls);

#endif
