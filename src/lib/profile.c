// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "lib/profile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"
#include "lib/hashmap.h"

struct pstack {
	size_t off; /* into frame_ids */
	uint32_t n;
	uint64_t count;
};

struct profile {
	/* strings: NUL-terminated, back to back in chars */
	char *chars;
	size_t chars_len, chars_cap;
	size_t *str_off;
	size_t nstr, str_cap;
	struct hashmap str_index; /* content hash -> id */

	struct pframe *frames;
	size_t nframes, frames_cap;
	struct hashmap frame_index;
	int32_t *first_line; /* per frame, -1 unknown; NULL until one is set */
	size_t first_line_cap;

	uint32_t *frame_ids;
	size_t ids_len, ids_cap;
	struct pstack *stacks;
	size_t nstacks, stacks_cap, stacks_max, ids_max;
	struct hashmap stack_index;

	uint64_t total;

	uint64_t filtered; /* samples a filter left out */

	struct ptime_event *events;
	size_t nevents, events_cap, events_max;
	struct hashmap lane_last; /* tid | 1 << 32 -> its last event + 1 */
	uint64_t origin_ns;
	uint64_t dropped_samples, dropped_spans, first_drop_ns;
};

struct profile *profile__new(void)
{
	struct profile *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->events_max = PROFILE_TIMELINE_MAX;
	p->stacks_max = SIZE_MAX;
	p->ids_max = SIZE_MAX;
	profile__intern(p, "", 0);
	if (p->nstr != 1) {
		profile__free(p);
		return NULL;
	}
	return p;
}

void profile__free(struct profile *p)
{
	if (!p)
		return;
	free(p->chars);
	free(p->str_off);
	hashmap__free(&p->str_index);
	free(p->frames);
	hashmap__free(&p->frame_index);
	free(p->first_line);
	free(p->frame_ids);
	free(p->stacks);
	hashmap__free(&p->stack_index);
	free(p->events);
	hashmap__free(&p->lane_last);
	free(p);
}

/*
 * The interning tables map a content hash to an id.  Two different contents
 * with the same hash are told apart by probing with the next derived key.
 */
static uint64_t next_key(uint64_t k)
{
	k = hash64(k + 0x9e3779b97f4a7c15ull);
	return k ? k : 1;
}

uint32_t profile__intern(struct profile *p, const char *s, size_t len)
{
	uint64_t k = hash_bytes(s, len, 0), id;

	if (!k)
		k = 1;
	for (;; k = next_key(k)) {
		const char *have;

		if (!hashmap__get(&p->str_index, k, &id))
			break;
		have = p->chars + p->str_off[id];
		if (strlen(have) == len && memcmp(have, s, len) == 0)
			return (uint32_t)id;
	}
	if (grow__reserve((void **)&p->chars, &p->chars_cap,
			  p->chars_len + len + 1, 1) ||
	    grow__reserve((void **)&p->str_off, &p->str_cap, p->nstr + 1,
			  sizeof(*p->str_off)) ||
	    hashmap__set(&p->str_index, k, p->nstr)) {
		errno = ENOMEM;
		return 0;
	}
	memcpy(p->chars + p->chars_len, s, len);
	p->chars[p->chars_len + len] = '\0';
	p->str_off[p->nstr] = p->chars_len;
	p->chars_len += len + 1;
	return (uint32_t)p->nstr++;
}

uint32_t profile__intern_str(struct profile *p, const char *s)
{
	return profile__intern(p, s, strlen(s));
}

const char *profile__string(const struct profile *p, uint32_t id)
{
	return id < p->nstr ? p->chars + p->str_off[id] : "";
}

int64_t profile__frame(struct profile *p, enum pframe_kind kind, uint32_t name,
		       uint32_t file, int32_t line)
{
	struct pframe f = {
		.name = name, .file = file, .line = line, .kind = kind
	};
	uint64_t k = hash_bytes(&f, sizeof(f), 1), id;

	if (!k)
		k = 1;
	for (;; k = next_key(k)) {
		if (!hashmap__get(&p->frame_index, k, &id))
			break;
		if (memcmp(&p->frames[id], &f, sizeof(f)) == 0)
			return (int64_t)id;
	}
	if (grow__reserve((void **)&p->frames, &p->frames_cap, p->nframes + 1,
			  sizeof(f)) ||
	    hashmap__set(&p->frame_index, k, p->nframes))
		return -ENOMEM;
	p->frames[p->nframes] = f;
	return (int64_t)p->nframes++;
}

const struct pframe *profile__frame_get(const struct profile *p, uint32_t id)
{
	return id < p->nframes ? &p->frames[id] : NULL;
}

int profile__set_first_line(struct profile *p, uint32_t frame, int32_t line)
{
	size_t old = p->first_line ? p->first_line_cap : 0;

	if (frame >= p->nframes)
		return -EINVAL;
	if (grow__reserve((void **)&p->first_line, &p->first_line_cap,
			  (size_t)frame + 1, sizeof(*p->first_line)))
		return -ENOMEM;
	for (size_t i = old; i < p->first_line_cap; i++)
		p->first_line[i] = -1;
	p->first_line[frame] = line;
	return 0;
}

int32_t profile__first_line(const struct profile *p, uint32_t frame)
{
	return p->first_line && frame < p->first_line_cap ?
		       p->first_line[frame] :
		       -1;
}

/* Adds like profile__add(); *idx is the stack's index. */
static int add_stack(struct profile *p, const uint32_t *frames, uint32_t n,
		     uint64_t count, size_t *idx)
{
	uint64_t k = hash_bytes(frames, n * sizeof(*frames), 2 + n), id;
	struct pstack *s;

	if (!k)
		k = 1;
	for (;; k = next_key(k)) {
		if (!hashmap__get(&p->stack_index, k, &id))
			break;
		s = &p->stacks[id];
		if (s->n == n && memcmp(p->frame_ids + s->off, frames,
					n * sizeof(*frames)) == 0) {
			s->count += count;
			p->total += count;
			*idx = id;
			return 0;
		}
	}
	if (p->nstacks >= p->stacks_max || p->ids_len + n > p->ids_max)
		return -ENOSPC;
	if (grow__reserve((void **)&p->frame_ids, &p->ids_cap, p->ids_len + n,
			  sizeof(*frames)) ||
	    grow__reserve((void **)&p->stacks, &p->stacks_cap, p->nstacks + 1,
			  sizeof(*s)) ||
	    hashmap__set(&p->stack_index, k, p->nstacks))
		return -ENOMEM;
	if (n) /* frame_ids may still be NULL */
		memcpy(p->frame_ids + p->ids_len, frames, n * sizeof(*frames));
	*idx = p->nstacks;
	s = &p->stacks[p->nstacks++];
	s->off = p->ids_len;
	s->n = n;
	s->count = count;
	p->ids_len += n;
	p->total += count;
	return 0;
}

int profile__add(struct profile *p, const uint32_t *frames, uint32_t n,
		 uint64_t count)
{
	size_t idx;

	return add_stack(p, frames, n, count, &idx);
}

int profile__add_idx(struct profile *p, const uint32_t *frames, uint32_t n,
		     uint64_t count, size_t *idx)
{
	return add_stack(p, frames, n, count, idx);
}

void profile__add_filtered(struct profile *p, uint64_t count)
{
	p->filtered += count;
}

uint64_t profile__filtered(const struct profile *p)
{
	return p->filtered;
}

/* ---- The timeline ---- */

/* Thread tid's last event, or NULL. */
static struct ptime_event *lane_last(struct profile *p, uint32_t tid)
{
	uint64_t v;

	if (!hashmap__get(&p->lane_last, (uint64_t)tid | 1ull << 32, &v) ||
	    v - 1 >= p->nevents)
		return NULL;
	return &p->events[v - 1];
}

/* A new event for thread tid, or NULL past the cap (counted) or on
 * ENOMEM (*err). */
static struct ptime_event *new_event(struct profile *p, size_t stack,
				     uint32_t tid, uint64_t t_ns, bool span,
				     int *err)
{
	struct ptime_event *e;

	if (p->nevents >= p->events_max) {
		if (!p->dropped_samples && !p->dropped_spans)
			p->first_drop_ns = t_ns;
		if (span)
			p->dropped_spans++;
		else
			p->dropped_samples++;
		return NULL;
	}
	if (grow__reserve((void **)&p->events, &p->events_cap, p->nevents + 1,
			  sizeof(*e)) ||
	    hashmap__set(&p->lane_last, (uint64_t)tid | 1ull << 32,
			 p->nevents + 1)) {
		*err = -ENOMEM;
		return NULL;
	}
	e = &p->events[p->nevents++];
	memset(e, 0, sizeof(*e));
	e->stack = (uint32_t)stack;
	e->tid = tid;
	e->start_ns = e->last_ns = t_ns;
	return e;
}

/* Once the cap is reached the timeline stops: no event grows either, so
 * that what it shows ends at one time for every thread. */
static bool timeline_full(const struct profile *p)
{
	return p->dropped_samples || p->dropped_spans;
}

int profile__time_sample(struct profile *p, size_t stack, uint32_t tid,
			 uint64_t t_ns, bool slept)
{
	struct ptime_event *e;
	int err = 0;

	if (stack >= p->nstacks)
		return -EINVAL;
	e = timeline_full(p) ? NULL : lane_last(p, tid);
	if (e && !slept && !(e->flags & PTIME_SPAN) && e->stack == stack &&
	    t_ns >= e->last_ns) {
		e->last_ns = t_ns;
		if (e->samples < UINT32_MAX)
			e->samples++;
		return 0;
	}
	if (timeline_full(p)) {
		p->dropped_samples++;
		return 0;
	}
	e = new_event(p, stack, tid, t_ns, false, &err);
	if (!e)
		return err;
	e->samples = 1;
	e->flags = slept ? PTIME_SLEPT : 0;
	return 0;
}

int profile__time_span(struct profile *p, size_t stack, uint32_t tid,
		       uint64_t start_ns, uint64_t end_ns)
{
	struct ptime_event *e;
	int err = 0;

	if (stack >= p->nstacks)
		return -EINVAL;
	if (end_ns < start_ns)
		end_ns = start_ns;
	e = timeline_full(p) ? NULL : lane_last(p, tid);
	/* The pieces of one span (sent at each drain while the thread is
	 * away, and when it comes back) are one event again. */
	if (e && (e->flags & PTIME_SPAN) && e->stack == stack &&
	    e->last_ns == start_ns) {
		e->last_ns = end_ns;
		return 0;
	}
	if (timeline_full(p)) {
		p->dropped_spans++;
		return 0;
	}
	e = new_event(p, stack, tid, start_ns, true, &err);
	if (!e)
		return err;
	e->last_ns = end_ns;
	e->flags = PTIME_SPAN;
	return 0;
}

void profile__set_timeline_origin(struct profile *p, uint64_t t_ns)
{
	p->origin_ns = t_ns;
}

uint64_t profile__timeline_origin(const struct profile *p)
{
	return p->origin_ns;
}

void profile__set_stacks_max(struct profile *p, size_t max)
{
	p->stacks_max = max;
}

void profile__set_frame_ids_max(struct profile *p, size_t max)
{
	p->ids_max = max;
}

size_t profile__frame_ids(const struct profile *p)
{
	return p->ids_len;
}

void profile__set_timeline_max(struct profile *p, size_t max)
{
	p->events_max = max;
}

size_t profile__nevents(const struct profile *p)
{
	return p->nevents;
}

const struct ptime_event *profile__event(const struct profile *p, size_t i)
{
	return i < p->nevents ? &p->events[i] : NULL;
}

void profile__timeline_dropped(const struct profile *p, uint64_t *samples,
			       uint64_t *spans, uint64_t *first_t_ns)
{
	*samples = p->dropped_samples;
	*spans = p->dropped_spans;
	*first_t_ns = p->first_drop_ns;
}

size_t profile__nframes(const struct profile *p)
{
	return p->nframes;
}

size_t profile__nstacks(const struct profile *p)
{
	return p->nstacks;
}

static size_t hashmap_bytes(const struct hashmap *h)
{
	return h->cap * (sizeof(*h->keys) + sizeof(*h->vals));
}

size_t profile__bytes(const struct profile *p)
{
	return sizeof(*p) + p->chars_cap + p->str_cap * sizeof(*p->str_off) +
	       p->frames_cap * sizeof(*p->frames) +
	       p->first_line_cap * sizeof(*p->first_line) +
	       p->ids_cap * sizeof(*p->frame_ids) +
	       p->stacks_cap * sizeof(*p->stacks) +
	       p->events_cap * sizeof(*p->events) +
	       hashmap_bytes(&p->str_index) + hashmap_bytes(&p->frame_index) +
	       hashmap_bytes(&p->stack_index) + hashmap_bytes(&p->lane_last);
}

uint32_t profile__stack_depth(const struct profile *p, size_t i)
{
	return i < p->nstacks ? p->stacks[i].n : 0;
}

void profile__stack(const struct profile *p, size_t i, const uint32_t **frames,
		    uint32_t *n, uint64_t *count)
{
	const struct pstack *s = &p->stacks[i];

	*frames = p->frame_ids + s->off;
	*n = s->n;
	*count = s->count;
}

uint64_t profile__total(const struct profile *p)
{
	return p->total;
}
