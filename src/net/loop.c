/* SPDX-License-Identifier: MIT */
/*
 * loop.c - the per-thread event loop: edge-triggered epoll, a lazy binary
 * heap of timers, deferred calls, and a cross-thread queue of intrusive
 * post nodes woken by an eventfd.
 *
 * One iteration: fire due timers, wait for events (no longer than the next
 * deadline, not at all if calls are deferred), dispatch them, run deferred
 * calls. Deferred calls run after every event of the batch has been
 * dispatched, which is what makes "mark closed now, free later" safe: an
 * event for an object closed earlier in the same batch still finds the
 * object, sees fd == -1, and is dropped. The epoll data pointer carries the
 * io's generation bit so an event for an old descriptor never reaches a
 * new one that reused the same hp_io within the batch.
 */
#include "net/net.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"

#define MAX_EVENTS 256

struct hp_loop {
	int epfd;
	uint64_t now_ms;              /* cached clock, ms */
	atomic_bool stopping;
	void *data;                   /* the owner (worker) */
	uint64_t spin_ns;             /* poll this long before blocking, 0 = never */
	struct hp_timer **heap;       /* 1-based min-heap on _key_ms */
	size_t nheap;                 /* timers armed */
	size_t capheap;               /* slots allocated, slot 0 unused */
	struct hp_list deferred;      /* struct hp_deferred, FIFO */
	struct hp_io wake;            /* eventfd for posts and stop */
	pthread_mutex_t post_lock;    /* protects both lists and every queued node */
	struct hp_list posts;         /* struct hp_post, FIFO, waiting for the next run */
	struct hp_list running;       /* struct hp_post, FIFO, taken by the current run */
};

/* ==== Timer heap ==== */

static void heap_set(struct hp_loop *l, size_t i, struct hp_timer *t)
{
	l->heap[i] = t;
	t->_index = i;
}

static void sift_up(struct hp_loop *l, size_t i)
{
	struct hp_timer *t = l->heap[i];
	while (i > 1 && l->heap[i / 2]->_key_ms > t->_key_ms) {
		heap_set(l, i, l->heap[i / 2]);
		i /= 2;
	}
	heap_set(l, i, t);
}

static void sift_down(struct hp_loop *l, size_t i)
{
	struct hp_timer *t = l->heap[i];
	for (;;) {
		size_t c = i * 2;
		if (c > l->nheap)
			break;
		if (c < l->nheap && l->heap[c + 1]->_key_ms < l->heap[c]->_key_ms)
			c++;
		if (l->heap[c]->_key_ms >= t->_key_ms)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

static void heap_push(struct hp_loop *l, struct hp_timer *t)
{
	if (l->nheap + 1 >= l->capheap) {
		l->capheap = l->capheap ? l->capheap * 2 : 64;
		l->heap = hp_xrealloc(l->heap, l->capheap * sizeof(*l->heap));
	}
	l->nheap++;
	heap_set(l, l->nheap, t);
	sift_up(l, l->nheap);
}

static void heap_remove(struct hp_loop *l, struct hp_timer *t)
{
	size_t i = t->_index;
	HP_ASSERT(i >= 1 && i <= l->nheap && l->heap[i] == t);
	struct hp_timer *last = l->heap[l->nheap--];
	t->_index = 0;
	if (last == t)
		return;
	heap_set(l, i, last);
	if (i > 1 && l->heap[i / 2]->_key_ms > last->_key_ms)
		sift_up(l, i);
	else
		sift_down(l, i);
}

void hp_timer_start(struct hp_loop *loop, struct hp_timer *t, uint64_t after_ms,
		    hp_timer_fn *cb)
{
	uint64_t at = loop->now_ms + after_ms;
	t->at_ms = at;
	t->cb = cb;
	if (t->_index != 0) {
		/* Later than the heap thinks: fix it up when the old key comes due. */
		if (at >= t->_key_ms)
			return;
		t->_key_ms = at;
		sift_up(loop, t->_index);
		return;
	}
	t->_key_ms = at;
	heap_push(loop, t);
}

void hp_timer_stop(struct hp_loop *loop, struct hp_timer *t)
{
	if (t->_index != 0)
		heap_remove(loop, t);
}

/*
 * Fire the timers that are due. A timer whose deadline moved (lazy re-arm)
 * goes back under its real deadline before anything fires, so overdue timers
 * still fire in deadline order. The pass is bounded by the number of timers
 * armed when it began: a callback that re-arms for 0 ms waits for the next
 * iteration instead of starving the sockets.
 */
static void run_timers(struct hp_loop *l)
{
	size_t budget = l->nheap * 2 + 1;
	while (budget-- > 0 && l->nheap > 0 && l->heap[1]->_key_ms <= l->now_ms) {
		struct hp_timer *t = l->heap[1];
		heap_remove(l, t);
		if (t->at_ms != t->_key_ms) {
			t->_key_ms = t->at_ms;
			heap_push(l, t);
			continue;
		}
		t->cb(t);
	}
}

static int next_timeout_ms(const struct hp_loop *l)
{
	if (!hp_list_empty(&l->deferred))
		return 0;
	if (l->nheap == 0)
		return -1;
	uint64_t key = l->heap[1]->_key_ms;
	if (key <= l->now_ms)
		return 0;
	uint64_t d = key - l->now_ms;
	return d > 60000 ? 60000 : (int)d;
}

/* ==== Deferred calls and cross-thread posts ==== */

void hp_loop_defer(struct hp_loop *loop, struct hp_deferred *d, hp_deferred_fn *cb)
{
	d->cb = cb;
	if (hp_list_linked(&d->_link))
		return;
	hp_list_link_tail(&loop->deferred, &d->_link);
}

void hp_loop_cancel_defer(struct hp_deferred *d)
{
	hp_list_unlink(&d->_link);
}

static void run_deferred(struct hp_loop *l)
{
	while (!hp_list_empty(&l->deferred)) {
		struct hp_deferred *d = HP_LIST_FIRST(&l->deferred, struct hp_deferred, _link);
		hp_list_unlink(&d->_link);
		d->cb(d);
	}
}

void hp_loop_flush(struct hp_loop *loop)
{
	run_deferred(loop);
}

static void wake(struct hp_loop *l)
{
	uint64_t one = 1;
	(void)!write(l->wake.fd, &one, sizeof(one));
}

/*
 * A node is queued when its link is in posts or running; both lists and the
 * nodes' links and callbacks are only touched under post_lock, so posting
 * threads and the loop never race on a node. Linking onto an empty posts list
 * is the only case that writes the eventfd: a non-empty list already has a
 * wake-up on its way (or is about to be taken by run_posts).
 */
void hp_loop_post_node(struct hp_loop *loop, struct hp_post *p, hp_post_fn *cb)
{
	pthread_mutex_lock(&loop->post_lock);
	p->_cb = cb;
	bool was_empty = hp_list_empty(&loop->posts);
	bool queued = hp_list_linked(&p->_link);
	if (!queued)
		hp_list_link_tail(&loop->posts, &p->_link);
	pthread_mutex_unlock(&loop->post_lock);
	if (!queued && was_empty)
		wake(loop);
}

bool hp_loop_post_cancel(struct hp_loop *loop, struct hp_post *p)
{
	pthread_mutex_lock(&loop->post_lock);
	bool queued = hp_list_linked(&p->_link);
	if (queued)
		hp_list_unlink(&p->_link);
	pthread_mutex_unlock(&loop->post_lock);
	return queued;
}

bool hp_loop_post_pending(struct hp_loop *loop, const struct hp_post *p)
{
	pthread_mutex_lock(&loop->post_lock);
	bool queued = hp_list_linked(&p->_link);
	pthread_mutex_unlock(&loop->post_lock);
	return queued;
}

/* Move the pending posts, in order, to the end of the running list. */
static void take_posts(struct hp_loop *l)
{
	while (!hp_list_empty(&l->posts)) {
		struct hp_list *n = l->posts.next;
		hp_list_unlink(n);
		hp_list_link_tail(&l->running, n);
	}
}

/*
 * Run the posts queued so far, oldest first. The batch is taken whole, so a
 * callback that posts itself again runs in the next wake-up, not in a loop
 * here. Each node is unlinked under the lock just before its call: from then
 * on a post of it queues a new call, and a cancel from an earlier callback
 * of this batch still finds it in running and removes it.
 */
static void run_posts(struct hp_loop *l)
{
	pthread_mutex_lock(&l->post_lock);
	take_posts(l);
	while (!hp_list_empty(&l->running)) {
		struct hp_post *p = HP_LIST_FIRST(&l->running, struct hp_post, _link);
		hp_list_unlink(&p->_link);
		hp_post_fn *cb = p->_cb;
		pthread_mutex_unlock(&l->post_lock);
		cb(p);
		pthread_mutex_lock(&l->post_lock);
	}
	pthread_mutex_unlock(&l->post_lock);
}

static void on_wake(struct hp_io *io, unsigned events)
{
	(void)events;
	uint64_t n;
	while (read(io->fd, &n, sizeof(n)) > 0)
		;
	run_posts(io->loop);
}

/* ==== Loop ==== */

struct hp_loop *hp_loop_create(void)
{
	struct hp_loop *l = hp_xcalloc(1, sizeof(*l));
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	HP_ASSERT(l->epfd >= 0);
	hp_list_init(&l->deferred);
	pthread_mutex_init(&l->post_lock, NULL);
	hp_list_init(&l->posts);
	hp_list_init(&l->running);
	l->now_ms = hp_clock_mono_ms();
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	HP_ASSERT(efd >= 0);
	HP_AZ(hp_io_start(l, &l->wake, efd, on_wake));
	return l;
}

void hp_loop_destroy(struct hp_loop *loop)
{
	run_posts(loop);
	hp_io_close(&loop->wake);
	close(loop->epfd);
	pthread_mutex_destroy(&loop->post_lock);
	free(loop->heap);
	free(loop);
}

static void dispatch(struct epoll_event *ev)
{
	uintptr_t tag = (uintptr_t)ev->data.ptr;
	struct hp_io *io = (struct hp_io *)(tag & ~(uintptr_t)1);
	if (io->fd < 0 || (tag & 1) != io->_gen)
		return;
	unsigned bits = 0;
	if (ev->events & (EPOLLIN | EPOLLRDHUP))
		bits |= HP_IO_READ;
	if (ev->events & (EPOLLRDHUP | EPOLLHUP))
		bits |= HP_IO_HUP;
	if (ev->events & EPOLLOUT)
		bits |= HP_IO_WRITE;
	if (ev->events & (EPOLLERR | EPOLLHUP))
		bits |= HP_IO_ERROR | HP_IO_READ | HP_IO_WRITE;
	io->cb(io, bits);
}

/* epoll_wait, spinning first when asked to (hp_loop_set_spin). */
static int wait_events(struct hp_loop *l, struct epoll_event *events)
{
	int timeout = next_timeout_ms(l);
	if (l->spin_ns == 0 || timeout == 0)
		return epoll_wait(l->epfd, events, MAX_EVENTS, timeout);
	uint64_t until = hp_clock_mono_ns() + l->spin_ns;
	do {
		int n = epoll_wait(l->epfd, events, MAX_EVENTS, 0);
		if (n != 0)
			return n;
	} while (hp_clock_mono_ns() < until);
	return epoll_wait(l->epfd, events, MAX_EVENTS, timeout);
}

int hp_loop_run(struct hp_loop *loop)
{
	struct epoll_event events[MAX_EVENTS];
	while (!atomic_load(&loop->stopping)) {
		loop->now_ms = hp_clock_mono_ms();
		run_timers(loop);
		run_deferred(loop);
		int n = wait_events(loop, events);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		loop->now_ms = hp_clock_mono_ms();
		for (int i = 0; i < n; i++)
			dispatch(&events[i]);
		run_deferred(loop);
	}
	atomic_store(&loop->stopping, false);
	return 0;
}

void hp_loop_stop(struct hp_loop *loop)
{
	atomic_store(&loop->stopping, true);
	wake(loop);
}

uint64_t hp_loop_now_ms(const struct hp_loop *loop)
{
	return loop->now_ms;
}

void hp_loop_update_time(struct hp_loop *loop)
{
	loop->now_ms = hp_clock_mono_ms();
}

void hp_loop_set_spin(struct hp_loop *loop, unsigned spin_us)
{
	loop->spin_ns = (uint64_t)spin_us * 1000;
}

void hp_loop_set_data(struct hp_loop *loop, void *data)
{
	loop->data = data;
}

void *hp_loop_data(const struct hp_loop *loop)
{
	return loop->data;
}

/* ==== Descriptors ==== */

int hp_io_start(struct hp_loop *loop, struct hp_io *io, int fd, hp_io_fn *cb)
{
	HP_ASSERT(((uintptr_t)io & 1) == 0);
	io->_gen ^= 1;
	io->fd = fd;
	io->cb = cb;
	io->loop = loop;
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.ptr = (void *)((uintptr_t)io | io->_gen),
	};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = errno;
		io->fd = -1;
		io->loop = NULL;
		return -err;
	}
	return 0;
}

void hp_io_stop(struct hp_io *io)
{
	if (io->loop == NULL)
		return;
	(void)epoll_ctl(io->loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->fd = -1;
	io->loop = NULL;
}

void hp_io_close(struct hp_io *io)
{
	if (io->loop == NULL)
		return;
	/* Deregistered before the close: epoll forgets a socket only when its
	 * last reference closes, and another process may hold one (an
	 * upgrade's new binary between fork and exec), so the socket's next
	 * event would reach this io after its owner freed it. One syscall per
	 * connection, not per request. */
	(void)epoll_ctl(io->loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	close(io->fd);
	io->fd = -1;
	io->loop = NULL;
}
