/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* `pyprof-bpf view http://HOST:PORT`: an agent's live stream in the view. */
#ifndef PYPROF_VIEW_REMOTE_H
#define PYPROF_VIEW_REMOTE_H

#include <sys/types.h>

#include "ui/top.h"

struct view_remote_opts {
	const char *url; /* http://HOST[:PORT] */
	const char *token_file; /* --token-file, or NULL */
	pid_t pid; /* --pid: one process (0: all) */
	const char *comm; /* --comm: processes of one command name */
	struct top_opts top; /* --lines, --tree */
	long rows; /* plain text: --rows */
};

/*
 * Connects to the agent and shows its stream: the live view on a
 * terminal, else the table of everything since the agent started, once.
 * An exit code: 0, 1 the agent cannot be reached or refused (its reason
 * said), 2 a bad URL or token file.
 */
int view__remote(const struct view_remote_opts *o);

#endif /* PYPROF_VIEW_REMOTE_H */
