/* SPDX-License-Identifier: MIT */
/*
 * main.c - the hotpath command: serve (the accelerator), bench (the load
 * generator), check (configuration validation), version and help.
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad configuration.
 * `serve` blocks SIGINT, SIGTERM and SIGHUP before any thread starts and
 * reads them from a signalfd, so no handler ever runs inside a worker.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "bench/bench.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/log.h"
#include "admin/admin.h"
#include "proxy/proxy.h"

#define HOTPATH_VERSION "0.1.0"

extern char **environ;

static const char usage_main[] =
	"usage: hotpath <command> [options]\n"
	"\n"
	"commands:\n"
	"  serve    run the accelerator in front of your upstream servers\n"
	"  bench    load-test an HTTP server and check latency budgets\n"
	"  check    validate a configuration file and print the effective one\n"
	"  version  print the version\n"
	"  help     help for a command: hotpath help serve\n";

static const char usage_serve[] =
	"usage: hotpath serve [--config FILE] [--listen ADDR:PORT] [--upstream URL]...\n"
	"                     [--workers N] [--admin ADDR:PORT] [--no-cache]\n"
	"\n"
	"  -c, --config FILE      JSON configuration (see docs/configuration.md)\n"
	"  -l, --listen ADDR:PORT address to accept clients on (default 127.0.0.1:8080)\n"
	"  -u, --upstream URL     upstream server, http://host:port (repeatable)\n"
	"  -w, --workers N        worker threads (default: one per CPU)\n"
	"  -a, --admin ADDR:PORT  admin listener: /health, /ready, /cache, /purge\n"
	"                         (see docs/admin.md; default: off)\n"
	"      --no-cache         pass everything through (cache.enabled false)\n"
	"\n"
	"Command-line options win over the file and HOTPATH_* environment variables.\n"
	"SIGINT/SIGTERM stop gracefully: in-flight requests finish within\n"
	"limits.drain_timeout.\n";

static const char usage_check[] =
	"usage: hotpath check FILE\n"
	"\n"
	"Validate FILE (and HOTPATH_* environment overrides) and print the effective\n"
	"configuration as JSON. Errors are reported as file:line:column: key: reason,\n"
	"with exit status 2. An upstream host that does not resolve is a warning on\n"
	"stderr; the exit status stays 0.\n";

static bool debug_timing;

static void phase(const char *what, uint64_t since_ns)
{
	if (debug_timing)
		hp_log_info("timing: %s in %.3f ms", what,
			    (double)(hp_clock_mono_ns() - since_ns) / 1e6);
}

static void apply_log_level(const char *level)
{
	enum hp_log_level l;
	if (level != NULL && hp_log_parse_level(level, &l))
		hp_log_set_level(l);
}

/* ==== serve ==== */

/* Client and upstream sockets, and the memfds of large cached bodies, all
 * need descriptors: take the hard limit, as nginx's worker_rlimit_nofile. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			hp_log_warn("cannot raise the open-files limit: %s", strerror(errno));
	}
}

/* What serve was started with, so a reload reads the same sources again:
 * the file, the environment and the command line, in that order. */
struct serve_sources {
	const char *path;
	const struct hp_config_overrides *ov;
};

static void reload_config(struct hp_proxy *px, const struct serve_sources *src)
{
	struct hp_config_error cerr;
	struct hp_config *cfg = hp_config_load(src->path, src->ov, environ, &cerr);
	if (cfg == NULL) {
		hp_log_error("reload rejected, the running configuration stays: %s", cerr.msg);
		return;
	}
	char err[512];
	if (hp_proxy_reload(px, cfg, err, sizeof(err)) < 0)
		hp_log_error("reload rejected, the running configuration stays: %s", err);
}

static int wait_for_signals(struct hp_proxy *px, int sfd, const struct serve_sources *src)
{
	bool draining = false;
	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));
		if (n != sizeof(si)) {
			if (n < 0 && errno == EINTR)
				continue;
			return 1;
		}
		if (si.ssi_signo == SIGHUP) {
			if (!draining)
				reload_config(px, src);
			continue;
		}
		if (draining) {
			hp_log_warn("second stop signal: stopping now");
			hp_proxy_stop(px);
			return 0;
		}
		hp_log_info("%s: finishing in-flight requests, then stopping",
			    si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
		hp_proxy_drain(px);
		draining = true;
		return 0;
	}
}

static int serve(int argc, char **argv)
{
	uint64_t t0 = hp_clock_mono_ns();
	const char *env_timing = getenv("HOTPATH_DEBUG_TIMING");
	debug_timing = env_timing != NULL && *env_timing && strcmp(env_timing, "0") != 0;
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"listen", required_argument, NULL, 'l'},
		{"upstream", required_argument, NULL, 'u'},
		{"workers", required_argument, NULL, 'w'},
		{"admin", required_argument, NULL, 'a'},
		{"no-cache", no_argument, NULL, 'N'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	const char **upstreams = hp_xcalloc((size_t)argc + 1, sizeof(*upstreams));
	struct hp_config_overrides ov = {.workers = -1, .upstream_urls = upstreams};
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:l:u:w:a:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'l': ov.listen = optarg; break;
		case 'a': ov.admin_listen = optarg; break;
		case 'N': ov.no_cache = true; break;
		case 'u': upstreams[ov.nupstream_urls++] = optarg; break;
		case 'w': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || n < 1 || n > 1024) {
				fprintf(stderr, "hotpath serve: --workers: expected 1..1024, got '%s'\n",
					optarg);
				free(upstreams);
				return 2;
			}
			ov.workers = (int)n;
			break;
		}
		case 'h': fputs(usage_serve, stdout); free(upstreams); return 0;
		default: fputs(usage_serve, stderr); free(upstreams); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hotpath serve: unexpected argument '%s'\n%s", argv[optind],
			usage_serve);
		free(upstreams);
		return 2;
	}
	apply_log_level(getenv("HOTPATH_LOG_LEVEL"));
	struct hp_config_error cerr;
	struct hp_config *cfg = hp_config_load(path, &ov, environ, &cerr);
	if (cfg == NULL) {
		fprintf(stderr, "hotpath: %s\n", cerr.msg);
		free(upstreams);
		return 2;
	}
	apply_log_level(cfg->log_level);
	phase("configuration loaded", t0);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	raise_fd_limit();

	char err[512];
	struct hp_proxy *px = hp_proxy_create(cfg, err, sizeof(err));
	if (px == NULL) {
		hp_log_error("%s", err);
		hp_config_destroy(cfg);
		free(upstreams);
		close(sfd);
		return 1;
	}
	phase("listeners bound and upstreams resolved", t0);
	struct hp_admin *admin = NULL;
	if (cfg->admin.nlisten > 0) {
		admin = hp_admin_create(cfg, px, err, sizeof(err));
		if (admin == NULL) {
			hp_log_error("%s", err);
			hp_proxy_destroy(px);
			hp_config_destroy(cfg);
			close(sfd);
			return 1;
		}
	}
	int rc = admin != NULL ? hp_admin_start(admin) : 0;
	if (rc == 0)
		rc = hp_proxy_start(px);
	if (rc < 0) {
		hp_log_error("cannot start threads: %s", strerror(-rc));
		hp_admin_destroy(admin);
		hp_proxy_destroy(px);
		hp_config_destroy(cfg);
		free(upstreams);
		close(sfd);
		return 1;
	}
	phase("workers started", t0);
	hp_log_info("hotpath %s serving on %s (%zu address%s), upstream %s (%zu server%s)",
		    HOTPATH_VERSION, cfg->listen[0], cfg->nlisten, cfg->nlisten == 1 ? "" : "es",
		    cfg->upstreams[0].name, cfg->upstreams[0].nservers,
		    cfg->upstreams[0].nservers == 1 ? "" : "s");
	if (admin != NULL)
		hp_log_info("admin listener on %s", cfg->admin.listen[0]);
	struct serve_sources src = {.path = path, .ov = &ov};
	int code = wait_for_signals(px, sfd, &src);
	hp_proxy_wait(px);
	/* The admin listener answers /ready with 503 while the workers drain. */
	hp_admin_destroy(admin);
	hp_proxy_destroy(px);
	hp_config_destroy(cfg);
	free(upstreams);
	close(sfd);
	hp_log_info("stopped");
	return code;
}

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
		fputs(usage_serve, out);
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
		return serve(argc - 1, argv + 1);
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
