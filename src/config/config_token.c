/* SPDX-License-Identifier: MIT */
/*
 * config_token.c - the admin bearer token, read from a file or an
 * environment variable (admin.token_file, admin.token_env).
 *
 * The token itself is never a configuration value: the file and the
 * variable name are, so `hotpath check` and the logs can show where it
 * comes from without ever showing it. Whoever needs it (the admin listener,
 * the PURGE check of the main listener) reads it through here, each into
 * its own memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

/* RFC 6750 b64token: the characters a bearer token may hold. */
static bool is_b64token(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || strchr("-._~+/=", ch) != NULL;
		if (!ok || (ch == '=' && strspn(s + i, "=") != len - i))
			return false;
	}
	return true;
}

/* The token in <text> (trailing white space and newlines dropped). */
static int take(const char *text, size_t len, const char *from, char *out, size_t n,
		char *err, size_t errlen)
{
	while (len > 0 && strchr(" \t\r\n", text[len - 1]) != NULL)
		len--;
	if (len >= n) {
		snprintf(err, errlen, "the token in %s is longer than %zu bytes", from, n - 1);
		return -1;
	}
	if (!is_b64token(text, len)) {
		snprintf(err, errlen, "%s holds no valid bearer token (letters, digits, "
			 "-._~+/ then = only)", from);
		return -1;
	}
	memcpy(out, text, len);
	out[len] = '\0';
	return 1;
}

static int read_file(const char *path, char *out, size_t n, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	char buf[HP_CONFIG_TOKEN_MAX + 64];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	char from[64];
	snprintf(from, sizeof(from), "the token file");
	return take(buf, len, from, out, n, err, errlen);
}

int hp_config_admin_token(const struct hp_config_admin *a, char *out, size_t n, char *err,
			  size_t errlen)
{
	out[0] = '\0';
	if (a->token_file != NULL && a->token_env != NULL) {
		snprintf(err, errlen, "set admin.token_file or admin.token_env, not both");
		return -1;
	}
	if (a->token_file != NULL)
		return read_file(a->token_file, out, n, err, errlen);
	if (a->token_env == NULL)
		return 0;
	const char *v = getenv(a->token_env);
	if (v == NULL || v[0] == '\0') {
		snprintf(err, errlen, "environment variable %s is not set", a->token_env);
		return -1;
	}
	return take(v, strlen(v), "the environment variable", out, n, err, errlen);
}
