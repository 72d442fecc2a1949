/* SPDX-License-Identifier: MIT */
/*
 * guard.h - test helper: place bytes so that the last one sits right before
 * a PROT_NONE page, so that a parser reading one byte too far crashes at
 * once instead of passing by luck (picohttpparser's test.c does the same).
 */
#ifndef HP_TESTS_UNIT_HTTP_GUARD_H
#define HP_TESTS_UNIT_HTTP_GUARD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUARD_AREA_BYTES (256 * 1024)

static char *guard_base; /* GUARD_AREA_BYTES of data, then one PROT_NONE page */

/* Copy <len> bytes of <s> so that they end exactly at the guard page. */
static inline const char *guard_copy(const char *s, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (guard_base == NULL) {
		char *m = mmap(NULL, GUARD_AREA_BYTES + page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED || mprotect(m + GUARD_AREA_BYTES, page, PROT_NONE) != 0) {
			perror("guard mmap");
			abort();
		}
		guard_base = m;
	}
	if (len > GUARD_AREA_BYTES)
		abort();
	char *dst = guard_base + GUARD_AREA_BYTES - len;
	memcpy(dst, s, len);
	return dst;
}

#endif
