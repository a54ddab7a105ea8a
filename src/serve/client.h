/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The agent's client side, for `pyprof-bpf view http://HOST:PORT`: the
 * URL, one GET over a plain socket (HTTP/1.0, so that the answer is the
 * bytes until the server closes), and its status line and headers.  No
 * root and no library: the view reads the stream (stream.h) itself.  The
 * parsers take what the network gives: bounded, and fuzzed
 * (tests/fuzz/fuzz_serve.c).
 */
#ifndef PYPROF_CLIENT_H
#define PYPROF_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#define CLIENT_HEAD_MAX (16u << 10) /* bytes of status line and headers */

struct client_url {
	char host[256]; /* a name, an IPv4 address, or an IPv6 one without
			   brackets */
	char port[8];
};

/*
 * Parses "http://HOST[:PORT][/]" (the port defaults to 6060, the agent's);
 * 0, or -EINVAL with one line in err (https, a path, a bad port, ...).
 */
int client__parse_url(const char *url, struct client_url *u, char *err,
		      size_t errlen);

/*
 * Parses the status line and headers at the start of buf[len]: 0 with the
 * status code and the length of the head (up to the empty line), -EAGAIN
 * when more bytes are needed, -EINVAL when it is not an HTTP answer (or its
 * head is longer than CLIENT_HEAD_MAX).
 */
int client__parse_head(const char *buf, size_t len, int *status,
		       size_t *head_len);

/*
 * Connects to u (timeout_ms for the connection) and sends GET target
 * (a path with its query), with "Authorization: Bearer token" unless token
 * is NULL.  The connected socket, or -errno with one line in err.
 */
int client__get(const struct client_url *u, const char *target,
		const char *token, int timeout_ms, char *err, size_t errlen);

/*
 * Reads the answer's head from fd (waiting up to timeout_ms in all):
 * 0 with *status, and the bytes read past the head in a malloc'd *body
 * (*blen of them); or -errno with one line in err.
 */
int client__read_head(int fd, int timeout_ms, int *status, char **body,
		      size_t *blen, char *err, size_t errlen);

/*
 * The token in file path (its first line) into buf[len], checked with
 * route__token_ok; *loose when others than its owner may read the file.
 * Used by both sides: serve --token-file and view --token-file.  0, or
 * -errno with one line in err.
 */
int client__read_token(const char *path, char *buf, size_t len, bool *loose,
		       char *err, size_t errlen);

#endif /* PYPROF_CLIENT_H */
