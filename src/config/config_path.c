/* SPDX-License-Identifier: MIT */
/*
 * config_path.c - the key path of the value being loaded, and the messages
 * that name it.
 *
 * The loader pushes a key or an index on entering a value and pops it on
 * leaving, so when anything fails the path says where: "FILE:LINE:COLUMN:
 * key.path: reason". This file sits just above config_locate.c (which turns
 * a path into a position) and below everything else in src/config/, so
 * that setters, schema checks and the walker all report errors the same
 * way without depending on one another.
 */
#include "config/config_priv.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>

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

void hp_config_env_name(const char *path, char *out, size_t size)
{
	size_t n = (size_t)snprintf(out, size, "%s", HP_CONFIG_ENV_PREFIX);

	for (; *path && n + 1 < size; path++)
		out[n++] = *path == '.' ? '_' : (char)toupper((unsigned char)*path);
	out[n] = '\0';
}
