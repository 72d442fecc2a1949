/* SPDX-License-Identifier: MIT */
/*
 * top.c - `hotpath top`: the figures of /status in a terminal, redrawn
 * each second, for a server without a browser. It is an admin client like
 * `reload --admin`: GET /status on the admin listener, parse the JSON
 * (jansson), print one screen. --once prints a single screen without
 * clearing, for scripts and tests; -n N stops after N screens.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/core.h"
#include "net/net.h"

const char hp_cli_usage_top[] =
	"usage: hotpath top [--admin ADDR:PORT] [--once | -n COUNT]\n"
	"\n"
	"Show a running server's figures, refreshed each second: requests per second,\n"
	"error rate, cache hit ratio and p50/p95/p99 over the last minute and five\n"
	"minutes, in total and per route; CPU, memory and clients; upstream pools;\n"
	"alert states. Reads GET /status on the admin listener (admin.listen).\n"
	"\n"
	"  -a, --admin ADDR:PORT  the admin listener (default 127.0.0.1:9091)\n"
	"  -1, --once             print one screen and exit\n"
	"  -n, --count N          exit after N screens\n"
	"\n"
	"Exit status: 0, or 1 when the admin listener cannot be read.\n";

/* ==== Reading /status ==== */

/* The body of GET /status, or NULL with a message on stderr. */
static char *fetch_status(const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256];
	if (hp_net_resolve(addr, &ss, &len, err, sizeof(err)) < 0) {
		fprintf(stderr, "hotpath top: --admin: %s\n", err);
		return NULL;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 5};
	if (fd >= 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0) {
		fprintf(stderr, "hotpath top: cannot connect to %s: %s\n", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	char req[512];
	int n = snprintf(req, sizeof(req),
			 "GET /status HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", addr);
	size_t cap = 1 << 16;
	size_t got = 0;
	char *resp = hp_xmalloc(cap);
	if (write(fd, req, (size_t)n) == n) {
		ssize_t k;
		while ((k = read(fd, resp + got, cap - 1 - got)) > 0) {
			got += (size_t)k;
			if (got == cap - 1) {
				cap *= 2;
				resp = hp_xrealloc(resp, cap);
			}
		}
	}
	close(fd);
	resp[got] = '\0';
	int status = 0;
	char *body = strstr(resp, "\r\n\r\n");
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1 || status != 200 || body == NULL) {
		fprintf(stderr, "hotpath top: no valid answer to GET /status from %s\n", addr);
		free(resp);
		return NULL;
	}
	memmove(resp, body + 4, strlen(body + 4) + 1);
	return resp;
}

/* ==== One screen ==== */

static double num(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static void print_figures(FILE *out, const char *name, json_t *spans)
{
	static const char *const keys[] = {"1m", "5m"};
	for (size_t i = 0; i < HP_ARRAY_SIZE(keys); i++) {
		json_t *f = json_object_get(spans, keys[i]);
		fprintf(out, "%-16.16s %-3s %10.1f %7.2f %7.1f %9.2f %9.2f %9.2f %9lld\n",
			i == 0 ? name : "", keys[i], num(f, "rps"), 100 * num(f, "error_rate"),
			100 * num(f, "hit_ratio"), num(f, "p50_ms"), num(f, "p95_ms"),
			num(f, "p99_ms"), (long long)json_integer_value(json_object_get(f, "requests")));
	}
}

static void print_screen(FILE *out, json_t *st, const char *addr)
{
	json_t *total = json_object_get(st, "total");
	json_t *proc = json_object_get(st, "process");
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&now, &tm));
	fprintf(out, "hotpath %s at %s, %s   CPU %.1f %% (1 min)   RSS %.1f MiB   clients %lld\n\n",
		json_string_value(json_object_get(st, "version")), addr, when,
		num(json_object_get(total, "1m"), "cpu_pct"),
		num(proc, "resident_bytes") / 1048576,
		(long long)json_integer_value(json_object_get(proc, "client_connections")));
	fprintf(out, "%-16s %-3s %10s %7s %7s %9s %9s %9s %9s\n", "ROUTE", "", "req/s", "err %",
		"hit %", "p50 ms", "p95 ms", "p99 ms", "requests");
	print_figures(out, "(all)", total);
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(st, "routes"), i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		/* "none" (answered before routing) only when it has something. */
		json_t *f5 = json_object_get(r, "5m");
		if (strcmp(name, "none") == 0 && json_integer_value(json_object_get(f5, "requests")) == 0)
			continue;
		print_figures(out, name, r);
	}
	fprintf(out, "\n%-16s %-24s %7s %7s %7s %9s %9s\n", "UPSTREAM", "SERVER", "active", "idle",
		"queued", "failures", "timeouts");
	json_t *g;
	json_array_foreach(json_object_get(st, "upstreams"), i, g) {
		size_t k;
		json_t *s;
		json_array_foreach(json_object_get(g, "servers"), k, s)
			fprintf(out, "%-16.16s %-24.24s %7lld %7lld %7lld %9lld %9lld\n",
				json_string_value(json_object_get(g, "group")),
				json_string_value(json_object_get(s, "server")),
				json_integer_value(json_object_get(s, "active")),
				json_integer_value(json_object_get(s, "idle")),
				json_integer_value(json_object_get(g, "queued")),
				json_integer_value(json_object_get(s, "connect_failures")),
				json_integer_value(json_object_get(s, "timeouts")));
	}
	json_t *alerts = json_object_get(st, "alerts");
	if (json_array_size(alerts) == 0)
		return;
	fprintf(out, "\n%-16s %-9s %s\n", "ALERT", "STATE", "RULE");
	json_array_foreach(alerts, i, r) {
		const char *expr = json_string_value(json_object_get(r, "expr"));
		fprintf(out, "%-16.16s %-9s %s%s\n", json_string_value(json_object_get(r, "name")),
			json_string_value(json_object_get(r, "state")), expr ? "" : "budget ",
			expr ? expr : json_string_value(json_object_get(r, "budget")));
	}
}

/* One fetch and one screen; false when the server could not be read. */
static bool show(const char *addr, bool clear)
{
	char *text = fetch_status(addr);
	if (text == NULL)
		return false;
	json_error_t je;
	json_t *st = json_loads(text, 0, &je);
	free(text);
	if (!json_is_object(st)) {
		fprintf(stderr, "hotpath top: /status is not a JSON object: %s\n", je.text);
		json_decref(st);
		return false;
	}
	if (clear)
		fputs("\033[H\033[2J", stdout);
	print_screen(stdout, st, addr);
	fflush(stdout);
	json_decref(st);
	return true;
}

int hp_cli_top(int argc, char **argv)
{
	static const struct option longs[] = {
		{"admin", required_argument, NULL, 'a'},
		{"once", no_argument, NULL, '1'},
		{"count", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *addr = "127.0.0.1:9091";
	long count = -1;
	bool once = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "a:1n:h", longs, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'a': addr = optarg; break;
		case '1': once = true; break;
		case 'n':
			count = strtol(optarg, &end, 10);
			if (*end != '\0' || count <= 0)
				goto usage;
			break;
		case 'h': fputs(hp_cli_usage_top, stdout); return 0;
		default: goto usage;
		}
	}
	if (optind < argc || (once && count > 0))
		goto usage;
	if (once)
		return show(addr, false) ? 0 : 1;
	for (long i = 0; count < 0 || i < count; i++) {
		if (i > 0)
			sleep(1);
		if (!show(addr, isatty(STDOUT_FILENO)))
			return 1;
	}
	return 0;
usage:
	fputs(hp_cli_usage_top, stderr);
	return 2;
}
