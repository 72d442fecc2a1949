/* SPDX-License-Identifier: MIT */
/*
 * config_schema.c - the table of every configuration key, and the checks
 * that need more than a type and bounds (URLs, listen addresses, names).
 *
 * One row per key: the loader, the environment mapping, the dump, the
 * reference in docs/configuration.md and hp_config_destroy() all walk these
 * tables, so this file is the single place where a key is defined.
 */
#include "config/config_priv.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define SECOND 1000ull
#define MINUTE (60 * SECOND)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)
#define YEAR (365 * DAY)
#define KB 1024ull
#define MB (1024 * KB)
#define TB (1024 * 1024 * MB)

/* ==== Checks ==== */

static bool is_host_char(int c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_';
}

static bool parse_port(const char *s, size_t len, uint16_t *out)
{
	uint64_t v;

	if (!hp_str_to_u64((struct hp_str){s, len}, 65535, &v) || v == 0)
		return false;
	*out = (uint16_t)v;
	return true;
}

/*
 * Split "host[:port]" or "[v6][:port]" at <s>. Host names are kept as text:
 * resolution happens at start-up elsewhere. <*v6> tells the caller to put
 * brackets back when it joins host and port.
 */
static const char *split_hostport(const char *s, size_t len, char **host, uint16_t *port,
				  bool *v6)
{
	const char *colon;
	size_t hlen;

	*v6 = len > 0 && s[0] == '[';
	if (*v6) {
		const char *end = memchr(s, ']', len);
		if (end == NULL)
			return "missing ']' after an IPv6 address";
		hlen = (size_t)(end - s - 1);
		char buf[INET6_ADDRSTRLEN];
		struct in6_addr a;
		if (hlen >= sizeof(buf))
			return "bad IPv6 address";
		memcpy(buf, s + 1, hlen);
		buf[hlen] = '\0';
		if (inet_pton(AF_INET6, buf, &a) != 1)
			return "bad IPv6 address";
		colon = end + 1 < s + len ? end + 1 : NULL;
		if (colon && *colon != ':')
			return "unexpected text after ']'";
		*host = hp_xstrndup(s + 1, hlen);
	} else {
		colon = memchr(s, ':', len);
		hlen = colon ? (size_t)(colon - s) : len;
		if (colon && memchr(colon + 1, ':', len - hlen - 1))
			return "IPv6 addresses must be in brackets: \"[::1]:8080\"";
		for (size_t i = 0; i < hlen; i++)
			if (!is_host_char((unsigned char)s[i]))
				return "bad character in host name";
		*host = hp_xstrndup(s, hlen);
	}
	if (colon && !parse_port(colon + 1, (size_t)(s + len - colon - 1), port)) {
		free(*host);
		*host = NULL;
		return "port must be a number from 1 to 65535";
	}
	return NULL;
}

static bool check_server_url(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	struct hp_config_server *srv = obj;
	const char *url = srv->url;
	(void)k;

	if (strncasecmp(url, "https://", 8) == 0)
		return hp_config_fail(ld, false, "https upstreams are not supported");
	if (strncasecmp(url, "http://", 7) != 0)
		return hp_config_fail(ld, false,
				      "expected an upstream URL like \"http://127.0.0.1:9000\", "
				      "got \"%s\"", url);
	const char *auth = url + 7;
	size_t alen = strcspn(auth, "/?#");
	if (auth[alen] != '\0' && strcmp(auth + alen, "/") != 0)
		return hp_config_fail(ld, false, "upstream URL must not have a path");
	if (memchr(auth, '@', alen))
		return hp_config_fail(ld, false, "upstream URL must not have user info");
	if (alen == 0 || auth[0] == ':')
		return hp_config_fail(ld, false, "upstream URL has no host");

	bool v6;
	const char *why;
	free(srv->host);
	srv->host = NULL;
	srv->port = 80;
	why = split_hostport(auth, alen, &srv->host, &srv->port, &v6);
	if (why)
		return hp_config_fail(ld, false, "bad upstream URL \"%s\": %s", url, why);

	char buf[300];
	snprintf(buf, sizeof(buf), v6 ? "[%s]:%u" : "%s:%u", srv->host, (unsigned)srv->port);
	free(srv->hostport);
	srv->hostport = hp_xstrdup(buf);
	return true;
}

static void fini_server(void *obj)
{
	struct hp_config_server *srv = obj;

	free(srv->host);
	free(srv->hostport);
	srv->host = NULL;
	srv->hostport = NULL;
}

/* Every entry of <list> is "host:port", "[v6]:port" or ":port". */
static bool check_addresses(struct cfg_load *ld, char **list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *s = list[i];
		const char *colon = strrchr(s, ':');
		char *host = NULL;
		uint16_t port = 0;
		bool v6;
		const char *why = "expected \"host:port\", \"[v6]:port\" or \":port\"";

		if (colon && colon[1] != '\0')
			why = split_hostport(s, strlen(s), &host, &port, &v6);
		free(host);
		if (why == NULL && port == 0)
			why = "port must be a number from 1 to 65535";
		if (why) {
			hp_config_path_push_index(ld, i);
			return hp_config_fail(ld, false, "%s, got \"%s\"", why, s);
		}
	}
	return true;
}

static bool check_listen(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	struct hp_config *cfg = obj;
	(void)k;
	return check_addresses(ld, cfg->listen, cfg->nlisten);
}

static bool check_admin_listen(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	struct hp_config_admin *admin = obj;
	(void)k;
	return check_addresses(ld, admin->listen, admin->nlisten);
}

/* The token must be readable now, so that `check` and a reload refuse a
 * file that `serve` could not use; the token itself never leaves here. */
static bool check_admin_token(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	(void)k;
	char token[HP_CONFIG_TOKEN_MAX + 1];
	char err[512];
	int rc = hp_config_admin_token(obj, token, sizeof(token), err, sizeof(err));
	memset(token, 0, sizeof(token));
	return rc >= 0 || hp_config_fail(ld, false, "%s", err);
}

static bool is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	return true;
}

/* Header names go into request keys and response filters verbatim. */
static bool check_header_names(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	if (k->type == CFG_STRING) {
		const char *s = *(char **)(void *)((char *)obj + k->off);
		if (!is_token(s))
			return hp_config_fail(ld, false, "not a header name: \"%s\"", s);
		return true;
	}
	char **list = *(char ***)(void *)((char *)obj + k->off);
	size_t n = *(size_t *)(void *)((char *)obj + k->count_off);
	for (size_t i = 0; i < n; i++) {
		if (!is_token(list[i])) {
			hp_config_path_push_index(ld, i);
			return hp_config_fail(ld, false, "not a header name: \"%s\"", list[i]);
		}
	}
	return true;
}

static bool check_paths(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	if (k->type == CFG_STRING) {
		const char *s = *(char **)(void *)((char *)obj + k->off);
		if (s[0] != '/')
			return hp_config_fail(ld, false, "must start with '/', got \"%s\"", s);
		return true;
	}
	char **list = *(char ***)(void *)((char *)obj + k->off);
	size_t n = *(size_t *)(void *)((char *)obj + k->count_off);
	for (size_t i = 0; i < n; i++) {
		if (list[i][0] != '/') {
			hp_config_path_push_index(ld, i);
			return hp_config_fail(ld, false, "must start with '/', got \"%s\"", list[i]);
		}
	}
	return true;
}

/* Names appear in metrics labels and logs, so keep them plain. */
static bool check_upstream(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	const struct hp_config_upstream *up = obj;
	(void)k;

	for (const char *p = up->name; *p; p++)
		if (!is_host_char((unsigned char)*p))
			return hp_config_fail(ld, true, "upstream names use only letters, digits, "
					      "'-', '_' and '.'");
	if (up->name[0] == '\0')
		return hp_config_fail(ld, true, "upstream name must not be empty");
	return true;
}

static bool check_hash_key(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	struct hp_config_upstream *up = obj;
	(void)k;
	up->hash_name = NULL;
	if (strcmp(up->hash_key, "ip") == 0) {
		up->hash_kind = HP_HASH_KEY_IP;
	} else if (strcmp(up->hash_key, "url") == 0) {
		up->hash_kind = HP_HASH_KEY_URL;
	} else if (strncmp(up->hash_key, "header:", 7) == 0 && is_token(up->hash_key + 7)) {
		up->hash_kind = HP_HASH_KEY_HEADER;
		up->hash_name = up->hash_key + 7;
	} else if (strncmp(up->hash_key, "cookie:", 7) == 0 && is_token(up->hash_key + 7)) {
		up->hash_kind = HP_HASH_KEY_COOKIE;
		up->hash_name = up->hash_key + 7;
	} else {
		return hp_config_fail(ld, false, "expected \"ip\", \"url\", \"header:NAME\" or "
				      "\"cookie:NAME\", got \"%s\"", up->hash_key);
	}
	return true;
}

/* "5xx", or one status of 500-599; kept as a bitmap of (status - 500). */
static bool check_retry_on(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	struct hp_config_upstream *up = obj;
	(void)k;
	up->retry_status[0] = up->retry_status[1] = 0;
	for (size_t i = 0; i < up->nretry_on; i++) {
		const char *v = up->retry_on[i];
		unsigned lo, hi, st;
		int end = 0;
		if (strcmp(v, "5xx") == 0) {
			lo = 500;
			hi = 599;
		} else if (sscanf(v, "%3u%n", &st, &end) == 1 && v[end] == '\0' && end == 3 &&
			   st >= 500 && st <= 599) {
			lo = hi = st;
		} else {
			hp_config_path_push_index(ld, i);
			return hp_config_fail(ld, false, "expected \"5xx\" or a status from 500 to "
					      "599, got \"%s\"", v);
		}
		for (unsigned s = lo; s <= hi; s++)
			up->retry_status[(s - 500) / 64] |= (uint64_t)1 << ((s - 500) % 64);
	}
	return true;
}

/* "50%" (or "50"): the error rate that opens a server's circuit. */
static bool check_error_rate(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	struct hp_config_circuit *cc = obj;
	(void)k;
	cc->error_rate_pct = 0;
	if (cc->error_rate == NULL)
		return true;
	unsigned pct;
	int end = 0;
	const char *v = cc->error_rate;
	if (sscanf(v, "%3u%n", &pct, &end) != 1 || (v[end] != '\0' && strcmp(v + end, "%") != 0) ||
	    pct < 1 || pct > 100)
		return hp_config_fail(ld, false, "expected a percentage from 1%% to 100%% like "
				      "\"50%%\", got \"%s\"", v);
	cc->error_rate_pct = pct;
	return true;
}

/* "200-399", or one status "200". */
static bool check_health_status(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	struct hp_config_health *h = obj;
	(void)k;
	unsigned lo, hi;
	int end = 0;
	if (sscanf(h->status, "%3u-%3u%n", &lo, &hi, &end) == 2 && h->status[end] == '\0') {
		/* a range */
	} else if (sscanf(h->status, "%3u%n", &lo, &end) == 1 && h->status[end] == '\0') {
		hi = lo;
	} else {
		return hp_config_fail(ld, false, "expected a status or a range like \"200-399\", "
				      "got \"%s\"", h->status);
	}
	if (lo < 100 || hi > 599 || lo > hi)
		return hp_config_fail(ld, false, "status range must lie within 100-599, low to "
				      "high, got \"%s\"", h->status);
	h->status_min = lo;
	h->status_max = hi;
	return true;
}

static bool check_health_path(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	const struct hp_config_health *h = obj;
	(void)k;
	if (h->path == NULL)
		return true;
	if (h->path[0] != '/')
		return hp_config_fail(ld, false, "health check path must start with '/'");
	for (const char *p = h->path; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return hp_config_fail(ld, false, "health check path must not hold spaces "
					      "or control characters");
	}
	return true;
}

/* "N/s", "N/m" or "N/h": quota N per window, and the interval between
 * requests in nanoseconds. Null turns the limit off. */
static bool check_rate(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	struct hp_config_rate_limit *rl = obj;
	(void)k;
	rl->interval_ns = 0;
	if (rl->rate == NULL)
		return true;
	const char *slash = strchr(rl->rate, '/');
	uint64_t n;
	uint32_t window = 0;
	if (slash && strcmp(slash + 1, "s") == 0)
		window = 1;
	else if (slash && strcmp(slash + 1, "m") == 0)
		window = 60;
	else if (slash && strcmp(slash + 1, "h") == 0)
		window = 3600;
	if (window == 0 || !hp_str_to_u64((struct hp_str){rl->rate, (size_t)(slash - rl->rate)},
					  1000000000, &n) || n == 0)
		return hp_config_fail(ld, false, "expected a rate like \"100/s\", \"6000/m\" or "
				      "\"10/h\" (1 to 1000000000 per unit), got \"%s\"", rl->rate);
	rl->quota = (uint32_t)n;
	rl->window_s = window;
	rl->interval_ns = window * 1000000000ull / n;
	return true;
}

static bool check_rl_key(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	struct hp_config_rate_limit *rl = obj;
	(void)k;
	rl->key_name = NULL;
	if (strcmp(rl->key, "ip") == 0) {
		rl->key_kind = HP_RL_KEY_IP;
	} else if (strcmp(rl->key, "route") == 0) {
		rl->key_kind = HP_RL_KEY_ROUTE;
	} else if (strncmp(rl->key, "header:", 7) == 0 && is_token(rl->key + 7)) {
		rl->key_kind = HP_RL_KEY_HEADER;
		rl->key_name = rl->key + 7;
	} else if (strncmp(rl->key, "cookie:", 7) == 0 && is_token(rl->key + 7)) {
		rl->key_kind = HP_RL_KEY_COOKIE;
		rl->key_name = rl->key + 7;
	} else {
		return hp_config_fail(ld, false, "expected \"ip\", \"route\", \"header:NAME\" or "
				      "\"cookie:NAME\", got \"%s\"", rl->key);
	}
	return true;
}

static bool check_rl_mode(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	struct hp_config_rate_limit *rl = obj;
	(void)ld;
	(void)k;
	rl->delay = strcmp(rl->mode, "delay") == 0;
	return true;
}

/* The name is a structured-field string in the RateLimit fields. */
static bool check_rl_name(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	const struct hp_config_rate_limit *rl = obj;
	(void)k;
	for (const char *p = rl->name; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
			return hp_config_fail(ld, false, "use printable ASCII without '\"' or '\\'");
	if (rl->name[0] == '\0' || strlen(rl->name) > 64)
		return hp_config_fail(ld, false, "must be 1 to 64 characters");
	return true;
}

/* A route's name labels its metrics series and names it in alert rules and
 * /status, so it must be a plain label value of a bounded length. */
static bool check_route_name(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	const struct hp_config_route *r = obj;
	(void)k;
	if (r->name == NULL)
		return true;
	for (const char *p = r->name; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
			return hp_config_fail(ld, false, "use printable ASCII without '\"' or '\\'");
	if (r->name[0] == '\0' || strlen(r->name) > 63)
		return hp_config_fail(ld, false, "must be 1 to 63 characters");
	return true;
}

/* The webhook is posted to by hotpath itself: plain HTTP, a host, and an
 * optional path. */
static bool check_webhook_url(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	const struct hp_config_alerts *a = obj;
	(void)k;
	if (a->webhook_url == NULL)
		return true;
	if (strncasecmp(a->webhook_url, "http://", 7) != 0)
		return hp_config_fail(ld, false, "expected \"http://host[:port][/path]\", got \"%s\"",
				      a->webhook_url);
	const char *auth = a->webhook_url + 7;
	size_t alen = strcspn(auth, "/?#");
	if (alen == 0 || auth[0] == ':')
		return hp_config_fail(ld, false, "webhook URL has no host");
	return true;
}

/* Alert rules measure live windows: the budget metrics a window has. One
 * of expr (fires while it holds) and budget (fires while it is broken). */
static bool check_alert_rule(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	struct hp_config_alert_rule *r = obj;
	(void)k;
	if ((r->expr == NULL) == (r->budget == NULL))
		return hp_config_fail(ld, false, "give one of \"expr\" (fires while it holds) and "
					      "\"budget\" (fires while it is broken)");
	r->is_budget = r->budget != NULL;
	r->text = r->is_budget ? r->budget : r->expr;
	char err[256];
	hp_budget_fini(&r->parsed);
	if (hp_budget_parse(r->text, &r->parsed, err, sizeof(err)) < 0)
		return hp_config_fail(ld, false, "%s: %s", r->is_budget ? "budget" : "expr", err);
	for (size_t i = 0; i < r->parsed.n; i++) {
		enum hp_budget_metric m = r->parsed.clauses[i].metric;
		if (m != HP_BUDGET_PCT && m != HP_BUDGET_HIT_PCT && m != HP_BUDGET_RPS &&
		    m != HP_BUDGET_ERROR_RATE && m != HP_BUDGET_ERRORS &&
		    m != HP_BUDGET_HIT_RATIO && m != HP_BUDGET_CPU)
			return hp_config_fail(ld, false, "\"%s\": alerts measure pN, hit_pN, rps, "
					      "error_rate, errors, hit_ratio and cpu",
					      r->parsed.clauses[i].text);
	}
	return true;
}

static void fini_alert_rule(void *obj)
{
	struct hp_config_alert_rule *r = obj;
	hp_budget_fini(&r->parsed);
}

/* ==== Tables ==== */

#define SECTION(table) .keys = table, .nkeys = HP_ARRAY_SIZE(table)

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const log_formats[] = {"combined", "json", NULL};
static const char *const token_scopes[] = {"changes", "all", NULL};
static const char *const balancers[] = {"round_robin", "weighted_round_robin", "least_conn",
					 "p2c", "hash", "random", NULL};
static const char *const rl_modes[] = {"reject", "delay", NULL};
static const char *const route_compression_modes[] = {"inherit", "on", "off", NULL};

static bool check_encodings(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	char **list = *(char ***)(void *)((char *)obj + k->off);
	size_t n = *(size_t *)(void *)((char *)obj + k->count_off);
	for (size_t i = 0; i < n; i++) {
		bool known = strcmp(list[i], "gzip") == 0 || strcmp(list[i], "br") == 0 ||
			     strcmp(list[i], "zstd") == 0;
		for (size_t j = 0; known && j < i; j++)
			if (strcmp(list[i], list[j]) == 0) {
				hp_config_path_push_index(ld, i);
				return hp_config_fail(ld, false, "\"%s\" is listed twice", list[i]);
			}
		if (!known) {
			hp_config_path_push_index(ld, i);
			return hp_config_fail(ld, false, "expected \"br\", \"zstd\" or \"gzip\", "
					      "got \"%s\"", list[i]);
		}
	}
	return true;
}

/* "text/" + "*", "+json", or a type/subtype. */
static bool check_media_types(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	char **list = *(char ***)(void *)((char *)obj + k->off);
	size_t n = *(size_t *)(void *)((char *)obj + k->count_off);
	for (size_t i = 0; i < n; i++) {
		const char *t = list[i];
		const char *slash = strchr(t, '/');
		bool ok = t[0] == '+' ? t[1] != '\0' && slash == NULL
				       : slash != NULL && slash != t && slash[1] != '\0';
		for (const char *p = t; ok && *p; p++)
			ok = *p > ' ' && *p < 0x7f && *p != ';' && *p != ',';
		if (!ok) {
			hp_config_path_push_index(ld, i);
			return hp_config_fail(ld, false, "expected a media type like \"text/html\", "
					      "\"text/*\" or \"+json\", got \"%s\"", t);
		}
	}
	return true;
}

#define S(f) offsetof(struct hp_config_server, f)
static const struct cfg_key server_keys[] = {
	{.name = "url", .type = CFG_STRING, .off = S(url), .check = check_server_url,
	 .flags = CFG_REQUIRED,
	 .help = "Origin server as \"http://host[:port]\" (port 80 by default); a bare "
		 "string in \"servers\" is this URL with weight 1."},
	{.name = "weight", .type = CFG_U32, .off = S(weight), .min = 1, .max = 1000, .def = "1",
	 .help = "Relative share of requests (every balancer but random)."},
	{.name = "max_conns", .type = CFG_U32, .off = S(max_conns), .max = 1000000, .def = "0",
	 .help = "Connections to this server at once; 0 = the group's max_connections."},
	{.name = "backup", .type = CFG_BOOL, .off = S(backup), .def = "false",
	 .help = "Used only when no primary server is in service."},
};
static const struct cfg_section server_section = {
	SECTION(server_keys), .size = sizeof(struct hp_config_server), .shorthand = "url",
	.fini = fini_server,
};

#define HC(f) offsetof(struct hp_config_health, f)
static const struct cfg_key health_keys[] = {
	{.name = "path", .type = CFG_STRING, .off = HC(path), .flags = CFG_NULLABLE,
	 .check = check_health_path,
	 .help = "Path each server is asked with GET; null = no active checks."},
	{.name = "interval", .type = CFG_DURATION, .off = HC(interval_ms), .min = 10, .max = DAY,
	 .def = "1s", .help = "Time between two checks of a server."},
	{.name = "timeout", .type = CFG_DURATION, .off = HC(timeout_ms), .min = 1, .max = DAY,
	 .def = "500ms", .help = "Limit for a check: connect, send, and the status line."},
	{.name = "status", .type = CFG_STRING, .off = HC(status), .def = "200-399",
	 .check = check_health_status,
	 .help = "Statuses that pass: \"200-399\", or one status \"204\"."},
	{.name = "rise", .type = CFG_U32, .off = HC(rise), .min = 1, .max = 1000, .def = "2",
	 .help = "Passes in a row that bring a server back (through slow_start)."},
	{.name = "fall", .type = CFG_U32, .off = HC(fall), .min = 1, .max = 1000, .def = "3",
	 .help = "Failures in a row that take a server out."},
};
static const struct cfg_section health_section = {SECTION(health_keys)};

#define CB(f) offsetof(struct hp_config_circuit, f)
static const struct cfg_key circuit_keys[] = {
	{.name = "error_rate", .type = CFG_STRING, .off = CB(error_rate), .flags = CFG_NULLABLE,
	 .check = check_error_rate,
	 .help = "Share of errors (failures and 5xx) among a server's recent outcomes that "
		 "opens its circuit, like \"50%\"; null = no circuit breaking."},
	{.name = "min_requests", .type = CFG_U32, .off = CB(min_requests), .min = 1,
	 .max = 1000000, .def = "20",
	 .help = "Outcomes the window must hold before the circuit may open."},
	{.name = "window", .type = CFG_DURATION, .off = CB(window_ms), .min = 10, .max = DAY,
	 .def = "10s", .help = "How far back outcomes count."},
	{.name = "open_for", .type = CFG_DURATION, .off = CB(open_for_ms), .min = 1, .max = DAY,
	 .def = "5s",
	 .help = "How long an open circuit takes no traffic; then one probe request decides "
		 "(half-open)."},
};
static const struct cfg_section circuit_section = {SECTION(circuit_keys)};

#define U(f) offsetof(struct hp_config_upstream, f)
static const struct cfg_key upstream_keys[] = {
	{.name = "servers", .type = CFG_ARRAY, .off = U(servers), .count_off = U(nservers),
	 .min = 1, .max = 1024, .ext = &server_section, .flags = CFG_REQUIRED,
	 .help = "Servers of the group: URLs, or objects {\"url\", \"weight\", \"max_conns\", "
		 "\"backup\"}."},
	{.name = "balance", .type = CFG_ENUM, .off = U(balance), .def = "round_robin",
	 .ext = balancers, .help = "How requests are spread over the servers (docs/upstreams.md)."},
	{.name = "hash_key", .type = CFG_STRING, .off = U(hash_key), .def = "ip",
	 .check = check_hash_key,
	 .help = "What balance \"hash\" hashes: \"ip\", \"url\", \"header:NAME\" or "
		 "\"cookie:NAME\" (absent: the client address)."},
	{.name = "connect_timeout", .type = CFG_DURATION, .off = U(connect_timeout_ms),
	 .min = 1, .max = DAY, .def = "30s", .help = "Limit for establishing a connection."},
	{.name = "send_timeout", .type = CFG_DURATION, .off = U(send_timeout_ms),
	 .min = 1, .max = DAY, .def = "30s",
	 .help = "Limit between writes of the request to the server."},
	{.name = "read_timeout", .type = CFG_DURATION, .off = U(read_timeout_ms),
	 .min = 1, .max = DAY, .def = "60s",
	 .help = "Limit between bytes of the response; 504 if it expires before the head."},
	{.name = "idle_timeout", .type = CFG_DURATION, .off = U(idle_timeout_ms),
	 .min = 1, .max = DAY, .def = "600s",
	 .help = "How long a pooled keep-alive connection may stay unused."},
	{.name = "max_idle", .type = CFG_U32, .off = U(max_idle), .max = 100000, .def = "100",
	 .help = "Idle keep-alive connections kept per worker per server."},
	{.name = "min_idle", .type = CFG_U32, .off = U(min_idle), .max = 100000, .def = "0",
	 .help = "Connections kept open per worker per server in service, opened in advance "
		 "and topped up once a second (at most max_idle); 0 = none."},
	{.name = "max_connections", .type = CFG_U32, .off = U(max_connections),
	 .max = 1000000, .def = "100",
	 .help = "Connections per server (0 = unlimited); requests queue beyond it."},
	{.name = "retries", .type = CFG_U32, .off = U(retries), .max = 10, .def = "1",
	 .help = "Retries of an idempotent request on another server after a failure "
		 "before any response byte."},
	{.name = "retry_budget", .type = CFG_U32, .off = U(retry_budget), .max = 100, .def = "20",
	 .help = "Retries allowed, in percent of the group's recent requests (plus 10)."},
	{.name = "retry_on", .type = CFG_STRLIST, .off = U(retry_on), .count_off = U(nretry_on),
	 .max = 100, .def = "", .check = check_retry_on,
	 .help = "Response statuses that send an idempotent request to another server "
		 "(within retries and retry_budget): \"5xx\", or codes like \"502\"."},
	{.name = "max_fails", .type = CFG_U32, .off = U(max_fails), .max = 1000, .def = "3",
	 .help = "Failures in a row that eject a server; 0 = never eject."},
	{.name = "fail_timeout", .type = CFG_DURATION, .off = U(fail_timeout_ms), .min = 1,
	 .max = DAY, .def = "5s",
	 .help = "How long a first ejection lasts; it doubles on each repeat, up to 16x."},
	{.name = "max_queue", .type = CFG_U32, .off = U(max_queue), .max = 1000000, .def = "1000",
	 .help = "Requests that may wait for a connection slot, all servers and workers of "
		 "the group; beyond it, 503 at once."},
	{.name = "queue_timeout", .type = CFG_DURATION, .off = U(queue_timeout_ms), .max = DAY,
	 .def = "0",
	 .help = "Longest wait for a connection slot before a 503 with Retry-After; 0 = "
		 "connect_timeout."},
	{.name = "slow_start", .type = CFG_DURATION, .off = U(slow_start_ms), .max = DAY,
	 .def = "0",
	 .help = "A server back in service ramps from a tenth of its weight to all of it "
		 "over this time; 0 = at once."},
	{.name = "max_requests_per_conn", .type = CFG_U32, .off = U(max_requests_per_conn),
	 .max = 100000000, .def = "0",
	 .help = "Requests sent on one upstream connection before it is closed; 0 = no limit."},
	{.name = "conn_lifetime", .type = CFG_DURATION, .off = U(conn_lifetime_ms), .max = DAY,
	 .def = "0",
	 .help = "Age past which an upstream connection is not reused; 0 = no limit."},
	{.name = "health", .type = CFG_OBJECT, .off = U(health), .ext = &health_section,
	 .help = "Active health checks, run on a thread of the group's own (docs/upstreams.md)."},
	{.name = "circuit", .type = CFG_OBJECT, .off = U(circuit), .ext = &circuit_section,
	 .help = "Circuit breaking on each server's error rate (docs/upstreams.md)."},
};
static const struct cfg_section upstream_section = {
	SECTION(upstream_keys), .size = sizeof(struct hp_config_upstream),
	.name_off = U(name), .check = check_upstream,
};

#define P(f) offsetof(struct hp_config_cache_policy, f)
static const struct cfg_key policy_keys[] = {
	{.name = "enabled", .type = CFG_BOOL, .off = P(enabled), .def = "true",
	 .help = "Cache responses on this route."},
	{.name = "default_ttl", .type = CFG_DURATION, .off = P(default_ttl_ms), .max = YEAR,
	 .def = "0s", .help = "Freshness for storable responses that carry none "
			      "(no max-age, Expires or validators); 0 = do not cache them."},
	{.name = "grace", .type = CFG_DURATION, .off = P(grace_ms), .max = YEAR, .def = "0s",
	 .help = "Serve stale this long while refreshing, when the origin sends neither "
		 "stale-while-revalidate nor stale-if-error."},
	{.name = "allow_set_cookie", .type = CFG_BOOL, .off = P(allow_set_cookie),
	 .def = "false",
	 .help = "Store responses that carry Set-Cookie; the stored copy never has the "
		 "cookie (only the client whose request filled the cache gets it)."},
	{.name = "key_query_include", .type = CFG_STRLIST, .off = P(key_query_include),
	 .count_off = P(nkey_query_include), .max = 256, .def = "",
	 .help = "Only these query parameters are part of the cache key (empty = all)."},
	{.name = "key_query_exclude", .type = CFG_STRLIST, .off = P(key_query_exclude),
	 .count_off = P(nkey_query_exclude), .max = 256, .def = "",
	 .help = "Query parameters left out of the cache key (e.g. utm_source)."},
	{.name = "key_query_ignore", .type = CFG_BOOL, .off = P(key_query_ignore),
	 .def = "false", .help = "Leave the whole query string out of the cache key."},
	{.name = "key_headers", .type = CFG_STRLIST, .off = P(key_headers),
	 .count_off = P(nkey_headers), .max = 32, .def = "", .check = check_header_names,
	 .help = "Request headers whose values are part of the cache key."},
};
static const struct cfg_section policy_section = {SECTION(policy_keys)};

#define RL(f) offsetof(struct hp_config_rate_limit, f)
static const struct cfg_key rate_limit_keys[] = {
	{.name = "rate", .type = CFG_STRING, .off = RL(rate), .flags = CFG_NULLABLE,
	 .check = check_rate,
	 .help = "Requests per key: \"100/s\", \"6000/m\" or \"10/h\"; null = no limit."},
	{.name = "burst", .type = CFG_U32, .off = RL(burst), .max = 1000000, .def = "0",
	 .help = "Requests beyond the first that a key may send at once (GCRA: exactly "
		 "burst + 1 at once, then one per 1/rate)."},
	{.name = "key", .type = CFG_STRING, .off = RL(key), .def = "ip", .check = check_rl_key,
	 .help = "What is counted: \"ip\" (client address), \"header:NAME\", "
		 "\"cookie:NAME\" (requests without it count by client address) or \"route\" (all "
		 "requests together)."},
	{.name = "mode", .type = CFG_ENUM, .off = RL(mode), .def = "reject", .ext = rl_modes,
	 .check = check_rl_mode,
	 .help = "\"reject\": requests of a burst are served at once; \"delay\": each waits "
		 "until it is due at the rate (at most burst / rate). Beyond the burst: 429."},
	{.name = "name", .type = CFG_STRING, .off = RL(name), .def = "default",
	 .check = check_rl_name,
	 .help = "Policy name in the RateLimit and RateLimit-Policy response fields."},
	{.name = "ipv6_prefix", .type = CFG_U32, .off = RL(ipv6_prefix), .min = 1, .max = 128,
	 .def = "64", .help = "With key \"ip\": leading bits of an IPv6 address that make "
			      "one client (a /64 is one client by default)."},
	{.name = "allow", .type = CFG_CIDRLIST, .off = RL(allow), .count_off = RL(nallow),
	 .max = 1024, .def = "", .help = "Client addresses never limited."},
	{.name = "max_keys", .type = CFG_U32, .off = RL(max_keys), .min = 1, .max = 100000000,
	 .def = "100000", .help = "Keys remembered (32 bytes each); beyond it the key seen "
				  "least recently is forgotten."},
	{.name = "concurrency", .type = CFG_U32, .off = RL(concurrency), .max = 10000000,
	 .def = "0",
	 .help = "Requests of one key in flight at once (until the response is out); one "
		 "more gets 429; 0 = no limit. Works with or without a rate."},
	{.name = "shared", .type = CFG_BOOL, .off = RL(shared), .def = "false",
	 .help = "With l2: the limit's state lives in Redis, shared by every instance (one "
		 "script call per decision); the local limit decides when Redis does not answer "
		 "(docs/l2.md)."},
};
static const struct cfg_section rate_limit_section = {SECTION(rate_limit_keys)};

#define RC(f) offsetof(struct hp_config_route_compression, f)
static const struct cfg_key route_compression_keys[] = {
	{.name = "enabled", .type = CFG_ENUM, .off = RC(enabled), .def = "inherit",
	 .ext = route_compression_modes,
	 .help = "\"inherit\" the top-level compression.enabled, or \"on\" / \"off\" for "
		 "this route."},
};
static const struct cfg_section route_compression_section = {SECTION(route_compression_keys)};

#define R(f) offsetof(struct hp_config_route, f)
static const struct cfg_key route_keys[] = {
	{.name = "host", .type = CFG_STRING, .off = R(host), .flags = CFG_NULLABLE,
	 .help = "Host header to match, case-insensitive, port ignored; null = any host."},
	{.name = "path_prefix", .type = CFG_STRING, .off = R(path_prefix), .def = "/",
	 .check = check_paths, .help = "The request path must start with this."},
	{.name = "upstream", .type = CFG_STRING, .off = R(upstream), .flags = CFG_NULLABLE,
	 .help = "Name of the upstream group; null = the first one."},
	{.name = "cache", .type = CFG_OBJECT, .off = R(cache), .ext = &policy_section,
	 .help = "Cache policy of the route."},
	{.name = "rate_limit", .type = CFG_OBJECT, .off = R(rate_limit),
	 .ext = &rate_limit_section,
	 .help = "Rate limit of the route (docs/ratelimit.md); off unless \"rate\" or "
		 "\"concurrency\" is set."},
	{.name = "name", .type = CFG_STRING, .off = R(name), .flags = CFG_NULLABLE,
	 .check = check_route_name,
	 .help = "Name of the route in metrics labels, /status and alert rules; null = its "
		 "path_prefix."},
	{.name = "compression", .type = CFG_OBJECT, .off = R(compression),
	 .ext = &route_compression_section,
	 .help = "Response compression on this route (docs/compression.md)."},
};
static const struct cfg_section route_section = {
	SECTION(route_keys), .size = sizeof(struct hp_config_route),
};

#define A(f) offsetof(struct hp_config_access_log, f)
static const struct cfg_key access_log_keys[] = {
	{.name = "path", .type = CFG_STRING, .off = A(path), .flags = CFG_NULLABLE,
	 .help = "File to append one line per request to; \"-\" = stdout; null = off."},
	{.name = "format", .type = CFG_ENUM, .off = A(format), .def = "combined",
	 .ext = log_formats, .help = "Line format: Apache \"combined\" or one JSON object."},
};
static const struct cfg_section access_log_section = {SECTION(access_log_keys)};

#define L(f) offsetof(struct hp_config_limits, f)
static const struct cfg_key limits_keys[] = {
	{.name = "max_connections", .type = CFG_U32, .off = L(max_connections), .min = 1,
	 .max = 10000000, .def = "10000",
	 .help = "Client connections for the whole process; more wait in the backlog."},
	{.name = "max_header_size", .type = CFG_SIZE, .off = L(max_header_size), .min = KB,
	 .max = MB, .def = "32KB", .help = "Largest request head (431 beyond)."},
	{.name = "max_header_fields", .type = CFG_U32, .off = L(max_header_fields), .min = 1,
	 .max = 10000, .def = "100", .help = "Most header fields in a request (431 beyond)."},
	{.name = "max_request_line", .type = CFG_SIZE, .off = L(max_request_line), .min = 256,
	 .max = MB, .def = "8KB", .help = "Longest request line (414 beyond)."},
	{.name = "max_body_size", .type = CFG_SIZE, .off = L(max_body_size), .max = TB,
	 .def = "10MB", .help = "Largest request body (413 beyond)."},
	{.name = "request_buffering", .type = CFG_SIZE, .off = L(request_buffering), .max = 1024 * MB,
	 .def = "64KB",
	 .help = "Request bodies up to this are read and checked whole before the upstream "
		 "is contacted (and may be retried); larger ones stream. 0: always stream."},
	{.name = "strip_request_headers", .type = CFG_STRLIST, .off = L(strip_request_headers),
	 .count_off = L(nstrip_request_headers), .max = 256, .check = check_header_names,
	 .def = "X-Original-URL,X-Rewrite-URL,X-Override-URL,X-HTTP-Method-Override,"
		"X-HTTP-Method,X-Method-Override",
	 .help = "Request fields never forwarded upstream: frameworks that honour them serve "
		 "another URL or method than the cache keyed (docs/cache.md)."},
	{.name = "header_timeout", .type = CFG_DURATION, .off = L(header_timeout_ms), .min = 1,
	 .max = HOUR, .def = "10s",
	 .help = "The whole request head must arrive within this (slowloris)."},
	{.name = "body_timeout", .type = CFG_DURATION, .off = L(body_timeout_ms), .min = 1,
	 .max = DAY, .def = "60s", .help = "Limit between body bytes from a client."},
	{.name = "keepalive_timeout", .type = CFG_DURATION, .off = L(keepalive_timeout_ms),
	 .min = 1, .max = DAY, .def = "75s", .help = "How long an idle client connection stays."},
	{.name = "send_timeout", .type = CFG_DURATION, .off = L(send_timeout_ms), .min = 1,
	 .max = DAY, .def = "60s", .help = "Limit for a client that stops reading."},
	{.name = "drain_timeout", .type = CFG_DURATION, .off = L(drain_timeout_ms), .max = DAY,
	 .def = "10s", .help = "On graceful stop, how long open requests may finish."},
	{.name = "max_conns_per_client", .type = CFG_U32, .off = L(max_conns_per_client),
	 .max = 10000000, .def = "0",
	 .help = "Open connections one client address may hold (checked when accepted, by "
		 "the peer: a new one beyond it is closed at once and counted); 0 = no limit."},
	{.name = "client_ipv6_prefix", .type = CFG_U32, .off = L(client_ipv6_prefix), .min = 1,
	 .max = 128, .def = "64",
	 .help = "Leading bits of an IPv6 address that make one client for "
		 "max_conns_per_client."},
};
static const struct cfg_section limits_section = {SECTION(limits_keys)};

#define C(f) offsetof(struct hp_config_cache, f)
static const struct cfg_key cache_keys[] = {
	{.name = "enabled", .type = CFG_BOOL, .off = C(enabled), .def = "true",
	 .help = "The in-memory cache; false turns caching off on every route."},
	{.name = "max_memory", .type = CFG_SIZE, .off = C(max_memory), .max = TB,
	 .def = "100MB", .help = "Memory for cached objects; when full, S3-FIFO eviction drops objects "
	 "requested only once before popular ones (docs/cache.md)."},
	{.name = "max_object_size", .type = CFG_SIZE, .off = C(max_object_size), .max = TB,
	 .def = "8MB", .help = "Larger responses stream through without being stored."},
	{.name = "namespace", .type = CFG_STRING, .off = C(namespace), .def = "",
	 .help = "Prefix of every cache key; change it to invalidate everything."},
	{.name = "tag_header", .type = CFG_STRING, .off = C(tag_header), .def = "Cache-Tag",
	 .check = check_header_names,
	 .help = "Response header listing tags for purge by tag."},
	{.name = "strip_tag_header", .type = CFG_BOOL, .off = C(strip_tag_header),
	 .def = "true", .help = "Remove the tag header before responding to clients."},
	{.name = "targeted_fields", .type = CFG_STRLIST, .off = C(targeted_fields),
	 .count_off = C(ntargeted_fields), .max = 16, .check = check_header_names,
	 .def = "Hotpath-Cache-Control,CDN-Cache-Control",
	 .help = "Targeted cache-control fields (RFC 9213) in precedence order: the first "
		 "valid one replaces Cache-Control and Expires for hotpath's caching; none = "
		 "Cache-Control only."},
	{.name = "strip_targeted_fields", .type = CFG_BOOL, .off = C(strip_targeted_fields),
	 .def = "false",
	 .help = "Remove the targeted fields before responding to clients (keep them when "
		 "another CDN downstream should see CDN-Cache-Control)."},
	{.name = "purge_allow", .type = CFG_CIDRLIST, .off = C(purge_allow),
	 .count_off = C(npurge_allow), .max = 1024, .def = "127.0.0.0/8,::1/128",
	 .help = "Client addresses allowed to send PURGE requests."},
	{.name = "hit_for_pass", .type = CFG_DURATION, .off = C(hit_for_pass_ms), .max = DAY,
	 .def = "120s", .help = "How long a key whose response was not storable bypasses "
				"request coalescing."},
	{.name = "warm", .type = CFG_STRLIST, .off = C(warm), .count_off = C(nwarm),
	 .max = 100000, .def = "", .check = check_paths,
	 .help = "Paths fetched into the cache after start."},
	{.name = "warm_concurrency", .type = CFG_U32, .off = C(warm_concurrency), .min = 1,
	 .max = 1000, .def = "4", .help = "Warming requests in flight at once."},
	{.name = "server_timing", .type = CFG_BOOL, .off = C(server_timing), .def = "false",
	 .help = "Add a Server-Timing header with cache and upstream times."},
	{.name = "x_cache", .type = CFG_BOOL, .off = C(x_cache), .def = "true",
	 .help = "Add X-Cache: HIT, MISS, ... (Cache-Status is always sent)."},
	{.name = "status_key", .type = CFG_BOOL, .off = C(status_key), .def = "false",
	 .help = "Add the cache key to Cache-Status (key=..., RFC 9211), for debugging."},
};
static const struct cfg_section cache_section = {SECTION(cache_keys)};

static bool check_l2_redis(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	struct hp_config_l2 *l2 = obj;
	(void)k;
	return check_addresses(ld, l2->redis, l2->nredis);
}

/* Several servers are the seed nodes of a cluster; without l2.cluster
 * they would be ignored but one, silently. Checked on the l2 key once its
 * object is read, since the two keys may come in either order (<obj> is
 * the whole config). */
static bool check_l2_section(struct cfg_load *ld, const struct cfg_key *k, void *obj)
{
	const struct hp_config_l2 *l2 = (const struct hp_config_l2 *)((char *)obj + k->off);
	if (l2->nredis > 1 && !l2->cluster)
		return hp_config_fail(ld, false, "redis lists %zu servers: several are only for "
				      "the nodes of a Redis Cluster (\"cluster\": true)",
				      l2->nredis);
	return true;
}

#define L2(f) offsetof(struct hp_config_l2, f)
static const struct cfg_key l2_keys[] = {
	{.name = "redis", .type = CFG_STRLIST, .off = L2(redis), .count_off = L2(nredis),
	 .max = 16, .def = "", .check = check_l2_redis,
	 .help = "The Redis server (\"host:port\") shared by the instances; none = no L2. "
		 "With cluster: some nodes of the cluster (any one up is enough)."},
	{.name = "cluster", .type = CFG_BOOL, .off = L2(cluster), .def = "false",
	 .help = "The servers are nodes of a Redis Cluster: keys go to the node of their "
		 "hash slot, MOVED and ASK are followed."},
	{.name = "max_ttl", .type = CFG_DURATION, .off = L2(max_ttl_ms), .min = 1000,
	 .max = 30 * DAY, .def = "1h",
	 .help = "An object lives in Redis for its remaining freshness and stale windows, "
		 "at most this."},
	{.name = "max_object_size", .type = CFG_SIZE, .off = L2(max_object_size), .max = 512 * MB,
	 .def = "1MB", .help = "Larger objects stay in the L1 cache only."},
	{.name = "timeout", .type = CFG_DURATION, .off = L2(timeout_ms), .min = 1,
	 .max = MINUTE, .def = "20ms",
	 .help = "Limit of one Redis command; past it the request goes on without L2."},
	{.name = "lock", .type = CFG_DURATION, .off = L2(lock_ms), .max = 10 * MINUTE,
	 .def = "5s",
	 .help = "Instances missing one key at once make one origin request: the first holds "
		 "a lock in Redis this long at most while the others wait for its object; 0 = "
		 "off."},
	{.name = "prefix", .type = CFG_STRING, .off = L2(prefix), .def = "hp:",
	 .help = "Prefix of every Redis key hotpath writes."},
};
static const struct cfg_section l2_section = {SECTION(l2_keys)};

#define AD(f) offsetof(struct hp_config_admin, f)
static const struct cfg_key admin_keys[] = {
	{.name = "listen", .type = CFG_STRLIST, .off = AD(listen), .count_off = AD(nlisten),
	 .max = 8, .def = "", .check = check_admin_listen,
	 .help = "Addresses of the admin listener (health, cache stats, purge API); "
		 "none = off."},
	{.name = "allow", .type = CFG_CIDRLIST, .off = AD(allow), .count_off = AD(nallow),
	 .max = 1024, .def = "127.0.0.0/8,::1/128",
	 .help = "Client addresses allowed on the admin listener (403 for others)."},
	{.name = "token_file", .type = CFG_STRING, .off = AD(token_file), .flags = CFG_NULLABLE,
	 .check = check_admin_token,
	 .help = "File holding a bearer token required (Authorization: Bearer) by /purge, "
		 "/reload and PURGE on the main listener; null = no token."},
	{.name = "token_env", .type = CFG_STRING, .off = AD(token_env), .flags = CFG_NULLABLE,
	 .check = check_admin_token,
	 .help = "Name of an environment variable holding that token (instead of a file)."},
	{.name = "token_scope", .type = CFG_ENUM, .off = AD(token_scope), .def = "changes",
	 .ext = token_scopes,
	 .help = "Which admin requests need the token: \"changes\" (purge, reload) or "
		 "\"all\"."},
};
static const struct cfg_section admin_section = {SECTION(admin_keys)};

#define AR(f) offsetof(struct hp_config_alert_rule, f)
static const struct cfg_key alert_rule_keys[] = {
	{.name = "name", .type = CFG_STRING, .off = AR(name), .flags = CFG_REQUIRED,
	 .help = "The alert's name (alertname in the webhook, alert in "
		 "hotpath_alert_firing)."},
	{.name = "route", .type = CFG_STRING, .off = AR(route), .flags = CFG_NULLABLE,
	 .help = "Name of the route whose traffic is measured; null = all traffic."},
	{.name = "expr", .type = CFG_STRING, .off = AR(expr), .flags = CFG_NULLABLE,
	 .help = "When to alert, in the language of hotpath bench --assert: e.g. "
		 "\"p95 > 500ms\", \"error_rate > 1%\", \"cpu > 85%\"; clauses joined by ',' "
		 "must all hold."},
	{.name = "budget", .type = CFG_STRING, .off = AR(budget), .flags = CFG_NULLABLE,
	 .help = "Instead of expr: what must hold, e.g. \"p95 < 200ms\"; the alert fires "
		 "while one clause does not. hotpath bench --budgets checks both kinds."},
	{.name = "for", .type = CFG_DURATION, .off = AR(for_ms), .max = DAY, .def = "0s",
	 .help = "How long expr must hold before the alert fires (pending until then)."},
	{.name = "window", .type = CFG_DURATION, .off = AR(window_ms), .min = 1000,
	 .max = 300000, .def = "1m",
	 .help = "The span of traffic expr is measured over, 1s to 5m (beyond 1m, in "
		 "steps of 10 s)."},
};
static const struct cfg_section alert_rule_section = {
	SECTION(alert_rule_keys), .size = sizeof(struct hp_config_alert_rule),
	.check = check_alert_rule, .fini = fini_alert_rule,
};

#define AL(f) offsetof(struct hp_config_alerts, f)
static const struct cfg_key webhook_keys[] = {
	{.name = "url", .type = CFG_STRING, .off = AL(webhook_url), .flags = CFG_NULLABLE,
	 .check = check_webhook_url,
	 .help = "Where alert state changes are POSTed (Alertmanager webhook JSON); null = "
		 "nowhere."},
	{.name = "timeout", .type = CFG_DURATION, .off = AL(webhook_timeout_ms), .min = 1,
	 .max = MINUTE, .def = "2s", .help = "Limit for one attempt."},
	{.name = "retries", .type = CFG_U32, .off = AL(webhook_retries), .max = 10, .def = "3",
	 .help = "Attempts after a failed first one, 1 s, 2 s, 4 s... apart."},
};
static const struct cfg_section webhook_section = {SECTION(webhook_keys)};

static const struct cfg_key alerts_keys[] = {
	{.name = "webhook", .type = CFG_OBJECT, .off = 0, .ext = &webhook_section,
	 .help = "Notification of alert state changes."},
	{.name = "rules", .type = CFG_ARRAY, .off = AL(rules), .count_off = AL(nrules),
	 .max = 256, .ext = &alert_rule_section,
	 .help = "Budgets checked once a second on live traffic (docs/observability.md)."},
};
static const struct cfg_section alerts_section = {SECTION(alerts_keys)};

static const struct cfg_key metrics_keys[] = {
	{.name = "enabled", .type = CFG_BOOL, .off = 0, .def = "true",
	 .help = "Count requests for /metrics, /status and alerts (off: those figures stay at "
		 "zero; for measuring the cost, bench/observe.sh)."},
};
static const struct cfg_section metrics_section = {SECTION(metrics_keys)};
#define CL(f) offsetof(struct hp_config_compression_levels, f)
static const struct cfg_key compression_level_keys[] = {
	{.name = "gzip", .type = CFG_U32, .off = CL(gzip), .min = 1, .max = 9, .def = "6",
	 .help = "gzip level (1 fastest .. 9 smallest)."},
	{.name = "br", .type = CFG_U32, .off = CL(br), .max = 11, .def = "5",
	 .help = "brotli quality (0 fastest .. 11 smallest)."},
	{.name = "zstd", .type = CFG_U32, .off = CL(zstd), .min = 1, .max = 19, .def = "3",
	 .help = "zstd level (1 fastest .. 19 smallest)."},
};
static const struct cfg_section compression_level_section = {SECTION(compression_level_keys)};

#define CO(f) offsetof(struct hp_config_compression, f)
static const struct cfg_key compression_keys[] = {
	{.name = "enabled", .type = CFG_BOOL, .off = CO(enabled), .def = "true",
	 .help = "Compress responses of compressible types for clients that accept it."},
	{.name = "encodings", .type = CFG_STRLIST, .off = CO(encodings),
	 .count_off = CO(nencodings), .max = 3, .def = "br,zstd,gzip", .check = check_encodings,
	 .help = "Codings offered, the server's preference first (\"br\", \"zstd\", "
		 "\"gzip\"); the client's q-values come first."},
	{.name = "min_size", .type = CFG_SIZE, .off = CO(min_size), .max = TB, .def = "1KB",
	 .help = "Bodies whose Content-Length is smaller are sent as they are."},
	{.name = "types", .type = CFG_STRLIST, .off = CO(types), .count_off = CO(ntypes),
	 .max = 256, .check = check_media_types,
	 .def = "text/*,application/json,+json,application/javascript,"
		"application/x-javascript,application/xml,+xml,image/svg+xml",
	 .help = "Media types compressed: \"type/subtype\", \"type/*\" or a suffix \"+json\"."},
	{.name = "levels", .type = CFG_OBJECT, .off = CO(levels), .ext = &compression_level_section,
	 .help = "Compression level of each coding (docs/compression.md has the measurements)."},
};
static const struct cfg_section compression_section = {SECTION(compression_keys)};

#define T(f) offsetof(struct hp_config, f)
static const struct cfg_key top_keys[] = {
	{.name = "listen", .type = CFG_STRLIST, .off = T(listen), .count_off = T(nlisten),
	 .min = 1, .max = 64, .def = "127.0.0.1:8080", .check = check_listen,
	 .help = "Addresses to accept clients on: \"host:port\", \"[v6]:port\", \":port\"."},
	{.name = "workers", .type = CFG_U32, .off = T(workers), .max = 1024, .def = "0",
	 .help = "Worker threads, each with its own event loop; 0 = one per CPU."},
	{.name = "log_level", .type = CFG_ENUM, .off = T(log_level), .def = "info",
	 .ext = log_levels, .help = "Threshold of diagnostics written to stderr."},
	{.name = "pid_file", .type = CFG_STRING, .off = T(pid_file), .flags = CFG_NULLABLE,
	 .help = "File the serving process writes its pid to (for `hotpath reload` and "
		 "`upgrade`); rewritten by a new binary after an upgrade, removed at exit; "
		 "null = none."},
	{.name = "access_log", .type = CFG_OBJECT, .off = T(access_log),
	 .ext = &access_log_section, .help = "Per-request log."},
	{.name = "trusted_proxies", .type = CFG_CIDRLIST, .off = T(trusted_proxies),
	 .count_off = T(ntrusted_proxies), .max = 1024, .def = "",
	 .help = "Peers whose X-Forwarded-For is believed: behind them the client is the "
		 "right-most address of X-Forwarded-For that is not one of them (rate-limit "
		 "keys, allow-lists, the access log)."},
	{.name = "upstreams", .type = CFG_MAP, .off = T(upstreams), .count_off = T(nupstreams),
	 .max = 1024, .ext = &upstream_section,
	 .help = "Server groups by name; routes refer to them."},
	{.name = "routes", .type = CFG_ARRAY, .off = T(routes), .count_off = T(nroutes),
	 .max = 4096, .ext = &route_section,
	 .help = "Checked in order, the first match wins; default: one route \"/\" to the "
		 "first upstream."},
	{.name = "limits", .type = CFG_OBJECT, .off = T(limits), .ext = &limits_section,
	 .help = "Protection limits for client requests."},
	{.name = "cache", .type = CFG_OBJECT, .off = T(cache), .ext = &cache_section,
	 .help = "The shared in-memory cache."},
	{.name = "admin", .type = CFG_OBJECT, .off = T(admin), .ext = &admin_section,
	 .help = "The admin listener."},
	{.name = "alerts", .type = CFG_OBJECT, .off = T(alerts), .ext = &alerts_section,
	 .help = "Alert rules over live traffic and their webhook."},
	{.name = "metrics", .type = CFG_OBJECT, .off = T(metrics_enabled), .ext = &metrics_section,
	 .help = "Request metrics."},
	{.name = "compression", .type = CFG_OBJECT, .off = T(compression),
	 .ext = &compression_section, .help = "Response compression (docs/compression.md)."},
	{.name = "l2", .type = CFG_OBJECT, .off = T(l2), .ext = &l2_section,
	 .check = check_l2_section,
	 .help = "A second cache tier in Redis shared by every instance (docs/l2.md)."},
};
const struct cfg_section hp_config_schema = {SECTION(top_keys), .size = sizeof(struct hp_config)};
