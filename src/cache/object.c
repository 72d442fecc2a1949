/* SPDX-License-Identifier: MIT */
/*
 * object.c - building and reading stored responses.
 *
 * An object copies what it needs of the response head into one block
 * (<mem>: field names and values, Vary request values, tags) plus the
 * serialized head the proxy writes as is. The body lives in fixed-size
 * segments so that appending never copies and a 304 freshen shares it.
 * A large body is sealed at commit into a memfd, mapped read-only: the
 * proxy can then sendfile() it, and the kernel hands the same pages to
 * every client instead of copying the body for each hit. Pages in flight
 * are the kernel's to keep, so evicting the object mid-send is safe.
 * Everything here runs before publication or reads immutable fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cache/cache_priv.h"
#include "core/clock.h"

/* A stored Vary value: VARY_MARK, then the request's values of the field
 * joined by VARY_SEP, so that "present but empty" differs from "absent"
 * (an empty stored value). */
#define VARY_MARK "\1"
#define VARY_SEP ", "

/* ==== Body segments ==== */

static struct body *body_new(void)
{
	struct body *b = hp_xcalloc(1, sizeof(*b));

	atomic_init(&b->refcnt, 1);
	atomic_init(&b->state, BODY_FILLING);
	pthread_mutex_init(&b->mtx, NULL);
	hp_list_init(&b->watchers);
	b->fd = -1;
	return b;
}

void hp_cache_take_waiters(struct hp_list *from, struct hp_list *woken)
{
	while (!hp_list_empty(from)) {
		struct hp_cache_waiter *w = HP_LIST_FIRST(from, struct hp_cache_waiter, _link);
		hp_list_unlink(&w->_link);
		w->_queued = false;
		hp_list_link_tail(woken, &w->_link);
	}
}

void hp_cache_wake(struct hp_list *woken)
{
	/* A callback may free its waiter: unlink it first. */
	while (!hp_list_empty(woken)) {
		struct hp_cache_waiter *w = HP_LIST_FIRST(woken, struct hp_cache_waiter, _link);
		hp_list_unlink(&w->_link);
		w->cb(w);
	}
}

static void append_segments(struct body *b, const char *p, size_t len)
{

	while (len > 0) {
		size_t used = BODY_SEG_BYTES;
		if (b->nseg > 0)
			used = b->len - (b->nseg - 1) * BODY_SEG_BYTES;
		if (used == BODY_SEG_BYTES) {
			if (b->nseg == b->cap) {
				b->cap = b->cap ? b->cap * 2 : 4;
				b->seg = hp_xrealloc(b->seg, b->cap * sizeof(*b->seg));
			}
			b->seg[b->nseg++] = hp_xmalloc(BODY_SEG_BYTES);
			used = 0;
		}
		size_t n = HP_MIN(len, BODY_SEG_BYTES - used);
		memcpy(b->seg[b->nseg - 1] + used, p, n);
		b->len += n;
		p += n;
		len -= n;
	}
}

void hp_cache_body_append(struct body *b, const void *data, size_t len, struct hp_list *woken)
{
	pthread_mutex_lock(&b->mtx);
	append_segments(b, data, len);
	hp_cache_take_waiters(&b->watchers, woken);
	pthread_mutex_unlock(&b->mtx);
}

static void free_segments(struct body *b)
{
	for (size_t i = 0; i < b->nseg; i++)
		free(b->seg[i]);
	free(b->seg);
	b->seg = NULL;
	b->nseg = 0;
	b->cap = 0;
}

/* Copy the segments into a memfd and map it. False (nothing changed) if
 * the system says no, e.g. out of descriptors: the segments then stay. */
static bool seal_into_memfd(struct body *b)
{
	int fd = memfd_create("hotpath-body", MFD_CLOEXEC);
	if (fd < 0)
		return false;
	uint64_t off = 0;
	for (size_t i = 0; i < b->nseg; i++) {
		size_t n = (size_t)HP_MIN((uint64_t)BODY_SEG_BYTES, b->len - off);
		for (size_t done = 0; done < n;) {
			ssize_t w = pwrite(fd, b->seg[i] + done, n - done, (off_t)(off + done));
			if (w <= 0)
				goto fail;
			done += (size_t)w;
		}
		off += n;
	}
	void *map = mmap(NULL, (size_t)b->len, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		goto fail;
	free_segments(b);
	b->fd = fd;
	b->map = map;
	return true;
fail:
	close(fd);
	return false;
}

/* Seal a large body into a memfd, or give back the unused tail of the last
 * segment (most bodies are small). */
static void trim(struct body *b)
{
	if (b->nseg == 0)
		return;
	if (b->len >= BODY_FILE_MIN && seal_into_memfd(b))
		return;
	size_t used = b->len - (b->nseg - 1) * BODY_SEG_BYTES;
	b->seg[b->nseg - 1] = hp_xrealloc(b->seg[b->nseg - 1], used);
}

void hp_cache_body_finish(struct body *b, struct hp_list *woken)
{
	pthread_mutex_lock(&b->mtx);
	trim(b);
	/* Release: a reader that sees COMPLETE sees the final segments or map. */
	atomic_store_explicit(&b->state, BODY_COMPLETE, memory_order_release);
	hp_cache_take_waiters(&b->watchers, woken);
	pthread_mutex_unlock(&b->mtx);
}

void hp_cache_body_fail(struct body *b, struct hp_list *woken)
{
	pthread_mutex_lock(&b->mtx);
	if (atomic_load_explicit(&b->state, memory_order_relaxed) == BODY_FILLING)
		atomic_store_explicit(&b->state, BODY_FAILED, memory_order_release);
	hp_cache_take_waiters(&b->watchers, woken);
	pthread_mutex_unlock(&b->mtx);
}

/* Under b->mtx: copy body bytes [offset, offset + n) into <out>. */
static void copy_out(const struct body *b, uint64_t offset, size_t n, struct hp_buf *out)
{
	while (n > 0) {
		size_t idx = (size_t)(offset / BODY_SEG_BYTES);
		size_t within = (size_t)(offset % BODY_SEG_BYTES);
		size_t k = HP_MIN(n, BODY_SEG_BYTES - within);
		hp_buf_append(out, b->seg[idx] + within, k);
		offset += k;
		n -= k;
	}
}

enum hp_cache_stream hp_cache_obj_stream(struct hp_cache_obj *obj, uint64_t offset,
					 struct hp_buf *out, size_t max,
					 struct hp_cache_waiter *w)
{
	struct body *b = obj->body;
	enum hp_cache_stream r;

	switch (atomic_load_explicit(&b->state, memory_order_acquire)) {
	case BODY_COMPLETE:
		return HP_CACHE_STREAM_DONE;
	case BODY_FAILED:
		return HP_CACHE_STREAM_FAILED;
	}
	pthread_mutex_lock(&b->mtx);
	int state = atomic_load_explicit(&b->state, memory_order_relaxed);
	if (state == BODY_COMPLETE) {
		r = HP_CACHE_STREAM_DONE;
	} else if (state == BODY_FAILED) {
		r = HP_CACHE_STREAM_FAILED;
	} else if (offset < b->len) {
		copy_out(b, offset, (size_t)HP_MIN((uint64_t)max, b->len - offset), out);
		r = HP_CACHE_STREAM_DATA;
	} else {
		w->_queued = true;
		hp_list_link_tail(&b->watchers, &w->_link);
		r = HP_CACHE_STREAM_WAIT;
	}
	pthread_mutex_unlock(&b->mtx);
	return r;
}

bool hp_cache_obj_cancel_stream(struct hp_cache_obj *obj, struct hp_cache_waiter *w)
{
	struct body *b = obj->body;
	bool withdrawn = false;

	pthread_mutex_lock(&b->mtx);
	if (w->_queued) {
		hp_list_unlink(&w->_link);
		w->_queued = false;
		withdrawn = true;
	}
	pthread_mutex_unlock(&b->mtx);
	return withdrawn;
}

bool hp_cache_obj_complete(const struct hp_cache_obj *obj)
{
	return atomic_load_explicit(&obj->body->state, memory_order_acquire) == BODY_COMPLETE;
}

void hp_cache_body_release(struct body *b)
{
	if (b == NULL || atomic_fetch_sub_explicit(&b->refcnt, 1, memory_order_acq_rel) != 1)
		return;
	free_segments(b);
	if (b->map != NULL)
		munmap(b->map, (size_t)b->len);
	if (b->fd >= 0)
		close(b->fd);
	pthread_mutex_destroy(&b->mtx);
	free(b);
}

static uint64_t body_charge(const struct body *b)
{
	return b->len + b->cap * sizeof(char *) + b->nseg * 16;
}

/* ==== Object life ==== */

struct hp_cache_obj *hp_cache_obj_new(void)
{
	struct hp_cache_obj *obj = hp_xcalloc(1, sizeof(*obj));

	obj->magic = HP_CACHE_OBJ_MAGIC;
	atomic_init(&obj->refcnt, 1);
	atomic_init(&obj->purged, false);
	atomic_init(&obj->purged_at, 0);
	obj->body = body_new();
	return obj;
}

static void obj_free(struct hp_cache_obj *obj)
{
	HP_ASSERT(obj->ke == NULL && obj->trefs == NULL);
	hp_cache_body_release(obj->body);
	free(obj->mem);
	free(obj->head_mem);
	free(obj->fields);
	free(obj->vary);
	free(obj->tags);
	obj->magic = 0;
	free(obj);
}

struct hp_cache_obj *hp_cache_obj_fetch(struct hp_cache_obj *obj)
{
	HP_CHECK_OBJ(obj, HP_CACHE_OBJ_MAGIC);
	atomic_fetch_add_explicit(&obj->refcnt, 1, memory_order_relaxed);
	return obj;
}

void hp_cache_obj_release(struct hp_cache_obj *obj)
{
	HP_CHECK_OBJ(obj, HP_CACHE_OBJ_MAGIC);
	if (atomic_fetch_sub_explicit(&obj->refcnt, 1, memory_order_acq_rel) == 1)
		obj_free(obj);
}

uint64_t hp_cache_obj_charge(const struct hp_cache_obj *obj)
{
	return sizeof(*obj) + OBJ_OVERHEAD_BYTES + obj->head.len +
	       obj->nfields * sizeof(*obj->fields) + obj->nvary * sizeof(*obj->vary) +
	       obj->ntags * sizeof(*obj->tags) + body_charge(obj->body) + obj->mem_bytes;
}

/* ==== Building the head ==== */

/*
 * Strings are packed into one growing buffer and remembered by offset,
 * because the buffer moves as it grows; unpack() turns offsets into
 * pointers once the block is final.
 */
static struct hp_str pack(struct hp_buf *b, const char *p, size_t n)
{
	struct hp_str s = {(const char *)(uintptr_t)b->len, n};

	hp_buf_append(b, p, n);
	return s;
}

static void unpack(struct hp_str *s, const char *base)
{
	s->ptr = base + (uintptr_t)s->ptr;
}

/* §3.1: no Age (recomputed at send time); §5.2.2.4 and §5.2.2.7: fields named
 * by qualified no-cache / private are not stored by a shared cache. Nor is
 * Set-Cookie, ever: a response carrying one is stored only on a route that
 * allows it (policy.c), and then the cookie went to the client whose request
 * filled the cache; a hit must never hand it to anyone else. */
static bool store_field(const struct hp_http_cache_control *cc, struct hp_str name)
{
	if (hp_str_ieq(name, "Age") || hp_str_ieq(name, "Set-Cookie"))
		return false;
	return !hp_http_list_has(cc->no_cache_fields, name) &&
	       !hp_http_list_has(cc->private_fields, name);
}

static bool is_tag_field(const struct hp_cache *c, struct hp_str name)
{
	return hp_str_ieq(name, c->conf.tag_header) || hp_str_ieq(name, "Surrogate-Key");
}

static void pack_fields(struct hp_cache_obj *obj, struct hp_buf *mem,
			const struct hp_http_cache_control *cc,
			const struct hp_http_header *resp, size_t nresp)
{
	obj->fields = hp_xmalloc((nresp ? nresp : 1) * sizeof(*obj->fields));
	for (size_t i = 0; i < nresp; i++) {
		if (!store_field(cc, resp[i].name))
			continue;
		struct hp_http_header *f = &obj->fields[obj->nfields++];
		f->name = pack(mem, resp[i].name.ptr, resp[i].name.len);
		f->value = pack(mem, resp[i].value.ptr, resp[i].value.len);
	}
}

/* The request's combined value of <name>: "\1" v1 ", " v2 ..., or "" if absent,
 * so that an absent field only matches an absent one (§4.1). */
static struct hp_str pack_vary_value(struct hp_buf *mem, struct hp_str name,
				     const struct hp_http_header *req, size_t nreq)
{
	size_t start = mem->len;
	bool first = true;

	for (size_t i = 0; i < nreq; i++) {
		if (!hp_str_ieq_str(req[i].name, name))
			continue;
		struct hp_str v = hp_str_trim(req[i].value);
		if (first)
			HP_BUF_APPEND_LIT(mem, VARY_MARK);
		else
			HP_BUF_APPEND_LIT(mem, VARY_SEP);
		hp_buf_append(mem, v.ptr, v.len);
		first = false;
	}
	return (struct hp_str){(const char *)(uintptr_t)start, mem->len - start};
}

static void pack_vary(struct hp_cache_obj *obj, struct hp_buf *mem,
		      const struct hp_http_header *resp, size_t nresp,
		      const struct hp_http_header *req, size_t nreq)
{
	size_t cap = 0;
	size_t pos;
	struct hp_str t;

	for (size_t i = 0; i < nresp; i++)
		for (pos = 0; hp_str_ieq(resp[i].name, "Vary") &&
			      hp_str_next_token(resp[i].value, &pos, &t);)
			cap++;
	obj->vary = hp_xmalloc((cap ? cap : 1) * sizeof(*obj->vary));
	for (size_t i = 0; i < nresp; i++) {
		for (pos = 0; hp_str_ieq(resp[i].name, "Vary") &&
			      hp_str_next_token(resp[i].value, &pos, &t);) {
			if (hp_str_eq(t, "*"))
				obj->vary_star = true;
			struct hp_http_header *v = &obj->vary[obj->nvary++];
			v->name = pack(mem, t.ptr, t.len);
			v->value = pack_vary_value(mem, t, req, nreq);
		}
	}
}

static void copy_vary(struct hp_cache_obj *obj, struct hp_buf *mem, const struct hp_cache_obj *from)
{
	obj->vary = hp_xmalloc((from->nvary ? from->nvary : 1) * sizeof(*obj->vary));
	obj->nvary = from->nvary;
	obj->vary_star = from->vary_star;
	for (size_t i = 0; i < from->nvary; i++) {
		obj->vary[i].name = pack(mem, from->vary[i].name.ptr, from->vary[i].name.len);
		obj->vary[i].value = pack(mem, from->vary[i].value.ptr, from->vary[i].value.len);
	}
}

bool hp_cache_next_tag(const struct hp_http_header *f, size_t n, const char *tag_header,
		       struct hp_cache_tag_iter *it, struct hp_str *tag)
{
	for (; it->field < n; it->field++, it->pos = 0) {
		struct hp_str name = f[it->field].name;
		bool surrogate = hp_str_ieq(name, "Surrogate-Key");
		if (!surrogate && !hp_str_ieq(name, tag_header != NULL ? tag_header : "Cache-Tag"))
			continue;
		struct hp_str v = f[it->field].value;
		char sep = surrogate ? ' ' : ',';
		while (it->pos < v.len) {
			const char *s = memchr(v.ptr + it->pos, sep, v.len - it->pos);
			size_t end = s ? (size_t)(s - v.ptr) : v.len;
			*tag = hp_str_trim((struct hp_str){v.ptr + it->pos, end - it->pos});
			it->pos = end + 1;
			if (tag->len > 0)
				return true;
		}
	}
	return false;
}

/* Tags from the tag header (comma-separated) and Surrogate-Key (space-separated),
 * read from the response itself because <mem> moves while we pack. */
static void pack_tags(const struct hp_cache *c, struct hp_cache_obj *obj, struct hp_buf *mem,
		      const struct hp_http_cache_control *cc,
		      const struct hp_http_header *resp, size_t nresp)
{
	size_t cap = 0;

	for (int pass = 0; pass < 2; pass++) {
		struct hp_cache_tag_iter it = {0};
		struct hp_str t;
		while (hp_cache_next_tag(resp, nresp, c->conf.tag_header, &it, &t)) {
			if (!store_field(cc, resp[it.field].name))
				continue;
			if (pass == 0)
				cap++;
			else
				obj->tags[obj->ntags++] = pack(mem, t.ptr, t.len);
		}
		if (pass == 0)
			obj->tags = hp_xmalloc((cap ? cap : 1) * sizeof(*obj->tags));
	}
}

static void unpack_all(struct hp_cache_obj *obj)
{
	for (size_t i = 0; i < obj->nfields; i++) {
		unpack(&obj->fields[i].name, obj->mem);
		unpack(&obj->fields[i].value, obj->mem);
	}
	for (size_t i = 0; i < obj->nvary; i++) {
		unpack(&obj->vary[i].name, obj->mem);
		unpack(&obj->vary[i].value, obj->mem);
	}
	for (size_t i = 0; i < obj->ntags; i++)
		unpack(&obj->tags[i], obj->mem);
}

/* Date goes: the proxy sends its own with the Age it computes. */
static void build_head(const struct hp_cache *c, struct hp_cache_obj *obj,
		       const struct hp_cache_policy *pol)
{
	struct hp_buf h = {0};
	char line[64];
	int n = snprintf(line, sizeof(line), "HTTP/1.1 %03d %s\r\n", obj->status,
			 hp_http_status_reason(obj->status));

	hp_buf_append(&h, line, (size_t)n);
	for (size_t i = 0; i < obj->nfields; i++) {
		const struct hp_http_header *f = &obj->fields[i];
		if (hp_str_ieq(f->name, "Date"))
			continue;
		if (pol != NULL && pol->strip_tag_header && is_tag_field(c, f->name))
			continue;
		if (pol != NULL && pol->strip_targeted && hp_cache_is_targeted(pol, f->name))
			continue;
		hp_buf_append(&h, f->name.ptr, f->name.len);
		HP_BUF_APPEND_LIT(&h, ": ");
		hp_buf_append(&h, f->value.ptr, f->value.len);
		HP_BUF_APPEND_LIT(&h, "\r\n");
	}
	obj->head_mem = h.base;
	obj->head = (struct hp_str){h.base, h.len};
}

static struct hp_str field_value(const struct hp_cache_obj *obj, const char *name)
{
	const struct hp_http_header *f = hp_http_find_header(obj->fields, obj->nfields, name);

	return f ? hp_str_trim(f->value) : HP_STR("");
}

/*
 * The Age a response arrived with, in seconds. Its first member when it is a
 * list ("7200, 0", or fields joined by an intermediary): the others cannot
 * make it younger. A value too large to hold counts as 2^31 (RFC 9111
 * §1.2.2), so a response claiming to be very old is stale, not fresh as a
 * value that failed to parse would be. An invalid value counts as absent.
 */
static uint64_t age_value(const struct hp_http_header *f)
{
	if (f == NULL)
		return 0;
	size_t pos = 0;
	struct hp_str first;
	if (!hp_str_next_token(f->value, &pos, &first))
		return 0;
	for (size_t i = 0; i < first.len; i++)
		if (first.ptr[i] < '0' || first.ptr[i] > '9')
			return 0;
	uint64_t v;
	if (!hp_str_to_u64(first, (uint64_t)INT32_MAX + 1, &v))
		return (uint64_t)INT32_MAX + 1;
	return v;
}

/* §4.2.3, the part fixed at storage: corrected_initial_age. */
static void set_times(struct hp_cache_obj *obj, const struct hp_http_cache_control *cc,
		      const struct hp_http_header *resp, size_t nresp, time_t request_time,
		      time_t response_time, const struct hp_cache_policy *pol)
{
	const struct hp_http_header *f = hp_http_find_header(resp, nresp, "Date");
	time_t date;

	if (f == NULL || !hp_http_date_parse(f->value.ptr, f->value.len, &date))
		date = response_time;
	uint64_t age = age_value(hp_http_find_header(resp, nresp, "Age"));
	int64_t apparent_age = HP_MAX((int64_t)(response_time - date), 0);
	int64_t response_delay = HP_MAX((int64_t)(response_time - request_time), 0);
	int64_t corrected_age_value = (int64_t)age + response_delay;

	obj->corrected_initial_age = HP_MAX(apparent_age, corrected_age_value);
	obj->response_time = response_time;
	obj->lifetime_s = hp_cache_lifetime_at(obj->status, resp, nresp, pol, response_time);
	obj->swr_s = cc->stale_while_revalidate;
	obj->sie_s = cc->stale_if_error;
	obj->no_cache = cc->no_cache && cc->no_cache_fields.len == 0;
	obj->no_stale = cc->must_revalidate || cc->proxy_revalidate || cc->s_maxage >= 0;
}

void hp_cache_obj_set_head(struct hp_cache *c, struct hp_cache_obj *obj, int status,
			   const struct hp_http_header *resp, size_t nresp,
			   const struct hp_http_header *req, size_t nreq,
			   const struct hp_cache_obj *vary_from, time_t request_time,
			   time_t response_time, const struct hp_cache_policy *pol)
{
	struct hp_http_cache_control cc;
	struct hp_buf mem = {0};

	HP_ASSERT(obj->mem == NULL);
	hp_cache_response_cc(resp, nresp, pol, &cc);
	obj->status = status;
	pack_fields(obj, &mem, &cc, resp, nresp);
	if (vary_from != NULL)
		copy_vary(obj, &mem, vary_from);
	else
		pack_vary(obj, &mem, resp, nresp, req, nreq);
	pack_tags(c, obj, &mem, &cc, resp, nresp);
	hp_buf_append_byte(&mem, '\0');
	obj->mem = mem.base;
	obj->mem_bytes = mem.size;
	unpack_all(obj);
	obj->etag = field_value(obj, "ETag");
	obj->last_modified = field_value(obj, "Last-Modified");
	obj->date = field_value(obj, "Date");
	build_head(c, obj, pol);
	set_times(obj, &cc, resp, nresp, request_time, response_time, pol);
}

/* ==== Matching ==== */

/* Compare the request's fields called <name> with a value packed by
 * pack_vary_value(), without building the combined value: no allocation. */
static bool vary_value_matches(struct hp_str stored, struct hp_str name,
			       const struct hp_http_header *req, size_t nreq)
{
	size_t pos = 0;

	for (size_t i = 0; i < nreq; i++) {
		if (!hp_str_ieq_str(req[i].name, name))
			continue;
		struct hp_str v = hp_str_trim(req[i].value);
		struct hp_str sep = pos == 0 ? HP_STR(VARY_MARK) : HP_STR(VARY_SEP);
		if (stored.len - pos < sep.len + v.len ||
		    memcmp(stored.ptr + pos, sep.ptr, sep.len) != 0 ||
		    memcmp(stored.ptr + pos + sep.len, v.ptr, v.len) != 0)
			return false;
		pos += sep.len + v.len;
	}
	return pos == stored.len;
}

bool hp_cache_vary_match(const struct hp_cache_obj *obj, const struct hp_http_header *req,
			 size_t nreq)
{
	if (obj->vary_star)
		return false;
	for (size_t i = 0; i < obj->nvary; i++)
		if (!vary_value_matches(obj->vary[i].value, obj->vary[i].name, req, nreq))
			return false;
	return true;
}

/*
 * Does <newer> replace <older> on commit? Yes if it is the same variant, and
 * also if the origin changed its Vary list: the old variants were selected
 * by rules that no longer hold.
 */
bool hp_cache_supersedes(const struct hp_cache_obj *newer, const struct hp_cache_obj *older)
{
	if (newer->nvary != older->nvary)
		return true;
	for (size_t i = 0; i < newer->nvary; i++)
		if (!hp_str_ieq_str(newer->vary[i].name, older->vary[i].name))
			return true;
	for (size_t i = 0; i < newer->nvary; i++) {
		struct hp_str a = newer->vary[i].value;
		struct hp_str b = older->vary[i].value;
		if (a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0)
			return false;
	}
	return true;
}

bool hp_cache_obj_has_tag(const struct hp_cache_obj *obj, struct hp_str tag)
{
	for (size_t i = 0; i < obj->ntags; i++)
		if (obj->tags[i].len == tag.len && memcmp(obj->tags[i].ptr, tag.ptr, tag.len) == 0)
			return true;
	return false;
}

/* ==== Readers ==== */

int hp_cache_obj_status(const struct hp_cache_obj *obj)
{
	return obj->status;
}

struct hp_str hp_cache_obj_head(const struct hp_cache_obj *obj)
{
	return obj->head;
}

const struct hp_http_header *hp_cache_obj_fields(const struct hp_cache_obj *obj, size_t *n)
{
	*n = obj->nfields;
	return obj->fields;
}

uint64_t hp_cache_obj_body_len(const struct hp_cache_obj *obj)
{
	return obj->body->len;
}

int hp_cache_obj_body_fd(const struct hp_cache_obj *obj)
{
	return obj->body->fd;
}

int hp_cache_obj_body_iov(const struct hp_cache_obj *obj, uint64_t offset, struct iovec *iov,
			  int max)
{
	const struct body *b = obj->body;
	int n = 0;

	if (b->map != NULL) {
		if (max < 1 || offset >= b->len)
			return 0;
		iov[0].iov_base = b->map + offset;
		iov[0].iov_len = (size_t)(b->len - offset);
		return 1;
	}
	while (n < max && offset < b->len) {
		size_t idx = (size_t)(offset / BODY_SEG_BYTES);
		size_t within = (size_t)(offset % BODY_SEG_BYTES);
		uint64_t seg_len = HP_MIN((uint64_t)BODY_SEG_BYTES, b->len - idx * BODY_SEG_BYTES);
		iov[n].iov_base = b->seg[idx] + within;
		iov[n].iov_len = (size_t)seg_len - within;
		offset += iov[n].iov_len;
		n++;
	}
	return n;
}
