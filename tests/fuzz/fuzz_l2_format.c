/* SPDX-License-Identifier: MIT */
/*
 * fuzz_l2_format.c - libFuzzer target for what hotpath reads back from
 * Redis, which another instance (or anyone with access to Redis) wrote:
 * hp_l2_decode() of a stored object, hp_l2_purge_decode() of a bus message,
 * hp_l2_journal_entry_decode() and hp_l2_journal_unpack() of the purge
 * journal. The input is used whole by each, in an exact-size copy so that
 * an over-read is caught. Checks: every view lies inside the input; a
 * decoded object encodes back to the input (but for a reserved byte); the journal walk ends
 * at the end of the input or before a cut entry.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "l2/l2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 64

static void check_inside(const char *in, size_t size, struct hp_str s)
{
	if (s.len > 0 && (s.ptr < in || s.ptr + s.len > in + size))
		abort();
}

static void fuzz_object(const char *in, size_t size)
{
	struct hp_http_header fields[MAX_FIELDS];
	struct hp_l2_object o;
	if (hp_l2_decode(in, size, &o, fields, MAX_FIELDS) != HP_L2_DECODE_OK)
		return;
	check_inside(in, size, o.variant);
	for (size_t i = 0; i < o.nfields; i++) {
		check_inside(in, size, o.fields[i].name);
		check_inside(in, size, o.fields[i].value);
	}
	check_inside(in, size, (struct hp_str){o.body, (size_t)o.body_len});
	/* Byte 1 is reserved: read as anything, written as 0. */
	struct hp_buf again = {0};
	hp_l2_encode(&again, &o);
	const char *a = hp_buf_data(&again);
	if (again.len != size || a[0] != in[0] || memcmp(a + 2, in + 2, size - 2) != 0)
		abort();
	hp_buf_fini(&again);
}

static void fuzz_purge(const char *in, size_t size)
{
	struct hp_l2_purge p;
	if (hp_l2_purge_decode(in, size, &p)) {
		check_inside(in, size, p.instance);
		check_inside(in, size, p.a);
		check_inside(in, size, p.b);
	}
	int64_t at;
	if (hp_l2_journal_entry_decode(in, size, &at, &p)) {
		check_inside(in, size, p.a);
		check_inside(in, size, p.b);
	}
	const char *cur = in, *end = in + size;
	struct hp_str e;
	while (hp_l2_journal_unpack(&cur, end, &e)) {
		check_inside(in, size, e);
		if (cur > end)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	fuzz_object(copy, size);
	fuzz_purge(copy, size);
	free(copy);
	return 0;
}
