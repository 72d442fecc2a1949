/* SPDX-License-Identifier: MIT */
/*
 * chunked.c - the incremental chunked-body decoder (RFC 9112 §7.1).
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *
 * A byte-at-a-time state machine, except that chunk-data is handed to the
 * callback in runs, so decoding costs one switch per framing byte and
 * nothing per payload byte. All state lives in struct hp_http_chunked, which
 * is why any split of the input decodes the same. Line ends may be bare LF
 * like in heads, unless the decoder is strict (request bodies: CRLF only,
 * RFC 9112 §7.1); a bare CR never is.
 */
#include "http/http_priv.h"

#define MAX_EXT_BYTES 4096      /* one chunk-ext, which we never interpret */
#define MAX_TRAILER_BYTES 16384 /* the whole trailer section */

/*
 * States, in input order. SIZE_START needs a first hex digit; SIZE takes
 * more digits, then optional BWS before ';' (SIZE_BWS), an extension (EXT)
 * or the line end (SIZE_LF after CR). DATA passes _remaining bytes through,
 * DATA_END/DATA_LF take its CRLF. A zero size leads to TRAILER_START, which
 * is either the final empty line (FINAL_LF after CR) or a trailer field
 * (TRAILER_NAME, TRAILER_VALUE, TRAILER_LF after CR). DONE and ERROR stay.
 */
enum chunk_state {
	SIZE_START = 0, /* so that a zeroed decoder is ready */
	SIZE,
	SIZE_BWS,
	EXT,
	SIZE_LF,
	DATA,
	DATA_END,
	DATA_LF,
	TRAILER_START,
	TRAILER_NAME,
	TRAILER_VALUE,
	TRAILER_LF,
	FINAL_LF,
	DONE,
	ERROR,
};

static int hex_value(unsigned char ch)
{
	if (ch <= '9')
		return ch - '0';
	return (ch | 0x20) - 'a' + 10;
}

/* A bare LF ends a line only for a lenient decoder; <next> is where it leads. */
static enum chunk_state bare_lf(const struct hp_http_chunked *c, enum chunk_state next)
{
	return c->strict ? ERROR : next;
}

/* The size line is complete: data follows, or the trailer for size 0. */
static enum chunk_state end_size_line(struct hp_http_chunked *c)
{
	c->_count = 0;
	return c->_remaining == 0 ? TRAILER_START : DATA;
}

static enum chunk_state step_size(struct hp_http_chunked *c, unsigned char ch)
{
	if (HP_IS(ch, HP_CT_HEX)) {
		/* Sizes stay below 2^63 so that callers may hold them in off_t. */
		if (c->_remaining > (uint64_t)INT64_MAX >> 4)
			return ERROR;
		c->_remaining = (c->_remaining << 4) | (uint64_t)hex_value(ch);
		return SIZE;
	}
	switch (ch) {
	case ' ':
	case '\t':
		return SIZE_BWS;
	case ';':
		return EXT;
	case '\r':
		return SIZE_LF;
	case '\n':
		return c->strict ? ERROR : end_size_line(c);
	default:
		return ERROR;
	}
}

static enum chunk_state step_trailer(struct hp_http_chunked *c, unsigned char ch)
{
	if (++c->_count > MAX_TRAILER_BYTES)
		return ERROR;
	switch (c->_state) {
	case TRAILER_START:
		if (ch == '\r')
			return FINAL_LF;
		if (ch == '\n')
			return bare_lf(c, DONE);
		return HP_IS(ch, HP_CT_TCHAR) ? TRAILER_NAME : ERROR;
	case TRAILER_NAME:
		if (ch == ':')
			return TRAILER_VALUE;
		return HP_IS(ch, HP_CT_TCHAR) ? TRAILER_NAME : ERROR;
	case TRAILER_VALUE:
		if (ch == '\r')
			return TRAILER_LF;
		if (ch == '\n')
			return bare_lf(c, TRAILER_START);
		return HP_IS(ch, HP_CT_VALUE) ? TRAILER_VALUE : ERROR;
	case TRAILER_LF:
		return ch == '\n' ? TRAILER_START : ERROR;
	default: /* FINAL_LF */
		return ch == '\n' ? DONE : ERROR;
	}
}

/* One framing byte (any state but DATA, DONE and ERROR). */
static enum chunk_state step(struct hp_http_chunked *c, unsigned char ch)
{
	switch (c->_state) {
	case SIZE_START:
		return HP_IS(ch, HP_CT_HEX) ? step_size(c, ch) : ERROR;
	case SIZE:
		return step_size(c, ch);
	case SIZE_BWS:
		if (ch == ' ' || ch == '\t')
			return SIZE_BWS;
		return ch == ';' ? EXT : ERROR;
	case EXT:
		if (ch == '\r')
			return SIZE_LF;
		if (ch == '\n')
			return c->strict ? ERROR : end_size_line(c);
		if (++c->_count > MAX_EXT_BYTES || !HP_IS(ch, HP_CT_VALUE))
			return ERROR;
		return EXT;
	case SIZE_LF:
		return ch == '\n' ? end_size_line(c) : ERROR;
	case DATA_END:
		if (ch == '\r')
			return DATA_LF;
		return ch == '\n' ? bare_lf(c, SIZE_START) : ERROR;
	case DATA_LF:
		return ch == '\n' ? SIZE_START : ERROR;
	default:
		return step_trailer(c, ch);
	}
}

ssize_t hp_http_chunked_feed(struct hp_http_chunked *c, const char *buf, size_t len,
			     bool *done, hp_http_chunk_fn *on_data, void *arg)
{
	const char *p = buf;
	const char *end = buf + len;

	while (p < end && c->_state != DONE && c->_state != ERROR) {
		if (c->_state != DATA) {
			c->_state = step(c, (unsigned char)*p++);
			continue;
		}
		size_t n = (size_t)HP_MIN(c->_remaining, (uint64_t)(end - p));
		if (on_data != NULL)
			on_data(arg, p, n);
		p += n;
		c->_remaining -= n;
		if (c->_remaining == 0)
			c->_state = DATA_END;
	}
	*done = c->_state == DONE;
	if (c->_state == ERROR)
		return HP_ERR;
	return p - buf;
}
