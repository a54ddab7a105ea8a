// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Requests to the agent (route.h): a table of paths and the parameters
 * each takes; every value is checked whole (digits only, in range, known
 * names) and anything else is a 400 that says what to send.
 */
#include "serve/route.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "serve/web.h"

/* The parameters an endpoint takes, as bits. */
enum {
	P_SECONDS = 1 << 0,
	P_PID = 1 << 1,
	P_COMM = 1 << 2,
	P_FORMAT = 1 << 3,
};

static const struct {
	const char *path;
	enum route_id id;
	unsigned params;
} routes[] = {
	{ "/debug/pprof/profile", ROUTE_PPROF, P_SECONDS | P_PID | P_COMM },
	{ "/profile", ROUTE_PROFILE, P_SECONDS | P_PID | P_COMM | P_FORMAT },
	{ "/stream", ROUTE_STREAM, P_PID | P_COMM },
	{ "/info", ROUTE_INFO, 0 },
	{ "/metrics", ROUTE_METRICS, 0 },
	{ "/healthz", ROUTE_HEALTH, 0 },
};

static const char *const param_names[] = { "seconds", "pid", "comm", "format" };

const char *route__path(enum route_id r)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (routes[i].id == r)
			return routes[i].path;
	return "?";
}

const char *route__shown(const char *v, char *buf, size_t len)
{
	size_t i = 0;

	for (; v[i] && i + 4 < len && i < 80; i++)
		buf[i] = v[i] >= 0x20 && v[i] < 0x7f ? v[i] : '?';
	if (v[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

#define shown route__shown

/* s as a whole number from 1 to max: decimal digits only. */
static bool whole(const char *s, unsigned long long max,
		  unsigned long long *out)
{
	unsigned long long v = 0;

	if (!s[0] || strlen(s) > 10 || strspn(s, "0123456789") != strlen(s))
		return false;
	for (; *s; s++)
		v = v * 10 + (unsigned)(*s - '0');
	if (v < 1 || v > max)
		return false;
	*out = v;
	return true;
}

static int bad(char *err, size_t errlen, const char *fmt, const char *a,
	       const char *b)
{
	snprintf(err, errlen, fmt, a, b);
	return 400;
}

static int parse_seconds(const struct route_limits *lim, const char *v,
			 struct request *rq, char *err, size_t errlen)
{
	char buf[96], range[64];
	unsigned long long n;

	if (strcmp(v, "all") == 0) {
		rq->all = true;
		return 200;
	}
	if (whole(v, lim->window_secs, &n)) {
		rq->seconds = (unsigned)n;
		return 200;
	}
	snprintf(range, sizeof(range), "%u", lim->window_secs);
	return bad(err, errlen,
		   "seconds=%s: give a whole number of seconds from 1 to %s "
		   "(the agent's --window), or seconds=all",
		   shown(v, buf, sizeof(buf)), range);
}

static int parse_comm(const char *v, struct request *rq, char *err,
		      size_t errlen)
{
	char buf[96];
	size_t n = strlen(v);
	bool printable = true;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f)
			printable = false;
	if (!printable || n == 0 || n >= ROUTE_COMM_MAX)
		return bad(err, errlen,
			   "comm=%s: give a command name as /proc/PID/comm "
			   "has it (1 to 15 printable characters%s)",
			   shown(v, buf, sizeof(buf)), ", e.g. comm=python3");
	memcpy(rq->comm, v, n + 1);
	return 200;
}

static int parse_format(const char *v, struct request *rq, char *err,
			size_t errlen)
{
	char buf[96];

	for (int f = 0; f < OUT__MAX; f++) {
		if (f == OUT_TRACE || strcmp(v, output__name(f)) != 0)
			continue;
		rq->format = (enum out_format)f;
		return 200;
	}
	return bad(err, errlen,
		   "format=%s: give one of folded, svg, speedscope, pprof, "
		   "callgrind, html%s",
		   shown(v, buf, sizeof(buf)),
		   strcmp(v, "trace") == 0 ? " (the agent keeps no timeline "
					     "for a trace)" :
					     "");
}

/* The value each parameter was first given (NULL: not yet). */
struct seen {
	const char *value[sizeof(param_names) / sizeof(param_names[0])];
};

static int parse_arg(const struct route_limits *lim, unsigned params,
		     const char *path, const struct route_arg *a,
		     struct seen *seen, struct request *rq, char *err,
		     size_t errlen)
{
	char kbuf[96], vbuf[96];
	unsigned long long n;
	size_t p;

	for (p = 0; p < sizeof(param_names) / sizeof(param_names[0]); p++)
		if (strcmp(a->key, param_names[p]) == 0)
			break;
	if (p == sizeof(param_names) / sizeof(param_names[0]) ||
	    !(params & (1u << p))) {
		snprintf(err, errlen, "%s takes no parameter '%s'%s", path,
			 shown(a->key, kbuf, sizeof(kbuf)),
			 params ? " (see README.md, \"The agent\")" : "");
		return 400;
	}
	if (seen->value[p]) {
		/* Parca adds seconds= once per delta profile type of a job:
		 * a repeat of the same value is harmless. */
		if (a->value && strcmp(seen->value[p], a->value) == 0)
			return 200;
		return bad(err, errlen,
			   "%s= is given twice, with different values%s: give "
			   "it once",
			   param_names[p], "");
	}
	seen->value[p] = a->value ? a->value : "";
	if (!a->value || !a->value[0])
		return bad(err, errlen, "%s= needs a value%s", param_names[p],
			   "");
	switch (1u << p) {
	case P_SECONDS:
		return parse_seconds(lim, a->value, rq, err, errlen);
	case P_PID:
		if (whole(a->value, INT_MAX, &n)) {
			rq->pid = (pid_t)n;
			return 200;
		}
		return bad(err, errlen,
			   "pid=%s: give a process id, a whole number from 1 "
			   "to %s",
			   shown(a->value, vbuf, sizeof(vbuf)), "2147483647");
	case P_COMM:
		return parse_comm(a->value, rq, err, errlen);
	default:
		return parse_format(a->value, rq, err, errlen);
	}
}

int route__parse(const struct route_limits *lim, const char *method,
		 const char *path, const struct route_arg *args, size_t nargs,
		 struct request *rq, char *err, size_t errlen)
{
	struct seen seen = { .value = { NULL } };
	unsigned params = 0;
	char buf[96];
	int asset, rc;

	memset(rq, 0, sizeof(*rq));
	err[0] = '\0';
	rq->seconds = lim->default_secs < lim->window_secs ? lim->default_secs :
							     lim->window_secs;
	rq->format = OUT_FOLDED;
	if (strcmp(method, "HEAD") == 0)
		rq->head = true;
	else if (strcmp(method, "GET") != 0) {
		snprintf(err, errlen,
			 "method %s is not allowed: the agent only answers "
			 "GET and HEAD",
			 shown(method, buf, sizeof(buf)));
		return 405;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(path, routes[i].path) == 0) {
			rq->route = routes[i].id;
			params = routes[i].params;
		}
	}
	asset = rq->route ? -1 : web__find(path);
	if (asset >= 0) {
		rq->route = ROUTE_ASSET;
		rq->asset = (unsigned)asset;
	}
	if (!rq->route) {
		snprintf(err, errlen,
			 "no such page: %s (the agent serves /, "
			 "/debug/pprof/profile, /profile, /stream, /info, "
			 "/metrics)",
			 shown(path, buf, sizeof(buf)));
		return 404;
	}
	if (nargs > ROUTE_ARGS_MAX) {
		snprintf(err, errlen, "too many parameters: at most %d",
			 ROUTE_ARGS_MAX);
		return 400;
	}
	for (size_t i = 0; i < nargs; i++) {
		rc = parse_arg(lim, params, path, &args[i], &seen, rq, err,
			       errlen);
		if (rc != 200)
			return rc;
	}
	return 200;
}

/* ---- Who may ask ---- */

bool route__host_ok(const char *host)
{
	char name[64];
	const char *end;
	size_t n;
	unsigned a, b, c, d;
	char extra;

	if (!host)
		return true;
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end || (size_t)(end - host) != 4 ||
		    strncmp(host, "[::1]", 5) != 0)
			return false;
		end++;
	} else {
		end = host + strcspn(host, ":");
	}
	n = (size_t)(end - host);
	if (n == 0 || n >= sizeof(name))
		return false;
	/* An optional port: ":" and 1 to 5 digits. */
	if (*end && (end[0] != ':' || !end[1] || strlen(end + 1) > 5 ||
		     strspn(end + 1, "0123456789") != strlen(end + 1)))
		return false;
	memcpy(name, host, n);
	name[n] = '\0';
	if (strcasecmp(name, "localhost") == 0 || strcmp(name, "[::1]") == 0)
		return true;
	if (strspn(name, "0123456789.") != n ||
	    sscanf(name, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) != 4)
		return false;
	return a == 127 && b < 256 && c < 256 && d < 256;
}

/* ---- Authorization ---- */

/* Equal without an early exit: the time does not say where they differ. */
static bool same(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char d = alen != blen;

	for (size_t i = 0; i < alen && i < blen; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes base64 s (with '=' padding) into out[max].  The length, or -1. */
static long b64decode(const char *s, char *out, size_t max)
{
	size_t n = strlen(s), o = 0;
	unsigned acc = 0;
	int bits = 0;

	while (n && s[n - 1] == '=')
		n--;
	if (strlen(s) - n > 2 || strlen(s) % 4)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64val((unsigned char)s[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == max)
				return -1;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	return (long)o;
}

bool route__authorized(const char *header, const char *token)
{
	size_t tlen = strlen(token);
	char user_pass[512];
	const char *colon;
	long n;

	if (!header)
		return false;
	if (strncasecmp(header, "Bearer ", 7) == 0)
		return same(header + 7, strlen(header + 7), token, tlen);
	if (strncasecmp(header, "Basic ", 6) != 0)
		return false;
	n = b64decode(header + 6, user_pass, sizeof(user_pass) - 1);
	if (n < 0)
		return false;
	user_pass[n] = '\0';
	colon = memchr(user_pass, ':', (size_t)n);
	if (!colon)
		return false;
	return same(colon + 1, (size_t)(user_pass + n - colon - 1), token,
		    tlen);
}

bool route__token_ok(const char *token, char *err, size_t errlen)
{
	size_t n = strlen(token);

	if (n < 16 || n > 256) {
		snprintf(err, errlen,
			 "the token is %zu bytes long: give one of 16 to 256 "
			 "(e.g. head -c 32 /dev/urandom | base64)",
			 n);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (token[i] <= 0x20 || token[i] >= 0x7f) {
			snprintf(err, errlen,
				 "the token holds a space or a character that "
				 "is not printable ASCII (byte %zu): use "
				 "letters, digits and punctuation only",
				 i + 1);
			return false;
		}
	}
	return true;
}
