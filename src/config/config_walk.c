/* SPDX-License-Identifier: MIT */
/*
 * config_walk.c - walking the schema tables of config_schema.c against a
 * jansson tree: objects merge key by key, arrays and maps replace the whole
 * list, scalars go to the setters of config_value.c.
 *
 * Every source (defaults, file, environment, command line) comes through
 * hp_config_set(), so a value is validated the same way wherever it comes
 * from. Unknown keys are errors with a "did you mean" from a bounded edit
 * distance. On failure the path of the offending value is left on the
 * load's path stack for the message.
 */
#include "config/config_priv.h"

#include <stdio.h>
#include <stdlib.h>

const struct cfg_key *hp_config_find_key(const struct cfg_section *sec, const char *name)
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
		/* Rewriting every character of <name> is no suggestion: without
		 * this, "" or "x" would be told about a two-letter key ("l2"). */
		if (d < best_d && d < strlen(name)) {
			best_d = d;
			best = sec->keys[i].name;
		}
	}
	if (best)
		return hp_config_fail(ld, true, "unknown key (did you mean \"%s\"?)", best);
	return hp_config_fail(ld, true, "unknown key");
}

bool hp_config_load_object(struct cfg_load *ld, const struct cfg_section *sec, void *obj,
			json_t *jobj)
{
	const char *name;
	json_t *v;

	json_object_foreach(jobj, name, v) {
		const struct cfg_key *k = hp_config_find_key(sec, name);
		hp_config_path_push_key(ld, name);
		if (k == NULL)
			return fail_unknown(ld, sec, name);
		if (!hp_config_set(ld, k, obj, v))
			return false;
		hp_config_path_pop(ld);
	}
	return true;
}

bool hp_config_set_defaults(struct cfg_load *ld, const struct cfg_section *sec, void *obj)
{
	for (size_t i = 0; i < sec->nkeys; i++) {
		const struct cfg_key *k = &sec->keys[i];
		bool ok = true;

		hp_config_path_push_key(ld, k->name);
		if (k->type == CFG_OBJECT) {
			ok = hp_config_set_defaults(ld, k->ext, (char *)obj + k->off);
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

	if (!hp_config_set_defaults(ld, sec, elem))
		return false;
	if (json_is_string(v) && sec->shorthand) {
		if (!hp_config_set(ld, hp_config_find_key(sec, sec->shorthand), elem, v))
			return false;
	} else if (json_is_object(v)) {
		if (!hp_config_load_object(ld, sec, elem, v))
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
		ok = hp_config_load_object(ld, k->ext, (char *)obj + k->off, v);
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
