/* SPDX-License-Identifier: MIT */
/*
 * process.c - the process plumbing of a zero-downtime upgrade: the pid
 * file, starting the new binary with the listening sockets, and the
 * readiness pipe through which it says "ready".
 *
 * The new binary is started with fork and execve from a threaded process:
 * between the two, the child may only make async-signal-safe calls, so
 * the environment is built before the fork, and the child does nothing
 * but clear close-on-exec on the descriptors it must keep, reset the
 * signal mask and exec. Every other descriptor hotpath opens is
 * close-on-exec, so nothing else reaches the new binary.
 *
 * Between fork and exec the child also holds every client socket, so a
 * socket a worker closes in that window would stay in the worker's epoll
 * set (epoll forgets a socket on its last close); hp_io_close() (net/loop.c)
 * deregisters before it closes, so no event reaches a freed connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/core.h"
#include "core/log.h"
#include "proxy/listeners.h"

extern char **environ;

/* ==== Pid file ==== */

int hp_cli_pidfile_write(const char *path, pid_t pid, char *err, size_t errlen)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)pid);
	FILE *f = fopen(tmp, "we");
	if (f == NULL) {
		snprintf(err, errlen, "pid_file %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%ld\n", (long)pid);
	/* Renamed, not rewritten in place: a reader never sees it empty. */
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "pid_file %s: %s", path, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

pid_t hp_cli_pidfile_read(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		snprintf(err, errlen, "pid file %s: %s", path, strerror(errno));
		return -1;
	}
	long pid = 0;
	int n = fscanf(f, "%ld", &pid);
	fclose(f);
	if (n != 1 || pid <= 1) {
		snprintf(err, errlen, "pid file %s: no pid in it", path);
		return -1;
	}
	return (pid_t)pid;
}

void hp_cli_pidfile_remove(const char *path)
{
	char err[256];
	if (path != NULL && hp_cli_pidfile_read(path, err, sizeof(err)) == getpid())
		(void)unlink(path);
}

/* ==== Starting the new binary ==== */

static bool is_ours(const char *entry)
{
	return strncmp(entry, HP_LISTEN_FDS_ENV "=", sizeof(HP_LISTEN_FDS_ENV)) == 0 ||
	       strncmp(entry, HP_CLI_READY_FD_ENV "=", sizeof(HP_CLI_READY_FD_ENV)) == 0;
}

/* Our environment without our own hand-over variables, plus the new ones. */
static char **child_env(const char *listen_spec, int ready_fd)
{
	size_t n = 0;
	while (environ[n] != NULL)
		n++;
	char **env = hp_xcalloc(n + 3, sizeof(*env));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!is_ours(environ[i]))
			env[k++] = environ[i];
	size_t len = strlen(listen_spec) + sizeof(HP_LISTEN_FDS_ENV) + 1;
	env[k] = hp_xmalloc(len);
	snprintf(env[k++], len, "%s=%s", HP_LISTEN_FDS_ENV, listen_spec);
	env[k] = hp_xmalloc(sizeof(HP_CLI_READY_FD_ENV) + 16);
	snprintf(env[k++], sizeof(HP_CLI_READY_FD_ENV) + 16, "%s=%d", HP_CLI_READY_FD_ENV,
		 ready_fd);
	env[k] = NULL;
	return env;
}

static void free_child_env(char **env)
{
	/* The last two entries are ours; the rest belong to environ. */
	size_t n = 0;
	while (env[n] != NULL)
		n++;
	free(env[n - 1]);
	free(env[n - 2]);
	free(env);
}

int hp_cli_spawn(const char *exe, char *const argv[], const char *listen_spec, const int *fds,
		 size_t nfds, struct hp_cli_child *out, char *err, size_t errlen)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	char **env = child_env(listen_spec, pfd[1]);
	pid_t pid = fork();
	if (pid == 0) {
		for (size_t i = 0; i < nfds; i++)
			(void)fcntl(fds[i], F_SETFD, 0);
		(void)fcntl(pfd[1], F_SETFD, 0);
		sigset_t none;
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		/* A session of its own: when the old process leads a terminal's
		 * session, its exit would send the new one SIGHUP (a reload). */
		(void)setsid();
		execve(exe, argv, env);
		_exit(127);
	}
	int fork_errno = errno;
	close(pfd[1]);
	free_child_env(env);
	if (pid < 0) {
		close(pfd[0]);
		snprintf(err, errlen, "fork: %s", strerror(fork_errno));
		return -1;
	}
	out->pid = pid;
	out->ready_fd = pfd[0];
	return 0;
}

/* ==== In the new binary ==== */

static int ready_fd = -1;

void hp_cli_take_ready_fd(void)
{
	const char *v = getenv(HP_CLI_READY_FD_ENV);
	if (v == NULL)
		return;
	char *end;
	long fd = strtol(v, &end, 10);
	if (*v != '\0' && *end == '\0' && fd > 2 && fcntl((int)fd, F_GETFD) >= 0) {
		ready_fd = (int)fd;
		(void)fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
	}
	unsetenv(HP_CLI_READY_FD_ENV);
}

void hp_cli_notify_ready(void)
{
	if (ready_fd < 0)
		return;
	static const char ready[] = "ready\n";
	if (write(ready_fd, ready, sizeof(ready) - 1) != (ssize_t)sizeof(ready) - 1)
		hp_log_warn("cannot report ready to the old process: %s", strerror(errno));
	close(ready_fd);
	ready_fd = -1;
}
