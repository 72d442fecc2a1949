/* SPDX-License-Identifier: MIT */
/*
 * fuzz_chunked.c - libFuzzer target for hp_http_chunked_feed().
 *
 * The input is decoded three ways: in one piece, split in two at an offset
 * taken from the first two bytes, and one byte at a time. Every piece is an
 * exact-size heap copy, so an over-read is caught. All three must agree on
 * the result, the end-of-body flag and the decoded payload. Then it is
 * decoded strictly (CRLF only, as request bodies are): whatever the strict
 * decoder takes, the lenient one takes the same way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct output {
	char *data;
	size_t len;
	size_t cap;
};

static void collect(void *arg, const char *p, size_t len)
{
	struct output *o = arg;

	if (o->len + len > o->cap)
		abort(); /* payload can never outgrow the input */
	memcpy(o->data + o->len, p, len);
	o->len += len;
}

static ssize_t feed(const char *in, size_t len, size_t first, size_t step, struct output *o,
		    bool *done, bool strict)
{
	struct hp_http_chunked c = {.strict = strict};
	size_t off = 0;
	size_t piece = first;
	ssize_t total = 0;

	o->len = 0;
	*done = false;
	while (!*done) {
		piece = piece < len - off ? piece : len - off;
		char *copy = malloc(piece ? piece : 1);
		memcpy(copy, in + off, piece);
		ssize_t n = hp_http_chunked_feed(&c, copy, piece, done, collect, o);
		free(copy);
		if (n == HP_ERR)
			return HP_ERR;
		if ((size_t)n > piece || ((size_t)n < piece && !*done))
			abort();
		total += n;
		off += piece;
		if (off == len)
			break;
		piece = step;
	}
	return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 16384)
		return 0;
	size_t split = ((size_t)data[0] << 8 | data[1]) % (size - 1);
	const char *in = (const char *)data + 2;
	size_t len = size - 2;
	char *bufs[4];
	struct output out[4];
	bool done[4];
	ssize_t rv[4];

	for (int i = 0; i < 4; i++) {
		bufs[i] = malloc(len ? len : 1);
		out[i] = (struct output){bufs[i], 0, len};
	}
	rv[0] = feed(in, len, len, len, &out[0], &done[0], false);
	rv[1] = feed(in, len, split, len, &out[1], &done[1], false);
	rv[2] = feed(in, len, 1, 1, &out[2], &done[2], false);
	rv[3] = feed(in, len, split, 1, &out[3], &done[3], true);
	for (int i = 1; i < 3; i++) {
		if (rv[i] != rv[0])
			abort();
		if (rv[0] != HP_ERR && (done[i] != done[0] || out[i].len != out[0].len ||
					memcmp(out[i].data, out[0].data, out[0].len) != 0))
			abort();
	}
	/* Strict is lenient minus bare LFs: never more, never different. */
	if (rv[3] != HP_ERR && done[3] &&
	    (rv[0] != rv[3] || !done[0] || out[0].len != out[3].len ||
	     memcmp(out[0].data, out[3].data, out[3].len) != 0))
		abort();
	for (int i = 0; i < 4; i++)
		free(bufs[i]);
	return 0;
}
