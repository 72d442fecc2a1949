/* SPDX-License-Identifier: MIT */
/*
 * alert.c - alert rules (alerts.rules) evaluated once a second, on the
 * sampler thread, against the metrics window.
 *
 * Each rule is clauses of the budget language (core/budget.h) over a
 * route's figures in its window: an `expr` fires while all its clauses
 * hold, a `budget` while one of its clauses does not. States, as
 * Prometheus names them:
 *
 *   inactive  the condition is false (and the rule never fired since start)
 *   pending   it is true, for less than the rule's `for`
 *   firing    it has been true for `for` or longer
 *   resolved  it fired, and is false again
 *
 * pending falls back to inactive (or resolved) when the expression stops
 * holding. Every change is logged; a change to firing or to resolved is
 * also posted to the webhook (alert_hook.c) in the Alertmanager webhook
 * format. A rule keeps its state across a reload when one of the same
 * name and expression survives it. Readers (/status, /metrics) take the
 * same lock as the evaluation; workers never do.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "proxy/proxy_priv.h"

enum alert_state { ST_INACTIVE, ST_PENDING, ST_FIRING, ST_RESOLVED };

static const char *const state_names[] = {"inactive", "pending", "firing", "resolved"};

struct alert {
	const struct hp_config_alert_rule *rule; /* in alerts->snap's config */
	enum alert_state state;
	enum alert_state before_pending; /* where pending falls back to */
	uint64_t since_ms;             /* monotonic: the expression started holding */
	time_t active_at;              /* wall: the same, for the webhook's startsAt */
	time_t changed_at;             /* wall: the last change of state */
	double *values;                /* per clause: the last measured value */
	bool *holds;                   /* per clause: whether it held */
};

struct hp_alerts {
	pthread_mutex_t lock;
	struct hp_snap *snap;          /* a reference: the rules in use */
	struct alert *alerts;
	size_t n;
	struct hp_alert_hook *hook;
};

struct hp_alerts *hp_alerts_create(void)
{
	struct hp_alerts *a = hp_xcalloc(1, sizeof(*a));
	HP_AZ(pthread_mutex_init(&a->lock, NULL));
	a->hook = hp_alert_hook_create();
	return a;
}

static void free_alerts(struct alert *al, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(al[i].values);
		free(al[i].holds);
	}
	free(al);
}

void hp_alerts_destroy(struct hp_alerts *a)
{
	if (a == NULL)
		return;
	hp_alert_hook_destroy(a->hook);
	free_alerts(a->alerts, a->n);
	hp_snap_release(a->snap);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* ==== Rules of a new snapshot ==== */

static const struct alert *alert_like(const struct hp_alerts *a,
				      const struct hp_config_alert_rule *r)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct hp_config_alert_rule *o = a->alerts[i].rule;
		if (strcmp(o->name, r->name) == 0 && strcmp(o->text, r->text) == 0 &&
		    o->is_budget == r->is_budget)
			return &a->alerts[i];
	}
	return NULL;
}

static void adopt(struct hp_alerts *a, struct hp_snap *s)
{
	const struct hp_config_alerts *conf = &s->cfg->alerts;
	struct alert *al = hp_xcalloc(conf->nrules ? conf->nrules : 1, sizeof(*al));
	for (size_t i = 0; i < conf->nrules; i++) {
		const struct hp_config_alert_rule *r = &conf->rules[i];
		const struct alert *old = alert_like(a, r);
		if (old != NULL) {
			al[i] = *old;
		} else {
			al[i].state = ST_INACTIVE;
			al[i].changed_at = time(NULL);
		}
		al[i].rule = r;
		al[i].values = hp_xcalloc(r->parsed.n, sizeof(*al[i].values));
		al[i].holds = hp_xcalloc(r->parsed.n, sizeof(*al[i].holds));
	}
	free_alerts(a->alerts, a->n);
	a->alerts = al;
	a->n = conf->nrules;
	hp_snap_release(a->snap);
	a->snap = hp_snap_fetch(s);
}

/* ==== Evaluation ==== */

/* A clause's value in its unit (us, %, per second, count). */
static double measure(struct hp_metrics_window *w, const char *route, unsigned seconds,
		      const struct hp_budget_clause *c, const struct hp_metrics_figures *f)
{
	switch (c->metric) {
	case HP_BUDGET_PCT:
		return hp_metrics_window_quantile_us(w, route, seconds, HP_METRICS_ALL, c->pct);
	case HP_BUDGET_HIT_PCT:
		return hp_metrics_window_quantile_us(w, route, seconds, HP_METRICS_HITS, c->pct);
	case HP_BUDGET_RPS:
		return f->rps;
	case HP_BUDGET_ERROR_RATE:
		return 100 * f->error_rate;
	case HP_BUDGET_ERRORS:
		return (double)f->errors;
	case HP_BUDGET_HIT_RATIO:
		return 100 * f->hit_ratio;
	case HP_BUDGET_CPU:
		return f->cpu_pct;
	default:
		return 0; /* refused by the config loader */
	}
}

static bool fires(struct alert *al, struct hp_metrics_window *w)
{
	const struct hp_config_alert_rule *r = al->rule;
	unsigned seconds = (unsigned)(r->window_ms / 1000);
	struct hp_metrics_figures f;
	(void)hp_metrics_window_read(w, r->route, seconds, &f);
	bool all = r->parsed.n > 0;
	for (size_t i = 0; i < r->parsed.n; i++) {
		const struct hp_budget_clause *c = &r->parsed.clauses[i];
		al->values[i] = measure(w, r->route, seconds, c, &f);
		al->holds[i] = hp_budget_compare(c->op, al->values[i], c->value);
		all = all && al->holds[i];
	}
	/* A budget is broken by one clause; an expression needs them all. */
	return r->is_budget ? !all : all;
}

static void fmt_time(time_t t, char *buf, size_t n)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The Alertmanager webhook payload (version 4) for one alert. */
static char *webhook_body(const struct alert *al, time_t now)
{
	const struct hp_config_alert_rule *r = al->rule;
	bool firing = al->state == ST_FIRING;
	char starts[32];
	char ends[32];
	fmt_time(al->active_at, starts, sizeof(starts));
	if (firing)
		snprintf(ends, sizeof(ends), "0001-01-01T00:00:00Z");
	else
		fmt_time(now, ends, sizeof(ends));
	json_t *labels = json_pack("{s:s, s:s}", "alertname", r->name, "route",
				   r->route ? r->route : "");
	json_t *alert = json_pack("{s:s, s:O, s:{s:s}, s:s, s:s, s:s}", "status",
				  firing ? "firing" : "resolved", "labels", labels, "annotations",
				  "summary", r->text, "startsAt", starts, "endsAt", ends,
				  "generatorURL", "");
	json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:{}, s:O, s:{}, s:s, s:[o], s:i}", "version",
				 "4", "groupKey", r->name, "status", firing ? "firing" : "resolved",
				 "receiver", "hotpath", "groupLabels", "commonLabels", labels,
				 "commonAnnotations", "externalURL", "", "alerts", alert,
				 "truncatedAlerts", 0);
	HP_AN(body);
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	json_decref(labels);
	return text;
}

/* <v> in <c>'s unit, for people: latencies in ms. */
static const char *fmt_value(const struct hp_budget_clause *c, double v, char *buf, size_t n)
{
	if (hp_budget_is_latency(c->metric))
		snprintf(buf, n, "%.3fms", v / 1000);
	else if (c->metric == HP_BUDGET_RPS || c->metric == HP_BUDGET_ERRORS)
		snprintf(buf, n, "%.6g", v);
	else
		snprintf(buf, n, "%.3g%%", v);
	return buf;
}

static void change(struct hp_alerts *a, struct alert *al, enum alert_state to)
{
	const struct hp_config_alert_rule *r = al->rule;
	time_t now = time(NULL);
	char num[32];
	char value[64] = "";
	if (r->parsed.n > 0)
		snprintf(value, sizeof(value), ", measured %s",
			 fmt_value(&r->parsed.clauses[0], al->values[0], num, sizeof(num)));
	hp_log_warn("alert %s: %s -> %s (%s%s%s)", r->name, state_names[al->state],
		    state_names[to], r->is_budget ? "budget " : "", r->text, value);
	al->state = to;
	al->changed_at = now;
	const struct hp_config_alerts *conf = &a->snap->cfg->alerts;
	if ((to == ST_FIRING || to == ST_RESOLVED) && conf->webhook_url != NULL) {
		char *body = webhook_body(al, now);
		hp_alert_hook_post(a->hook, conf->webhook_url, conf->webhook_timeout_ms,
				   conf->webhook_retries, body);
		free(body);
	}
}

static void step(struct hp_alerts *a, struct alert *al, bool cond, uint64_t now_ms)
{
	switch (al->state) {
	case ST_INACTIVE:
	case ST_RESOLVED:
		if (!cond)
			return;
		al->since_ms = now_ms;
		al->active_at = time(NULL);
		al->before_pending = al->state;
		change(a, al, ST_PENDING);
		/* A rule without `for` fires at once. */
		__attribute__((fallthrough));
	case ST_PENDING:
		if (!cond)
			change(a, al, al->before_pending);
		else if (now_ms - al->since_ms >= al->rule->for_ms)
			change(a, al, ST_FIRING);
		return;
	case ST_FIRING:
		if (!cond)
			change(a, al, ST_RESOLVED);
		return;
	}
}

void hp_alerts_eval(struct hp_alerts *a, struct hp_snap *s, struct hp_metrics_window *w,
		    uint64_t now_ms)
{
	HP_AZ(pthread_mutex_lock(&a->lock));
	if (a->snap != s)
		adopt(a, s);
	for (size_t i = 0; i < a->n; i++)
		step(a, &a->alerts[i], fires(&a->alerts[i], w), now_ms);
	HP_AZ(pthread_mutex_unlock(&a->lock));
}

/* ==== Readers ==== */

struct json_t *hp_alerts_json(struct hp_alerts *a)
{
	json_t *arr = json_array();
	HP_AZ(pthread_mutex_lock(&a->lock));
	for (size_t i = 0; i < a->n; i++) {
		const struct alert *al = &a->alerts[i];
		const struct hp_config_alert_rule *r = al->rule;
		char since[32];
		fmt_time(al->changed_at, since, sizeof(since));
		json_t *clauses = json_array();
		for (size_t k = 0; k < r->parsed.n; k++) {
			/* Latencies in ms, as /status gives them elsewhere. */
			const struct hp_budget_clause *c = &r->parsed.clauses[k];
			double v = hp_budget_is_latency(c->metric) ? al->values[k] / 1000
								   : al->values[k];
			json_array_append_new(clauses, json_pack("{s:s, s:f, s:b}", "clause", c->text,
								 "value", v, "holds", al->holds[k]));
		}
		json_array_append_new(
			arr, json_pack("{s:s, s:s?, s:s, s:s, s:s, s:I, s:I, s:o}", "name", r->name,
				       "route", r->route, r->is_budget ? "budget" : "expr", r->text, "state",
				       state_names[al->state], "since", since, "for_ms",
				       (json_int_t)r->for_ms, "window_ms",
				       (json_int_t)r->window_ms, "clauses", clauses));
	}
	HP_AZ(pthread_mutex_unlock(&a->lock));
	return arr;
}

size_t hp_alerts_firing(struct hp_alerts *a, struct hp_metrics_alert **out)
{
	HP_AZ(pthread_mutex_lock(&a->lock));
	struct hp_metrics_alert *m = hp_xcalloc(a->n ? a->n : 1, sizeof(*m));
	for (size_t i = 0; i < a->n; i++)
		m[i] = (struct hp_metrics_alert){.name = hp_xstrdup(a->alerts[i].rule->name),
						 .firing = a->alerts[i].state == ST_FIRING};
	size_t n = a->n;
	HP_AZ(pthread_mutex_unlock(&a->lock));
	*out = m;
	return n;
}

void hp_alerts_firing_free(struct hp_metrics_alert *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)m[i].name);
	free(m);
}
