/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config.c - libFuzzer target for the configuration loader.
 *
 * Loads the input as a config file (with one environment override, so the
 * environment path runs too). When it loads, the dump must load again and
 * dump identically: a failure there is a real bug (a value the dump writes
 * but the loader rejects), so it aborts. Errors exercise the position
 * locator on arbitrary valid JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *const env[] = {"HOTPATH_LIMITS_MAX_BODY_SIZE=2MB", NULL};
	struct hp_config_error err;
	struct hp_config *cfg = hp_config_load_buffer("fuzz.json", (const char *)data, size,
						      NULL, env, &err);

	if (cfg == NULL) {
		if (err.msg[0] == '\0')
			abort(); /* every failure must say why */
		return 0;
	}
	char *dump = hp_config_dump(cfg);
	struct hp_config *again = hp_config_load_buffer("dump.json", dump, strlen(dump), NULL,
							NULL, &err);
	if (again == NULL) {
		fprintf(stderr, "dump does not reload: %s\n%s\n", err.msg, dump);
		abort();
	}
	char *dump2 = hp_config_dump(again);
	if (strcmp(dump, dump2) != 0) {
		fprintf(stderr, "dump changed on reload:\n%s\n---\n%s\n", dump, dump2);
		abort();
	}
	free(dump);
	free(dump2);
	hp_config_destroy(again);
	hp_config_destroy(cfg);
	return 0;
}
