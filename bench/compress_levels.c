/* SPDX-License-Identifier: MIT */
/*
 * compress_levels.c - what each coding and level costs and gains on given
 * documents: compression ratio, and CPU time per MB of input (process CPU
 * clock, median of several passes), with the stream reused from the pool
 * as the proxy does. Also what a stream costs when created and freed per
 * response instead (the reason for the pool), and brotli's per-response
 * instance, which its library cannot reset.
 * Usage: compress_levels FILE... (prints a Markdown table per file)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compress/compress.h"

#define PASSES 9

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* One response's compression; returns its output length. <pool> NULL:
 * a new pool (so a new stream) per response, freed after. */
static size_t one(struct hp_compress_pool *pool, enum hp_compress_enc enc, int level,
		  const char *doc, size_t len, struct hp_buf *out)
{
	struct hp_compress_pool *p = pool ? pool : hp_compress_pool_create(1);
	hp_buf_reset(out);
	struct hp_compress_stream *s = hp_compress_take(p, enc, level);
	if (hp_compress_feed(s, doc, len, true, out) < 0) {
		fprintf(stderr, "compression failed\n");
		exit(1);
	}
	hp_compress_give(p, s);
	if (pool == NULL)
		hp_compress_pool_destroy(p);
	return out->len;
}

/* Median CPU seconds of one response over PASSES timed batches. */
static double measure(struct hp_compress_pool *pool, enum hp_compress_enc enc, int level,
		      const char *doc, size_t len, size_t *outlen)
{
	struct hp_buf out = {0};
	double t[PASSES];
	double t0 = cpu_s();
	*outlen = one(pool, enc, level, doc, len, &out);
	/* Batches of about 20 ms, so the clock's granularity does not show. */
	double first = cpu_s() - t0;
	int reps = first > 0.02 ? 1 : first < 1e-5 ? 2000 : (int)(0.02 / first) + 1;
	for (int k = 0; k < PASSES; k++) {
		t0 = cpu_s();
		for (int i = 0; i < reps; i++)
			one(pool, enc, level, doc, len, &out);
		t[k] = (cpu_s() - t0) / reps;
	}
	hp_buf_fini(&out);
	qsort(t, PASSES, sizeof(t[0]), cmp_double);
	return t[PASSES / 2];
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	if (fread(b, 1, (size_t)n, f) != (size_t)n)
		exit(1);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void table(const char *path)
{
	size_t len;
	char *doc = slurp(path, &len);
	static const enum hp_compress_enc encs[] = {HP_ENC_GZIP, HP_ENC_BR, HP_ENC_ZSTD};
	static const int levels[][8] = {{1, 3, 4, 5, 6, 7, 9, -1},
					{0, 1, 3, 4, 5, 6, 9, 11},
					{1, 3, 5, 7, 9, 12, 19, -1}};
	struct hp_compress_pool *pool = hp_compress_pool_create(4);
	printf("\n### %s (%zu bytes)\n\n", path, len);
	printf("| coding | level | bytes out | ratio | CPU µs per response | CPU ms per MB |\n");
	printf("|---|---|---|---|---|---|\n");
	for (size_t e = 0; e < 3; e++) {
		for (size_t l = 0; l < 8 && levels[e][l] >= 0; l++) {
			size_t out;
			double s = measure(pool, encs[e], levels[e][l], doc, len, &out);
			printf("| %s | %d | %zu | %.2f | %.0f | %.1f |\n", hp_compress_name(encs[e]),
			       levels[e][l], out, (double)len / (double)out, s * 1e6,
			       s * 1e3 * 1048576.0 / (double)len);
		}
	}
	printf("\nA stream made and freed per response instead of reset (same document):\n\n");
	printf("| coding | level | CPU µs reset from the pool | CPU µs new each time |\n");
	printf("|---|---|---|---|\n");
	int dl[] = {6, 5, 3};
	for (size_t e = 0; e < 3; e++) {
		size_t out;
		double reuse = measure(pool, encs[e], dl[e], doc, len, &out);
		double fresh = measure(NULL, encs[e], dl[e], doc, len, &out);
		printf("| %s | %d | %.0f | %.0f |\n", hp_compress_name(encs[e]), dl[e], reuse * 1e6,
		       fresh * 1e6);
	}
	hp_compress_pool_destroy(pool);
	free(doc);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		table(argv[i]);
	return 0;
}
