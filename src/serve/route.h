/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What an HTTP request to the agent asks for: the method, the path and the
 * query parameters, checked one by one, into a struct request; and whether
 * its Authorization header carries the token.  Pure functions over
 * untrusted bytes, with no I/O: src/serve/http.c calls them, the unit tests
 * and tests/fuzz/fuzz_serve.c drive them directly.
 *
 * The endpoints (README.md, "The agent"):
 *
 *	/                       the live page (and /app.js, /style.css)
 *	/debug/pprof/profile    gzipped profile.proto: seconds, pid, comm
 *	/profile                any format: seconds, pid, comm, format
 *	/stream                 the live stream (src/serve/stream.h): pid, comm
 *	/info                   the agent in a small JSON object
 *	/metrics                Prometheus text
 *	/healthz                "ok"
 */
#ifndef PYPROF_ROUTE_H
#define PYPROF_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "out/output.h"

enum route_id {
	ROUTE_ASSET = 1, /* the page: request.asset names the file */
	ROUTE_PPROF,
	ROUTE_PROFILE,
	ROUTE_STREAM,
	ROUTE_INFO,
	ROUTE_METRICS,
	ROUTE_HEALTH,
};

/* The limits a request is checked against: the agent's configuration. */
struct route_limits {
	unsigned window_secs; /* the largest seconds= (the window's length) */
	unsigned default_secs; /* seconds= when not given */
};

#define ROUTE_ARGS_MAX 16 /* query parameters in one request */
#define ROUTE_COMM_MAX 16 /* a command name and its NUL (TASK_COMM_LEN) */

/* One query parameter as the HTTP library decoded it; value NULL for a
 * parameter given without '=' ("?seconds"). */
struct route_arg {
	const char *key;
	const char *value;
};

struct request {
	enum route_id route;
	bool head; /* HEAD: the headers only */
	unsigned asset; /* ROUTE_ASSET: web__asset()'s index */
	bool all; /* seconds=all: since the start */
	unsigned seconds; /* else the last seconds */
	pid_t pid; /* pid=, 0 if none */
	char comm[ROUTE_COMM_MAX]; /* comm=, "" if none */
	enum out_format format; /* /profile's format= (folded by default) */
	bool gzip; /* the client takes gzip (set by the listener, not
		      route__parse) */
};

/*
 * Checks method, path and args into *rq.  Returns an HTTP status: 200, or
 * 400 (a bad, unknown or repeated parameter), 404 (no such path), 405 (a
 * method other than GET and HEAD), with one line in err saying what to
 * send instead.  path is the URL's path, decoded; args at most
 * ROUTE_ARGS_MAX (the caller answers 400 past that).
 */
int route__parse(const struct route_limits *lim, const char *method,
		 const char *path, const struct route_arg *args, size_t nargs,
		 struct request *rq, char *err, size_t errlen);

/*
 * Whether the value of an Authorization header carries token: "Bearer
 * TOKEN", or "Basic" with base64 of "USER:TOKEN" (any user: what a browser
 * sends after asking for a password).  The comparison takes the same time
 * wherever the token differs.  header NULL: false.
 */
bool route__authorized(const char *header, const char *token);

/*
 * Whether a Host header names the loopback interface: "localhost",
 * 127.0.0.0/8 or "[::1]", each with or without ":PORT"; NULL (an HTTP/1.0
 * client sends none) is fine.  An agent guarded by no token answers only
 * these, so that a web page whose name was re-pointed at 127.0.0.1 (DNS
 * rebinding) cannot read it from a browser on the same machine.
 */
bool route__host_ok(const char *host);

/* Whether a token from a file is acceptable: 16 to 256 bytes, printable
 * ASCII without spaces.  err says why not. */
bool route__token_ok(const char *token, char *err, size_t errlen);

/* v for a message: printable ASCII ('?' for the rest), at most 80
 * characters then "...", into buf[len] (at least 8).  Returns buf. */
const char *route__shown(const char *v, char *buf, size_t len);

/* The path an endpoint is served at, for messages ("/metrics"). */
const char *route__path(enum route_id r);

#endif /* PYPROF_ROUTE_H */
