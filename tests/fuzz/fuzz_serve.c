// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Fuzzes what the agent (pyprof-bpf serve) and its remote view parse from
 * the network: a request's method, path and query parameters
 * (route__parse), the Authorization and Host headers, --listen, and on the
 * client side the answer's head, the stream's block headers and the URL.
 *
 * Input: [0] % 7 picks the parser; the rest is split at NUL bytes into
 * fields (route__parse: method, path, then key and value pairs, a value of
 * "\x01" standing for a parameter without '=').  Oracles: every answer is
 * one of the documented ones, an error always says why on one line, what
 * is accepted is in range, and a stream header written back by
 * stream__block parses to the same fields.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/client.h"
#include "serve/http.h"
#include "serve/route.h"
#include "serve/stream.h"

#define FIELDS_MAX (2 + 2 * (ROUTE_ARGS_MAX + 2))

static void one_line(const char *err)
{
	if (!err[0] || strchr(err, '\n'))
		abort(); /* an error says why, on one line */
}

static void fuzz_route(char **f, size_t n)
{
	const struct route_limits lim = { .window_secs = 600,
					  .default_secs = 30 };
	struct route_arg args[ROUTE_ARGS_MAX + 2];
	size_t nargs = 0;
	struct request rq;
	char err[512];
	int status;

	if (n < 2)
		return;
	for (size_t i = 2; i + 1 < n && nargs < ROUTE_ARGS_MAX + 2; i += 2) {
		args[nargs].key = f[i];
		args[nargs].value = strcmp(f[i + 1], "\x01") ? f[i + 1] : NULL;
		nargs++;
	}
	status = route__parse(&lim, f[0], f[1], args, nargs, &rq, err,
			      sizeof(err));
	switch (status) {
	case 200:
		if (!rq.route ||
		    (!rq.all && (rq.seconds < 1 || rq.seconds > 600)) ||
		    rq.pid < 0 || strlen(rq.comm) >= ROUTE_COMM_MAX ||
		    rq.format == OUT_TRACE || rq.format >= OUT__MAX)
			abort();
		for (const char *c = rq.comm; *c; c++)
			if ((unsigned char)*c < 0x20 ||
			    (unsigned char)*c >= 0x7f)
				abort();
		break;
	case 400:
	case 404:
	case 405:
		one_line(err);
		break;
	default:
		abort();
	}
}

static void fuzz_stream_head(const char *line)
{
	struct stream_head h, back;
	struct answer *ans;
	struct profile *p;
	char err[512], *buf = NULL;
	size_t len;

	if (stream__parse_head(line, &h, err, sizeof(err))) {
		one_line(err);
		return;
	}
	if (h.bytes > STREAM_BLOCK_MAX)
		abort();
	/* Written back (with no stacks), it reads the same. */
	p = profile__new();
	if (!p || stream__block(&h, p, &ans)) {
		profile__free(p);
		return;
	}
	buf = answer__string(ans, &len);
	if (!buf)
		abort();
	buf[strcspn(buf, "\n")] = '\0';
	if (stream__parse_head(buf, &back, err, sizeof(err)) ||
	    back.total != h.total || back.seq != h.seq ||
	    back.taken != h.taken || back.lost != h.lost ||
	    back.procs != h.procs || back.rate != h.rate ||
	    back.skipped != h.skipped || back.bytes != 0)
		abort();
	free(buf);
	profile__free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *f[FIELDS_MAX];
	size_t n = 0, hl;
	int which, status;

	if (size < 1)
		return 0;
	which = data[0] % 7;
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	f[n++] = copy;
	for (size_t i = 0; i + 1 < size && n < FIELDS_MAX; i++)
		if (!copy[i])
			f[n++] = copy + i + 1;

	switch (which) {
	case 0:
		fuzz_route(f, n);
		break;
	case 1: {
		const char *token = n > 1 ? f[1] : "0123456789abcdef";

		/* The exact Bearer header always passes. */
		if (token[0]) {
			char *hdr = malloc(strlen(token) + 8);

			sprintf(hdr, "Bearer %s", token);
			if (!route__authorized(hdr, token))
				abort();
			free(hdr);
		}
		route__authorized(f[0], token);
		break;
	}
	case 2:
		route__host_ok(f[0]);
		{
			char err[256];

			if (!route__token_ok(f[0], err, sizeof(err)))
				one_line(err);
		}
		break;
	case 3:
		fuzz_stream_head(f[0]);
		break;
	case 4:
		/* The head parser on the raw bytes, NULs and all. */
		status = 0;
		hl = 0;
		if (client__parse_head((const char *)data + 1, size - 1,
				       &status, &hl) == 0 &&
		    (hl > size - 1 || status < 100 || status > 999))
			abort();
		break;
	case 5: {
		struct client_url u;
		char err[512];

		if (client__parse_url(f[0], &u, err, sizeof(err)))
			one_line(err);
		else if (!u.host[0] || !u.port[0])
			abort();
		break;
	}
	default: {
		struct sockaddr_storage ss;
		socklen_t len;
		char err[512];

		if (http__parse_listen(f[0], &ss, &len, err, sizeof(err)))
			one_line(err);
		else if (len > sizeof(ss))
			abort();
		break;
	}
	}
	free(copy);
	return 0;
}
