// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * `-- COMMAND`: a child that is held before its exec until the sampler
 * follows it, so that not one instruction of it runs unseen.  Its exec
 * failure comes back through a close-on-exec pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/launch.h"
#include "cmd/options.h"
#include "lib/msg.h"

#define fail(...) msg__fail("pyprof-bpf", __VA_ARGS__)

/* In the child: waits for the go, then runs argv. */
static __attribute__((noreturn)) void run_child(int go[2], int fail_pipe[2],
						char **argv)
{
	int err;
	char c;

	/* What pyprof-bpf changed must not leak into the command. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	close(go[1]);
	close(fail_pipe[0]);
	if (read(go[0], &c, 1) != 1)
		_exit(127);
	execvp(argv[0], argv);
	err = errno;
	if (write(fail_pipe[1], &err, sizeof(err)) < 0)
		_exit(127);
	_exit(err == ENOENT ? 127 : 126);
}

int launch__start(struct launch *l, char **argv,
		  void (*follow)(pid_t pid, void *arg), void *arg)
{
	int go[2], fail_pipe[2], err = 0;
	ssize_t n;
	pid_t pid;
	char c;

	memset(l, 0, sizeof(*l));
	if (pipe2(go, O_CLOEXEC) || pipe2(fail_pipe, O_CLOEXEC)) {
		err = errno;
		fail("cannot start %s: %s", argv[0], strerror(err));
		return -err;
	}
	pid = fork();
	if (pid < 0) {
		err = errno;
		fail("cannot start %s: %s", argv[0], strerror(err));
		return -err;
	}
	if (pid == 0)
		run_child(go, fail_pipe, argv);
	close(go[0]);
	close(fail_pipe[1]);
	follow(pid, arg);
	c = 1;
	if (write(go[1], &c, 1) != 1) {
		/* It died before exec: waitpid tells how. */
	}
	close(go[1]);
	n = read(fail_pipe[0], &err, sizeof(err));
	close(fail_pipe[0]);
	if (n == (ssize_t)sizeof(err)) {
		fail("cannot run %s: %s%s", argv[0], strerror(err),
		     err == ENOENT ? " (is it on PATH?)" : "");
		waitpid(pid, NULL, 0);
		l->status = W_EXITCODE(err == ENOENT ? 127 : 126, 0);
		l->exited = true;
		return -err;
	}
	l->pid = pid;
	return 0;
}

int launch__resolve(const char *cmd, char *out, size_t len)
{
	const char *path = getenv("PATH"), *p;

	if (strchr(cmd, '/')) {
		snprintf(out, len, "%s", cmd);
		return access(out, X_OK) == 0 ? 0 : -errno;
	}
	/* execvp's default search path when PATH is unset. */
	for (p = path ? path : "/bin:/usr/bin"; *p;) {
		size_t n = strcspn(p, ":");
		int w = snprintf(out, len, "%.*s%s%s", (int)n, p, n ? "/" : "",
				 cmd);

		p += n + (p[n] == ':');
		if (w > 0 && (size_t)w < len && access(out, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

bool launch__reap(struct launch *l)
{
	if (l->pid && !l->exited &&
	    waitpid(l->pid, &l->status, WNOHANG) == l->pid)
		l->exited = true;
	return l->exited;
}

void launch__wait(struct launch *l)
{
	if (!l->pid || l->exited)
		return;
	while (waitpid(l->pid, &l->status, 0) < 0 && errno == EINTR)
		;
	l->exited = true;
}

void launch__kill(struct launch *l, int sig)
{
	if (l->pid && !l->exited)
		kill(l->pid, sig);
}

int launch__exit_code(const struct launch *l)
{
	if (WIFEXITED(l->status))
		return WEXITSTATUS(l->status);
	if (WIFSIGNALED(l->status))
		return 128 + WTERMSIG(l->status);
	return EXIT_FAILURE_;
}
