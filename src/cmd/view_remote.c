// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * `pyprof-bpf view http://HOST:PORT`: the live view of a local run, fed
 * from an agent's /stream (src/serve/stream.h) over the network, without
 * root.  The first block is every stack since the agent started, each
 * next one an interval's: added up into one profile, they are what the
 * view shows, as a local run's drains are.  When the connection drops the
 * view says so and connects again every few seconds, starting over from
 * the agent's totals.
 */
#include "cmd/view_remote.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/options.h"
#include "lib/clock.h"
#include "lib/msg.h"
#include "out/in_folded.h"
#include "serve/client.h"
#include "serve/stream.h"

#define fail(...) msg__fail("pyprof-bpf view", __VA_ARGS__)
#define CONNECT_MS 5000
#define RETRY_SECS 2.0

static volatile sig_atomic_t remote_stop;

static void on_signal(int sig)
{
	remote_stop = sig;
}

struct remote {
	const struct view_remote_opts *o;
	struct client_url u;
	char token[4096];
	char target[128];
	char name[300]; /* HOST:PORT */
	int fd;
	char *buf; /* received, not yet used */
	size_t len, cap;
	struct stream_head h;
	bool have_head;
	struct profile *cum; /* everything since the agent's start */
	uint64_t taken, lost; /* ... and its counters */
	uint64_t interval_samples;
	unsigned rate;
	uint32_t procs;
	bool have_total; /* this connection's first block came */
	struct top *view;
	char status[1024];
};

/* The stream's target: /stream and the filters, escaped. */
static void make_target(struct remote *r)
{
	const struct view_remote_opts *o = r->o;
	size_t n = snprintf(r->target, sizeof(r->target), "/stream");
	char sep = '?';

	if (o->pid) {
		n += snprintf(r->target + n, sizeof(r->target) - n, "%cpid=%d",
			      sep, o->pid);
		sep = '&';
	}
	if (o->comm) {
		n += snprintf(r->target + n, sizeof(r->target) - n,
			      "%ccomm=", sep);
		for (const char *c = o->comm; *c && n + 4 < sizeof(r->target);
		     c++) {
			unsigned char ch = (unsigned char)*c;

			if ((ch >= 'a' && ch <= 'z') ||
			    (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9') || strchr("-_.~", ch))
				r->target[n++] = (char)ch;
			else
				n += snprintf(r->target + n,
					      sizeof(r->target) - n, "%%%02X",
					      ch);
		}
		r->target[n] = '\0';
	}
}

/*
 * Connects and reads the answer's head.  0; or -errno with the reason in
 * r->status; -EACCES when the agent refused (bad token, a bad filter): no
 * point in trying again.
 */
static int remote_connect(struct remote *r)
{
	char err[512], *body = NULL;
	size_t blen = 0;
	int fd, status, rc;

	fd = client__get(&r->u, r->target, r->o->token_file ? r->token : NULL,
			 CONNECT_MS, err, sizeof(err));
	if (fd < 0) {
		snprintf(r->status, sizeof(r->status), "%s", err);
		return fd;
	}
	rc = client__read_head(fd, CONNECT_MS, &status, &body, &blen, err,
			       sizeof(err));
	if (rc) {
		close(fd);
		snprintf(r->status, sizeof(r->status), "%s", err);
		return rc;
	}
	if (status != 200) {
		/* The agent's one line says why. */
		size_t n = strcspn(body, "\n");

		snprintf(r->status, sizeof(r->status), "%s answered %d: %.*s",
			 r->name, status, (int)(n < 200 && n <= blen ? n : 0),
			 body);
		free(body);
		close(fd);
		return -EACCES;
	}
	free(r->buf);
	r->buf = body;
	r->len = blen;
	r->cap = CLIENT_HEAD_MAX + 1;
	r->fd = fd;
	r->have_head = false;
	r->have_total = false;
	return 0;
}

static void disconnect(struct remote *r, const char *why)
{
	char reason[256];

	/* why may be r->status itself. */
	snprintf(reason, sizeof(reason), "%.200s", why);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	snprintf(r->status, sizeof(r->status),
		 "the connection to %.300s was lost (%s); connecting again",
		 r->name, reason);
}

static void header(struct remote *r, struct top_header *h, char *target,
		   size_t len)
{
	snprintf(target, len, "%s: %u processes", r->name, r->procs);
	memset(h, 0, sizeof(*h));
	h->target = target;
	h->rate_hz = r->rate;
	h->samples = r->interval_samples;
	h->samples_total = r->taken;
	h->lost = r->lost;
	h->status = r->fd < 0 ? r->status : NULL;
}

/*
 * Uses the blocks complete in r->buf.  1 when a block was added to r->cum,
 * 0 when more bytes are needed, -errno (r->status says why).
 */
static int take_block(struct remote *r)
{
	char err[512];
	char *nl;
	int rc;

	if (!r->have_head) {
		nl = memchr(r->buf, '\n', r->len);
		if (!nl) {
			if (r->len >= STREAM_HEAD_MAX) {
				snprintf(r->status, sizeof(r->status),
					 "the agent sent no stream header");
				return -EINVAL;
			}
			return 0;
		}
		*nl = '\0';
		rc = stream__parse_head(r->buf, &r->h, err, sizeof(err));
		if (rc) {
			snprintf(r->status, sizeof(r->status), "%s", err);
			return rc;
		}
		r->len -= (size_t)(nl + 1 - r->buf);
		memmove(r->buf, nl + 1, r->len);
		r->have_head = true;
	}
	if (r->len < r->h.bytes)
		return 0;
	if (r->h.total || !r->have_total) {
		/* The first block of a connection: the agent's totals. */
		profile__free(r->cum);
		r->cum = profile__new();
		if (!r->cum)
			return -ENOMEM;
		r->taken = r->lost = 0;
		r->have_total = true;
	}
	if (r->h.bytes) {
		FILE *f = fmemopen(r->buf, r->h.bytes, "r");

		if (!f)
			return -errno;
		rc = in_folded__read(r->cum, NULL, f, "stream", err,
				     sizeof(err));
		fclose(f);
		if (rc) {
			snprintf(r->status, sizeof(r->status),
				 "the agent sent stacks this view cannot "
				 "read: %s",
				 err);
			return rc;
		}
	}
	r->taken += r->h.taken;
	r->lost += r->h.lost;
	r->interval_samples = r->h.total ? 0 : r->h.samples;
	r->rate = r->h.rate;
	r->procs = r->h.procs;
	r->len -= r->h.bytes;
	memmove(r->buf, r->buf + r->h.bytes, r->len);
	r->have_head = false;
	return 1;
}

/* Reads what the socket has.  0, or -errno / -ECONNRESET at its end. */
static int pump(struct remote *r)
{
	size_t want = r->have_head ? r->h.bytes + 1 : STREAM_HEAD_MAX;
	ssize_t n;

	if (r->cap < want + 65536) {
		char *b = realloc(r->buf, want + 65536);

		if (!b)
			return -ENOMEM;
		r->buf = b;
		r->cap = want + 65536;
	}
	n = read(r->fd, r->buf + r->len, r->cap - r->len);
	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return n < 0 ? -errno : -ECONNRESET;
	r->len += (size_t)n;
	return 0;
}

/*
 * Prints the table of everything since the agent started (stdout is not a
 * terminal): the first block, or, while that holds no sample yet (an agent
 * just started), the first one that does, or the tenth.  An exit code.
 */
static int snapshot(struct remote *r)
{
	char target[512];
	struct top_header h;
	int rc, blocks = 0;

	for (;;) {
		rc = take_block(r);
		if (rc > 0 && (profile__total(r->cum) || ++blocks >= 10))
			break;
		if (rc > 0)
			continue;
		if (rc == 0) {
			struct pollfd pfd = { .fd = r->fd, .events = POLLIN };

			if (poll(&pfd, 1, 30000) != 1) {
				fail("no stream from %s", r->name);
				return EXIT_FAILURE_;
			}
			rc = pump(r);
		}
		if (rc < 0) {
			fail("%s", r->status[0] ? r->status : strerror(-rc));
			return EXIT_FAILURE_;
		}
	}
	header(r, &h, target, sizeof(target));
	h.status = NULL;
	rc = top__snapshot(stdout, r->cum, &h, (int)r->o->rows, &r->o->top);
	if (rc && rc != -EPIPE) {
		fail("writing stdout failed: %s", strerror(-rc));
		return EXIT_FAILURE_;
	}
	return EXIT_OK;
}

static int open_view(struct remote *r)
{
	struct top_opts o = r->o->top;

	o.live = true;
	r->view = top__open(&o);
	if (!r->view) {
		fail("cannot open the terminal view: %s: redirect stdout for "
		     "a plain-text table",
		     strerror(errno));
		return EXIT_FAILURE_;
	}
	return EXIT_OK;
}

/* The live view until q or a signal.  An exit code. */
static int live(struct remote *r)
{
	double retry_at = 0;
	char target[512];
	struct top_header h;
	int rc;

	if (open_view(r))
		return EXIT_FAILURE_;
	while (!remote_stop) {
		struct pollfd pfd[2] = {
			{ .fd = top__fd(r->view), .events = POLLIN },
			{ .fd = r->fd, .events = POLLIN },
		};

		if (r->fd < 0 && clock__now() >= retry_at) {
			rc = remote_connect(r);
			retry_at = clock__now() + RETRY_SECS;
			if (rc == 0) {
				/* Counting starts over from the totals. */
				top__close(r->view);
				if (open_view(r))
					return EXIT_FAILURE_;
			} else {
				header(r, &h, target, sizeof(target));
				top__update(r->view, r->cum, &h);
			}
		}
		poll(pfd, r->fd >= 0 ? 2 : 1, 500);
		if (top__wait(r->view, 0) == TOP_QUIT)
			break;
		if (r->fd < 0 ||
		    !(pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		rc = pump(r);
		while (rc == 0 && (rc = take_block(r)) > 0) {
			header(r, &h, target, sizeof(target));
			top__update(r->view, r->cum, &h);
			rc = 0;
		}
		if (rc < 0) {
			disconnect(r, rc == -ECONNRESET ?
					      "the agent closed it" :
				      r->status[0] ? r->status :
						     strerror(-rc));
			header(r, &h, target, sizeof(target));
			top__update(r->view, r->cum, &h);
			retry_at = clock__now() + RETRY_SECS;
		}
	}
	top__close(r->view);
	r->view = NULL;
	return EXIT_OK;
}

int view__remote(const struct view_remote_opts *o)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct remote *r;
	char err[PATH_MAX + 256];
	bool loose;
	int code;

	r = calloc(1, sizeof(*r));
	if (!r) {
		fail("out of memory");
		return EXIT_FAILURE_;
	}
	r->o = o;
	r->fd = -1;
	if (client__parse_url(o->url, &r->u, err, sizeof(err))) {
		fail("%s", err);
		free(r);
		return EXIT_USAGE;
	}
	if (o->token_file &&
	    client__read_token(o->token_file, r->token, sizeof(r->token),
			       &loose, err, sizeof(err))) {
		fail("%s", err);
		free(r);
		return EXIT_USAGE;
	}
	snprintf(r->name, sizeof(r->name), "%s%s%s:%s",
		 strchr(r->u.host, ':') ? "[" : "", r->u.host,
		 strchr(r->u.host, ':') ? "]" : "", r->u.port);
	make_target(r);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (remote_connect(r)) {
		fail("%s", r->status);
		code = EXIT_FAILURE_;
	} else if (!isatty(STDOUT_FILENO)) {
		code = snapshot(r);
	} else {
		code = live(r);
	}
	if (r->fd >= 0)
		close(r->fd);
	profile__free(r->cum);
	free(r->buf);
	free(r);
	return code;
}
