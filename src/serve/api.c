// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The endpoints' answers (api.h). */
#include "serve/api.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/util.h"
#include "serve/stream.h"
#include "serve/web.h"

/* A one-line text answer. */
static int text(struct reply *rp, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int text(struct reply *rp, unsigned status, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&rp->body, fmt, ap);
	va_end(ap);
	if (n < 0) {
		rp->body = NULL;
		return -ENOMEM;
	}
	rp->status = status;
	rp->type = "text/plain; charset=utf-8";
	rp->len = (size_t)n;
	return 0;
}

/* ---- Profiles ---- */

static const char *format_type(enum out_format f)
{
	switch (f) {
	case OUT_SVG:
		return "image/svg+xml";
	case OUT_SPEEDSCOPE:
		return "application/json";
	case OUT_PPROF:
		return "application/octet-stream";
	case OUT_HTML:
		return "text/html; charset=utf-8";
	default:
		return "text/plain; charset=utf-8";
	}
}

static void describe(const struct api *a, const struct request *rq, char *buf,
		     size_t len)
{
	if (rq->pid)
		snprintf(buf, len, "pid %d on %s", rq->pid, a->host);
	else if (rq->comm[0])
		snprintf(buf, len, "%s processes on %s", rq->comm, a->host);
	else
		snprintf(buf, len, "%s on %s", a->what, a->host);
}

/* The window's answer to rq (the last rq->seconds, or since the start). */
static int query(struct api *a, const struct request *rq,
		 struct window_result *r, struct metrics *m)
{
	struct window_query q = {
		.kind = rq->all ? WINDOW_ALL : WINDOW_LAST,
		.seconds = rq->seconds,
		.pid = rq->pid,
		.comm = rq->comm[0] ? rq->comm : NULL,
		.max_stacks = a->max_stacks,
		.max_frames = a->max_frames,
	};
	int rc;

	pthread_mutex_lock(&a->lock);
	rc = window__query(a->w, &q, r);
	if (m)
		*m = a->m;
	pthread_mutex_unlock(&a->lock);
	return rc;
}

static int profile_reply(struct api *a, const struct request *rq,
			 enum out_format f, struct reply *rp)
{
	struct window_result r;
	struct out_meta meta = {};
	struct metrics m;
	struct answer *ans;
	char title[256], python[16] = "";
	FILE *out;
	int rc, end;

	rc = query(a, rq, &r, &m);
	if (rc)
		return text(rp, 500, "the agent could not answer: %s\n",
			    strerror(-rc));
	describe(a, rq, title, sizeof(title));
	meta.title = title;
	meta.python = python[0] ? python : NULL;
	meta.freq = m.freq;
	meta.start_time = r.start;
	meta.duration = r.duration;
	/* The sampler counts every process: a filtered answer has its own. */
	meta.samples_taken = rq->pid || rq->comm[0] ? 0 : r.taken;
	meta.samples_lost = rq->pid || rq->comm[0] ? 0 : r.lost;
	/* pprof is gzipped already. */
	ans = answer__new(a->max_bytes, rq->gzip && f != OUT_PPROF);
	out = ans ? answer__file(ans) : NULL;
	if (!out) {
		answer__free(ans);
		profile__free(r.prof);
		return -ENOMEM;
	}
	rc = output__write(r.prof, f, &meta, out);
	if (fclose(out) && !rc)
		rc = -EIO;
	profile__free(r.prof);
	end = answer__end(ans);
	if (end == -EFBIG) {
		answer__free(ans);
		return text(rp, 500,
			    "the answer is larger than the agent's limit of "
			    "%zu MiB: ask for fewer seconds, or one process "
			    "with pid= or comm=\n",
			    a->max_bytes >> 20);
	}
	if (rc || end) {
		answer__free(ans);
		return text(rp, 500, "the agent could not write the %s: %s\n",
			    output__name(f), output__strerror(f, rc ? rc : end));
	}
	rp->status = 200;
	rp->type = format_type(f);
	rp->ans = ans;
	/* Flame graphs and reports run their own scripts: in a sandbox,
	 * with the names of any process on the host in them. */
	rp->page = false;
	rp->sandbox = f == OUT_SVG || f == OUT_HTML;
	rp->seq = r.last_seq;
	if (rq->route == ROUTE_PPROF)
		rp->filename = "profile.pb.gz";
	return 0;
}

/* ---- /info ---- */

static int info_reply(struct api *a, struct reply *rp)
{
	struct window_stats ws;
	struct metrics m;
	struct answer *ans;
	FILE *f;
	int rc;

	pthread_mutex_lock(&a->lock);
	window__stats(a->w, &ws);
	m = a->m;
	pthread_mutex_unlock(&a->lock);
	ans = answer__new(64 << 10, false);
	f = ans ? answer__file(ans) : NULL;
	if (!f) {
		answer__free(ans);
		return -ENOMEM;
	}
	fputs("{\"agent\":\"pyprof-bpf\",\"version\":", f);
	out__json_str(f, m.version);
	fputs(",\"host\":", f);
	out__json_str(f, a->host);
	fputs(",\"what\":", f);
	out__json_str(f, a->what);
	fprintf(f,
		",\"frequency\":%u,\"interval\":%g,\"window\":%u"
		",\"seq\":%" PRIu64 ",\"window_seconds\":%.3f"
		",\"uptime\":%.3f,\"start_time\":%.3f,\"processes\":%" PRIu64
		",\"samples\":%" PRIu64 ",\"taken\":%" PRIu64
		",\"lost\":%" PRIu64 ",\"stacks\":%zu"
		",\"rss\":%" PRIu64 ",\"cpu\":%.3f}\n",
		m.freq, m.interval, m.window_secs, ws.seq, ws.seconds, m.uptime,
		ws.start, m.processes, ws.samples, m.stats[STAT_SAMPLES],
		m.lost, ws.stacks, m.rss, m.cpu);
	rc = fclose(f) ? -EIO : 0;
	if (answer__end(ans) || rc) {
		answer__free(ans);
		return -EIO;
	}
	rp->status = 200;
	rp->type = "application/json";
	rp->ans = ans;
	return 0;
}

static int metrics_reply(struct api *a, const struct request *rq,
			 struct reply *rp)
{
	struct metrics m;
	struct answer *ans;
	FILE *f;
	int rc;

	pthread_mutex_lock(&a->lock);
	m = a->m;
	pthread_mutex_unlock(&a->lock);
	ans = answer__new(1 << 20, rq->gzip);
	f = ans ? answer__file(ans) : NULL;
	if (!f) {
		answer__free(ans);
		return -ENOMEM;
	}
	rc = metrics__write(f, &m);
	if (fclose(f) && !rc)
		rc = -EIO;
	if (answer__end(ans) && !rc)
		rc = -EIO;
	if (rc) {
		answer__free(ans);
		return rc;
	}
	rp->status = 200;
	rp->type = "text/plain; version=0.0.4; charset=utf-8";
	rp->ans = ans;
	return 0;
}

int api__respond(void *arg, const struct request *rq, struct reply *rp)
{
	struct api *a = arg;
	struct web_asset w;

	switch (rq->route) {
	case ROUTE_ASSET:
		if (!web__asset(rq->asset, &w))
			return -ENOENT;
		rp->status = 200;
		rp->type = w.type;
		rp->static_body = w.data;
		rp->len = w.len;
		rp->page = true;
		return 0;
	case ROUTE_PPROF:
		return profile_reply(a, rq, OUT_PPROF, rp);
	case ROUTE_PROFILE:
		return profile_reply(a, rq, rq->format, rp);
	case ROUTE_INFO:
		return info_reply(a, rp);
	case ROUTE_METRICS:
		return metrics_reply(a, rq, rp);
	case ROUTE_HEALTH:
		return text(rp, 200, "ok\n");
	default:
		return -ENOENT;
	}
}

/* ---- /stream ---- */

/* Stacks that a stream's block keeps at the least. */
#define STREAM_MIN_STACKS 100

/* The next block of a stream, q's filter and cap, from *seq. */
static int stream_block(struct api *a, struct window_query *q, uint64_t *seq,
			struct answer **out)
{
	struct stream_head h = {};
	struct window_result r;
	uint64_t last, first;
	int rc;

	/* *seq: the next interval to send, 0 before the first block. */
	pthread_mutex_lock(&a->lock);
	last = window__seq(a->w);
	first = window__first_seq(a->w);
	if (*seq == 0) {
		q->kind = WINDOW_ALL;
		h.total = true;
	} else if (last >= *seq) {
		q->kind = WINDOW_SLOT;
		q->seq = *seq;
		if (q->seq < first) {
			h.skipped = first - q->seq;
			q->seq = first;
		}
	} else {
		pthread_mutex_unlock(&a->lock);
		return -EAGAIN;
	}
	rc = window__query(a->w, q, &r);
	h.rate = a->m.freq;
	pthread_mutex_unlock(&a->lock);
	if (rc)
		return rc;
	h.seq = h.total ? last : q->seq;
	h.t = r.start + r.duration;
	h.dur = r.duration;
	/* The sampler counts every process: a filtered stream counts its
	 * own samples. */
	h.taken = q->pid || q->comm ? r.samples : r.taken;
	h.lost = q->pid || q->comm ? 0 : r.lost;
	h.procs = r.processes;
	rc = stream__block(&h, r.prof, out);
	profile__free(r.prof);
	if (rc)
		return rc;
	*seq = h.seq + 1;
	return 0;
}

int api__stream_next(void *arg, const struct request *rq, uint64_t *seq,
		     struct answer **out)
{
	struct api *a = arg;
	struct window_query q = {
		.pid = rq->pid,
		.comm = rq->comm[0] ? rq->comm : NULL,
		.max_stacks = a->max_stacks,
		.max_frames = a->max_frames,
	};

	/*
	 * A block larger than a reader takes (STREAM_BLOCK_MAX: deep stacks,
	 * many of them, since the start) is made again with fewer stacks,
	 * the smallest merged, rather than ending the stream.
	 */
	for (;;) {
		int rc = stream_block(a, &q, seq, out);

		if (rc != -EFBIG || q.max_stacks <= STREAM_MIN_STACKS)
			return rc;
		q.max_stacks /= 4;
		q.max_frames /= 4;
	}
}
