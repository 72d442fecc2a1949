/* SPDX-License-Identifier: MIT */
/*
 * compress_priv.h - shared between the files of src/compress only: the
 * decoder, which uses the encoders' table but is not a coding a client
 * can be offered.
 */
#ifndef HP_COMPRESS_COMPRESS_PRIV_H
#define HP_COMPRESS_COMPRESS_PRIV_H

#include "compress/compress.h"

extern const struct hp_compress_codec hp_compress_gunzip;

#endif
