/* SPDX-License-Identifier: MIT */
/*
 * fuzz_request.c - libFuzzer target for hp_http_parse_request().
 *
 * Checks, besides the sanitizers: every returned view lies inside the input,
 * an answer is one of the documented ones, a parsed head is consistent
 * (framing, Host), and parsing each prefix (each in an exact-size heap copy,
 * so an over-read is caught) gives HP_AGAIN until the one-shot answer is
 * decided and that same answer afterwards.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 16
#define EVERY_PREFIX_BYTES 512 /* longer inputs get sampled prefixes */

static const struct hp_http_limits limits[2] = {
	{8192, 16384, MAX_FIELDS},
	{40, 200, 4}, /* small, so that the limits are reached often */
};

static int parse(const char *in, size_t len, struct hp_http_request *req,
		 const struct hp_http_limits *lim)
{
	static struct hp_http_header headers[MAX_FIELDS];
	char *copy = malloc(len ? len : 1);

	memcpy(copy, in, len);
	int rv = hp_http_parse_request(copy, len, req, headers, lim);
	/* Views point into copy: rebase them onto <in> for the checks. */
	if (rv > 0) {
		ptrdiff_t d = in - copy;
		struct hp_str *views[] = {&req->method, &req->target, &req->path, &req->query,
					  &req->host};
		for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
			if (views[i]->ptr >= copy && views[i]->ptr <= copy + len)
				views[i]->ptr += d;
		for (size_t i = 0; i < req->num_headers; i++) {
			headers[i].name.ptr += d;
			headers[i].value.ptr += d;
		}
	}
	free(copy);
	return rv;
}

static void check_view(struct hp_str s, const char *in, size_t len)
{
	if (s.len == 0 && s.ptr == NULL)
		return;
	if (s.ptr < in || s.ptr + s.len > in + len)
		abort();
}

static void check_head(const struct hp_http_request *req, const char *in, size_t len, int rv)
{
	if ((size_t)rv > len)
		abort();
	check_view(req->method, in, (size_t)rv);
	check_view(req->target, in, (size_t)rv);
	if (!(req->form == HP_TARGET_ABSOLUTE && hp_str_eq(req->path, "/")))
		check_view(req->path, in, (size_t)rv);
	check_view(req->query, in, (size_t)rv);
	check_view(req->host, in, (size_t)rv);
	for (size_t i = 0; i < req->num_headers; i++) {
		check_view(req->headers[i].name, in, (size_t)rv);
		check_view(req->headers[i].value, in, (size_t)rv);
	}
	if (req->minor_version != 0 && req->minor_version != 1)
		abort();
	if (req->body == HP_BODY_CHUNKED && req->minor_version != 1)
		abort();
	if (req->body == HP_BODY_CLOSE)
		abort();
	if (req->host.len > 0 ? !hp_http_valid_host(req->host) : req->minor_version != 0)
		abort();
}

static bool same(int rv, const struct hp_http_request *req, int want, int status)
{
	return rv == want && (rv != HP_ERR || req->error_status == status);
}

static void check_prefixes(const char *in, size_t len, const struct hp_http_limits *lim,
			   int want, int status)
{
	struct hp_http_request req;
	bool decided = false;
	size_t stride = len <= EVERY_PREFIX_BYTES ? 1 : len / 64;

	for (size_t i = 0; i < len; i += stride) {
		int rv = parse(in, i, &req, lim);
		if (want > 0) {
			if (!same(rv, &req, (size_t)want <= i ? want : HP_AGAIN, 0))
				abort();
		} else if (rv == HP_AGAIN ? decided : !same(rv, &req, want, status)) {
			abort();
		}
		decided |= rv != HP_AGAIN;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 8192)
		return 0;
	const struct hp_http_limits *lim = &limits[data[0] & 1];
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	struct hp_http_request req;

	int rv = parse(in, len, &req, lim);
	if (rv > 0) {
		check_head(&req, in, len, rv);
	} else if (rv == HP_ERR) {
		int s = req.error_status;
		if (req.error_reason == NULL || (s != 400 && s != 414 && s != 431 && s != 501 &&
						 s != 505))
			abort();
	} else if (rv != HP_AGAIN) {
		abort();
	}
	check_prefixes(in, len, lim, rv, req.error_status);
	return 0;
}
