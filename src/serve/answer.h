/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * An answer's bytes, held for as long as a client takes to read them, and
 * no more than once:
 *
 * - in chunks, so that growing never copies what is written and never
 *   holds room for twice the answer (a doubling buffer does both);
 * - gzipped as they are written when the client takes gzip, so that a
 *   large answer is only ever held compressed;
 * - capped: past max bytes written, the answer is refused (EFBIG), not
 *   grown;
 * - read out in order, each chunk freed as soon as it has been read, so
 *   what is held shrinks as the client reads.
 *
 * An answer is written by one thread and then read by one; it has no lock.
 */
#ifndef PYPROF_ANSWER_H
#define PYPROF_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct answer;

/* An empty answer of at most max bytes, gzipped if gzip.  NULL: ENOMEM. */
struct answer *answer__new(size_t max, bool gzip);
/*
 * A stdio stream that writes into a (its writes fail once a is over its
 * cap).  fclose it before answer__end.  NULL: ENOMEM.
 */
FILE *answer__file(struct answer *a);
/* Adds n bytes.  0, -EFBIG (over the cap), -ENOMEM, or -EINVAL after
 * answer__end. */
int answer__write(struct answer *a, const void *data, size_t n);
/*
 * Puts n bytes before everything written so far (a header whose fields
 * count what follows).  Only for answers that are not gzipped, and before
 * any read.  0, -ENOMEM or -EINVAL.
 */
int answer__prepend(struct answer *a, const void *data, size_t n);
/* No more writes: ends the gzip stream.  0, or the first write's error
 * (-EFBIG, -ENOMEM). */
int answer__end(struct answer *a);

/* The bytes written, before gzip. */
size_t answer__written(const struct answer *a);
/* The bytes to send (gzipped, if it is), after answer__end. */
size_t answer__size(const struct answer *a);
bool answer__gzipped(const struct answer *a);
/* The bytes held now: what is not yet read, and the free room of the
 * last chunk. */
size_t answer__held(const struct answer *a);

/* Copies up to max of the next bytes to send into buf and frees what has
 * been read.  The number copied, 0 at the end. */
size_t answer__read(struct answer *a, void *buf, size_t max);

/* Reads all that is left into a malloc'd string (*len bytes and a NUL)
 * and frees a.  NULL: ENOMEM (a is freed even so). */
char *answer__string(struct answer *a, size_t *len);

/* NULL is fine. */
void answer__free(struct answer *a);

#endif /* PYPROF_ANSWER_H */
