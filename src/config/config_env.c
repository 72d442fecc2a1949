/* SPDX-License-Identifier: MIT */
/*
 * config_env.c - HOTPATH_* environment variables.
 *
 * A key's variable is its path upper-cased with '.' -> '_'
 * (cache.max_memory -> HOTPATH_CACHE_MAX_MEMORY). Underscores inside key
 * names make the reverse mapping ambiguous, so we never parse a variable
 * name: we compute the name of every key the schema can reach without
 * crossing an array or a map, and look each one up. Values are converted to
 * the JSON the file would hold (hp_config_text_value, in config_value.c)
 * and go through the file's setters, so the environment is validated
 * exactly like the file.
 */
#include "config/config_priv.h"

#include "core/log.h"

#include <stdio.h>
#include <strings.h>

/* The value of <name> in <envp>, or NULL. */
static const char *env_get(char *const *envp, const char *name)
{
	size_t len = strlen(name);

	for (; *envp; envp++)
		if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
			return *envp + len + 1;
	return NULL;
}

/*
 * Apply (or, with <cfg> NULL, just look for <name>) every key of <sec>
 * under <prefix>. Returns false on an error, or on finding <name>.
 */
static bool walk(struct cfg_load *ld, const struct cfg_section *sec, void *obj,
		 const char *prefix, char *const *envp, const char *name)
{
	for (size_t i = 0; i < sec->nkeys; i++) {
		const struct cfg_key *k = &sec->keys[i];
		char path[128];
		char env[160];

		if (k->type == CFG_ARRAY || k->type == CFG_MAP)
			continue;
		snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", k->name);
		hp_config_path_push_key(ld, k->name);
		if (k->type == CFG_OBJECT) {
			if (!walk(ld, k->ext, obj ? (char *)obj + k->off : NULL, path, envp, name))
				return false;
		} else {
			hp_config_env_name(path, env, sizeof(env));
			if (name && strcmp(name, env) == 0)
				return false;
			const char *text = obj ? env_get(envp, env) : NULL;
			if (text) {
				json_t *v = hp_config_text_value(k, text);
				ld->origin = env;
				bool ok = hp_config_set(ld, k, obj, v);
				json_decref(v);
				if (!ok)
					return false;
			}
		}
		hp_config_path_pop(ld);
	}
	return true;
}

static void warn_unknown(char *const *envp)
{
	for (; *envp; envp++) {
		const char *eq = strchr(*envp, '=');
		char name[160];
		struct hp_config_error err;
		struct cfg_load ld = {.err = &err};

		if (strncmp(*envp, HP_CONFIG_ENV_PREFIX, strlen(HP_CONFIG_ENV_PREFIX)) != 0 || eq == NULL ||
		    (size_t)(eq - *envp) >= sizeof(name))
			continue;
		memcpy(name, *envp, (size_t)(eq - *envp));
		name[eq - *envp] = '\0';
		if (walk(&ld, &hp_config_schema, NULL, "", envp, name))
			hp_log_warn("ignoring unknown environment variable %s", name);
	}
}

bool hp_config_apply_env(struct hp_config *cfg, char *const *envp, struct hp_config_error *err)
{
	struct cfg_load ld = {.err = err};

	warn_unknown(envp);
	return walk(&ld, &hp_config_schema, cfg, "", envp, NULL);
}
