/* SPDX-License-Identifier: MIT */
/*
 * config.c - loading: defaults, then the JSON file, then the environment,
 * then the command line, then cross-key checks (routes to upstreams).
 *
 * The loader walks the schema tables of config_schema.c against the jansson
 * tree. It keeps the key path of the value being set, so any error can be
 * reported as "FILE:LINE:COLUMN: key.path: reason": jansson gives positions
 * for syntax errors only, so config_locate.c finds the value in the text.
 * A failed load frees everything; nothing half-loaded escapes.
 */
#include "config/config_priv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define MAX_FILE_BYTES (16u << 20)

/* ==== Paths and messages ==== */

void hp_config_path_push_key(struct cfg_load *ld, const char *key)
{
	HP_ASSERT(ld->path.depth < CFG_PATH_MAX);
	ld->path.comp[ld->path.depth].key = key;
	ld->path.comp[ld->path.depth].index = 0;
	ld->path.depth++;
}

void hp_config_path_push_index(struct cfg_load *ld, size_t index)
{
	HP_ASSERT(ld->path.depth < CFG_PATH_MAX);
	ld->path.comp[ld->path.depth].key = NULL;
	ld->path.comp[ld->path.depth].index = index;
	ld->path.depth++;
}

void hp_config_path_pop(struct cfg_load *ld)
{
	HP_ASSERT(ld->path.depth > 0);
	ld->path.depth--;
}

void hp_config_path_format(const struct cfg_path *p, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < p->depth && len < size; i++) {
		int n;
		if (p->comp[i].key)
			n = snprintf(out + len, size - len, "%s%s", i ? "." : "",
				     p->comp[i].key[0] ? p->comp[i].key : "\"\"");
		else
			n = snprintf(out + len, size - len, "[%zu]", p->comp[i].index);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

bool hp_config_fail(struct cfg_load *ld, bool at_key, const char *fmt, ...)
{
	char reason[512];
	char path[256];
	char where[64] = "";
	unsigned line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	hp_config_path_format(&ld->path, path, sizeof(path));
	if (ld->text && hp_config_locate(ld->text, ld->len, &ld->path, at_key, &line, &col))
		snprintf(where, sizeof(where), ":%u:%u", line, col);
	snprintf(ld->err->msg, sizeof(ld->err->msg), "%s%s: %s%s%s", ld->origin, where, path,
		 path[0] ? ": " : "", reason);
	return false;
}

/* ==== Walking the schema ==== */

static const struct cfg_key *find_key(const struct cfg_section *sec, const char *name)
{
	for (size_t i = 0; i < sec->nkeys; i++)
		if (strcmp(sec->keys[i].name, name) == 0)
			return &sec->keys[i];
	return NULL;
}

/* Edit distance, bounded: enough to catch "max_memroy" and "timout". */
static unsigned distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[64];

	if (la >= HP_ARRAY_SIZE(row) || lb >= HP_ARRAY_SIZE(row))
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = HP_MIN(row[j - 1], row[j]) + 1;
			row[j] = HP_MIN(best, diag + (a[i - 1] != b[j - 1]));
			diag = up;
		}
	}
	return row[lb];
}

static bool fail_unknown(struct cfg_load *ld, const struct cfg_section *sec, const char *name)
{
	const char *best = NULL;
	unsigned best_d = 3;

	for (size_t i = 0; i < sec->nkeys; i++) {
		unsigned d = distance(name, sec->keys[i].name);
		if (d < best_d) {
			best_d = d;
			best = sec->keys[i].name;
		}
	}
	if (best)
		return hp_config_fail(ld, true, "unknown key (did you mean \"%s\"?)", best);
	return hp_config_fail(ld, true, "unknown key");
}

/* Merge the members of the JSON object <jobj> into <obj>. */
static bool load_object(struct cfg_load *ld, const struct cfg_section *sec, void *obj,
			json_t *jobj)
{
	const char *name;
	json_t *v;

	json_object_foreach(jobj, name, v) {
		const struct cfg_key *k = find_key(sec, name);
		hp_config_path_push_key(ld, name);
		if (k == NULL)
			return fail_unknown(ld, sec, name);
		if (!hp_config_set(ld, k, obj, v))
			return false;
		hp_config_path_pop(ld);
	}
	return true;
}

static bool set_defaults(struct cfg_load *ld, const struct cfg_section *sec, void *obj)
{
	for (size_t i = 0; i < sec->nkeys; i++) {
		const struct cfg_key *k = &sec->keys[i];
		bool ok = true;

		hp_config_path_push_key(ld, k->name);
		if (k->type == CFG_OBJECT) {
			ok = set_defaults(ld, k->ext, (char *)obj + k->off);
		} else if (k->def) {
			json_t *v = hp_config_text_value(k, k->def);
			ok = hp_config_set(ld, k, obj, v);
			json_decref(v);
		}
		if (!ok)
			return false;
		hp_config_path_pop(ld);
	}
	return true;
}

/* One element of an ARRAY or MAP: defaults first, then what was given. */
static bool load_element(struct cfg_load *ld, const struct cfg_section *sec, void *elem,
			 json_t *v)
{
	char buf[64];

	if (!set_defaults(ld, sec, elem))
		return false;
	if (json_is_string(v) && sec->shorthand) {
		if (!hp_config_set(ld, find_key(sec, sec->shorthand), elem, v))
			return false;
	} else if (json_is_object(v)) {
		if (!load_object(ld, sec, elem, v))
			return false;
		for (size_t i = 0; i < sec->nkeys; i++)
			if ((sec->keys[i].flags & CFG_REQUIRED) &&
			    json_object_get(v, sec->keys[i].name) == NULL)
				return hp_config_fail(ld, false, "missing required key \"%s\"",
						      sec->keys[i].name);
	} else {
		return hp_config_fail(ld, false, "expected %s, got %s",
				      sec->shorthand ? "a string or an object" : "an object",
				      hp_config_describe(v, buf, sizeof(buf)));
	}
	return sec->check == NULL || sec->check(ld, NULL, elem);
}

static void free_elements(const struct cfg_key *k, void *obj)
{
	const struct cfg_section *sec = k->ext;
	char **items = (char **)(void *)((char *)obj + k->off);
	size_t *count = (size_t *)(void *)((char *)obj + k->count_off);

	for (size_t i = 0; i < *count; i++) {
		char *elem = *items + i * sec->size;
		hp_config_free_section(sec, elem);
		if (k->type == CFG_MAP)
			free(*(char **)(void *)(elem + sec->name_off));
	}
	free(*items);
	*items = NULL;
	*count = 0;
}

static bool check_count(struct cfg_load *ld, const struct cfg_key *k, size_t n)
{
	if (n >= k->min && n <= k->max)
		return true;
	return hp_config_fail(ld, false, "must have from %llu to %llu elements, got %zu",
			      (unsigned long long)k->min, (unsigned long long)k->max, n);
}

/* ARRAY and MAP replace the whole list: a later source never appends. */
static bool set_elements(struct cfg_load *ld, const struct cfg_key *k, void *obj, json_t *v)
{
	const struct cfg_section *sec = k->ext;
	char **items = (char **)(void *)((char *)obj + k->off);
	size_t *count = (size_t *)(void *)((char *)obj + k->count_off);
	bool is_map = k->type == CFG_MAP;
	size_t n = is_map ? json_object_size(v) : json_array_size(v);
	char buf[64];

	if (is_map ? !json_is_object(v) : !json_is_array(v))
		return hp_config_fail(ld, false, "expected %s, got %s", hp_config_expects(k),
				      hp_config_describe(v, buf, sizeof(buf)));
	if (!check_count(ld, k, n))
		return false;
	free_elements(k, obj);
	*items = hp_xcalloc(n, sec->size);

	void *iter = is_map ? json_object_iter(v) : NULL;
	for (size_t i = 0; i < n; i++) {
		char *elem = *items + i * sec->size;
		(*count)++;
		if (is_map) {
			const char *name = json_object_iter_key(iter);
			*(char **)(void *)(elem + sec->name_off) = hp_xstrdup(name);
			hp_config_path_push_key(ld, name);
			if (!load_element(ld, sec, elem, json_object_iter_value(iter)))
				return false;
			iter = json_object_iter_next(v, iter);
		} else {
			hp_config_path_push_index(ld, i);
			if (!load_element(ld, sec, elem, json_array_get(v, i)))
				return false;
		}
		hp_config_path_pop(ld);
	}
	return true;
}

bool hp_config_set(struct cfg_load *ld, const struct cfg_key *k, void *obj, json_t *v)
{
	bool ok;
	char buf[64];

	switch (k->type) {
	case CFG_OBJECT:
		if (!json_is_object(v))
			return hp_config_fail(ld, false, "expected an object, got %s",
					      hp_config_describe(v, buf, sizeof(buf)));
		ok = load_object(ld, k->ext, (char *)obj + k->off, v);
		break;
	case CFG_ARRAY:
	case CFG_MAP:
		ok = set_elements(ld, k, obj, v);
		break;
	default:
		ok = hp_config_set_scalar(ld, k, obj, v);
		break;
	}
	if (ok && k->check)
		ok = k->check(ld, k, obj);
	return ok;
}

void hp_config_free_section(const struct cfg_section *sec, void *obj)
{
	for (size_t i = 0; i < sec->nkeys; i++) {
		const struct cfg_key *k = &sec->keys[i];
		if (k->type == CFG_OBJECT)
			hp_config_free_section(k->ext, (char *)obj + k->off);
		else if (k->type == CFG_ARRAY || k->type == CFG_MAP)
			free_elements(k, obj);
		else
			hp_config_free_scalar(k, obj);
	}
	if (sec->fini)
		sec->fini(obj);
}

/* ==== Command line and cross-key checks ==== */

static bool set_top(struct cfg_load *ld, struct hp_config *cfg, const char *name, json_t *v)
{
	bool ok;

	if (v == NULL)
		return hp_config_fail(ld, false, "invalid value");
	ld->text = NULL;
	ld->path.depth = 0;
	hp_config_path_push_key(ld, name);
	ok = hp_config_set(ld, find_key(&hp_config_schema, name), cfg, v);
	json_decref(v);
	return ok;
}

static bool apply_overrides(struct hp_config *cfg, const struct hp_config_overrides *ov,
			    struct hp_config_error *err)
{
	struct cfg_load ld = {.err = err};

	if (ov->listen) {
		ld.origin = "--listen";
		if (!set_top(&ld, cfg, "listen", json_pack("[s]", ov->listen)))
			return false;
	}
	if (ov->no_cache) {
		ld.origin = "--no-cache";
		if (!set_top(&ld, cfg, "cache", json_pack("{sb}", "enabled", 0)))
			return false;
	}
	if (ov->admin_listen) {
		ld.origin = "--admin";
		if (!set_top(&ld, cfg, "admin", json_pack("{s[s]}", "listen", ov->admin_listen)))
			return false;
	}
	if (ov->nupstream_urls) {
		json_t *servers = json_array();
		for (size_t i = 0; i < ov->nupstream_urls; i++)
			json_array_append_new(servers, json_string(ov->upstream_urls[i]));
		ld.origin = "--upstream";
		if (!set_top(&ld, cfg, "upstreams", json_pack("{s{so}}", "default", "servers",
							       servers)))
			return false;
	}
	if (ov->pid_file) {
		ld.origin = "--pid-file";
		if (!set_top(&ld, cfg, "pid_file", json_string(ov->pid_file)))
			return false;
	}
	if (ov->workers >= 0) {
		ld.origin = "--workers";
		if (!set_top(&ld, cfg, "workers", json_integer(ov->workers)))
			return false;
	}
	return true;
}

static bool add_default_route(struct cfg_load *ld, struct hp_config *cfg)
{
	const struct cfg_key *k = find_key(&hp_config_schema, "routes");

	free(cfg->routes); /* "routes": [] leaves an empty array */
	cfg->routes = hp_xcalloc(1, sizeof(*cfg->routes));
	cfg->nroutes = 1;
	return set_defaults(ld, k->ext, &cfg->routes[0]);
}

/* <remap>: --upstream replaced the groups, so every route goes to it. */
static bool resolve_routes(struct cfg_load *ld, struct hp_config *cfg, bool remap)
{
	for (size_t i = 0; i < cfg->nroutes; i++) {
		struct hp_config_route *r = &cfg->routes[i];
		size_t u = 0;

		if (remap || r->upstream == NULL) {
			free(r->upstream);
			r->upstream = hp_xstrdup(cfg->upstreams[0].name);
		}
		while (u < cfg->nupstreams && strcmp(cfg->upstreams[u].name, r->upstream) != 0)
			u++;
		if (u == cfg->nupstreams) {
			ld->path.depth = 0;
			hp_config_path_push_key(ld, "routes");
			hp_config_path_push_index(ld, i);
			hp_config_path_push_key(ld, "upstream");
			return hp_config_fail(ld, false, "unknown upstream \"%s\"", r->upstream);
		}
		r->upstream_index = u;
	}
	return true;
}

static bool finish(struct cfg_load *ld, struct hp_config *cfg, bool remap)
{
	if (cfg->nupstreams == 0) {
		snprintf(ld->err->msg, sizeof(ld->err->msg),
			 "no upstream: give --upstream URL or an upstreams section");
		return false;
	}
	if (cfg->nroutes == 0 && !add_default_route(ld, cfg))
		return false;
	if (!resolve_routes(ld, cfg, remap))
		return false;
	if (cfg->cache.max_object_size > cfg->cache.max_memory) {
		char max[32];
		hp_config_format_size(cfg->cache.max_memory, max, sizeof(max));
		ld->path.depth = 0;
		hp_config_path_push_key(ld, "cache");
		hp_config_path_push_key(ld, "max_object_size");
		return hp_config_fail(ld, false, "must not exceed cache.max_memory (%s)", max);
	}
	return true;
}

/* ==== Entry points ==== */

static bool load_text(struct cfg_load *ld, struct hp_config *cfg, const char *text, size_t len)
{
	json_error_t je;
	char buf[64];
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);

	if (root == NULL) {
		snprintf(ld->err->msg, sizeof(ld->err->msg), "%s:%d:%d: %s", ld->origin, je.line,
			 je.column, je.text);
		return false;
	}
	ld->text = text;
	ld->len = len;
	ld->path.depth = 0;
	bool ok = json_is_object(root)
		? load_object(ld, &hp_config_schema, cfg, root)
		: hp_config_fail(ld, false, "expected an object at the top level, got %s",
				 hp_config_describe(root, buf, sizeof(buf)));
	json_decref(root);
	return ok;
}

struct hp_config *hp_config_load_buffer(const char *name, const char *text, size_t len,
					const struct hp_config_overrides *ov,
					char *const *envp, struct hp_config_error *err)
{
	struct hp_config *cfg = hp_xcalloc(1, sizeof(*cfg));
	struct cfg_load ld = {.origin = "default", .err = err};

	err->msg[0] = '\0';
	if (name)
		cfg->path = hp_xstrdup(name);
	if (!set_defaults(&ld, &hp_config_schema, cfg))
		goto fail;
	ld.origin = name ? name : "config";
	if (text && !load_text(&ld, cfg, text, len))
		goto fail;
	if (envp && !hp_config_apply_env(cfg, envp, err))
		goto fail;
	if (ov && !apply_overrides(cfg, ov, err))
		goto fail;
	if (!finish(&ld, cfg, ov && ov->nupstream_urls))
		goto fail;
	return cfg;
fail:
	hp_config_destroy(cfg);
	return NULL;
}

/* The whole file, NUL-terminated, or NULL with <err> set. */
static char *read_file(const char *path, size_t *len, struct hp_config_error *err)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096;
	char *text;

	if (f == NULL) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot read: %s", path, strerror(errno));
		return NULL;
	}
	text = hp_xmalloc(cap);
	*len = 0;
	for (;;) {
		*len += fread(text + *len, 1, cap - *len - 1, f);
		if (*len < cap - 1 || *len > MAX_FILE_BYTES)
			break;
		cap *= 2;
		text = hp_xrealloc(text, cap);
	}
	if (ferror(f) || *len > MAX_FILE_BYTES) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", path,
			 ferror(f) ? "cannot read the file" : "larger than 16MB");
		free(text);
		text = NULL;
	} else {
		text[*len] = '\0';
	}
	fclose(f);
	return text;
}

struct hp_config *hp_config_load(const char *path, const struct hp_config_overrides *ov,
				 char *const *envp, struct hp_config_error *err)
{
	size_t len = 0;
	char *text = NULL;

	if (path && (text = read_file(path, &len, err)) == NULL)
		return NULL;
	struct hp_config *cfg = hp_config_load_buffer(path, text, len, ov, envp, err);
	free(text);
	return cfg;
}

void hp_config_destroy(struct hp_config *cfg)
{
	if (cfg == NULL)
		return;
	hp_config_free_section(&hp_config_schema, cfg);
	free(cfg->path);
	free(cfg);
}

/* ==== Route matching ==== */

static struct hp_str strip_port(struct hp_str host)
{
	size_t end = host.len;

	if (host.len == 0)
		return host;
	if (host.ptr[0] == '[') {
		const char *close = memchr(host.ptr, ']', host.len);
		if (close)
			end = (size_t)(close - host.ptr) + 1;
	} else {
		const char *colon = memchr(host.ptr, ':', host.len);
		if (colon)
			end = (size_t)(colon - host.ptr);
	}
	return (struct hp_str){host.ptr, end};
}

/* No strlen: this runs for every route of every request. */
static bool has_prefix(struct hp_str path, const char *prefix)
{
	for (size_t i = 0; prefix[i]; i++)
		if (i >= path.len || path.ptr[i] != prefix[i])
			return false;
	return true;
}

const struct hp_config_route *hp_config_match_route(const struct hp_config *cfg,
						    struct hp_str host, struct hp_str path)
{
	host = strip_port(host);
	for (size_t i = 0; i < cfg->nroutes; i++) {
		const struct hp_config_route *r = &cfg->routes[i];
		if (r->host && !hp_str_ieq(host, r->host))
			continue;
		if (has_prefix(path, r->path_prefix))
			return r;
	}
	return NULL;
}
