/* SPDX-License-Identifier: MIT */
/*
 * fuzz_range.c - libFuzzer target for hp_http_parse_range(). The first 8
 * bytes give the representation length (kept small half the time so that
 * ranges often fall outside it), the rest is the field value, in an
 * exact-size copy so that an over-read is caught. Checks: an OK range lies
 * inside the representation, and a value that is ignored or unsatisfiable
 * leaves the outputs alone.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8)
		return 0;
	uint64_t len;
	memcpy(&len, data, 8);
	if (len & 1)
		len = (len >> 1) % 4096;
	size -= 8;
	char *copy = malloc(size ? size : 1);
	memcpy(copy, data + 8, size);
	uint64_t first = 7, last = 7;
	enum hp_http_range r = hp_http_parse_range((struct hp_str){copy, size}, len, &first, &last);
	if (r == HP_RANGE_OK && !(first <= last && last < len))
		abort();
	if (r != HP_RANGE_OK && (first != 7 || last != 7))
		abort();
	if (r != HP_RANGE_OK && r != HP_RANGE_IGNORE && r != HP_RANGE_UNSATISFIABLE)
		abort();
	free(copy);
	return 0;
}
