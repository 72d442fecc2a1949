/* SPDX-License-Identifier: MIT */
/*
 * fuzz_admin.c - libFuzzer target for hp_admin_parse(): the input is
 * "METHOD target". Checks, besides the sanitizers: the answer is one of the
 * documented statuses, an error comes with a reason, and every view of a
 * successful parse lies inside the target or the scratch buffer, which is
 * exactly target-sized (so a decoder writing past it is caught).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inside(struct hp_str s, const char *a, size_t alen, const char *b, size_t blen)
{
	if (s.len == 0)
		return;
	bool in_a = s.ptr >= a && s.ptr + s.len <= a + alen;
	bool in_b = s.ptr >= b && s.ptr + s.len <= b + blen;
	bool static_slash = s.len == 1 && s.ptr[0] == '/';
	if (!in_a && !in_b && !static_slash)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *sp = memchr(in, ' ', size);
	if (sp == NULL)
		return 0;
	struct hp_str method = {in, (size_t)(sp - in)};
	size_t tlen = size - method.len - 1;
	char *target = malloc(tlen ? tlen : 1);
	char *scratch = malloc(tlen ? tlen : 1);
	memcpy(target, sp + 1, tlen);
	struct hp_admin_request r;
	int status = hp_admin_parse(method, (struct hp_str){target, tlen}, scratch, &r);
	if (status != 0 && status != 400 && status != 404 && status != 405)
		abort();
	if ((status != 0) != (r.error != NULL))
		abort();
	if (status == 0) {
		struct hp_str views[] = {r.host, r.path, r.query, r.tags};
		for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
			check_inside(views[i], target, tlen, scratch, tlen);
	}
	free(target);
	free(scratch);
	return 0;
}
