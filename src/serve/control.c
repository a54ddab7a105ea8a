// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The control socket (control.h).  One listener thread accepts; each
 * connection gets a thread of its own that reads its request lines and,
 * for "start", runs a sampling session until "stop", the caller's
 * hang-up or exit, or the agent's end, then writes the profile into the
 * descriptor the caller passed (or sends it back) and forgets the run.
 *
 * A thread per connection keeps a run's blocking work (loading the
 * sampler, writing a large profile into whatever the caller passed) away
 * from the agent's main loop and from other callers; max_clients bounds
 * them.
 */
#include "serve/control.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd/options.h"
#include "lib/clock.h"
#include "out/output.h"
#include "sampler/proc.h"
#include "sampler/session.h"

/* How long a reply, or the profile sent back as bytes, may wait for the
 * caller to read it. */
#define SEND_TIMEOUT_SECS 30
/* How often a run looks at its caller and at the agent. */
#define RUN_POLL_MS 50
/* A run moves its samples out of the BPF maps this often (the session's
 * maps are sized for a one-second interval). */
#define RUN_DRAIN_SECS 1.0
#define ANCESTRY_MAX 64
/* Requests a connection may make before its run (pings, refused starts). */
#define REQUESTS_MAX 8
/* What a caller other than root may ask for: every CPU's sampler runs at
 * the run's frequency, whoever it profiles. */
#define USER_MAX_FREQ 1000
/* Connections one uid other than root may hold at once, so that one user
 * cannot take every slot. */
#define PER_UID_MAX 4

/* Linux 6.5: a pidfd of the peer, the very process that connected. */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

struct control {
	struct control_opts o;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd; /* listening */
	int wake[2]; /* written to stop the listener */
	dev_t dev; /* the socket file, removed only if still ours */
	ino_t ino;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t idle; /* clients fell to 0 */
	unsigned clients; /* connections being served (lock) */
	uid_t *uids; /* of each, [max_clients] (lock) */
	unsigned runs; /* of them, sampling (lock) */
	uint64_t runs_total; /* since the start (lock) */
	int stopping; /* __atomic */
};

/* One connection. */
struct conn {
	struct control *c;
	int fd;
	struct ucred cred;
	int pidfd; /* the caller's (SO_PEERPIDFD, else pidfd_open), or -1 */
	unsigned slot; /* in c->uids */
	char buf[CONTROL_LINE_MAX];
	size_t len; /* bytes in buf */
	int passed; /* the descriptor passed with the request, or -1 */
	bool take_fd; /* a descriptor passed now is kept */
};

enum run_end { END_STOP, END_HANGUP, END_EXIT, END_AGENT };

static bool stopping(struct control *c)
{
	return __atomic_load_n(&c->stopping, __ATOMIC_ACQUIRE);
}

static int pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* Whether the process of pidfd has exited (never, without a pidfd). */
static bool exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return pidfd >= 0 && poll(&p, 1, 0) > 0;
}

/* ---- Lines in and out ---- */

static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One reply line: "ok ..." or "error ...", one line whatever the text. */
static int reply(struct conn *cn, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int reply(struct conn *cn, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	for (int i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	return send_all(cn->fd, line, (size_t)n);
}

/* Keeps the first descriptor passed while take_fd; closes the others. */
static void take_fds(struct conn *cn, struct msghdr *mh)
{
	for (struct cmsghdr *h = CMSG_FIRSTHDR(mh); h; h = CMSG_NXTHDR(mh, h)) {
		size_t n;
		int fds[8];

		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > 8)
			n = 8;
		memcpy(fds, CMSG_DATA(h), n * sizeof(int));
		for (size_t i = 0; i < n; i++) {
			if (cn->take_fd && cn->passed < 0)
				cn->passed = fds[i];
			else
				close(fds[i]);
		}
	}
}

/* Whatever the socket has now, into buf.  >0 bytes read, 0 none yet,
 * -EPIPE the caller hung up, -errno. */
static int receive(struct conn *cn)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(8 * sizeof(int))];
	} u;
	struct iovec iov = { cn->buf + cn->len, sizeof(cn->buf) - cn->len };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.b,
		.msg_controllen = sizeof(u.b),
	};
	ssize_t n;

	n = recvmsg(cn->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	take_fds(cn, &mh);
	if (n == 0)
		return -EPIPE;
	cn->len += (size_t)n;
	return (int)n;
}

/*
 * The next request line (without its newline, NUL-terminated) into line,
 * waiting up to timeout_ms (< 0: while the agent runs).  1 a line, or
 * -EAGAIN none in time, -EPIPE the caller hung up, -E2BIG a line longer
 * than CONTROL_LINE_MAX, -errno.
 */
static int read_line(struct conn *cn, char *line, int timeout_ms)
{
	double end = clock__now() + timeout_ms / 1000.0;

	for (;;) {
		char *nl = memchr(cn->buf, '\n', cn->len);
		struct pollfd p = { .fd = cn->fd, .events = POLLIN };
		int rc, wait;

		if (nl) {
			size_t n = (size_t)(nl - cn->buf);

			memcpy(line, cn->buf, n);
			line[n] = '\0';
			cn->len -= n + 1;
			memmove(cn->buf, nl + 1, cn->len);
			return 1;
		}
		if (cn->len == sizeof(cn->buf))
			return -E2BIG;
		wait = timeout_ms < 0 ?
			       100 :
			       (int)((end - clock__now()) * 1000 + 0.5);
		if (wait < 0)
			wait = 0;
		rc = poll(&p, 1, wait);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc > 0) {
			rc = receive(cn);
			if (rc < 0)
				return rc;
			continue;
		}
		if (timeout_ms >= 0 && clock__now() >= end)
			return -EAGAIN;
		if (timeout_ms < 0 && stopping(cn->c))
			return -EAGAIN;
	}
}

/* ---- Who may profile what ---- */

bool control__may_profile(uid_t uid, pid_t caller, pid_t target, char *err,
			  size_t errlen)
{
	pid_t p = target;

	if (uid == 0)
		return true;
	if (target == caller && proc__owned_by(target, uid))
		return true;
	for (int depth = 0; depth < ANCESTRY_MAX && p > 1; depth++) {
		if (proc__ppid(p, &p))
			break;
		if (p == caller) {
			if (proc__owned_by(target, uid))
				return true;
			break;
		}
	}
	snprintf(err, errlen,
		 "permission denied: pid %d is not the caller's own process "
		 "or a descendant running as uid %u; only root may profile "
		 "other processes",
		 target, (unsigned)uid);
	return false;
}

/* ---- The request ---- */

static int parse_uint(const char *s, unsigned long lo, unsigned long hi,
		      unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "0") && strcmp(s, "1"))
		return -EINVAL;
	*out = s[0] == '1';
	return 0;
}

int control__parse_start(char *args, pid_t caller, struct control_req *rq,
			 char *err, size_t errlen)
{
	unsigned long v;
	char *save = NULL, *w;

	*rq = (struct control_req){ .pid = caller,
				    .children = true,
				    .freq = DEFAULT_FREQ,
				    .fmt = OUT_FOLDED };
	for (w = strtok_r(args, " ", &save); w;
	     w = strtok_r(NULL, " ", &save)) {
		char *val = strchr(w, '=');
		int rc = 0;

		if (!val) {
			snprintf(err, errlen,
				 "bad word '%.64s': want KEY=VALUE", w);
			return -EINVAL;
		}
		*val++ = '\0';
		if (!strcmp(w, "name")) {
			/* The rest of the line, spaces and all. */
			if (save && *save)
				val[strlen(val)] = ' ';
			if (output__format_for_path(val, &rq->fmt, err, errlen))
				return -EINVAL;
			break;
		} else if (!strcmp(w, "format")) {
			if (output__parse_name(val, &rq->fmt, err, errlen))
				return -EINVAL;
		} else if (!strcmp(w, "pid")) {
			rc = parse_uint(val, 1, INT_MAX, &v);
			rq->pid = (pid_t)v;
		} else if (!strcmp(w, "tid")) {
			rc = parse_uint(val, 1, INT_MAX, &v);
			rq->tid = (pid_t)v;
		} else if (!strcmp(w, "children")) {
			rc = parse_bool(val, &rq->children);
		} else if (!strcmp(w, "frequency")) {
			rc = parse_uint(val, 1, MAX_FREQ, &v);
			rq->freq = (unsigned)v;
		} else if (!strcmp(w, "native")) {
			rc = parse_bool(val, &rq->native);
		} else if (!strcmp(w, "kernel")) {
			rc = parse_bool(val, &rq->kernel);
		} else if (!strcmp(w, "mode")) {
			if (strcmp(val, "cpu") && strcmp(val, "wall"))
				rc = -EINVAL;
			rq->wall = val[0] == 'w';
		} else {
			snprintf(err, errlen, "unknown key '%.64s'", w);
			return -EINVAL;
		}
		if (rc) {
			snprintf(err, errlen, "bad value for %s: '%.64s'", w,
				 val);
			return -EINVAL;
		}
	}
	if (rq->tid)
		rq->children = false;
	return 0;
}

/*
 * The caller's thread whose id in the caller's own pid namespace (a
 * container) is tid, by its id here; tid itself when there is none.
 */
static pid_t host_tid(pid_t pid, pid_t tid)
{
	pid_t *tids = NULL, found = tid, ns;
	int n = proc__tids(pid, &tids);

	for (int i = 0; i < n; i++)
		if (proc__ns_pid(tids[i], &ns) == 0 && ns == tid) {
			found = tids[i];
			break;
		}
	free(tids);
	return found;
}

/* Whether the request names what its caller may profile (a tid as the
 * caller's pid namespace numbers it becomes its id here).  0, or -errno
 * with one line in err. */
static int check_request(struct conn *cn, struct control_req *rq, char *err,
			 size_t errlen)
{
	pid_t tgid;

	if (cn->cred.pid <= 0) {
		snprintf(err, errlen,
			 "the caller's pid is not visible from the agent's pid "
			 "namespace");
		return -EPERM;
	}
	if (proc__tgid(rq->pid, &tgid)) {
		snprintf(err, errlen, "no process %d", rq->pid);
		return -ESRCH;
	}
	if (tgid != rq->pid) {
		snprintf(err, errlen,
			 "%d is a thread of process %d: give pid=%d tid=%d",
			 rq->pid, tgid, tgid, rq->pid);
		return -EINVAL;
	}
	if (!control__may_profile(cn->cred.uid, cn->cred.pid, rq->pid, err,
				  errlen))
		return -EPERM;
	if (cn->cred.uid != 0 && rq->kernel) {
		snprintf(err, errlen,
			 "permission denied: kernel frames are for "
			 "root only");
		return -EPERM;
	}
	if (cn->cred.uid != 0 && rq->freq > USER_MAX_FREQ) {
		snprintf(err, errlen,
			 "permission denied: frequency %u is above %u Hz, "
			 "the most a caller other than root may ask for",
			 rq->freq, USER_MAX_FREQ);
		return -EPERM;
	}
	if (rq->tid && rq->pid == cn->cred.pid &&
	    !proc__has_thread(rq->pid, rq->tid))
		rq->tid = host_tid(rq->pid, rq->tid);
	if (rq->tid && !proc__has_thread(rq->pid, rq->tid)) {
		snprintf(err, errlen, "process %d has no thread %d", rq->pid,
			 rq->tid);
		return -ESRCH;
	}
	if (cn->passed >= 0) {
		int fl = fcntl(cn->passed, F_GETFL);

		if (fl < 0 || ((fl & O_ACCMODE) != O_WRONLY &&
			       (fl & O_ACCMODE) != O_RDWR)) {
			snprintf(err, errlen,
				 "the file descriptor passed is not open for "
				 "writing");
			return -EBADF;
		}
	}
	return 0;
}

/* ---- A run ---- */

static void session_opts(struct control *c, const struct control_req *rq,
			 uid_t uid, struct session_opts *so)
{
	*so = (struct session_opts){
		.freq = rq->freq,
		.max_depth = c->o.max_depth,
		.verbose = c->o.verbose,
		.children = rq->children,
		.wall = rq->wall,
		.native = rq->native,
		.kernel = rq->kernel,
		.thread_ids = c->o.thread_ids,
		.timeline = output__timeline(rq->fmt),
		.sources = rq->fmt == OUT_HEATMAP,
		.only_tid = rq->tid,
		/* A descendant that runs a setuid program is not the
		 * caller's to see. */
		.own_only = uid != 0,
		.own_uid = uid,
	};
}

/* The session, sampling.  NULL with one line in err. */
static struct session *open_run(struct control *c, const struct control_req *rq,
				uid_t uid, char *err, size_t errlen)
{
	struct session_opts so;
	struct session *s;
	int rc;

	session_opts(c, rq, uid, &so);
	s = session__new(&so);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rc = session__attach(s, rq->pid, err, errlen);
	if (rc == -ENOEXEC && rq->children) {
		/* Not Python (yet): its Python descendants are. */
		session__follow_only(s, rq->pid);
		rc = 0;
	}
	if (!rc)
		rc = session__open(s, err, errlen);
	if (rc) {
		session__delete(s);
		return NULL;
	}
	return s;
}

/* Samples until the run ends; why it ended. */
static enum run_end sample(struct conn *cn, struct session *s)
{
	char line[CONTROL_LINE_MAX];
	double next_drain = clock__now() + RUN_DRAIN_SECS;
	/* The caller's exit ends its run, even if a child it forked still
	 * holds the socket. */
	int pidfd = cn->pidfd;
	enum run_end why;

	cn->take_fd = false;
	for (;;) {
		struct pollfd p[2] = { { .fd = cn->fd, .events = POLLIN },
				       { .fd = pidfd, .events = POLLIN } };
		double now;
		int rc;

		session__poll(s, RUN_POLL_MS);
		session__check(s);
		now = clock__now();
		if (now >= next_drain) {
			session__drain(s);
			next_drain = now + RUN_DRAIN_SECS;
		} else if (session__want_drain(s)) {
			session__drain(s);
		}
		if (stopping(cn->c)) {
			why = END_AGENT;
			break;
		}
		if (poll(p, pidfd >= 0 ? 2 : 1, 0) < 0)
			continue;
		if (pidfd >= 0 && p[1].revents) {
			why = END_EXIT;
			break;
		}
		if (!p[0].revents)
			continue;
		rc = read_line(cn, line, 0);
		if (rc == -EAGAIN)
			continue;
		if (rc < 0) {
			if (rc == -E2BIG)
				reply(cn, "error request longer than %d bytes",
				      CONTROL_LINE_MAX - 1);
			why = END_HANGUP;
			break;
		}
		if (!strcmp(line, "stop")) {
			why = END_STOP;
			break;
		}
		if (!strcmp(line, "ping"))
			reply(cn, "ok running");
		else
			reply(cn, "error profiling already in progress: send "
				  "\"stop\" first");
	}
	return why;
}

/* Writes p into the caller's descriptor.  0 or -errno. */
static int write_fd(struct session *s, enum out_format fmt,
		    const struct out_meta *m, int fd)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	FILE *f;
	int rc;

	if (copy < 0)
		return -errno;
	f = fdopen(copy, "w");
	if (!f) {
		rc = -errno;
		close(copy);
		return rc;
	}
	rc = output__write(s->prof, fmt, m, f);
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

/* Sends p back: "data LEN", then LEN bytes.  0 or -errno (told). */
static int send_back(struct conn *cn, struct session *s, enum out_format fmt,
		     const struct out_meta *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	if (!f) {
		reply(cn, "error out of memory");
		return -ENOMEM;
	}
	rc = output__write(s->prof, fmt, m, f);
	if (fclose(f) && !rc)
		rc = -ENOMEM;
	if (rc)
		reply(cn, "error writing the profile failed: %s",
		      output__strerror(fmt, rc));
	else if (!(rc = reply(cn, "data %zu", len)))
		rc = send_all(cn->fd, buf, len);
	free(buf);
	return rc;
}

/* "start": the run, from the caller's request to the profile written.
 * false when it was refused (told), and the connection goes on. */
static bool run(struct conn *cn, char *args)
{
	struct control *c = cn->c;
	char err[PATH_MAX + 512];
	struct session_meta sm;
	struct session *s;
	struct control_req rq;
	enum run_end why;
	double elapsed;
	uint64_t total;
	int rc = 0, target = -1;

	if (control__parse_start(args, cn->cred.pid, &rq, err, sizeof(err))) {
		reply(cn, "error %s", err);
		return false;
	}
	/* Pinned before it is checked: alive after the session attached
	 * it, it is the process checked (a pid is not reused while its
	 * process lives). */
	if (rq.pid != cn->cred.pid)
		target = pidfd_open_(rq.pid);
	if (check_request(cn, &rq, err, sizeof(err))) {
		reply(cn, "error %s", err);
		goto out_refused;
	}
	s = open_run(c, &rq, cn->cred.uid, err, sizeof(err));
	if (!s) {
		reply(cn, "error %s", err);
		goto out_refused;
	}
	if (exited(cn->pidfd) || exited(target)) {
		reply(cn, "error process %d exited", rq.pid);
		session__delete(s);
		goto out_refused;
	}
	if (target >= 0)
		close(target);
	pthread_mutex_lock(&c->lock);
	c->runs++;
	c->runs_total++;
	pthread_mutex_unlock(&c->lock);
	/* Sampling is on: the caller's start() returns now. */
	if (reply(cn, "ok sampling pid %d at %u Hz", rq.pid, rq.freq))
		why = END_HANGUP;
	else
		why = sample(cn, s);
	session__stop(s);
	session__drain(s);
	elapsed = session__elapsed(s);
	session__meta(s, NULL, elapsed, &sm);
	total = profile__total(s->prof);
	if (cn->passed >= 0) {
		rc = write_fd(s, rq.fmt, &sm.m, cn->passed);
		if (why == END_STOP && rc)
			reply(cn, "error writing the profile failed: %s",
			      output__strerror(rq.fmt, rc));
	} else if (why == END_STOP) {
		rc = send_back(cn, s, rq.fmt, &sm.m);
	}
	if (why == END_STOP && !rc)
		reply(cn, "ok %" PRIu64 " samples in %.3f s", total, elapsed);
	else if (why == END_AGENT)
		reply(cn, "error the agent stopped: the profile holds what was "
			  "sampled until then");
	if (c->o.verbose)
		fprintf(stderr,
			"pyprof-bpf serve: control: pid %d (uid %u): %" PRIu64
			" samples in %.1f s, ended by %s\n",
			rq.pid, (unsigned)cn->cred.uid, total, elapsed,
			why == END_STOP	  ? "stop" :
			why == END_HANGUP ? "hang-up" :
			why == END_EXIT	  ? "the caller's exit" :
					    "the agent");
	session__delete(s);
	pthread_mutex_lock(&c->lock);
	c->runs--;
	pthread_mutex_unlock(&c->lock);
	return true;

out_refused:
	if (target >= 0)
		close(target);
	return false;
}

/* ---- Connections ---- */

static void *serve_conn(void *arg)
{
	struct conn *cn = arg;
	struct control *c = cn->c;
	char line[CONTROL_LINE_MAX];
	unsigned requests = 0;
	int rc;

	/* Lines until a run (the connection ends with it) or a hang-up;
	 * each within CONTROL_HELLO_SECS, at most REQUESTS_MAX. */
	while (!stopping(c)) {
		if (requests++ == REQUESTS_MAX) {
			reply(cn, "error too many requests: connect again");
			break;
		}
		rc = read_line(cn, line, CONTROL_HELLO_SECS * 1000);
		if (rc == -E2BIG)
			reply(cn, "error request longer than %d bytes",
			      CONTROL_LINE_MAX - 1);
		if (rc < 0)
			break;
		if (!strcmp(line, "ping")) {
			reply(cn, "ok pyprof-bpf %s", c->o.version);
		} else if (!strncmp(line, "start", 5) &&
			   (line[5] == ' ' || !line[5])) {
			if (run(cn, line + 5))
				break;
		} else if (!strcmp(line, "stop")) {
			reply(cn, "error profiling is not in progress: nothing "
				  "to stop");
		} else {
			reply(cn,
			      "error unknown request '%.64s': want ping, "
			      "start or stop",
			      line);
		}
		if (cn->passed >= 0) {
			close(cn->passed);
			cn->passed = -1;
		}
	}
	if (cn->passed >= 0)
		close(cn->passed);
	if (cn->pidfd >= 0)
		close(cn->pidfd);
	close(cn->fd);
	pthread_mutex_lock(&c->lock);
	c->uids[cn->slot] = (uid_t)-1;
	if (--c->clients == 0)
		pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
	free(cn);
	return NULL;
}

static void refuse(int fd, const char *line)
{
	(void)!send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

/* A slot in c->uids for uid (lock held), or -1 when there is none for it:
 * every slot is taken, or uid (not root) holds PER_UID_MAX already. */
static int take_slot(struct control *c, uid_t uid)
{
	unsigned mine = 0;
	int free_slot = -1;

	for (unsigned i = 0; i < c->o.max_clients; i++) {
		if (c->uids[i] == (uid_t)-1) {
			if (free_slot < 0)
				free_slot = (int)i;
		} else if (c->uids[i] == uid) {
			mine++;
		}
	}
	if (uid != 0 && mine >= PER_UID_MAX)
		return -1;
	if (free_slot >= 0) {
		c->uids[free_slot] = uid;
		c->clients++;
	}
	return free_slot;
}

static void admit(struct control *c, int fd)
{
	struct timeval tv = { .tv_sec = SEND_TIMEOUT_SECS };
	socklen_t len = sizeof(struct ucred);
	struct ucred cred;
	pthread_attr_t attr;
	pthread_t t;
	struct conn *cn;
	int slot;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&c->lock);
	slot = take_slot(c, cred.uid);
	pthread_mutex_unlock(&c->lock);
	if (slot < 0) {
		refuse(fd, "error too many control clients at once: try again "
			   "later\n");
		return;
	}
	cn = calloc(1, sizeof(*cn));
	if (!cn)
		goto out_refuse;
	cn->c = c;
	cn->fd = fd;
	cn->cred = cred;
	cn->slot = (unsigned)slot;
	cn->passed = -1;
	cn->take_fd = true;
	len = sizeof(cn->pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &cn->pidfd, &len))
		cn->pidfd = pidfd_open_(cred.pid);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, serve_conn, cn)) {
		pthread_attr_destroy(&attr);
		goto out_free;
	}
	pthread_attr_destroy(&attr);
	return;

out_free:
	if (cn->pidfd >= 0)
		close(cn->pidfd);
	free(cn);
out_refuse:
	refuse(fd, "error the agent is out of resources: try again later\n");
	pthread_mutex_lock(&c->lock);
	c->uids[slot] = (uid_t)-1;
	if (--c->clients == 0)
		pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
}

static void *listener(void *arg)
{
	struct control *c = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = c->fd, .events = POLLIN },
				       { .fd = c->wake[0], .events = POLLIN } };
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents || stopping(c))
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			/* Out of descriptors: the backlog waits a little. */
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOMEM || errno == ENOBUFS)
				usleep(100 * 1000);
			continue;
		}
		admit(c, fd);
	}
	return NULL;
}

/* ---- The socket ---- */

/* Whether an agent answers on the socket at addr. */
static bool answered(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool yes;

	if (fd < 0)
		return false;
	yes = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0 ||
	      errno != ECONNREFUSED;
	close(fd);
	return yes;
}

static int bind_socket(struct control *c, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;

	memcpy(addr.sun_path, c->path, sizeof(addr.sun_path));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		goto out_fail;
	if (bind(c->fd, (struct sockaddr *)&addr, sizeof(addr))) {
		if (errno != EADDRINUSE)
			goto out_fail;
		if (lstat(c->path, &st) || !S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen,
				 "cannot make the control socket %s: a file "
				 "that is not a socket is there; remove it or "
				 "give --socket PATH",
				 c->path);
			return -EEXIST;
		}
		if (answered(&addr)) {
			snprintf(err, errlen,
				 "another agent answers on the control socket "
				 "%s: stop it, or give --socket PATH",
				 c->path);
			return -EADDRINUSE;
		}
		/* Stale: left by an agent that did not stop cleanly. */
		unlink(c->path);
		if (bind(c->fd, (struct sockaddr *)&addr, sizeof(addr)))
			goto out_fail;
	}
	/* Nobody can connect before listen(): owner and mode first. */
	if ((c->o.group && chown(c->path, (uid_t)-1, c->o.gid)) ||
	    chmod(c->path, c->o.group ? 0660 : 0600) || stat(c->path, &st) ||
	    listen(c->fd, 16)) {
		int e = errno;

		unlink(c->path);
		errno = e;
		goto out_fail;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	return 0;

out_fail:
	snprintf(err, errlen, "cannot make the control socket %s: %s", c->path,
		 strerror(errno));
	return -errno;
}

struct control *control__start(const struct control_opts *o, char *err,
			       size_t errlen)
{
	struct control *c;
	int rc;

	if (strlen(o->path) >= sizeof(c->path)) {
		snprintf(err, errlen,
			 "the control socket's path %.64s... is longer than "
			 "%zu bytes: give a shorter --socket PATH",
			 o->path, sizeof(c->path) - 1);
		errno = ENAMETOOLONG;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->o = *o;
	if (!c->o.max_clients)
		c->o.max_clients = CONTROL_MAX_CLIENTS;
	c->fd = -1;
	c->uids = malloc(c->o.max_clients * sizeof(*c->uids));
	if (!c->uids) {
		free(c);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	for (unsigned i = 0; i < c->o.max_clients; i++)
		c->uids[i] = (uid_t)-1;
	snprintf(c->path, sizeof(c->path), "%s", o->path);
	c->wake[0] = c->wake[1] = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->idle, NULL);
	rc = bind_socket(c, err, errlen);
	if (rc)
		goto out_free;
	if (pipe2(c->wake, O_CLOEXEC)) {
		rc = -errno;
		snprintf(err, errlen, "cannot make a pipe: %s",
			 strerror(errno));
		goto out_unlink;
	}
	rc = -pthread_create(&c->thread, NULL, listener, c);
	if (rc) {
		snprintf(err, errlen, "cannot start the control thread: %s",
			 strerror(-rc));
		goto out_close_pipe;
	}
	c->started = true;
	return c;

out_close_pipe:
	close(c->wake[0]);
	close(c->wake[1]);
out_unlink:
	unlink(c->path);
out_free:
	if (c->fd >= 0)
		close(c->fd);
	pthread_cond_destroy(&c->idle);
	pthread_mutex_destroy(&c->lock);
	free(c->uids);
	free(c);
	errno = -rc;
	return NULL;
}

void control__stop(struct control *c)
{
	struct timespec until;
	struct stat st;
	bool idle;

	if (!c)
		return;
	__atomic_store_n(&c->stopping, 1, __ATOMIC_RELEASE);
	(void)!write(c->wake[1], "x", 1);
	pthread_join(c->thread, NULL);
	close(c->fd);
	if (stat(c->path, &st) == 0 && st.st_dev == c->dev &&
	    st.st_ino == c->ino)
		unlink(c->path);
	/* The runs write what they had and end. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += CONTROL_STOP_SECS;
	pthread_mutex_lock(&c->lock);
	while (c->clients &&
	       pthread_cond_timedwait(&c->idle, &c->lock, &until) == 0)
		;
	idle = c->clients == 0;
	pthread_mutex_unlock(&c->lock);
	close(c->wake[0]);
	close(c->wake[1]);
	if (!idle) {
		/* A run stuck writing into what its caller passed: it still
		 * holds c, which is left to the process's exit. */
		fprintf(stderr,
			"pyprof-bpf serve: %u control clients did not "
			"end in time\n",
			c->clients);
		return;
	}
	pthread_cond_destroy(&c->idle);
	pthread_mutex_destroy(&c->lock);
	free(c->uids);
	free(c);
}

void control__runs(struct control *c, uint64_t *now, uint64_t *total)
{
	*now = *total = 0;
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	*now = c->runs;
	*total = c->runs_total;
	pthread_mutex_unlock(&c->lock);
}
