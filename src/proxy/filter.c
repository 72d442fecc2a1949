/* SPDX-License-Identifier: MIT */
/*
 * filter.c - running a body chain: adding filters, and passing start,
 * data, end and abort along it. The filters themselves are in
 * filter_*.c, one concern each (filter.h).
 */
#include "core/core.h"
#include "proxy/filter.h"

uint64_t hp_bvec_len(const struct hp_bvec *v, size_t n)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += v[i].len;
	return total;
}

void hp_filter_add(struct hp_filter_chain *ch, struct hp_filter *f)
{
	f->next = NULL;
	if (ch->head == NULL)
		ch->head = f;
	else
		ch->tail->next = f;
	ch->tail = f;
}

void hp_filter_start(struct hp_filter_chain *ch)
{
	for (struct hp_filter *f = ch->head; f != NULL; f = f->next)
		if (f->ops->start != NULL)
			f->ops->start(f);
}

ssize_t hp_filter_data(struct hp_filter_chain *ch, const struct hp_bvec *v, size_t n)
{
	/* Aborted under our feet (the client closed during a write): take
	 * everything, the source stops on its own. */
	if (ch->ended || ch->head == NULL)
		return (ssize_t)hp_bvec_len(v, n);
	if (n == 0)
		return 0;
	return ch->head->ops->data(ch->head, v, n);
}

ssize_t hp_filter_bytes(struct hp_filter_chain *ch, const char *p, size_t len)
{
	struct hp_bvec v = {.ptr = p, .fd = -1, .len = len};
	return len > 0 ? hp_filter_data(ch, &v, 1) : 0;
}

ssize_t hp_filter_next(struct hp_filter *f, const struct hp_bvec *v, size_t n)
{
	HP_ASSERT(f->next != NULL);
	if (n == 0)
		return 0;
	return f->next->ops->data(f->next, v, n);
}

int hp_filter_end(struct hp_filter_chain *ch)
{
	if (ch->ended)
		return 0;
	ch->ended = true;
	for (struct hp_filter *f = ch->head; f != NULL; f = f->next) {
		if (f->ops->end(f) < 0) {
			/* The filters after this one never see the end. */
			for (struct hp_filter *g = f->next; g != NULL; g = g->next)
				g->ops->abort(g);
			return HP_ERR;
		}
	}
	return 0;
}

void hp_filter_abort(struct hp_filter_chain *ch)
{
	if (ch->ended || ch->head == NULL)
		return;
	ch->ended = true;
	for (struct hp_filter *f = ch->head; f != NULL; f = f->next)
		f->ops->abort(f);
}
