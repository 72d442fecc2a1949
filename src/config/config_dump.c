/* SPDX-License-Identifier: MIT */
/*
 * config_dump.c - the effective configuration as JSON, and the key
 * reference as Markdown, both generated from the schema tables.
 *
 * The dump is valid input: loading it gives an equal configuration, which
 * the unit tests check. Sizes and durations are written in the largest unit
 * that is exact ("100MB", "1500ms") so the dump reads like a hand-written
 * file. Every key is shown, defaults included, and unset strings as null.
 */
#include "config/config_priv.h"

#include "core/buf.h"
#include "core/cidr.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* ==== Dump ==== */

static json_t *dump_section(const struct cfg_section *sec, const void *obj);

static json_t *dump_list(const struct cfg_key *k, const void *obj)
{
	const void *items = *(void *const *)(const void *)((const char *)obj + k->off);
	size_t n = *(const size_t *)(const void *)((const char *)obj + k->count_off);
	const struct cfg_section *sec = k->ext;
	json_t *out = k->type == CFG_MAP ? json_object() : json_array();
	char buf[64];

	for (size_t i = 0; i < n; i++) {
		json_t *v;
		if (k->type == CFG_STRLIST) {
			v = json_string(((char *const *)items)[i]);
		} else if (k->type == CFG_CIDRLIST) {
			v = json_string(hp_cidr_format(&((const struct hp_cidr *)items)[i], buf,
						       sizeof(buf)));
		} else {
			const char *elem = (const char *)items + i * sec->size;
			v = dump_section(sec, elem);
			if (k->type == CFG_MAP) {
				json_object_set_new(out, *(char *const *)(const void *)
							 (elem + sec->name_off), v);
				continue;
			}
		}
		json_array_append_new(out, v);
	}
	return out;
}

static json_t *dump_key(const struct cfg_key *k, const void *obj)
{
	const void *field = (const char *)obj + k->off;
	char buf[32];

	switch (k->type) {
	case CFG_BOOL:
		return json_boolean(*(const bool *)field);
	case CFG_U32:
		return json_integer(*(const uint32_t *)field);
	case CFG_SIZE:
		hp_config_format_size(*(const uint64_t *)field, buf, sizeof(buf));
		return json_string(buf);
	case CFG_DURATION:
		hp_config_format_duration(*(const uint64_t *)field, buf, sizeof(buf));
		return json_string(buf);
	case CFG_STRING:
	case CFG_ENUM: {
		const char *s = *(char *const *)field;
		return s ? json_string(s) : json_null();
	}
	case CFG_OBJECT:
		return dump_section(k->ext, field);
	case CFG_STRLIST:
	case CFG_CIDRLIST:
	case CFG_ARRAY:
	case CFG_MAP:
		return dump_list(k, obj);
	}
	return json_null();
}

static json_t *dump_section(const struct cfg_section *sec, const void *obj)
{
	json_t *out = json_object();

	for (size_t i = 0; i < sec->nkeys; i++)
		json_object_set_new(out, sec->keys[i].name, dump_key(&sec->keys[i], obj));
	return out;
}

char *hp_config_dump(const struct hp_config *cfg)
{
	json_t *root = dump_section(&hp_config_schema, cfg);
	char *text = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	HP_AN(text);
	return text;
}

/* ==== Reference ==== */

static void describe_type(const struct cfg_key *k, char *out, size_t size)
{
	char lo[32], hi[32];

	switch (k->type) {
	case CFG_U32:
		snprintf(out, size, "integer, %" PRIu64 " to %" PRIu64, k->min, k->max);
		return;
	case CFG_SIZE:
		hp_config_format_size(k->min, lo, sizeof(lo));
		hp_config_format_size(k->max, hi, sizeof(hi));
		snprintf(out, size, "size, %s to %s", lo, hi);
		return;
	case CFG_DURATION:
		hp_config_format_duration(k->min, lo, sizeof(lo));
		hp_config_format_duration(k->max, hi, sizeof(hi));
		snprintf(out, size, "duration, %s to %s", lo, hi);
		return;
	case CFG_ENUM: {
		size_t len = (size_t)snprintf(out, size, "one of");
		const char *const *c = k->ext;
		for (size_t i = 0; c[i] && len < size; i++)
			len += (size_t)snprintf(out + len, size - len, "%s `%s`", i ? "," : "",
						c[i]);
		return;
	}
	case CFG_BOOL:
		snprintf(out, size, "boolean");
		return;
	case CFG_STRING:
		snprintf(out, size, k->flags & CFG_NULLABLE ? "string or null" : "string");
		return;
	case CFG_STRLIST:
		snprintf(out, size, "list of strings");
		return;
	case CFG_CIDRLIST:
		snprintf(out, size, "list of addresses/networks");
		return;
	case CFG_OBJECT:
		snprintf(out, size, "object");
		return;
	case CFG_ARRAY:
		snprintf(out, size, ((const struct cfg_section *)k->ext)->shorthand
					    ? "array of strings or objects" : "array of objects");
		return;
	case CFG_MAP:
		snprintf(out, size, "object of name -> group");
		return;
	}
}

static void describe_default(const struct cfg_key *k, char *out, size_t size)
{
	if (k->def == NULL) {
		if (k->flags & CFG_REQUIRED)
			snprintf(out, size, "required");
		else
			snprintf(out, size, k->type == CFG_STRING ? "`null`" : "-");
		return;
	}
	json_t *v = hp_config_text_value(k, k->def);
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	snprintf(out, size, "`%s`", s);
	free(s);
	json_decref(v);
}

static void reference_section(struct hp_buf *b, const struct cfg_section *sec,
			      const char *prefix, bool env)
{
	for (size_t i = 0; i < sec->nkeys; i++) {
		const struct cfg_key *k = &sec->keys[i];
		char path[128], type[160], def[160], var[160] = "-", line[1024];

		snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", k->name);
		describe_type(k, type, sizeof(type));
		describe_default(k, def, sizeof(def));
		if (env && k->type != CFG_OBJECT && k->type != CFG_ARRAY && k->type != CFG_MAP) {
			var[0] = '`';
			hp_config_env_name(path, var + 1, sizeof(var) - 2);
			strcat(var, "`");
		}
		snprintf(line, sizeof(line), "| `%s` | %s | %s | %s | %s |\n", path, type, def, var,
			 k->help);
		hp_buf_append_str(b, line);
		if (k->type == CFG_OBJECT)
			reference_section(b, k->ext, path, env);
		if (k->type == CFG_ARRAY || k->type == CFG_MAP) {
			strcat(path, k->type == CFG_MAP ? ".<name>" : "[]");
			reference_section(b, k->ext, path, false);
		}
	}
}

char *hp_config_reference(void)
{
	struct hp_buf b = {0};
	char *out;

	hp_buf_append_str(&b, "| Key | Type | Default | Environment | Meaning |\n"
			      "|---|---|---|---|---|\n");
	reference_section(&b, &hp_config_schema, "", true);
	out = hp_xstrndup(hp_buf_data(&b), b.len);
	hp_buf_fini(&b);
	return out;
}
