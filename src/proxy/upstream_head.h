/* SPDX-License-Identifier: MIT */
/*
 * upstream_head.h - the heads that cross hotpath: the request head as the
 * upstream gets it, and the response heads (interim and final) as the
 * client gets them. Hop-by-hop fields never cross; Via and X-Forwarded-*
 * are ours.
 */
#ifndef HP_PROXY_UPSTREAM_HEAD_H
#define HP_PROXY_UPSTREAM_HEAD_H

struct hp_buf;
struct hp_client;
struct hp_http_request;
struct hp_http_response;

/* Append the upstream request head for <req> to <b>: the target in origin
 * form, Host, the client's end-to-end fields (less its conditions while
 * filling), X-Forwarded-For/-Proto/-Host, Via and our validators when
 * revalidating. Not the end: the body's framing and the empty line are
 * added once reqbody.c knows how the body goes. */
void hp_upstream_head_request(struct hp_client *c, struct hp_buf *b,
			      const struct hp_http_request *req);
/* Append a 1xx response for the client (none for HTTP/1.0, none for 100:
 * we answered Expect ourselves). */
void hp_upstream_head_interim(struct hp_client *c, struct hp_buf *b,
			      const struct hp_http_response *r);
/* Append the final response head for the client: status, end-to-end
 * fields, Date if missing, framing as the chain will send the body, the
 * cache's fields, Via and Connection. */
void hp_upstream_head_response(struct hp_client *c, struct hp_buf *b,
			       const struct hp_http_response *r);

#endif
