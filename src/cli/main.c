/* SPDX-License-Identifier: MIT */
/*
 * main.c - the hotpath command: serve (the accelerator, serve.c), bench
 * (the load generator), check (configuration validation), reload and
 * upgrade (control.c: signals to a running server), top (top.c: a live
 * view of its /status), version and help.
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad configuration.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench/bench.h"
#include "cli/cli.h"
#include "config/config.h"
#include "net/net.h"

extern char **environ;

static const char usage_main[] =
	"usage: hotpath <command> [options]\n"
	"\n"
	"commands:\n"
	"  serve    run the accelerator in front of your upstream servers\n"
	"  bench    load-test an HTTP server and check latency budgets\n"
	"  check    validate a configuration file and print the effective one\n"
	"  reload   make a running server re-read its configuration file\n"
	"  upgrade  replace a running server's binary without dropping a connection\n"
	"  top      live view of a running server's figures (its admin /status)\n"
	"  version  print the version\n"
	"  help     help for a command: hotpath help serve\n";

static const char usage_check[] =
	"usage: hotpath check FILE\n"
	"\n"
	"Validate FILE (and HOTPATH_* environment overrides) and print the effective\n"
	"configuration as JSON. Errors are reported as file:line:column: key: reason,\n"
	"with exit status 2. Warnings go to stderr and leave the exit status 0: an\n"
	"upstream host that does not resolve, a route that can never match (an\n"
	"earlier route takes all its requests), an upstream group no route uses.\n";

/* ==== check ==== */

/*
 * A host that does not resolve is a warning, not an error: DNS may differ
 * where the file will be deployed, and `serve` resolves again at start.
 * Numeric addresses resolve without a query, so this costs nothing there.
 * Returns how many hosts failed.
 */
static unsigned warn_unresolved(const struct hp_config *cfg)
{
	unsigned failed = 0;

	for (size_t u = 0; u < cfg->nupstreams; u++) {
		const struct hp_config_upstream *up = &cfg->upstreams[u];
		for (size_t i = 0; i < up->nservers; i++) {
			struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
			struct addrinfo *res = NULL;
			int rc = getaddrinfo(up->servers[i].host, NULL, &hints, &res);
			if (rc == 0) {
				freeaddrinfo(res);
				continue;
			}
			fprintf(stderr, "warning: upstreams.%s.servers[%zu]: host \"%s\" does not "
				"resolve: %s\n", up->name, i, up->servers[i].host,
				rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
			failed++;
		}
	}
	return failed;
}

/* Whether route <a>, tried first, takes every request route <b> would:
 * any host (or the same one) and a path prefix that starts b's. */
static bool route_covers(const struct hp_config_route *a, const struct hp_config_route *b)
{
	if (a->host != NULL && (b->host == NULL || strcasecmp(a->host, b->host) != 0))
		return false;
	return strncmp(b->path_prefix, a->path_prefix, strlen(a->path_prefix)) == 0;
}

/* Routes shadowed by an earlier one, and groups no route sends to. */
static void warn_routes(const struct hp_config *cfg)
{
	for (size_t j = 0; j < cfg->nroutes; j++) {
		for (size_t i = 0; i < j; i++) {
			if (!route_covers(&cfg->routes[i], &cfg->routes[j]))
				continue;
			fprintf(stderr, "warning: routes[%zu] (path_prefix \"%s\") can never match: "
				"routes[%zu] (path_prefix \"%s\") comes first and takes all its "
				"requests\n", j, cfg->routes[j].path_prefix, i,
				cfg->routes[i].path_prefix);
			break;
		}
	}
	for (size_t u = 0; u < cfg->nupstreams; u++) {
		bool used = false;
		for (size_t j = 0; j < cfg->nroutes && !used; j++)
			used = cfg->routes[j].upstream_index == u;
		if (!used)
			fprintf(stderr, "warning: upstreams.%s: no route uses this group\n",
				cfg->upstreams[u].name);
	}
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
	return ss->ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

/* An admin listener reachable from other machines with no token is guarded
 * by admin.allow alone: anyone behind an allowed address (a NAT, a shared
 * host) may purge the cache or reload. The token itself is never printed. */
static void warn_admin_token(const struct hp_config *cfg)
{
	if (cfg->admin.token_file != NULL || cfg->admin.token_env != NULL)
		return;
	for (size_t i = 0; i < cfg->admin.nlisten; i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		char err[256];
		if (hp_net_resolve(cfg->admin.listen[i], &ss, &len, err, sizeof(err)) < 0 ||
		    is_loopback(&ss))
			continue;
		fprintf(stderr, "warning: admin.listen[%zu]: \"%s\" is reachable beyond loopback "
			"and no admin.token_file or admin.token_env is set: purge and reload are "
			"guarded by admin.allow only\n", i, cfg->admin.listen[i]);
	}
}

static int check(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		fputs(usage_check, stdout);
		return 0;
	}
	if (argc != 2) {
		fputs(usage_check, stderr);
		return 2;
	}
	struct hp_config_overrides ov = {.workers = -1};
	struct hp_config_error cerr;
	struct hp_config *cfg = hp_config_load(argv[1], &ov, environ, &cerr);
	if (cfg == NULL) {
		fprintf(stderr, "%s\n", cerr.msg);
		return 2;
	}
	(void)warn_unresolved(cfg);
	warn_routes(cfg);
	warn_admin_token(cfg);
	char *json = hp_config_dump(cfg);
	fputs(json, stdout);
	if (json[0] != '\0' && json[strlen(json) - 1] != '\n')
		fputc('\n', stdout);
	free(json);
	hp_config_destroy(cfg);
	return 0;
}

/* ==== help ==== */

static int help(const char *cmd, FILE *out)
{
	if (cmd == NULL) {
		fputs(usage_main, out);
		return 0;
	}
	if (strcmp(cmd, "serve") == 0)
		fputs(hp_cli_usage_serve, out);
	else if (strcmp(cmd, "reload") == 0)
		fputs(hp_cli_usage_reload, out);
	else if (strcmp(cmd, "upgrade") == 0)
		fputs(hp_cli_usage_upgrade, out);
	else if (strcmp(cmd, "top") == 0)
		fputs(hp_cli_usage_top, out);
	else if (strcmp(cmd, "check") == 0)
		fputs(usage_check, out);
	else if (strcmp(cmd, "bench") == 0)
		hp_bench_usage(out);
	else if (strcmp(cmd, "version") == 0 || strcmp(cmd, "help") == 0)
		fputs(usage_main, out);
	else {
		fprintf(stderr, "hotpath: unknown command '%s'\n%s", cmd, usage_main);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_main, stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "serve") == 0)
		return hp_cli_serve(argc - 1, argv + 1, argv);
	if (strcmp(cmd, "reload") == 0)
		return hp_cli_reload(argc - 1, argv + 1);
	if (strcmp(cmd, "upgrade") == 0)
		return hp_cli_upgrade(argc - 1, argv + 1);
	if (strcmp(cmd, "top") == 0)
		return hp_cli_top(argc - 1, argv + 1);
	if (strcmp(cmd, "bench") == 0)
		return hp_bench_main(argc - 1, argv + 1);
	if (strcmp(cmd, "check") == 0)
		return check(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("hotpath %s\n", HOTPATH_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0)
		return help(argc > 2 ? argv[2] : NULL, stdout);
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
		return help(NULL, stdout);
	fprintf(stderr, "hotpath: unknown command '%s'\n%s", cmd, usage_main);
	return 2;
}
