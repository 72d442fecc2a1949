/* SPDX-License-Identifier: MIT */
/*
 * config_value.c - setters for scalar and list keys, the size and duration
 * syntax ("10MB", "1.5s"), and the environment syntax ("30s", "a,b") turned
 * into the JSON value a file would hold.
 *
 * Each setter frees the old value before storing the new one, because a
 * key is set up to four times (default, file, environment, command line).
 * Messages say what was expected and what was found, quoting the input.
 */
#include "config/config_priv.h"

#include "core/cidr.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

struct unit {
	const char *name;
	uint64_t mult;
};

/* A unit must match the whole rest of the string, so order does not matter. */
static const struct unit size_units[] = {
	{"", 1}, {"b", 1},
	{"k", 1ull << 10}, {"kb", 1ull << 10}, {"kib", 1ull << 10},
	{"m", 1ull << 20}, {"mb", 1ull << 20}, {"mib", 1ull << 20},
	{"g", 1ull << 30}, {"gb", 1ull << 30}, {"gib", 1ull << 30},
	{"t", 1ull << 40}, {"tb", 1ull << 40}, {"tib", 1ull << 40},
};

/* No bare number: see hp_config_parse_duration() in config.h. */
static const struct unit duration_units[] = {
	{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
};

static const struct unit duration_units_ns[] = {
	{"us", 1000ull}, {"ms", 1000000ull}, {"s", 1000000000ull},
	{"m", 60000000000ull}, {"h", 3600000000000ull},
};

/* A unit-less zero ("0", "0.0"): the one bare number a duration accepts,
 * since zero needs no unit to mean the same thing everywhere. */
static const struct unit zero_unit[] = {{"", 0}};

/*
 * "<digits>[.<digits>] [unit]" scaled by the unit, in integer arithmetic so
 * "1.1s" is exactly 1100 ms. Fractions below the base unit are dropped.
 */
static bool parse_scaled(const char *s, const struct unit *units, size_t nunits, uint64_t *out)
{
	uint64_t whole = 0, frac = 0, frac_div = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++)
		if (__builtin_mul_overflow(whole, 10, &whole) ||
		    __builtin_add_overflow(whole, (uint64_t)(*p - '0'), &whole))
			return false;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (frac_div < 1000000000ull) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				frac_div *= 10;
			}
		}
	}
	while (*p == ' ')
		p++;
	for (size_t i = 0; i < nunits; i++) {
		if (strcasecmp(p, units[i].name) != 0)
			continue;
		uint64_t v;
		if (__builtin_mul_overflow(whole, units[i].mult, &v))
			return false;
		/* frac * mult reaches 1e9 * 2^40 > 2^64, hence the wide product. */
		unsigned __int128 f = (unsigned __int128)frac * units[i].mult / frac_div;
		if (__builtin_add_overflow(v, (uint64_t)f, out))
			return false;
		return true;
	}
	return false;
}

bool hp_config_parse_size(const char *s, uint64_t *out)
{
	return parse_scaled(s, size_units, HP_ARRAY_SIZE(size_units), out);
}

static bool is_bare_zero(const char *s)
{
	uint64_t v;
	const char *p = s;

	for (; *p; p++)
		if (*p != '0' && *p != '.')
			return false;
	return parse_scaled(s, zero_unit, HP_ARRAY_SIZE(zero_unit), &v);
}

bool hp_config_parse_duration(const char *s, uint64_t *out_ms)
{
	if (is_bare_zero(s)) {
		*out_ms = 0;
		return true;
	}
	return parse_scaled(s, duration_units, HP_ARRAY_SIZE(duration_units), out_ms);
}

bool hp_config_parse_duration_ns(const char *s, uint64_t *out_ns)
{
	if (is_bare_zero(s)) {
		*out_ns = 0;
		return true;
	}
	return parse_scaled(s, duration_units_ns, HP_ARRAY_SIZE(duration_units_ns), out_ns);
}

void hp_config_format_size(uint64_t bytes, char *out, size_t size)
{
	static const struct unit units[] = {
		{"TB", 1ull << 40}, {"GB", 1ull << 30}, {"MB", 1ull << 20}, {"KB", 1ull << 10},
	};

	for (size_t i = 0; bytes != 0 && i < HP_ARRAY_SIZE(units); i++) {
		if (bytes % units[i].mult == 0) {
			snprintf(out, size, "%" PRIu64 "%s", bytes / units[i].mult, units[i].name);
			return;
		}
	}
	snprintf(out, size, "%" PRIu64 "B", bytes);
}

void hp_config_format_duration(uint64_t ms, char *out, size_t size)
{
	static const struct unit units[] = {{"h", 3600000}, {"m", 60000}, {"s", 1000}};

	if (ms == 0) {
		snprintf(out, size, "0s");
		return;
	}
	for (size_t i = 0; i < HP_ARRAY_SIZE(units); i++) {
		if (ms % units[i].mult == 0) {
			snprintf(out, size, "%" PRIu64 "%s", ms / units[i].mult, units[i].name);
			return;
		}
	}
	snprintf(out, size, "%" PRIu64 "ms", ms);
}

/* ==== Messages ==== */

const char *hp_config_describe(const json_t *v, char *buf, size_t size)
{
	switch (json_typeof(v)) {
	case JSON_STRING: {
		size_t len = json_string_length(v);
		snprintf(buf, size, "\"%.*s%s\"", (int)HP_MIN(len, 40), json_string_value(v),
			 len > 40 ? "..." : "");
		return buf;
	}
	case JSON_INTEGER:
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, size, "%g", json_real_value(v));
		return buf;
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	case JSON_ARRAY:
		return "an array";
	case JSON_OBJECT:
		return "an object";
	}
	return "?";
}

const char *hp_config_expects(const struct cfg_key *k)
{
	switch (k->type) {
	case CFG_BOOL:
		return "true or false";
	case CFG_U32:
		return "an integer";
	case CFG_SIZE:
		return "a size like \"10MB\"";
	case CFG_DURATION:
		return HP_CONFIG_DURATION_HINT;
	case CFG_STRING:
		return k->flags & CFG_NULLABLE ? "a string or null" : "a string";
	case CFG_ENUM:
		return "a string";
	case CFG_STRLIST:
		return "an array of strings";
	case CFG_CIDRLIST:
		return "an array of addresses like \"10.0.0.0/8\"";
	case CFG_OBJECT:
	case CFG_MAP:
		return "an object";
	case CFG_ARRAY:
		return "an array";
	}
	return "?";
}

static bool fail_type(struct cfg_load *ld, const struct cfg_key *k, const json_t *v)
{
	char buf[64];

	return hp_config_fail(ld, false, "expected %s, got %s", hp_config_expects(k),
			      hp_config_describe(v, buf, sizeof(buf)));
}

/* ==== Setters ==== */

static bool out_of_bounds(struct cfg_load *ld, const struct cfg_key *k, uint64_t v)
{
	char lo[32], hi[32], got[32];

	if (k->type == CFG_SIZE) {
		hp_config_format_size(k->min, lo, sizeof(lo));
		hp_config_format_size(k->max, hi, sizeof(hi));
		hp_config_format_size(v, got, sizeof(got));
	} else if (k->type == CFG_DURATION) {
		hp_config_format_duration(k->min, lo, sizeof(lo));
		hp_config_format_duration(k->max, hi, sizeof(hi));
		hp_config_format_duration(v, got, sizeof(got));
	} else {
		snprintf(lo, sizeof(lo), "%" PRIu64, k->min);
		snprintf(hi, sizeof(hi), "%" PRIu64, k->max);
		snprintf(got, sizeof(got), "%" PRIu64, v);
	}
	return hp_config_fail(ld, false, "must be from %s to %s, got %s", lo, hi, got);
}

/*
 * Sizes: a plain integer in bytes, or a string. Durations: a string with a
 * unit, or the integer 0; any other integer is refused, because a bare 30
 * meant 30 ms here and 30 s in bench (config.h states the rule).
 */
static bool get_amount(struct cfg_load *ld, const struct cfg_key *k, json_t *v, uint64_t *out)
{
	bool ok = false;

	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    (k->type == CFG_SIZE || json_integer_value(v) == 0)) {
		*out = (uint64_t)json_integer_value(v);
		ok = true;
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		ok = k->type == CFG_SIZE ? hp_config_parse_size(s, out)
					 : hp_config_parse_duration(s, out);
	}
	if (!ok)
		return fail_type(ld, k, v);
	if (*out < k->min || *out > k->max)
		return out_of_bounds(ld, k, *out);
	return true;
}

static bool set_u32(struct cfg_load *ld, const struct cfg_key *k, uint32_t *field, json_t *v)
{
	if (!json_is_integer(v))
		return fail_type(ld, k, v);
	json_int_t i = json_integer_value(v);
	if (i < 0 || (uint64_t)i < k->min || (uint64_t)i > k->max) {
		if (i < 0)
			return hp_config_fail(ld, false, "must be from %" PRIu64 " to %" PRIu64
					      ", got %" JSON_INTEGER_FORMAT, k->min, k->max, i);
		return out_of_bounds(ld, k, (uint64_t)i);
	}
	*field = (uint32_t)i;
	return true;
}

static bool set_enum(struct cfg_load *ld, const struct cfg_key *k, char **field, json_t *v)
{
	const char *const *choices = k->ext;
	char list[256] = "";
	char buf[64];

	for (size_t i = 0; json_is_string(v) && choices[i]; i++) {
		if (strcmp(json_string_value(v), choices[i]) == 0) {
			free(*field);
			*field = hp_xstrdup(choices[i]);
			return true;
		}
	}
	for (size_t i = 0; choices[i]; i++) {
		size_t len = strlen(list);
		snprintf(list + len, sizeof(list) - len, "%s\"%s\"", i ? ", " : "", choices[i]);
	}
	return hp_config_fail(ld, false, "expected one of %s, got %s", list,
			      hp_config_describe(v, buf, sizeof(buf)));
}

static bool set_string(struct cfg_load *ld, const struct cfg_key *k, char **field, json_t *v)
{
	if (json_is_null(v) && (k->flags & CFG_NULLABLE)) {
		free(*field);
		*field = NULL;
		return true;
	}
	if (!json_is_string(v))
		return fail_type(ld, k, v);
	free(*field);
	*field = hp_xstrdup(json_string_value(v));
	return true;
}

static bool check_list(struct cfg_load *ld, const struct cfg_key *k, json_t *v)
{
	size_t n;
	json_t *e;

	if (!json_is_array(v))
		return fail_type(ld, k, v);
	if (json_array_size(v) < k->min || json_array_size(v) > k->max)
		return hp_config_fail(ld, false, "must have from %" PRIu64 " to %" PRIu64
				      " elements, got %zu", k->min, k->max, json_array_size(v));
	json_array_foreach(v, n, e) {
		if (!json_is_string(e) || json_string_length(e) == 0) {
			hp_config_path_push_index(ld, n);
			return fail_type(ld, k, e);
		}
	}
	return true;
}

static bool set_strlist(struct cfg_load *ld, const struct cfg_key *k, void *obj, json_t *v)
{
	char ***field = (char ***)(void *)((char *)obj + k->off);
	size_t *count = (size_t *)(void *)((char *)obj + k->count_off);
	size_t n;
	json_t *e;

	if (!check_list(ld, k, v))
		return false;
	hp_config_free_scalar(k, obj);
	*field = hp_xcalloc(json_array_size(v), sizeof(char *));
	json_array_foreach(v, n, e)
		(*field)[(*count)++] = hp_xstrdup(json_string_value(e));
	return true;
}

static bool set_cidrlist(struct cfg_load *ld, const struct cfg_key *k, void *obj, json_t *v)
{
	struct hp_cidr **field = (struct hp_cidr **)(void *)((char *)obj + k->off);
	size_t *count = (size_t *)(void *)((char *)obj + k->count_off);
	size_t n;
	json_t *e;

	if (!check_list(ld, k, v))
		return false;
	hp_config_free_scalar(k, obj);
	*field = hp_xcalloc(json_array_size(v), sizeof(struct hp_cidr));
	json_array_foreach(v, n, e) {
		if (!hp_cidr_parse(json_string_value(e), &(*field)[n])) {
			hp_config_path_push_index(ld, n);
			return hp_config_fail(ld, false, "expected an address or network like "
					      "\"10.0.0.0/8\", got \"%s\"", json_string_value(e));
		}
		(*count)++;
	}
	return true;
}

bool hp_config_set_scalar(struct cfg_load *ld, const struct cfg_key *k, void *obj, json_t *v)
{
	void *field = (char *)obj + k->off;
	uint64_t amount;

	switch (k->type) {
	case CFG_BOOL:
		if (!json_is_boolean(v))
			return fail_type(ld, k, v);
		*(bool *)field = json_is_true(v);
		return true;
	case CFG_U32:
		return set_u32(ld, k, field, v);
	case CFG_SIZE:
	case CFG_DURATION:
		if (!get_amount(ld, k, v, &amount))
			return false;
		*(uint64_t *)field = amount;
		return true;
	case CFG_STRING:
		return set_string(ld, k, field, v);
	case CFG_ENUM:
		return set_enum(ld, k, field, v);
	case CFG_STRLIST:
		return set_strlist(ld, k, obj, v);
	case CFG_CIDRLIST:
		return set_cidrlist(ld, k, obj, v);
	case CFG_OBJECT:
	case CFG_ARRAY:
	case CFG_MAP:
		break;
	}
	HP_ASSERT(!"not a scalar key");
	return false;
}

void hp_config_free_scalar(const struct cfg_key *k, void *obj)
{
	void *field = (char *)obj + k->off;

	switch (k->type) {
	case CFG_STRING:
	case CFG_ENUM:
		free(*(char **)field);
		*(char **)field = NULL;
		break;
	case CFG_STRLIST: {
		size_t *count = (size_t *)(void *)((char *)obj + k->count_off);
		char **list = *(char ***)field;
		for (size_t i = 0; i < *count; i++)
			free(list[i]);
		free(list);
		*(char ***)field = NULL;
		*count = 0;
		break;
	}
	case CFG_CIDRLIST:
		free(*(struct hp_cidr **)field);
		*(struct hp_cidr **)field = NULL;
		*(size_t *)(void *)((char *)obj + k->count_off) = 0;
		break;
	default:
		break;
	}
}

/* ==== Environment syntax ==== */

static json_t *list_value(const char *text)
{
	struct hp_str list = {text, strlen(text)};
	struct hp_str item;
	size_t pos = 0;
	json_t *a = json_array();

	while (hp_str_next_token(list, &pos, &item))
		json_array_append_new(a, json_stringn(item.ptr, item.len));
	return a;
}

json_t *hp_config_text_value(const struct cfg_key *k, const char *text)
{
	static const char *const yes[] = {"true", "1", "yes", "on"};
	static const char *const no[] = {"false", "0", "no", "off"};
	uint64_t n;

	switch (k->type) {
	case CFG_BOOL:
		for (size_t i = 0; i < HP_ARRAY_SIZE(yes); i++) {
			if (strcasecmp(text, yes[i]) == 0)
				return json_true();
			if (strcasecmp(text, no[i]) == 0)
				return json_false();
		}
		break;
	case CFG_U32:
		if (hp_str_to_u64((struct hp_str){text, strlen(text)}, INT64_MAX, &n))
			return json_integer((json_int_t)n);
		break;
	case CFG_STRING:
		if (text[0] == '\0' && (k->flags & CFG_NULLABLE))
			return json_null();
		break;
	case CFG_STRLIST:
	case CFG_CIDRLIST:
		return list_value(text);
	default:
		break;
	}
	/* Not convertible: as a string, so the setter's message quotes it. */
	return json_string(text);
}
