/* SPDX-License-Identifier: MIT */
/*
 * config_priv.h - shared between the files of src/config/ only.
 *
 * The schema is a tree of sections, each a table of keys (nginx's command
 * tables, STYLE.md example 8): name, type, field offset, bounds, default and
 * help. Defaults, validation, environment names, the dump, the reference doc
 * and freeing all walk these tables, so a key is added by adding one row.
 *
 * Defaults are written in environment syntax ("100MB", "30s", "a,b") and go
 * through the same setters as the file, so they are validated like input.
 */
#ifndef HP_CONFIG_CONFIG_PRIV_H
#define HP_CONFIG_CONFIG_PRIV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

enum cfg_type {
	CFG_BOOL,     /* bool */
	CFG_U32,      /* uint32_t within [min, max] */
	CFG_SIZE,     /* uint64_t bytes: 1024 or "1KB" */
	CFG_DURATION, /* uint64_t milliseconds: "1.5s", or 0 (no bare number) */
	CFG_STRING,   /* char * */
	CFG_ENUM,     /* char *, one of ext (NULL-terminated const char *[]) */
	CFG_STRLIST,  /* char ** plus size_t count at count_off */
	CFG_CIDRLIST, /* struct hp_cidr * plus count */
	CFG_OBJECT,   /* embedded struct described by ext (a struct cfg_section) */
	CFG_ARRAY,    /* array of ext structs plus count; JSON array of objects */
	CFG_MAP,      /* as ARRAY, but a JSON object name -> element, name at name_off */
};

#define CFG_NULLABLE 0x1u /* CFG_STRING: null (or "" from the environment) unsets it */
#define CFG_REQUIRED 0x2u /* must be given in every element of an ARRAY/MAP */

struct cfg_load;
struct cfg_key;

/* Validation after a key is stored in <obj> (the section's struct): returns
 * false after hp_config_fail(). May fill derived fields of <obj>. */
typedef bool cfg_check_fn(struct cfg_load *ld, const struct cfg_key *k, void *obj);

struct cfg_key {
	const char *name;     /* JSON key */
	enum cfg_type type;
	size_t off;           /* offsetof the field in the section's struct */
	size_t count_off;     /* lists and arrays: offsetof the size_t count */
	uint64_t min, max;    /* numbers: value bounds; lists and arrays: count bounds */
	const char *def;      /* default in environment syntax; NULL = none (zero) */
	const void *ext;      /* ENUM: choices; OBJECT/ARRAY/MAP: struct cfg_section */
	cfg_check_fn *check;  /* extra validation, or NULL */
	unsigned flags;       /* CFG_NULLABLE, CFG_REQUIRED */
	const char *help;     /* one sentence for the reference */
};

struct cfg_section {
	const struct cfg_key *keys;
	size_t nkeys;
	size_t size;            /* bytes of one element, for ARRAY and MAP */
	const char *shorthand;  /* key set when an element is given as a bare string */
	size_t name_off;        /* MAP: offsetof the char *name of an element */
	cfg_check_fn *check;    /* whole-element validation after its keys, or NULL */
	void (*fini)(void *obj); /* frees fields outside the table, or NULL */
};

/* A key path being loaded: keys and array indexes from the root. Keys
 * point into the JSON document (or the schema) and live as long as it. */
#define CFG_PATH_MAX 16
struct cfg_path {
	struct {
		const char *key; /* NULL for an array index */
		size_t index;
	} comp[CFG_PATH_MAX];
	unsigned depth;
};

/* State of one load step: where values come from, for messages. */
struct cfg_load {
	const char *origin;          /* file name, "HOTPATH_X" or "--upstream" */
	const char *text;            /* JSON text to locate values in, or NULL */
	size_t len;
	struct cfg_path path;        /* of the value being set */
	struct hp_config_error *err;
};

/*
 * The files of src/config/, bottom to top. Each file uses only the files
 * above it in this list (and never one below), so there is no cycle:
 *
 *   config_locate.c  positions in JSON text (needs only struct cfg_path)
 *   config_path.c    the key path stack, environment names, hp_config_fail()
 *   config_value.c   scalar syntax and setters, environment syntax
 *   config_token.c   the admin bearer token, from its file or variable
 *   config_schema.c  the tables (data) and their check functions
 *   config_walk.c    hp_config_set(): the tables against a jansson tree
 *   config_env.c     HOTPATH_* variables, through config_walk.c
 *   config_dump.c    dump and reference, from the tables
 *   config.c         the entry points of config.h: load, overrides, routes
 */

/* ==== config_locate.c ==== */
/* Line and column (1-based, columns in characters as jansson counts them)
 * of the value at <path> in the valid JSON <text>, or of its key if
 * <at_key>. False if the path is not in the text. */
bool hp_config_locate(const char *text, size_t len, const struct cfg_path *path, bool at_key,
		      unsigned *line, unsigned *col);
/* The key path ("upstreams.api.servers[1]", "" at the top level) of the
 * value being read at byte <offset> of <text>, which may be invalid JSON
 * from <offset> on (jansson's error position). Written to <out>. */
void hp_config_path_at(const char *text, size_t len, size_t offset, char *out, size_t size);

/* ==== config_path.c ==== */
void hp_config_path_push_key(struct cfg_load *ld, const char *key);
void hp_config_path_push_index(struct cfg_load *ld, size_t index);
void hp_config_path_pop(struct cfg_load *ld);
/* "upstreams.api.servers[1]" into <out>. */
void hp_config_path_format(const struct cfg_path *p, char *out, size_t size);
/* Set ld->err to "ORIGIN[:LINE:COL]: PATH: reason". <at_key> points at the
 * key rather than the value. Always returns false. */
bool hp_config_fail(struct cfg_load *ld, bool at_key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define HP_CONFIG_ENV_PREFIX "HOTPATH_"
/* Write the environment name of <path> ("cache.max_memory") into <out>. */
void hp_config_env_name(const char *path, char *out, size_t size);

/* ==== config_value.c: scalars and lists ==== */
bool hp_config_set_scalar(struct cfg_load *ld, const struct cfg_key *k, void *obj, json_t *v);
void hp_config_free_scalar(const struct cfg_key *k, void *obj);
/* "a string \"x\"", "true", "an array" ... for "expected X, got Y". */
const char *hp_config_describe(const json_t *v, char *buf, size_t size);
/* What a key accepts, e.g. "a size like \"10MB\"". */
const char *hp_config_expects(const struct cfg_key *k);
bool hp_config_parse_size(const char *s, uint64_t *out);
/* Shortest exact spelling: 104857600 -> "100MB", 1500 -> "1500ms". */
void hp_config_format_size(uint64_t bytes, char *out, size_t size);
void hp_config_format_duration(uint64_t ms, char *out, size_t size);
/* Environment syntax ("30s", "true", "a,b") to the JSON value the file
 * would hold, for <k>. Returns a new reference. */
json_t *hp_config_text_value(const struct cfg_key *k, const char *text);

/* ==== config_schema.c ==== */
/* The top level: struct hp_config. */
extern const struct cfg_section hp_config_schema;

/* ==== config_walk.c ==== */
/* The key of <sec> called <name>, or NULL. */
const struct cfg_key *hp_config_find_key(const struct cfg_section *sec, const char *name);
/* Store <v> as key <k> of <obj> (replacing an old value; objects merge).
 * The path must already end with the key. False after hp_config_fail(). */
bool hp_config_set(struct cfg_load *ld, const struct cfg_key *k, void *obj, json_t *v);
/* Merge the members of the JSON object <jobj> into <obj>. False after
 * hp_config_fail(). */
bool hp_config_load_object(struct cfg_load *ld, const struct cfg_section *sec, void *obj,
			   json_t *jobj);
/* Every key of <sec> in <obj> to its default (recursing into objects). */
bool hp_config_set_defaults(struct cfg_load *ld, const struct cfg_section *sec, void *obj);
/* Free what the table owns in <obj>, and zero those fields. */
void hp_config_free_section(const struct cfg_section *sec, void *obj);

/* ==== config_env.c ==== */
/* Apply HOTPATH_* from <envp> to <cfg>. False with <err> set. */
bool hp_config_apply_env(struct hp_config *cfg, char *const *envp, struct hp_config_error *err);

#endif
