// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The live stream's blocks (stream.h): written by the agent, read by view. */
#include "serve/stream.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "out/folded.h"
#include "serve/route.h"

int stream__block(struct stream_head *h, const struct profile *p,
		  struct answer **out)
{
	struct answer *a = answer__new(STREAM_BLOCK_MAX, false);
	char head[STREAM_HEAD_MAX];
	FILE *f = a ? answer__file(a) : NULL;
	int rc, n;

	if (!f) {
		answer__free(a);
		return -ENOMEM;
	}
	rc = out_folded__write(p, f);
	if (fclose(f) && !rc)
		rc = -EIO;
	if (!rc)
		rc = answer__end(a);
	if (rc)
		goto fail;
	h->bytes = answer__written(a);
	h->samples = profile__total(p);
	n = snprintf(head, sizeof(head),
		     STREAM_MAGIC " %d kind=%s seq=%" PRIu64 " t=%.3f dur=%.3f"
				  " samples=%" PRIu64 " taken=%" PRIu64
				  " lost=%" PRIu64 " procs=%" PRIu32
				  " rate=%u skipped=%" PRIu64 " bytes=%zu\n",
		     STREAM_VERSION, h->total ? "total" : "interval", h->seq,
		     h->t, h->dur, h->samples, h->taken, h->lost, h->procs,
		     h->rate, h->skipped, h->bytes);
	rc = n < 0 || (size_t)n >= sizeof(head) ?
		     -EOVERFLOW :
		     answer__prepend(a, head, (size_t)n);
	if (rc)
		goto fail;
	*out = a;
	return 0;
fail:
	answer__free(a);
	return rc;
}

/* s[0..n) as a whole number up to max. */
static bool whole(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!n || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* s[0..n) as a non-negative decimal number ("12.5"). */
static bool number(const char *s, size_t n, double *out)
{
	char buf[32], *end;
	double v;

	if (!n || n >= sizeof(buf) || strspn(s, "0123456789.") < n)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	v = strtod(buf, &end);
	if (*end || !isfinite(v) || v < 0 || v >= 1e15)
		return false;
	*out = v;
	return true;
}

int stream__parse_head(const char *line, struct stream_head *h, char *err,
		       size_t errlen)
{
	const size_t mlen = sizeof(STREAM_MAGIC) - 1, len = strlen(line);
	bool have_kind = false, have_bytes = false;
	size_t i;
	uint64_t v;

	memset(h, 0, sizeof(*h));
	if (len >= STREAM_HEAD_MAX || len < mlen + 2 ||
	    memcmp(line, STREAM_MAGIC " ", mlen + 1) != 0) {
		snprintf(err, errlen,
			 "the server did not send a pyprof-bpf stream: is it "
			 "a pyprof-bpf serve agent?");
		return -EINVAL;
	}
	i = mlen + 1;
	{
		size_t n = strcspn(line + i, " ");

		if (n > len - i)
			n = len - i;
		if (!whole(line + i, n, UINT32_MAX, &v) ||
		    v != STREAM_VERSION) {
			char field[24], shown[32];

			snprintf(field, sizeof(field), "%.*s",
				 (int)(n < 16 ? n : 16), line + i);
			snprintf(err, errlen,
				 "the agent speaks another stream version "
				 "(%s, this view reads %d): use the same "
				 "pyprof-bpf version on both sides",
				 route__shown(field, shown, sizeof(shown)),
				 STREAM_VERSION);
			return -EINVAL;
		}
		i += n;
	}
	while (i < len) {
		const char *k, *val;
		size_t klen, vlen, n;
		bool ok = true;

		if (line[i] == ' ') {
			i++;
			continue;
		}
		n = strcspn(line + i, " ");
		if (n > len - i)
			n = len - i;
		k = line + i;
		val = memchr(k, '=', n);
		i += n;
		if (!val)
			continue; /* not key=value: from a newer agent */
		klen = (size_t)(val - k);
		val++;
		vlen = n - klen - 1;
#define KEY(name) (klen == sizeof(name) - 1 && memcmp(k, name, klen) == 0)
		if (KEY("kind")) {
			have_kind = true;
			if (vlen == 5 && memcmp(val, "total", 5) == 0)
				h->total = true;
			else
				ok = vlen == 8 && !memcmp(val, "interval", 8);
		} else if (KEY("seq")) {
			ok = whole(val, vlen, UINT64_MAX, &h->seq);
		} else if (KEY("t")) {
			ok = number(val, vlen, &h->t);
		} else if (KEY("dur")) {
			ok = number(val, vlen, &h->dur);
		} else if (KEY("samples")) {
			ok = whole(val, vlen, UINT64_MAX, &h->samples);
		} else if (KEY("taken")) {
			ok = whole(val, vlen, UINT64_MAX, &h->taken);
		} else if (KEY("lost")) {
			ok = whole(val, vlen, UINT64_MAX, &h->lost);
		} else if (KEY("procs")) {
			ok = whole(val, vlen, UINT32_MAX, &v);
			h->procs = (uint32_t)v;
		} else if (KEY("rate")) {
			ok = whole(val, vlen, 1000000, &v);
			h->rate = (unsigned)v;
		} else if (KEY("skipped")) {
			ok = whole(val, vlen, UINT64_MAX, &h->skipped);
		} else if (KEY("bytes")) {
			have_bytes = true;
			ok = whole(val, vlen, STREAM_BLOCK_MAX, &v);
			h->bytes = (size_t)v;
		}
#undef KEY
		if (!ok) {
			char field[48], shown[64];

			snprintf(field, sizeof(field), "%.*s",
				 (int)(n < 40 ? n : 40), k);
			snprintf(err, errlen,
				 "the agent sent a bad stream header (%s): "
				 "use the same pyprof-bpf version on both "
				 "sides",
				 route__shown(field, shown, sizeof(shown)));
			return -EINVAL;
		}
	}
	if (!have_kind || !have_bytes) {
		snprintf(err, errlen,
			 "the agent sent a stream header without %s",
			 have_kind ? "bytes=" : "kind=");
		return -EINVAL;
	}
	return 0;
}
