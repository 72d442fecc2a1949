/* SPDX-License-Identifier: MIT */
/*
 * control.c - `hotpath reload` and `hotpath upgrade`: the commands an
 * operator (or a package's maintainer script) runs against a serving
 * process.
 *
 * A signal carries no answer, so with only a pid file these commands do
 * what they can to give one: `reload -c FILE` validates the file with the
 * same loader first and refuses to signal a server with a broken file;
 * `upgrade` watches the pid file until the new process has taken it over.
 * `reload --admin ADDR:PORT` asks POST /reload instead, which answers with
 * the verdict, and is the one to use in scripts that must know.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "net/net.h"

extern char **environ;

const char hp_cli_usage_reload[] =
	"usage: hotpath reload [--pid-file PATH] [-c CONFIG]\n"
	"       hotpath reload --admin ADDR:PORT\n"
	"\n"
	"Make a running `hotpath serve` read its configuration file again and apply\n"
	"it to new requests (in-flight requests finish on the old one). An invalid\n"
	"file is refused with file:line:column: key.path: reason, and the old\n"
	"configuration keeps serving.\n"
	"\n"
	"  -p, --pid-file PATH    send SIGHUP to the pid in PATH\n"
	"  -c, --config FILE      check FILE first (exit 2 without signalling when it\n"
	"                         is invalid); its pid_file is used without --pid-file\n"
	"  -a, --admin ADDR:PORT  POST /reload on the admin listener instead, print the\n"
	"                         answer, and exit 1 when the reload was refused\n"
	"\n"
	"A signal carries no answer: with a pid file the server's log has the\n"
	"verdict. Exit: 0 sent (or applied, with --admin), 1 refused or failed,\n"
	"2 bad usage or invalid FILE.\n";

const char hp_cli_usage_upgrade[] =
	"usage: hotpath upgrade [--pid-file PATH] [-c CONFIG] [--wait SECONDS]\n"
	"\n"
	"Zero-downtime binary upgrade of a running `hotpath serve` (SIGUSR2): it\n"
	"starts the binary at the path it was started from, with the same\n"
	"arguments, and hands it every listening socket. Once the new process\n"
	"reports ready, the old one stops accepting, finishes its in-flight requests\n"
	"within limits.drain_timeout and exits 0. A new binary that exits or is not\n"
	"ready within 10 s is stopped, and the old one keeps serving.\n"
	"\n"
	"  -p, --pid-file PATH  the pid file (pid_file) of the running server\n"
	"  -c, --config FILE    read pid_file from FILE\n"
	"  -w, --wait SECONDS   how long to wait for the new pid (default 15)\n"
	"\n"
	"Exit: 0 when the pid file names a new, live process; 1 when the upgrade\n"
	"failed (the old process still serves; its log says why); 2 bad usage.\n";

struct control_opts {
	const char *pid_file;
	const char *config;
	const char *admin;
	long wait_s;
};

/* Returns -1 to go on, else an exit code. */
static int parse_control(int argc, char **argv, const char *usage, bool upgrade,
			 struct control_opts *o)
{
	static const struct option opts[] = {
		{"pid-file", required_argument, NULL, 'p'},
		{"config", required_argument, NULL, 'c'},
		{"admin", required_argument, NULL, 'a'},
		{"wait", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	*o = (struct control_opts){.wait_s = 15};
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, upgrade ? "p:c:w:h" : "p:c:a:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': o->pid_file = optarg; break;
		case 'c': o->config = optarg; break;
		case 'a':
			if (upgrade)
				goto usage;
			o->admin = optarg;
			break;
		case 'w':
			o->wait_s = strtol(optarg, NULL, 10);
			if (!upgrade || o->wait_s < 1 || o->wait_s > 3600)
				goto usage;
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: goto usage;
		}
	}
	if (optind < argc || (!o->admin && !o->pid_file && !o->config) ||
	    (o->admin && (o->pid_file || o->config)))
		goto usage;
	return -1;
usage:
	fputs(usage, stderr);
	return 2;
}

/* The pid to signal: from --pid-file, else from the config's pid_file.
 * The config, when given, is validated first. -1 with a message printed. */
static pid_t target_pid(const struct control_opts *o, const char *cmd, int *code)
{
	const char *path = o->pid_file;
	struct hp_config *cfg = NULL;
	*code = 1;
	if (o->config != NULL) {
		struct hp_config_overrides ov = {.workers = -1};
		struct hp_config_error cerr;
		cfg = hp_config_load(o->config, &ov, environ, &cerr);
		if (cfg == NULL) {
			fprintf(stderr, "hotpath %s: %s\n", cmd, cerr.msg);
			*code = 2;
			return -1;
		}
		if (path == NULL)
			path = cfg->pid_file;
	}
	pid_t pid = -1;
	char err[512];
	if (path == NULL)
		fprintf(stderr, "hotpath %s: %s sets no pid_file; give --pid-file\n", cmd,
			o->config);
	else if ((pid = hp_cli_pidfile_read(path, err, sizeof(err))) < 0)
		fprintf(stderr, "hotpath %s: %s\n", cmd, err);
	hp_config_destroy(cfg);
	return pid;
}

/* ==== reload ==== */

static int connect_admin(const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256];
	if (hp_net_resolve(addr, &ss, &len, err, sizeof(err)) < 0) {
		fprintf(stderr, "hotpath reload: --admin: %s\n", err);
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* A reload loads a file and swaps a pointer: seconds at worst. */
	struct timeval tv = {.tv_sec = 30};
	if (fd >= 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0) {
		fprintf(stderr, "hotpath reload: cannot connect to %s: %s\n", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* POST /reload; prints the answer's body. Returns the exit code. */
static int reload_via_admin(const char *addr)
{
	int fd = connect_admin(addr);
	if (fd < 0)
		return 1;
	char req[512];
	int n = snprintf(req, sizeof(req),
			 "POST /reload HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\n"
			 "Connection: close\r\n\r\n", addr);
	char resp[8192];
	size_t got = 0;
	if (write(fd, req, (size_t)n) == n) {
		ssize_t k;
		while (got < sizeof(resp) - 1 && (k = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
			got += (size_t)k;
	}
	close(fd);
	resp[got] = '\0';
	int status = 0;
	const char *body = strstr(resp, "\r\n\r\n");
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1 || body == NULL) {
		fprintf(stderr, "hotpath reload: no valid answer from %s\n", addr);
		return 1;
	}
	fputs(body + 4, status == 200 ? stdout : stderr);
	return status == 200 ? 0 : 1;
}

int hp_cli_reload(int argc, char **argv)
{
	struct control_opts o;
	int code = parse_control(argc, argv, hp_cli_usage_reload, false, &o);
	if (code >= 0)
		return code;
	if (o.admin != NULL)
		return reload_via_admin(o.admin);
	pid_t pid = target_pid(&o, "reload", &code);
	if (pid < 0)
		return code;
	if (kill(pid, SIGHUP) < 0) {
		fprintf(stderr, "hotpath reload: pid %ld: %s\n", (long)pid, strerror(errno));
		return 1;
	}
	printf("sent SIGHUP to pid %ld; its log says whether the reload was applied\n", (long)pid);
	return 0;
}

/* ==== upgrade ==== */

int hp_cli_upgrade(int argc, char **argv)
{
	struct control_opts o;
	int code = parse_control(argc, argv, hp_cli_usage_upgrade, true, &o);
	if (code >= 0)
		return code;
	pid_t old = target_pid(&o, "upgrade", &code);
	if (old < 0)
		return code;
	/* The file the server writes: --pid-file, else the one in the config. */
	const char *path = o.pid_file;
	struct hp_config *cfg = NULL;
	if (path == NULL) {
		struct hp_config_overrides ov = {.workers = -1};
		struct hp_config_error cerr;
		cfg = hp_config_load(o.config, &ov, environ, &cerr);
		path = cfg ? cfg->pid_file : NULL;
	}
	code = 1;
	if (kill(old, SIGUSR2) < 0) {
		fprintf(stderr, "hotpath upgrade: pid %ld: %s\n", (long)old, strerror(errno));
		goto out;
	}
	for (long i = 0; i < o.wait_s * 10; i++) {
		usleep(100000);
		char err[512];
		pid_t now = hp_cli_pidfile_read(path, err, sizeof(err));
		if (now > 0 && now != old && kill(now, 0) == 0) {
			printf("upgraded: pid %ld -> %ld (the old one drains, then exits)\n",
			       (long)old, (long)now);
			code = 0;
			goto out;
		}
	}
	fprintf(stderr, "hotpath upgrade: no new process within %ld s; pid %ld still serves, "
		"its log says why\n", o.wait_s, (long)old);
out:
	hp_config_destroy(cfg);
	return code;
}
