/* SPDX-License-Identifier: MIT */
/*
 * fuzz_response.c - libFuzzer target for hp_http_parse_response().
 *
 * The first byte picks the request method and the limits. Checks: views
 * inside the input, framing consistent with the status and method, and every
 * prefix answering HP_AGAIN until the one-shot answer is decided, then the
 * same answer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 16

static const struct hp_http_limits limits[2] = {
	{8192, 16384, MAX_FIELDS},
	{40, 200, 4},
};

static struct hp_http_header headers[MAX_FIELDS];

static int parse(const char *in, size_t len, struct hp_http_response *resp,
		 const struct hp_http_limits *lim, enum hp_http_method m)
{
	char *copy = malloc(len ? len : 1);

	memcpy(copy, in, len);
	int rv = hp_http_parse_response(copy, len, resp, headers, lim, m);
	if (rv > 0) {
		ptrdiff_t d = in - copy;
		if (resp->reason.ptr != NULL)
			resp->reason.ptr += d;
		for (size_t i = 0; i < resp->num_headers; i++) {
			headers[i].name.ptr += d;
			headers[i].value.ptr += d;
		}
	}
	free(copy);
	return rv;
}

static void check_view(struct hp_str s, const char *in, size_t len)
{
	if (s.ptr == NULL ? s.len != 0 : (s.ptr < in || s.ptr + s.len > in + len))
		abort();
}

static void check_head(const struct hp_http_response *r, const char *in, int rv,
		       enum hp_http_method m)
{
	check_view(r->reason, in, (size_t)rv);
	for (size_t i = 0; i < r->num_headers; i++) {
		check_view(r->headers[i].name, in, (size_t)rv);
		check_view(r->headers[i].value, in, (size_t)rv);
	}
	if (r->status < 100 || r->status > 999)
		abort();
	bool bodiless = m == HP_METHOD_HEAD || r->status < 200 || r->status == 204 ||
			r->status == 304;
	if (bodiless && r->body != HP_BODY_NONE)
		abort();
	if (r->body == HP_BODY_CLOSE && r->keep_alive)
		abort();
	if (r->body != HP_BODY_LENGTH && r->content_length != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 8192)
		return 0;
	enum hp_http_method m = (enum hp_http_method)((data[0] >> 1) % (HP_METHOD_PURGE + 1));
	const struct hp_http_limits *lim = &limits[data[0] & 1];
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	struct hp_http_response resp;

	int rv = parse(in, len, &resp, lim, m);
	if (rv > 0)
		check_head(&resp, in, rv, m);
	else if (rv == HP_ERR ? resp.error_reason == NULL : rv != HP_AGAIN)
		abort();

	bool decided = false;
	size_t stride = len <= 512 ? 1 : len / 64;
	for (size_t i = 0; i < len; i += stride) {
		int prv = parse(in, i, &resp, lim, m);
		if (rv > 0 ? prv != ((size_t)rv <= i ? rv : HP_AGAIN)
			   : (prv == HP_AGAIN ? decided : prv != rv))
			abort();
		decided |= prv != HP_AGAIN;
	}
	return 0;
}
