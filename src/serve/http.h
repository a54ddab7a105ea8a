/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The agent's HTTP listener: libmicrohttpd in a thread of its own, behind
 * which every request is checked (route.h) and answered by the caller's
 * handlers (src/serve/api.c).  This file owns what keeps a client from
 * holding the agent: the token, the Host check, limits on connections (in
 * number, per address, in idle time), deadlines for a request's headers and
 * for sending an answer, a bound on the bytes queued for clients, and the
 * live streams, which sleep (suspended) until http__wake says an interval
 * came.
 *
 * Threads: the handlers run in the listener's thread; http__wake,
 * http__tick, http__stats and http__stop are for the agent's main thread.
 */
#ifndef PYPROF_HTTP_H
#define PYPROF_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "serve/answer.h"
#include "serve/metrics.h"
#include "serve/route.h"

/* What a handler answers. */
struct reply {
	unsigned status;
	const char *type; /* Content-Type */
	struct answer *ans; /* the bytes (answer.h): the listener frees it */
	char *body; /* or a malloc'd short text: the listener frees it */
	const unsigned char *static_body; /* or bytes that live forever */
	size_t len; /* of body or static_body */
	bool page; /* the web page: its Content-Security-Policy */
	bool sandbox; /* a document that runs its own inline scripts (svg,
			 html): in a sandbox, an origin of its own */
	const char *filename; /* Content-Disposition: attachment, or NULL */
	uint64_t seq; /* X-Pyprof-Seq: the last interval in it (0: none) */
};

struct http_handlers {
	/* Answers rq (any route but ROUTE_STREAM).  0, or -errno (500). */
	int (*respond)(void *arg, const struct request *rq, struct reply *rp);
	/*
	 * The next block of the stream rq, from its position *seq (0 at the
	 * start), which it moves on: 0 and the block in *out, or -EAGAIN
	 * when no new interval has come, or -errno (the stream ends).
	 */
	int (*stream_next)(void *arg, const struct request *rq, uint64_t *seq,
			   struct answer **out);
	void *arg;
	struct route_limits limits;
};

struct http_opts {
	struct sockaddr_storage addr; /* where to listen */
	socklen_t addrlen;
	const char *token; /* NULL: none, and only loopback Host names */
	unsigned max_connections; /* at once */
	unsigned per_ip; /* at once from one address */
	unsigned idle_timeout; /* seconds without a byte either way */
	double header_deadline; /* seconds to send a request's headers */
	double reply_deadline; /* seconds to take an answer (not streams) */
	unsigned max_streams; /* /stream readers at once */
	size_t max_queued; /* answer bytes waiting for clients */
	bool verbose; /* libmicrohttpd's messages on stderr */
};

#define HTTP_DEFAULTS                                                   \
	.max_connections = 64, .per_ip = 32, .idle_timeout = 30,        \
	.header_deadline = 10, .reply_deadline = 60, .max_streams = 16, \
	.max_queued = 64u << 20

struct http;

/*
 * Binds o->addr and starts answering.  NULL with one line in err (the
 * address taken, not ours to bind, ...) and errno set.
 */
struct http *http__start(const struct http_opts *o,
			 const struct http_handlers *h, char *err,
			 size_t errlen);
/* The port it listens on (the one the kernel chose for port 0). */
unsigned http__port(const struct http *h);
/* "http://ADDRESS:PORT/" as it listens, into buf. */
void http__url(const struct http *h, char *buf, size_t len);
/* An interval came: the waiting streams go on. */
void http__wake(struct http *h);
/* Closes connections past their deadlines; call every tick. */
void http__tick(struct http *h);
void http__stats(struct http *h, struct http_stats *st);
/* Ends every stream and connection and stops; NULL is fine. */
void http__stop(struct http *h);

/* Whether a (numeric) address is a loopback one: 127.0.0.0/8, ::1,
 * ::ffff:127.0.0.0/104. */
bool http__loopback(const struct sockaddr *sa);

/*
 * Parses --listen: "PORT", "HOST:PORT", "[V6]:PORT", with HOST an IPv4 or
 * IPv6 address, "localhost", or "*" / "0.0.0.0" / "[::]" for every
 * address.  0, or -EINVAL with one line in err.
 */
int http__parse_listen(const char *s, struct sockaddr_storage *addr,
		       socklen_t *len, char *err, size_t errlen);

#endif /* PYPROF_HTTP_H */
