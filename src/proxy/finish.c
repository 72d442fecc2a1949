/* SPDX-License-Identifier: MIT */
/*
 * finish.c - step log: the response is out. Write its access log line,
 * give back everything the transaction held, and either keep the
 * connection for the next request (which may already be waiting in the
 * input buffer: pipelining) or close it gracefully. An idle connection
 * holds no buffer and no transaction: both go back to the worker.
 */
#include "proxy/proxy_priv.h"

enum hp_step hp_step_log(struct hp_client *c)
{
	struct hp_txn *t = c->t;
	hp_accesslog_record(c);
	c->last_status = t->resp.status;
	c->requests++;
	bool keep = t->req.keep_alive && !c->close_after && !c->w->draining && !c->internal &&
		    t->req.body_done;
	hp_txn_release(c);
	if (!keep) {
		hp_client_close_gracefully(c);
		return HP_STEP_DONE;
	}
	const struct hp_config_limits *lim = &hp_client_cfg(c)->limits;
	if (c->in.len == 0) {
		/* Idle: the connection keeps no buffer while it waits. */
		hp_txn_give_input(c);
		hp_client_arm_timer(c, CT_KEEPALIVE, lim->keepalive_timeout_ms);
	}
	else
		hp_client_arm_timer(c, CT_HEADER, lim->header_timeout_ms);
	return HP_STEP_recv;
}
