/* SPDX-License-Identifier: MIT */
/*
 * slot.c - Redis Cluster's key-to-slot function: CRC16-CCITT (XMODEM:
 * polynomial 0x1021, initial 0, no reflection) of the key, or of its hash
 * tag, modulo 16384. The tag is what lies between the first '{' and the
 * first '}' after it, when that is not empty; keys sharing a tag share a
 * slot, which is how the commands touching two keys stay on one node.
 */
#include "l2/l2.h"

uint16_t hp_l2_crc16(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint16_t crc = 0;
	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

unsigned hp_l2_key_slot(const void *key, size_t len)
{
	const char *k = key;
	size_t open = 0;
	while (open < len && k[open] != '{')
		open++;
	if (open < len) {
		size_t close = open + 1;
		while (close < len && k[close] != '}')
			close++;
		if (close < len && close > open + 1) {
			k += open + 1;
			len = close - open - 1;
		}
	}
	return hp_l2_crc16(k, len) & (HP_L2_SLOTS - 1);
}
