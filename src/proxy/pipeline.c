/* SPDX-License-Identifier: MIT */
/*
 * pipeline.c - the driver of every transaction. It runs the current step
 * (steps_tbl.h) until a step says WAIT (an event will run it again) or
 * DONE (the connection is closed), and logs each transition at debug
 * level. Events reach it only through c->drive: sockets and timers set
 * flags, the driver and the steps read them. Timeouts that need an answer
 * (408) are turned into one here, before the step runs.
 */
#include "core/log.h"
#include "proxy/proxy_priv.h"

static hp_step_fn *const steps[] = {
#define HP_STEP(name, file, what) [HP_STEP_##name] = hp_step_##name,
#include "proxy/steps_tbl.h"
#undef HP_STEP
};

static const char *const step_names[] = {
#define HP_STEP(name, file, what) [HP_STEP_##name] = #name,
#include "proxy/steps_tbl.h"
#undef HP_STEP
	[HP_STEP_WAIT] = "wait for an event",
	[HP_STEP_DONE] = "closed",
};

/* A header or body timeout: the client gets its 408. */
static enum hp_step answer_timeout(struct hp_client *c)
{
	enum hp_client_timer kind = c->expired;
	c->expired = CT_NONE;
	if (kind == CT_HEADER) {
		hp_buf_reset(&c->in);
		if (c->t == NULL)
			hp_txn_begin(c);
		return hp_respond_error(c, 408, "request header timeout");
	}
	return hp_respond_error(c, 408, "request body timeout");
}

static void log_transition(const struct hp_client *c, enum hp_step from, enum hp_step to)
{
	/* Step log counts its request as served before it returns. */
	unsigned n = from == HP_STEP_log ? c->requests : c->requests + 1;
	hp_log_debug("client %s request %u: %s -> %s", c->peer_ip, n, step_names[from],
		     step_names[to]);
}

/* Between requests (no transaction) a connection is in step recv. */
static enum hp_step current_step(const struct hp_client *c)
{
	return c->t != NULL ? c->t->step : HP_STEP_recv;
}

/* The transaction may have ended in the step (log, wait): only recv can
 * follow then. */
static void go_to(struct hp_client *c, enum hp_step next)
{
	if (c->t != NULL)
		c->t->step = next;
	else
		HP_ASSERT(next == HP_STEP_recv);
}

void hp_pipeline_run(struct hp_client *c)
{
	HP_CHECK_OBJ(c, HP_CLIENT_MAGIC);
	if (c->closed || c->lingering)
		return;
	if (c->expired == CT_HEADER || c->expired == CT_BODY) {
		enum hp_step from = current_step(c);
		enum hp_step next = answer_timeout(c);
		log_transition(c, from, next);
		if (next == HP_STEP_DONE)
			return;
		go_to(c, next);
	}
	while (!c->closed) {
		enum hp_step from = current_step(c);
		HP_ASSERT(from < HP_STEP_WAIT);
		enum hp_step next = steps[from](c);
		if (next == HP_STEP_WAIT)
			return;
		log_transition(c, from, next);
		if (next == HP_STEP_DONE)
			return;
		go_to(c, next);
	}
}
