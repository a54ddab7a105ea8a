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

	uint32_t *frame_ids;
	size_t ids_len, ids_cap;
	struct pstack *stacks;
	size_t nstacks, stacks_cap, stacks_max;
	struct hashmap stack_index;

	uint64_t total;

	struct ptime_event *events;
	size_t nevents, events_cap, events_max;
	uint64_t origin_ns, last_t_ns;
	uint64_t dropped_events, dropped_samples, first_drop_ns;
};

struct profile *profile__new(void)
{
	struct profile *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->events_max = PROFILE_TIMELINE_MAX;
	p->stacks_max = SIZE_MAX;
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
	free(p->frame_ids);
	free(p->stacks);
	hashmap__free(&p->stack_index);
	free(p->events);
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
	if (p->nstacks >= p->stacks_max)
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

int profile__add_stack(struct profile *p, const uint32_t *frames, uint32_t n,
		       uint64_t count, size_t *idx)
{
	return add_stack(p, frames, n, count, idx);
}

int profile__add_at(struct profile *p, const uint32_t *frames, uint32_t n,
		    uint64_t count, uint64_t t_ns)
{
	struct ptime_event *e;
	size_t idx;
	int err;

	err = add_stack(p, frames, n, count, &idx);
	if (err)
		return err;
	if (!count)
		return 0;
	if (t_ns < p->last_t_ns)
		t_ns = p->last_t_ns;
	p->last_t_ns = t_ns;
	/* The same stack again in the same drain: one event. */
	if (p->nevents) {
		e = &p->events[p->nevents - 1];
		if (e->stack == idx && e->t_ns == t_ns) {
			e->count += count;
			return 0;
		}
	}
	if (p->nevents >= p->events_max || idx > UINT32_MAX) {
		if (!p->dropped_events)
			p->first_drop_ns = t_ns;
		p->dropped_events++;
		p->dropped_samples += count;
		return 0;
	}
	if (grow__reserve((void **)&p->events, &p->events_cap, p->nevents + 1,
			  sizeof(*e)))
		return -ENOMEM;
	e = &p->events[p->nevents++];
	e->stack = (uint32_t)idx;
	e->reserved = 0;
	e->t_ns = t_ns;
	e->count = count;
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

void profile__timeline_dropped(const struct profile *p, uint64_t *events,
			       uint64_t *samples, uint64_t *first_t_ns)
{
	*events = p->dropped_events;
	*samples = p->dropped_samples;
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
