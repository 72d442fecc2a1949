/* SPDX-License-Identifier: MIT */
/*
 * test_slot.c - Redis Cluster key slots: the CRC16 of the cluster
 * specification's check value, slots Redis itself gives (CLUSTER KEYSLOT),
 * and hash tags: the first {...} counts when it is not empty; "{}" or an
 * unclosed "{" means the whole key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "l2/l2.h"

static unsigned slot(const char *k)
{
	return hp_l2_key_slot(k, strlen(k));
}

static void crc16_check_value(void **state)
{
	(void)state;
	assert_int_equal(hp_l2_crc16("123456789", 9), 0x31C3);
	assert_int_equal(hp_l2_crc16("", 0), 0);
}

/* Values from redis-server 7.0's CLUSTER KEYSLOT. */
static void slots_redis_gives(void **state)
{
	(void)state;
	assert_int_equal(slot("123456789"), 12739);
	assert_int_equal(slot("foo"), 12182);
	assert_int_equal(slot("bar"), 5061);
	assert_int_equal(slot("hello"), 866);
}

static void hash_tags(void **state)
{
	(void)state;
	assert_int_equal(slot("{user1000}.following"), slot("user1000"));
	assert_int_equal(slot("hp:o:{GET/a}"), slot("hp:l:{GET/a}"));
	assert_int_equal(slot("foo{}{bar}"), hp_l2_key_slot("foo{}{bar}", 10));
	assert_int_not_equal(slot("foo{}{bar}"), slot("bar"));
	assert_int_equal(slot("foo{{bar}}zap"), slot("{bar"));
	assert_int_equal(slot("foo{bar}{zap}"), slot("bar"));
	assert_int_equal(slot("ab{cd"), hp_l2_crc16("ab{cd", 5) & 16383);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crc16_check_value),
		cmocka_unit_test(slots_redis_gives),
		cmocka_unit_test(hash_tags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
