// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* An answer's bytes, held once (answer.h). */
#include "serve/answer.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/*
 * The first chunk is small (most answers are: /metrics, /info, one
 * interval's stacks); the others are 256 KiB with their header, above the
 * agent's mmap threshold (cmd/serve.c), so that each is its own mapping,
 * given back to the system the moment it is freed.
 */
#define CHUNK_FIRST ((16u << 10) - 64)
#define CHUNK_NEXT ((256u << 10) - 64)

struct chunk {
	struct chunk *next;
	size_t len, cap;
	unsigned char data[];
};

struct answer {
	struct chunk *head, *tail;
	size_t off; /* read so far of head */
	size_t size; /* bytes held to send (after gzip) */
	size_t written, max; /* before gzip */
	int err; /* the first write's error */
	bool gzip, ended, reading;
	z_stream z;
};

static struct chunk *chunk_new(size_t cap)
{
	struct chunk *c = malloc(sizeof(*c) + cap);

	if (c) {
		c->next = NULL;
		c->len = 0;
		c->cap = cap;
	}
	return c;
}

/* The last chunk, with room in it; a new one if it is full.  NULL: ENOMEM. */
static struct chunk *room(struct answer *a)
{
	struct chunk *c = a->tail;

	if (c && c->len < c->cap)
		return c;
	c = chunk_new(a->head ? CHUNK_NEXT : CHUNK_FIRST);
	if (!c)
		return NULL;
	if (a->tail)
		a->tail->next = c;
	else
		a->head = c;
	a->tail = c;
	return c;
}

struct answer *answer__new(size_t max, bool gzip)
{
	struct answer *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->max = max;
	/* The gzip header with mtime 0 and no name: the same bytes give
	 * the same answer. */
	if (gzip && deflateInit2(&a->z, 1, Z_DEFLATED, 15 + 16, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(a);
		return NULL;
	}
	a->gzip = gzip;
	return a;
}

/* Runs deflate over what z holds, into chunks, with flush. */
static int deflate_into(struct answer *a, int flush)
{
	for (;;) {
		struct chunk *c = room(a);
		size_t before;
		int rc;

		if (!c)
			return -ENOMEM;
		before = c->cap - c->len;
		a->z.next_out = c->data + c->len;
		a->z.avail_out = (uInt)before;
		rc = deflate(&a->z, flush);
		c->len += before - a->z.avail_out;
		a->size += before - a->z.avail_out;
		if (rc == Z_STREAM_END)
			return 0;
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return -ENOMEM;
		/* Done when deflate has taken all and still had room. */
		if (a->z.avail_in == 0 && a->z.avail_out > 0 &&
		    flush == Z_NO_FLUSH)
			return 0;
	}
}

int answer__write(struct answer *a, const void *data, size_t n)
{
	const unsigned char *p = data;

	if (a->ended || a->reading)
		return -EINVAL;
	if (a->err)
		return a->err;
	if (n > a->max - a->written) {
		a->err = -EFBIG;
		return a->err;
	}
	a->written += n;
	if (a->gzip) {
		while (n) {
			uInt k = n > (1u << 30) ? 1u << 30 : (uInt)n;
			int rc;

			a->z.next_in = (unsigned char *)p;
			a->z.avail_in = k;
			rc = deflate_into(a, Z_NO_FLUSH);
			if (rc)
				return a->err = rc;
			p += k;
			n -= k;
		}
		return 0;
	}
	while (n) {
		struct chunk *c = room(a);
		size_t k;

		if (!c)
			return a->err = -ENOMEM;
		k = c->cap - c->len < n ? c->cap - c->len : n;
		memcpy(c->data + c->len, p, k);
		c->len += k;
		a->size += k;
		p += k;
		n -= k;
	}
	return 0;
}

int answer__prepend(struct answer *a, const void *data, size_t n)
{
	struct chunk *c;

	if (a->gzip || a->reading)
		return -EINVAL;
	c = chunk_new(n);
	if (!c)
		return -ENOMEM;
	memcpy(c->data, data, n);
	c->len = n;
	c->next = a->head;
	a->head = c;
	if (!a->tail)
		a->tail = c;
	a->size += n;
	return 0;
}

int answer__end(struct answer *a)
{
	if (a->ended)
		return a->err;
	a->ended = true;
	if (!a->gzip)
		return a->err;
	if (!a->err) {
		a->z.next_in = NULL;
		a->z.avail_in = 0;
		a->err = deflate_into(a, Z_FINISH);
	}
	deflateEnd(&a->z);
	return a->err;
}

size_t answer__written(const struct answer *a)
{
	return a->written;
}

size_t answer__size(const struct answer *a)
{
	return a->size;
}

bool answer__gzipped(const struct answer *a)
{
	return a->gzip;
}

size_t answer__held(const struct answer *a)
{
	size_t held = 0;

	for (const struct chunk *c = a->head; c; c = c->next)
		held += c->cap;
	return held;
}

size_t answer__read(struct answer *a, void *buf, size_t max)
{
	unsigned char *out = buf;
	size_t done = 0;

	a->reading = true;
	while (done < max && a->head) {
		struct chunk *c = a->head;
		size_t k = c->len - a->off;

		if (k > max - done)
			k = max - done;
		memcpy(out + done, c->data + a->off, k);
		done += k;
		a->off += k;
		if (a->off == c->len) {
			a->head = c->next;
			if (!a->head)
				a->tail = NULL;
			a->off = 0;
			free(c);
		}
	}
	return done;
}

char *answer__string(struct answer *a, size_t *len)
{
	size_t n = a->size;
	char *s = malloc(n + 1);

	if (s) {
		*len = answer__read(a, s, n);
		s[*len] = '\0';
	}
	answer__free(a);
	return s;
}

void answer__free(struct answer *a)
{
	if (!a)
		return;
	if (a->gzip && !a->ended)
		deflateEnd(&a->z);
	while (a->head) {
		struct chunk *c = a->head;

		a->head = c->next;
		free(c);
	}
	free(a);
}

/* ---- As a stdio stream ---- */

static ssize_t file_write(void *cookie, const char *data, size_t n)
{
	int rc = answer__write(cookie, data, n);

	if (rc) {
		errno = -rc;
		return -1;
	}
	return (ssize_t)n;
}

FILE *answer__file(struct answer *a)
{
	cookie_io_functions_t io = { .write = file_write };

	return fopencookie(a, "w", io);
}
