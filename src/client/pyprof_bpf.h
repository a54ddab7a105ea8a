/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * pyprof_bpf.h: profile a region of a native program (one that embeds
 * Python, or calls into it) with the pyprof-bpf agent, without root.
 *
 *	const char *err = pyprof_bpf_start("region.svg");
 *	if (err)
 *		fprintf(stderr, "%s\n", err);
 *	region();
 *	err = pyprof_bpf_stop();	// the file is complete when it returns
 *
 * Each returns NULL, or an error message (valid until the next call).
 * pyprof_bpf_start_with(path, "native=1 frequency=199") passes options of
 * the protocol's "start" request (README.md, "Profiling a region from the
 * program").  The agent is found at $PYPROF_BPF_SOCKET, else
 * /run/pyprof-bpf.sock; the file is opened here, with this program's
 * rights, and its descriptor passed to the agent (SCM_RIGHTS).
 *
 * Header only, no dependency but libc.  The state is per translation unit:
 * call the functions from one source file.  Not thread-safe.
 */
#ifndef PYPROF_BPF_CLIENT_H
#define PYPROF_BPF_CLIENT_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define PYPROF_BPF_DEFAULT_SOCKET "/run/pyprof-bpf.sock"

static int pyprof_bpf__fd = -1;
static char pyprof_bpf__err[1024];

static inline const char *pyprof_bpf__fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline const char *pyprof_bpf__fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pyprof_bpf__err, sizeof(pyprof_bpf__err), fmt, ap);
	va_end(ap);
	return pyprof_bpf__err;
}

/* The agent's answer: NULL for "ok ...", else its message. */
static inline const char *pyprof_bpf__answer(int fd)
{
	char line[1024];
	size_t n = 0;

	for (;;) {
		char ch;
		ssize_t r = read(fd, &ch, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return pyprof_bpf__fail(
				"the pyprof-bpf agent closed the "
				"connection");
		if (ch == '\n')
			break;
		if (n < sizeof(line) - 1)
			line[n++] = ch;
	}
	line[n] = '\0';
	if (!strncmp(line, "ok", 2) && (line[2] == ' ' || !line[2]))
		return NULL;
	return pyprof_bpf__fail("%s",
				strncmp(line, "error ", 6) ? line : line + 6);
}

static inline int pyprof_bpf__send(int fd, const char *line, int passed)
{
	struct iovec iov = { (void *)line, strlen(line) };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (passed >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.b;
		mh.msg_controllen = sizeof(u.b);
		CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &passed, sizeof(int));
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)iov.iov_len ? 0 : -1;
}

static inline const char *pyprof_bpf_start_with(const char *path,
						const char *options)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *sock = getenv("PYPROF_BPF_SOCKET");
	const char *base, *err;
	char line[4096];
	int fd, out;

	if (pyprof_bpf__fd >= 0)
		return pyprof_bpf__fail("profiling already in progress");
	if (!sock || !*sock)
		sock = PYPROF_BPF_DEFAULT_SOCKET;
	if (strlen(sock) >= sizeof(addr.sun_path))
		return pyprof_bpf__fail("socket path too long: %s%s", sock, "");
	strcpy(addr.sun_path, sock);
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	/* No pid: the agent knows this process from the socket. */
	if ((size_t)snprintf(line, sizeof(line), "start %s name=%s\n",
			     options ? options : "", base) >= sizeof(line) ||
	    strchr(base, '\n'))
		return pyprof_bpf__fail("bad file name %s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return pyprof_bpf__fail("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		int e = errno;

		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			return pyprof_bpf__fail(
				"the pyprof-bpf agent is not running (nothing "
				"answers on %s): start it as root with "
				"`pyprof-bpf serve --socket-group GROUP`",
				sock);
		return pyprof_bpf__fail("cannot reach the pyprof-bpf agent at "
					"%s: %s",
					sock, strerror(e));
	}
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		close(fd);
		return pyprof_bpf__fail("cannot open %s: %s", path,
					strerror(errno));
	}
	if (pyprof_bpf__send(fd, line, out)) {
		err = pyprof_bpf__fail("cannot talk to the pyprof-bpf agent: "
				       "%s",
				       strerror(errno));
	} else {
		err = pyprof_bpf__answer(fd);
	}
	close(out); /* the agent holds its own copy */
	if (err) {
		close(fd);
		return err;
	}
	pyprof_bpf__fd = fd;
	return NULL;
}

static inline const char *pyprof_bpf_start(const char *path)
{
	return pyprof_bpf_start_with(path, NULL);
}

static inline const char *pyprof_bpf_stop(void)
{
	const char *err;
	int fd = pyprof_bpf__fd;

	if (fd < 0)
		return pyprof_bpf__fail("profiling is not in progress: call "
					"pyprof_bpf_start() first");
	pyprof_bpf__fd = -1;
	if (pyprof_bpf__send(fd, "stop\n", -1))
		err = pyprof_bpf__fail("cannot talk to the pyprof-bpf agent: "
				       "%s",
				       strerror(errno));
	else
		err = pyprof_bpf__answer(fd);
	close(fd);
	return err;
}

#endif /* PYPROF_BPF_CLIENT_H */
