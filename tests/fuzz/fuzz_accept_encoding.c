/* SPDX-License-Identifier: MIT */
/*
 * fuzz_accept_encoding.c - libFuzzer target for the Accept-Encoding
 * parser (hp_compress_negotiate, hp_compress_accepts) and the media type
 * matcher, on an exact-size copy so that an over-read is caught. Checks:
 * the choice is one of the server's codings or identity, a chosen coding
 * is accepted, and the server's order never changes which codings count.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compress/compress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	struct hp_str v = {copy, size};
	static const enum hp_compress_enc order[] = {HP_ENC_BR, HP_ENC_ZSTD, HP_ENC_GZIP};
	static const enum hp_compress_enc only_gzip[] = {HP_ENC_GZIP};
	enum hp_compress_enc e = hp_compress_negotiate(v, true, order, 3);
	if (e >= HP_ENC_COUNT)
		abort();
	if (e != HP_ENC_IDENTITY && !hp_compress_accepts(v, true, e))
		abort();
	enum hp_compress_enc g = hp_compress_negotiate(v, true, only_gzip, 1);
	if (g != HP_ENC_IDENTITY && g != HP_ENC_GZIP)
		abort();
	if (g == HP_ENC_GZIP && !hp_compress_accepts(v, true, HP_ENC_GZIP))
		abort();
	char *types[] = {"text/*", "+json", "application/xml"};
	(void)hp_compress_type_matches(v, types, 3);
	free(copy);
	return 0;
}
