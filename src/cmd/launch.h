/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * `pyprof-bpf -- COMMAND`: the command, started so that the sampler sees
 * it from its first instruction, and what became of it.
 */
#ifndef PYPROF_LAUNCH_H
#define PYPROF_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct launch {
	pid_t pid; /* 0 when none was started, or its exec failed */
	int status; /* its wait status, once it has exited */
	bool exited;
};

/*
 * Starts argv as a child that waits, before its exec, until follow(pid,
 * arg) has returned.  0; or -errno, said on stderr: then l->pid is 0, and
 * l->exited is true when the child ran but could not exec argv[0] (its
 * status is the shell's: 127 not found, 126 not runnable).
 */
int launch__start(struct launch *l, char **argv,
		  void (*follow)(pid_t pid, void *arg), void *arg);

/* The file execvp would run for cmd (PATH searched when it has no '/'),
 * into out.  0 or -errno. */
int launch__resolve(const char *cmd, char *out, size_t len);

/* Whether the command has exited; reaps it without waiting. */
bool launch__reap(struct launch *l);
/* Waits for the command to exit. */
void launch__wait(struct launch *l);
/* Sends sig to the command, unless it has exited. */
void launch__kill(struct launch *l, int sig);

/* The exit code a shell gives for the command's wait status. */
int launch__exit_code(const struct launch *l);

#endif /* PYPROF_LAUNCH_H */
