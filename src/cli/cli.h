/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the files of the hotpath command share: the `serve`
 * command (serve.c), the control commands that signal a running server
 * (control.c: `reload`, `upgrade`), and the process plumbing of a binary
 * upgrade (process.c: the pid file, starting the new binary with the
 * listening sockets, and its readiness report).
 *
 * Exit codes everywhere: 0 ok, 1 runtime failure (or a reload refused),
 * 2 bad usage or bad configuration.
 */
#ifndef HP_CLI_CLI_H
#define HP_CLI_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/core.h"

/* The readiness pipe's write end, in the new binary's environment. */
#define HP_CLI_READY_FD_ENV "HOTPATH_READY_FD"
/* How long a new binary has to report ready before the old one gives up. */
#define HP_CLI_READY_TIMEOUT_MS 10000

extern const char hp_cli_usage_serve[];
extern const char hp_cli_usage_reload[];
extern const char hp_cli_usage_upgrade[];
extern const char hp_cli_usage_top[];

/* `hotpath serve`: <argc>/<argv> start at "serve"; <full_argv> is main's
 * whole argv, kept to start the same command line on an upgrade. */
int hp_cli_serve(int argc, char **argv, char **full_argv);
/* `hotpath reload` and `hotpath upgrade`; argv starts at the command. */
int hp_cli_reload(int argc, char **argv);
int hp_cli_upgrade(int argc, char **argv);
/* `hotpath top` (top.c): /status in a terminal; argv starts at "top". */
int hp_cli_top(int argc, char **argv);

/* ==== Pid file (process.c) ==== */

/* Write <pid> to <path> atomically (a temporary file renamed over it).
 * Returns 0 or -1 with a reason in <err>. */
int hp_cli_pidfile_write(const char *path, pid_t pid, char *err, size_t errlen);
/* The pid in <path>, or -1 with a reason in <err>. */
pid_t hp_cli_pidfile_read(const char *path, char *err, size_t errlen);
/* Remove <path> if it still holds our pid: after an upgrade it names the
 * new process, which must keep it. */
void hp_cli_pidfile_remove(const char *path);

/* ==== Upgrade (process.c) ==== */

struct hp_cli_child {
	pid_t pid;                     /* 0: no new binary starting */
	int ready_fd;                  /* read end of its readiness pipe */
	unsigned long long deadline_ms; /* monotonic: give up waiting then */
};

/*
 * Start <exe> with <argv> and our environment plus HOTPATH_LISTEN_FDS=
 * <listen_spec> and HOTPATH_READY_FD, keeping the <nfds> descriptors of
 * <fds> open across exec. Returns 0 with <out> filled, or -1 with a reason
 * in <err>. Main thread.
 */
int hp_cli_spawn(const char *exe, char *const argv[], const char *listen_spec, const int *fds,
		 size_t nfds, struct hp_cli_child *out, char *err, size_t errlen);
/* Take HOTPATH_READY_FD out of the environment (so it never reaches a
 * later binary) and keep it for hp_cli_notify_ready(). */
void hp_cli_take_ready_fd(void);
/* Tell the process that started us that we serve; no-op without one. */
void hp_cli_notify_ready(void);

#endif
