/* SPDX-License-Identifier: MIT */
/*
 * serve.c - `hotpath serve`: load the configuration, start the proxy and
 * the admin listener, then run the process's control loop on the main
 * thread until a stop.
 *
 * Signals are blocked before any thread starts and read from a signalfd,
 * so no handler ever runs inside a worker:
 *   SIGINT, SIGTERM  drain (in-flight requests finish within
 *                    limits.drain_timeout), then exit 0
 *   SIGHUP           reload: the file the process started with, read again
 *                    with the same loader, HOTPATH_* and command-line
 *                    overrides applied again, then hp_proxy_reload()
 *   SIGUSR1          reopen the access log file (after rotation)
 *   SIGUSR2          upgrade: start the binary at the path this one was
 *                    started from, same arguments, listening sockets passed
 *                    on; once it reports ready, drain and exit 0
 * POST /reload on the admin thread takes the same path as SIGHUP; one lock
 * serialises reloads and upgrades, so a socket list exported for a new
 * binary never changes under it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin/admin.h"
#include "cli/cli.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "proxy/listeners.h"
#include "proxy/proxy.h"

extern char **environ;

const char hp_cli_usage_serve[] =
	"usage: hotpath serve [--config FILE] [--listen ADDR:PORT] [--upstream URL]...\n"
	"                     [--workers N] [--admin ADDR:PORT] [--no-cache]\n"
	"                     [--pid-file PATH]\n"
	"\n"
	"  -c, --config FILE      JSON configuration (see docs/configuration.md)\n"
	"  -l, --listen ADDR:PORT address to accept clients on (default 127.0.0.1:8080)\n"
	"  -u, --upstream URL     upstream server, http://host:port (repeatable)\n"
	"  -w, --workers N        worker threads (default: one per CPU)\n"
	"  -a, --admin ADDR:PORT  admin listener: /health, /ready, /cache, /metrics,\n"
	"                         /purge, /reload (see docs/admin.md; default: off)\n"
	"      --no-cache         pass everything through (cache.enabled false)\n"
	"  -p, --pid-file PATH    write the pid there (pid_file), for `hotpath reload`\n"
	"                         and `hotpath upgrade`\n"
	"\n"
	"Command-line options win over the file and HOTPATH_* environment variables.\n"
	"Signals (docs/operations.md):\n"
	"  SIGINT/SIGTERM  stop gracefully: in-flight requests finish within\n"
	"                  limits.drain_timeout\n"
	"  SIGHUP          reload the configuration file (hotpath reload)\n"
	"  SIGUSR1         reopen the access log file (log rotation)\n"
	"  SIGUSR2         zero-downtime binary upgrade (hotpath upgrade)\n";

/* The running server, as the control loop and the admin's reload see it. */
struct serve {
	struct hp_proxy *px;
	struct hp_admin *admin;
	const char *config_path;       /* NULL: defaults, environment and options only */
	struct hp_config_overrides ov; /* applied again on every reload */
	char *pid_file;                /* copy of pid_file, NULL = none */
	char **admin_listen;           /* copy of admin.listen, to tell a reload it needs a restart */
	size_t nadmin_listen;
	char exe[PATH_MAX];            /* the binary's path, resolved at start */
	char **argv;                   /* the whole command line, for the new binary */
	pthread_mutex_t lock;          /* serialises reloads and upgrades */
	struct hp_cli_child child;     /* a new binary that has not reported ready yet */
};

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

static uint64_t now_ms(void)
{
	return hp_clock_mono_ns() / 1000000u;
}

/* ==== Reload ==== */

/* Keys only a restart (or an upgrade) applies: say so instead of silently
 * keeping the old value. */
static void note_restart_only(const struct serve *sv, const struct hp_config *cfg)
{
	bool same = cfg->admin.nlisten == sv->nadmin_listen;
	for (size_t i = 0; same && i < cfg->admin.nlisten; i++)
		same = strcmp(cfg->admin.listen[i], sv->admin_listen[i]) == 0;
	if (!same)
		hp_log_warn("reload: admin.listen changed; it takes a restart or an upgrade "
			    "(hotpath upgrade) to apply");
	bool pid_same = (cfg->pid_file == NULL && sv->pid_file == NULL) ||
			(cfg->pid_file && sv->pid_file && strcmp(cfg->pid_file, sv->pid_file) == 0);
	if (!pid_same)
		hp_log_warn("reload: pid_file changed; it takes a restart or an upgrade to apply");
}

/* Load and apply. Returns 0 with the file's name in <msg>, or 422 with the
 * reason (file:line:column: key.path: reason, or what the proxy refused). */
static int reload(struct serve *sv, char *msg, size_t msglen)
{
	pthread_mutex_lock(&sv->lock);
	const char *name = sv->config_path ? sv->config_path : "(no file: defaults and options)";
	struct hp_config_error cerr;
	struct hp_config *cfg = hp_config_load(sv->config_path, &sv->ov, environ, &cerr);
	int status = 0;
	if (cfg == NULL) {
		snprintf(msg, msglen, "%s", cerr.msg);
		status = 422;
	} else {
		note_restart_only(sv, cfg);
		char level[16];
		snprintf(level, sizeof(level), "%s", cfg->log_level ? cfg->log_level : "");
		char err[512];
		/* cfg is the proxy's from here on, whatever the outcome. */
		if (hp_proxy_reload(sv->px, cfg, err, sizeof(err)) < 0) {
			snprintf(msg, msglen, "%s", err);
			status = 422;
		} else {
			apply_log_level(level);
			snprintf(msg, msglen, "%s", name);
		}
	}
	hp_proxy_note_reload(sv->px, status == 0);
	if (status != 0)
		hp_log_error("reload refused, the running configuration stays: %s", msg);
	else
		hp_log_info("reload: %s applied", name);
	pthread_mutex_unlock(&sv->lock);
	return status;
}

static int reload_from_admin(void *arg, char *msg, size_t msglen)
{
	return reload(arg, msg, msglen);
}

/* ==== Upgrade ==== */

/* HOTPATH_LISTEN_FDS for the new binary: the proxy's sockets, then the
 * admin's under the name "admin" (the new process matches each socket by
 * its bound address, so the names are only for people reading it). */
static char *export_sockets(struct serve *sv, int **fds, size_t *nfds)
{
	char *spec = hp_listeners_export(sv->px, fds, nfds);
	int afds[16];
	size_t na = sv->admin ? hp_admin_listen_fds(sv->admin, afds, 16) : 0;
	if (na == 0)
		return spec;
	struct hp_buf b = {0};
	hp_buf_append(&b, spec, strlen(spec));
	free(spec);
	*fds = hp_xrealloc(*fds, (*nfds + na) * sizeof(**fds));
	for (size_t i = 0; i < na; i++) {
		char part[32];
		int k = snprintf(part, sizeof(part), "%s%d",
				 i > 0 ? "," : b.len > 0 ? ";admin=" : "admin=", afds[i]);
		hp_buf_append(&b, part, (size_t)k);
		(*fds)[(*nfds)++] = afds[i];
	}
	char *out = hp_xmalloc(b.len + 1);
	memcpy(out, hp_buf_data(&b), b.len);
	out[b.len] = '\0';
	hp_buf_fini(&b);
	return out;
}

static void start_upgrade(struct serve *sv)
{
	if (sv->child.pid != 0) {
		hp_log_warn("SIGUSR2: an upgrade is already in progress (new pid %ld)",
			    (long)sv->child.pid);
		return;
	}
	pthread_mutex_lock(&sv->lock);
	int *fds;
	size_t nfds;
	char *spec = export_sockets(sv, &fds, &nfds);
	char err[256];
	int rc = hp_cli_spawn(sv->exe, sv->argv, spec, fds, nfds, &sv->child, err, sizeof(err));
	pthread_mutex_unlock(&sv->lock);
	if (rc < 0) {
		hp_log_error("upgrade failed: %s; still serving", err);
	} else {
		sv->child.deadline_ms = now_ms() + HP_CLI_READY_TIMEOUT_MS;
		hp_log_info("upgrade: started %s as pid %ld with %zu listening sockets; waiting "
			    "for it to report ready", sv->exe, (long)sv->child.pid, nfds);
	}
	free(spec);
	free(fds);
}

static void describe_exit(int st, char *out, size_t n)
{
	if (WIFEXITED(st))
		snprintf(out, n, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(out, n, "was killed by signal %d", WTERMSIG(st));
	else
		snprintf(out, n, "stopped");
}

/* The new binary failed: collect it, keep serving, take the pid file back
 * (it may have written its own before failing). */
static void upgrade_failed(struct serve *sv, bool timed_out)
{
	pid_t pid = sv->child.pid;
	int st = 0;
	pid_t got = 0;
	/* EOF on the pipe normally means it exited; give it a moment. */
	for (int i = 0; i < 100 && !timed_out && (got = waitpid(pid, &st, WNOHANG)) == 0; i++)
		usleep(10000);
	char why[64];
	if (got != pid) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, &st, 0);
		snprintf(why, sizeof(why), "did not report ready within %d s and was killed",
			 HP_CLI_READY_TIMEOUT_MS / 1000);
	} else {
		describe_exit(st, why, sizeof(why));
	}
	hp_log_error("upgrade failed: the new binary (pid %ld) %s before it was ready (see "
		     "its messages above); still serving as pid %ld",
		     (long)pid, why, (long)getpid());
	close(sv->child.ready_fd);
	sv->child = (struct hp_cli_child){0};
	char err[256];
	if (sv->pid_file && hp_cli_pidfile_write(sv->pid_file, getpid(), err, sizeof(err)) < 0)
		hp_log_warn("%s", err);
}

/* The new binary's pipe is readable or its time is up. True when it is
 * ready and this process now drains. */
static bool check_upgrade(struct serve *sv)
{
	char buf[16];
	ssize_t n = read(sv->child.ready_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
		if (now_ms() < sv->child.deadline_ms)
			return false;
		upgrade_failed(sv, true);
		return false;
	}
	if (n < 5 || memcmp(buf, "ready", 5) != 0) {
		upgrade_failed(sv, false);
		return false;
	}
	hp_log_info("upgrade: new process %ld is ready; this one (%ld) stops accepting and "
		    "drains within limits.drain_timeout", (long)sv->child.pid, (long)getpid());
	close(sv->child.ready_fd);
	sv->child = (struct hp_cli_child){0};
	if (sv->admin != NULL)
		hp_admin_handover(sv->admin);
	hp_proxy_drain(sv->px);
	return true;
}

/* ==== Control loop ==== */

/* Returns the exit code once the workers were told to stop. */
static int control_loop(struct serve *sv, int sfd)
{
	for (;;) {
		struct pollfd p[2] = {
			{.fd = sfd, .events = POLLIN},
			{.fd = sv->child.ready_fd, .events = POLLIN},
		};
		nfds_t n = sv->child.pid != 0 ? 2 : 1;
		int timeout = -1;
		if (sv->child.pid != 0) {
			uint64_t now = now_ms();
			timeout = now >= sv->child.deadline_ms ? 0
				  : (int)(sv->child.deadline_ms - now);
		}
		int rc = poll(p, n, timeout);
		if (rc < 0 && errno != EINTR)
			return 1;
		if (sv->child.pid != 0 && (p[1].revents != 0 || now_ms() >= sv->child.deadline_ms)) {
			if (p[1].revents == 0)
				upgrade_failed(sv, true);
			else if (check_upgrade(sv))
				return 0;
		}
		if (rc <= 0 || !(p[0].revents & POLLIN))
			continue;
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			char msg[1024];
			hp_log_info("SIGHUP: reloading the configuration");
			(void)reload(sv, msg, sizeof(msg));
			continue;
		}
		if (si.ssi_signo == SIGUSR2) {
			start_upgrade(sv);
			continue;
		}
		if (si.ssi_signo == SIGUSR1) {
			hp_log_info("SIGUSR1: reopening the access log");
			hp_proxy_reopen_logs(sv->px);
			continue;
		}
		hp_log_info("%s: finishing in-flight requests, then stopping",
			    si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
		if (sv->child.pid != 0)
			hp_log_warn("the new binary (pid %ld) is still starting; it is left to "
				    "itself", (long)sv->child.pid);
		hp_proxy_drain(sv->px);
		return 0;
	}
}

/* ==== Start ==== */

/* Parse the options into <sv>. Returns -1 to go on, else the exit code. */
static int parse_options(struct serve *sv, int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"listen", required_argument, NULL, 'l'},
		{"upstream", required_argument, NULL, 'u'},
		{"workers", required_argument, NULL, 'w'},
		{"admin", required_argument, NULL, 'a'},
		{"no-cache", no_argument, NULL, 'N'},
		{"pid-file", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char **upstreams = hp_xcalloc((size_t)argc + 1, sizeof(*upstreams));
	sv->ov = (struct hp_config_overrides){.workers = -1, .upstream_urls = upstreams};
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:l:u:w:a:p:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': sv->config_path = optarg; break;
		case 'l': sv->ov.listen = optarg; break;
		case 'a': sv->ov.admin_listen = optarg; break;
		case 'N': sv->ov.no_cache = true; break;
		case 'p': sv->ov.pid_file = optarg; break;
		case 'u': upstreams[sv->ov.nupstream_urls++] = optarg; break;
		case 'w': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || n < 1 || n > 1024) {
				fprintf(stderr, "hotpath serve: --workers: expected 1..1024, got '%s'\n",
					optarg);
				return 2;
			}
			sv->ov.workers = (int)n;
			break;
		}
		case 'h': fputs(hp_cli_usage_serve, stdout); return 0;
		default: fputs(hp_cli_usage_serve, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hotpath serve: unexpected argument '%s'\n%s", argv[optind],
			hp_cli_usage_serve);
		return 2;
	}
	return -1;
}

/* What serve keeps of the configuration across reloads. */
static void remember(struct serve *sv, const struct hp_config *cfg)
{
	sv->pid_file = cfg->pid_file ? hp_xstrdup(cfg->pid_file) : NULL;
	sv->nadmin_listen = cfg->admin.nlisten;
	sv->admin_listen = hp_xcalloc(cfg->admin.nlisten + 1, sizeof(*sv->admin_listen));
	for (size_t i = 0; i < cfg->admin.nlisten; i++)
		sv->admin_listen[i] = hp_xstrdup(cfg->admin.listen[i]);
}

static void forget(struct serve *sv)
{
	for (size_t i = 0; i < sv->nadmin_listen; i++)
		free(sv->admin_listen[i]);
	free(sv->admin_listen);
	free(sv->pid_file);
	free((void *)sv->ov.upstream_urls);
	pthread_mutex_destroy(&sv->lock);
}

/* /proc/self/exe names the running inode: after a package upgrade it reads
 * "... (deleted)", so the path is taken now, while it names us. */
static void resolve_exe(struct serve *sv, const char *argv0)
{
	ssize_t n = readlink("/proc/self/exe", sv->exe, sizeof(sv->exe) - 1);
	if (n > 0) {
		sv->exe[n] = '\0';
		return;
	}
	snprintf(sv->exe, sizeof(sv->exe), "%s", argv0);
}

/* Bind, start the threads. Returns 0, or the exit code with everything
 * created so far destroyed. */
static int start(struct serve *sv, struct hp_config *cfg, uint64_t t0)
{
	char err[512];
	sv->px = hp_proxy_create(cfg, err, sizeof(err));
	if (sv->px == NULL) {
		hp_log_error("%s", err);
		return 1;
	}
	phase("listeners bound and upstreams resolved", t0);
	if (cfg->admin.nlisten > 0) {
		sv->admin = hp_admin_create(cfg, sv->px, reload_from_admin, sv, err, sizeof(err));
		if (sv->admin == NULL) {
			hp_log_error("%s", err);
			return 1;
		}
	}
	hp_listeners_inherit_end();
	int rc = sv->admin != NULL ? hp_admin_start(sv->admin) : 0;
	if (rc == 0)
		rc = hp_proxy_start(sv->px);
	if (rc < 0) {
		hp_log_error("cannot start threads: %s", strerror(-rc));
		return 1;
	}
	if (sv->pid_file && hp_cli_pidfile_write(sv->pid_file, getpid(), err, sizeof(err)) < 0) {
		hp_log_error("%s", err);
		return 1;
	}
	phase("workers started", t0);
	return 0;
}

static void stop(struct serve *sv, struct hp_config *cfg)
{
	/* The admin listener answers /ready with 503 while the workers drain. */
	hp_admin_destroy(sv->admin);
	hp_proxy_destroy(sv->px);
	hp_config_destroy(cfg);
	hp_cli_pidfile_remove(sv->pid_file);
}

int hp_cli_serve(int argc, char **argv, char **full_argv)
{
	uint64_t t0 = hp_clock_mono_ns();
	const char *env_timing = getenv("HOTPATH_DEBUG_TIMING");
	debug_timing = env_timing != NULL && *env_timing && strcmp(env_timing, "0") != 0;
	struct serve sv = {.argv = full_argv};
	pthread_mutex_init(&sv.lock, NULL);
	int code = parse_options(&sv, argc, argv);
	if (code >= 0) {
		forget(&sv);
		return code;
	}
	/* Before the configuration: its loader warns about unknown HOTPATH_*. */
	hp_cli_take_ready_fd();
	char err[512];
	if (hp_listeners_inherit(getenv(HP_LISTEN_FDS_ENV), err, sizeof(err)) < 0)
		hp_log_warn("%s", err);
	unsetenv(HP_LISTEN_FDS_ENV);
	resolve_exe(&sv, full_argv[0]);
	apply_log_level(getenv("HOTPATH_LOG_LEVEL"));
	struct hp_config_error cerr;
	struct hp_config *cfg = hp_config_load(sv.config_path, &sv.ov, environ, &cerr);
	if (cfg == NULL) {
		fprintf(stderr, "hotpath: %s\n", cerr.msg);
		forget(&sv);
		return 2;
	}
	apply_log_level(cfg->log_level);
	remember(&sv, cfg);
	phase("configuration loaded", t0);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	raise_fd_limit();

	if (start(&sv, cfg, t0) != 0) {
		stop(&sv, cfg);
		close(sfd);
		forget(&sv);
		return 1;
	}
	hp_log_info("hotpath %s serving on %s (%zu address%s), upstream %s (%zu server%s)",
		    HOTPATH_VERSION, cfg->listen[0], cfg->nlisten, cfg->nlisten == 1 ? "" : "es",
		    cfg->upstreams[0].name, cfg->upstreams[0].nservers,
		    cfg->upstreams[0].nservers == 1 ? "" : "s");
	if (sv.admin != NULL)
		hp_log_info("admin listener on %s", cfg->admin.listen[0]);
	hp_cli_notify_ready();
	code = control_loop(&sv, sfd);
	hp_proxy_wait(sv.px);
	stop(&sv, cfg);
	close(sfd);
	forget(&sv);
	hp_log_info("stopped");
	return code;
}
