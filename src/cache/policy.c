/* SPDX-License-Identifier: MIT */
/*
 * policy.c - RFC 9111 as pure functions: may a response be stored (§3), how
 * long it stays fresh (§4.2.1, §4.2.2), how old it is (§4.2.3), whether this
 * request may use it as is, stale, or only after revalidation (§4.2.4,
 * §5.2, RFC 5861), and whether a client's conditional request is answered
 * 304 (RFC 9110 §13.2.2, RFC 9111 §4.3.2).
 *
 * hotpath is a shared cache, so s-maxage and private apply, and s-maxage
 * also implies proxy-revalidate (§5.2.2.10).
 */
#include "cache/cache_priv.h"
#include "core/clock.h"

#define HEURISTIC_MAX_S 86400 /* cap on the 10 % Last-Modified heuristic */

/* RFC 9110 §15.1: responses a cache may store with heuristic freshness. */
static bool heuristic_status(int status)
{
	switch (status) {
	case 200: case 203: case 204: case 206: case 300: case 301: case 308:
	case 404: case 405: case 410: case 414: case 501:
		return true;
	default:
		return false;
	}
}

/* Final statuses whose caching rules we implement. 206 needs range support
 * we do not have; 304 updates a stored response, it is not one (§4.3.4). */
static bool understood_status(int status)
{
	return status >= 200 && status <= 599 && status != 206 && status != 304;
}

/* Statuses whose caching rules we know: those RFC 9110 defines (less 206,
 * which we do not store). must-understand (§5.2.2.3) allows storing only
 * these: a 599 may mean anything, even "do not cache me". */
static bool known_status(int status)
{
	return (status >= 200 && status <= 205) || (status >= 300 && status <= 308 &&
						     status != 304 && status != 306) ||
	       (status >= 400 && status <= 417) || status == 421 || status == 422 ||
	       status == 426 || (status >= 500 && status <= 505);
}

static bool field_date(const struct hp_http_header *h, size_t n, const char *name, time_t *out)
{
	const struct hp_http_header *f = hp_http_find_header(h, n, name);

	return f != NULL && hp_http_date_parse(f->value.ptr, f->value.len, out);
}

bool hp_cache_response_cc(const struct hp_http_header *resp, size_t n,
			  const struct hp_cache_policy *pol, struct hp_http_cache_control *cc)
{
	for (size_t i = 0; pol != NULL && i < pol->ntargeted; i++)
		if (hp_http_parse_targeted_cache_control(resp, n, pol->targeted[i], cc))
			return true;
	hp_http_parse_cache_control(resp, n, cc);
	return false;
}

bool hp_cache_is_targeted(const struct hp_cache_policy *pol, struct hp_str name)
{
	for (size_t i = 0; pol != NULL && i < pol->ntargeted; i++)
		if (hp_str_ieq(name, pol->targeted[i]))
			return true;
	return false;
}

static bool has_explicit_freshness(const struct hp_http_cache_control *cc, bool targeted,
				   const struct hp_http_header *h, size_t n)
{
	return cc->s_maxage >= 0 || cc->max_age >= 0 ||
	       (!targeted && hp_http_find_header(h, n, "Expires"));
}

static bool vary_star(const struct hp_http_header *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hp_str_ieq(h[i].name, "Vary") && hp_http_has_token(h[i].value, "*"))
			return true;
	return false;
}

/* The first rule of §3 that forbids storing, or NULL. */
static const char *refusal(enum hp_http_method m, int status, const struct hp_http_header *resp,
			   size_t nresp, bool req_auth, const struct hp_cache_policy *pol)
{
	struct hp_http_cache_control cc;

	if (m != HP_METHOD_GET)
		return "method";
	if (!understood_status(status))
		return "status";
	bool targeted = hp_cache_response_cc(resp, nresp, pol, &cc);
	if (cc.must_understand && !known_status(status))
		return "must-understand";
	/* §5.2.2.3: must-understand lifts no-store for statuses we understand. */
	if (cc.no_store && !cc.must_understand)
		return "no-store";
	if (cc.private_ && cc.private_fields.len == 0)
		return "private";
	if (req_auth && !cc.public_ && cc.s_maxage < 0 && !cc.must_revalidate)
		return "authorization";
	/* Set-Cookie named by private= or no-cache= is not stored, so it is no obstacle. */
	bool cookie_ok = pol != NULL && pol->allow_set_cookie;
	if (!cookie_ok && hp_http_find_header(resp, nresp, "Set-Cookie") &&
	    !hp_http_has_token(cc.private_fields, "Set-Cookie") &&
	    !hp_http_has_token(cc.no_cache_fields, "Set-Cookie"))
		return "set-cookie";
	/* Storable per §3, but §4.1 says it never matches: storing it only wastes room. */
	if (vary_star(resp, nresp))
		return "vary *";
	if (!heuristic_status(status) && !cc.public_ && !has_explicit_freshness(&cc, targeted, resp, nresp))
		return "status not cacheable by default";
	return NULL;
}

bool hp_cache_storable(enum hp_http_method m, int status, const struct hp_http_header *resp,
		       size_t nresp, bool req_has_authorization, const struct hp_cache_policy *pol,
		       const char **why_not)
{
	const char *why = refusal(m, status, resp, nresp, req_has_authorization, pol);

	if (why_not != NULL)
		*why_not = why;
	return why == NULL;
}

int64_t hp_cache_lifetime_at(int status, const struct hp_http_header *resp, size_t n,
			     const struct hp_cache_policy *pol, time_t date_fallback)
{
	struct hp_http_cache_control cc;
	time_t date;
	time_t t;

	bool targeted = hp_cache_response_cc(resp, n, pol, &cc);
	if (cc.s_maxage >= 0)
		return cc.s_maxage;
	if (cc.max_age >= 0)
		return cc.max_age;
	if (!field_date(resp, n, "Date", &date))
		date = date_fallback;
	if (!targeted && hp_http_find_header(resp, n, "Expires")) {
		/* §5.3: an invalid Expires, "0" included, means already expired. */
		if (!field_date(resp, n, "Expires", &t) || t <= date)
			return 0;
		return (int64_t)(t - date);
	}
	if (pol != NULL && pol->default_ttl_s > 0)
		return pol->default_ttl_s;
	if ((heuristic_status(status) || cc.public_) && field_date(resp, n, "Last-Modified", &t) &&
	    t < date)
		return HP_MIN((int64_t)(date - t) / 10, HEURISTIC_MAX_S);
	return 0;
}

int64_t hp_cache_freshness_lifetime(int status, const struct hp_http_header *resp, size_t n,
				    const struct hp_cache_policy *pol)
{
	return hp_cache_lifetime_at(status, resp, n, pol, hp_clock_wall_s());
}

uint64_t hp_cache_obj_age(const struct hp_cache_obj *obj, time_t now)
{
	int64_t resident = now > obj->response_time ? (int64_t)(now - obj->response_time) : 0;

	return (uint64_t)(obj->corrected_initial_age + resident);
}

void hp_cache_obj_get_times(const struct hp_cache_obj *obj, struct hp_cache_obj_times *out)
{
	*out = (struct hp_cache_obj_times){
		.response_time = obj->response_time,
		.initial_age_s = obj->corrected_initial_age,
		.lifetime_s = obj->lifetime_s,
		.swr_s = obj->swr_s,
		.sie_s = obj->sie_s,
	};
}

int64_t hp_cache_obj_ttl(const struct hp_cache_obj *obj, time_t now)
{
	int64_t ttl = obj->lifetime_s - (int64_t)hp_cache_obj_age(obj, now);
	if (!atomic_load_explicit(&obj->purged, memory_order_relaxed))
		return ttl;
	/* Soft-purged: stale since the purge, whatever its headers said. */
	int64_t since = (int64_t)now - atomic_load_explicit(&obj->purged_at, memory_order_relaxed);
	return HP_MIN(ttl, -HP_MAX(since, (int64_t)0));
}

static bool obj_fresh(const struct hp_cache_obj *obj, int64_t ttl)
{
	return ttl > 0 && !atomic_load_explicit(&obj->purged, memory_order_relaxed);
}

enum hp_cache_state hp_cache_obj_evaluate(const struct hp_cache_obj *obj,
					  const struct hp_http_cache_control *req_cc, time_t now,
					  const struct hp_cache_policy *pol)
{
	int64_t age = (int64_t)hp_cache_obj_age(obj, now);
	int64_t ttl = obj->lifetime_s - age;
	int64_t staleness = ttl > 0 ? 0 : -ttl;
	bool fresh = obj_fresh(obj, ttl);

	if (obj->no_cache || (req_cc != NULL && req_cc->no_cache))
		return HP_CACHE_STALE;
	if (req_cc != NULL && req_cc->max_age >= 0 && age > req_cc->max_age)
		return HP_CACHE_STALE;
	if (fresh) {
		if (req_cc != NULL && req_cc->min_fresh >= 0 && ttl < req_cc->min_fresh)
			return HP_CACHE_STALE;
		return HP_CACHE_FRESH;
	}
	if (obj->no_stale)
		return HP_CACHE_STALE;
	/* A soft-purged object is never "fresh enough": serve it, but refresh it. */
	if (req_cc != NULL && req_cc->max_stale >= 0 && staleness <= req_cc->max_stale)
		return ttl > 0 ? HP_CACHE_STALE_SERVE_REVALIDATE : HP_CACHE_FRESH;
	if (obj->swr_s >= 0 && staleness <= obj->swr_s)
		return HP_CACHE_STALE_SERVE_REVALIDATE;
	if (pol != NULL && pol->grace_s > 0 && staleness <= pol->grace_s)
		return HP_CACHE_STALE_SERVE_REVALIDATE;
	return HP_CACHE_STALE;
}

bool hp_cache_obj_stale_if_error_ok(const struct hp_cache_obj *obj,
				    const struct hp_http_cache_control *req_cc, time_t now,
				    const struct hp_cache_policy *pol)
{
	int64_t ttl = hp_cache_obj_ttl(obj, now);
	int64_t staleness = ttl > 0 ? 0 : -ttl;
	int64_t window = obj->sie_s;

	/* §4.2.4: never serve stale against an explicit directive. */
	if (obj->no_cache)
		return false;
	if (obj_fresh(obj, ttl))
		return true;
	if (obj->no_stale)
		return false;
	if (req_cc != NULL)
		window = HP_MAX(window, req_cc->stale_if_error);
	if (pol != NULL)
		window = HP_MAX(window, pol->grace_s);
	return window >= 0 && staleness <= window;
}

struct hp_str hp_cache_obj_etag(const struct hp_cache_obj *obj)
{
	return obj->etag;
}

struct hp_str hp_cache_obj_last_modified(const struct hp_cache_obj *obj)
{
	return obj->last_modified;
}

struct hp_str hp_cache_obj_date(const struct hp_cache_obj *obj)
{
	return obj->date;
}

/* The opaque-tag of an entity-tag: the quoted part, without any W/. */
static struct hp_str opaque_tag(struct hp_str etag)
{
	(void)hp_str_skip_prefix(&etag, "W/");
	return etag;
}

/*
 * Weak comparison of <etag> with each member of an If-None-Match list. An
 * opaque-tag may contain commas, so the list is scanned quote by quote
 * rather than split on commas. A malformed list matches nothing.
 */
static bool etag_list_matches(struct hp_str list, struct hp_str etag)
{
	struct hp_str mine = opaque_tag(etag);
	size_t i = 0;

	while (i < list.len) {
		char ch = list.ptr[i];
		if (ch == ' ' || ch == '\t' || ch == ',') {
			i++;
			continue;
		}
		if (ch == '*')
			return true;
		struct hp_str rest = {list.ptr + i, list.len - i};
		if (hp_str_skip_prefix(&rest, "W/"))
			i = (size_t)(rest.ptr - list.ptr);
		if (i >= list.len || list.ptr[i] != '"')
			return false;
		const char *close = memchr(list.ptr + i + 1, '"', list.len - i - 1);
		if (close == NULL)
			return false;
		struct hp_str tag = {list.ptr + i, (size_t)(close - list.ptr - i) + 1};
		if (mine.len > 0 && tag.len == mine.len && memcmp(tag.ptr, mine.ptr, tag.len) == 0)
			return true;
		i += tag.len;
	}
	return false;
}

static time_t obj_modified(const struct hp_cache_obj *obj)
{
	time_t t;

	if (obj->last_modified.len > 0 &&
	    hp_http_date_parse(obj->last_modified.ptr, obj->last_modified.len, &t))
		return t;
	if (field_date(obj->fields, obj->nfields, "Date", &t))
		return t;
	return obj->response_time;
}

bool hp_cache_not_modified(const struct hp_cache_obj *obj, const struct hp_http_header *req,
			   size_t nreq)
{
	bool has_inm = false;
	time_t ims;

	/* RFC 9110 §13.2.1: preconditions apply only where the answer would be 2xx. */
	if (obj->status < 200 || obj->status > 299)
		return false;
	for (size_t i = 0; i < nreq; i++) {
		if (!hp_str_ieq(req[i].name, "If-None-Match"))
			continue;
		has_inm = true;
		if (etag_list_matches(req[i].value, obj->etag))
			return true;
	}
	if (has_inm)
		return false;
	if (!field_date(req, nreq, "If-Modified-Since", &ims))
		return false;
	return obj_modified(obj) <= ims;
}
