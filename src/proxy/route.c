/* SPDX-License-Identifier: MIT */
/*
 * route.c - steps route and limit. route picks the first route of the
 * snapshot that matches the request's host and path (404 when none) and
 * refuses what no upstream should see (CONNECT, a body over
 * max_body_size); limit is where rate limits will apply.
 */
#include "proxy/proxy_priv.h"

enum hp_step hp_step_route(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	const struct hp_http_request *req = &t->req.head;
	const struct hp_config *cfg = t->ws->snap->cfg;
	if (t->req.method == HP_METHOD_CONNECT)
		return hp_respond_error(c, 405, "CONNECT is not supported by this reverse proxy");
	if (t->req.body == HP_BODY_LENGTH && t->req.body_remaining > cfg->limits.max_body_size)
		return hp_respond_error(c, 413, "request body too large");
	t->route = hp_snap_match(t->ws->snap, req->host, req->path);
	if (t->route == NULL)
		return hp_respond_error(c, 404, "no route for this host and path");
	t->up.pool = t->ws->pools[t->route->group];
	return HP_STEP_limit;
}

enum hp_step hp_step_limit(struct hp_client *c)
{
	(void)c;
	return HP_STEP_lookup;
}
