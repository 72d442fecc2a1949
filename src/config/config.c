/* SPDX-License-Identifier: MIT */
/*
 * config.c - loading: defaults, then the JSON file, then the environment,
 * then the command line, then cross-key checks (routes to upstreams).
 *
 * This is the top of src/config/: it drives config_walk.c (the schema walk)
 * over each source in turn and config_env.c for the environment. Errors are
 * reported as "FILE:LINE:COLUMN: key.path: reason": jansson gives positions
 * for syntax errors only, so config_locate.c finds the value in the text,
 * and for a syntax error finds the key path at jansson's position.
 * A failed load frees everything; nothing half-loaded escapes.
 */
#include "config/config_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define MAX_FILE_BYTES (16u << 20)

/* ==== Command line and cross-key checks ==== */

static bool set_top(struct cfg_load *ld, struct hp_config *cfg, const char *name, json_t *v)
{
	bool ok;

	if (v == NULL)
		return hp_config_fail(ld, false, "invalid value");
	ld->text = NULL;
	ld->path.depth = 0;
	hp_config_path_push_key(ld, name);
	ok = hp_config_set(ld, hp_config_find_key(&hp_config_schema, name), cfg, v);
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
	const struct cfg_key *k = hp_config_find_key(&hp_config_schema, "routes");

	free(cfg->routes); /* "routes": [] leaves an empty array */
	cfg->routes = hp_xcalloc(1, sizeof(*cfg->routes));
	cfg->nroutes = 1;
	return hp_config_set_defaults(ld, k->ext, &cfg->routes[0]);
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

/* An alert rule names a route by its name (by default its path prefix). */
static bool resolve_alert_routes(struct cfg_load *ld, struct hp_config *cfg)
{
	for (size_t i = 0; i < cfg->alerts.nrules; i++) {
		const char *want = cfg->alerts.rules[i].route;
		bool found = want == NULL;
		for (size_t j = 0; j < cfg->nroutes && !found; j++) {
			const struct hp_config_route *r = &cfg->routes[j];
			found = strcmp(r->name != NULL ? r->name : r->path_prefix, want) == 0;
		}
		if (!found) {
			ld->path.depth = 0;
			hp_config_path_push_key(ld, "alerts");
			hp_config_path_push_key(ld, "rules");
			hp_config_path_push_index(ld, i);
			hp_config_path_push_key(ld, "route");
			return hp_config_fail(ld, false, "no route is named \"%s\"", want);
		}
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
	if (!resolve_alert_routes(ld, cfg))
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

/* "FILE:LINE:COL: key.path: syntax error: ...": jansson's line and column
 * alone make the user count braces in a long file; the path says which
 * section to look at. je.position is where jansson stopped, in bytes. */
static void fail_syntax(struct cfg_load *ld, const char *text, size_t len,
			const json_error_t *je)
{
	char path[256];

	hp_config_path_at(text, len, je->position > 0 ? (size_t)je->position : 0, path,
			  sizeof(path));
	snprintf(ld->err->msg, sizeof(ld->err->msg), "%s:%d:%d: %s%ssyntax error: %s", ld->origin,
		 je->line, je->column, path, path[0] ? ": " : "", je->text);
}

static bool load_text(struct cfg_load *ld, struct hp_config *cfg, const char *text, size_t len)
{
	json_error_t je;
	char buf[64];
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);

	if (root == NULL) {
		fail_syntax(ld, text, len, &je);
		return false;
	}
	ld->text = text;
	ld->len = len;
	ld->path.depth = 0;
	bool ok = json_is_object(root)
		? hp_config_load_object(ld, &hp_config_schema, cfg, root)
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
	if (!hp_config_set_defaults(&ld, &hp_config_schema, cfg))
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
