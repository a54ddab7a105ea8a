// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "lib/filter.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"
#include "lib/hashmap.h"
#include "out/util.h"

enum {
	F_FOCUS,
	F_HIDE,
	F_IGNORE,
	F__MAX,
};

static const char *const opt_names[F__MAX] = { "--focus", "--hide",
					       "--ignore" };

/* A frame's verdict, cached per frame id: which expressions match it. */
enum {
	V_KNOWN = 1 << 0,
	V_FOCUS = 1 << 1,
	V_HIDE = 1 << 2,
	V_IGNORE = 1 << 3,
};

struct filter {
	regex_t re[F__MAX];
	bool have[F__MAX];
	const struct profile *prof; /* what verdict[] is about */
	uint8_t *verdict; /* per frame id */
	size_t cap;
};

bool filter__wanted(const struct filter_opts *o)
{
	return o && (o->focus || o->hide || o->ignore);
}

struct filter *filter__new(const struct filter_opts *o, char *err,
			   size_t errlen)
{
	const char *src[F__MAX] = { o->focus, o->hide, o->ignore };
	struct filter *f = calloc(1, sizeof(*f));

	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (int i = 0; i < F__MAX; i++) {
		char msg[256];
		int rc;

		if (!src[i])
			continue;
		rc = regcomp(&f->re[i], src[i], REG_EXTENDED | REG_NOSUB);
		if (rc) {
			regerror(rc, &f->re[i], msg, sizeof(msg));
			snprintf(err, errlen,
				 "invalid %s '%s': %s: give a POSIX extended "
				 "regular expression",
				 opt_names[i], src[i], msg);
			filter__free(f);
			errno = EINVAL;
			return NULL;
		}
		f->have[i] = true;
	}
	return f;
}

void filter__free(struct filter *f)
{
	if (!f)
		return;
	for (int i = 0; i < F__MAX; i++)
		if (f->have[i])
			regfree(&f->re[i]);
	free(f->verdict);
	free(f);
}

/* Which expressions match frame id of p (V_*), or -ENOMEM. */
static int verdict(struct filter *f, const struct profile *p, uint32_t id)
{
	const struct pframe *fr = profile__frame_get(p, id);
	size_t old = f->cap;
	char *label;
	int v = V_KNOWN;

	if (f->prof != p) {
		if (f->cap)
			memset(f->verdict, 0, f->cap);
		f->prof = p;
	}
	if (id < f->cap && (f->verdict[id] & V_KNOWN))
		return f->verdict[id];
	if (grow__reserve((void **)&f->verdict, &f->cap, (size_t)id + 1, 1))
		return -ENOMEM;
	memset(f->verdict + old, 0, f->cap - old);
	if (!fr)
		return f->verdict[id] = V_KNOWN;
	label = out__label(p, fr);
	if (!label)
		return -ENOMEM;
	for (int i = 0; i < F__MAX; i++)
		if (f->have[i] && regexec(&f->re[i], label, 0, NULL, 0) == 0)
			v |= V_FOCUS << i;
	free(label);
	return f->verdict[id] = (uint8_t)v;
}

int filter__stack(struct filter *f, const struct profile *p, uint32_t *frames,
		  uint32_t *n)
{
	bool focused = !f->have[F_FOCUS];
	uint32_t kept = 0;
	int v;

	for (uint32_t i = 0; i < *n; i++) {
		v = verdict(f, p, frames[i]);
		if (v < 0)
			return v;
		if (v & V_IGNORE)
			return 0;
		focused |= (v & V_FOCUS) != 0;
	}
	if (!focused)
		return 0;
	if (!f->have[F_HIDE])
		return 1;
	for (uint32_t i = 0; i < *n; i++)
		if (!(verdict(f, p, frames[i]) & V_HIDE))
			frames[kept++] = frames[i];
	*n = kept;
	return kept > 0;
}

/* The copy of frame id of in, in out (ids cached in map). */
static int64_t copy_frame(struct profile *out, const struct profile *in,
			  uint32_t id, struct hashmap *map)
{
	const struct pframe *fr = profile__frame_get(in, id);
	uint64_t v;
	uint32_t name, file = 0;
	int64_t nid;

	if (hashmap__get(map, (uint64_t)id + 1, &v))
		return (int64_t)v;
	if (!fr)
		return -EINVAL;
	name = profile__intern_str(out, profile__string(in, fr->name));
	if (fr->file)
		file = profile__intern_str(out, profile__string(in, fr->file));
	if ((!name && fr->name) || (!file && fr->file))
		return -ENOMEM;
	nid = profile__frame(out, fr->kind, name, file, fr->line);
	if (nid < 0)
		return nid;
	if (profile__first_line(in, id) >= 0 &&
	    profile__set_first_line(out, (uint32_t)nid,
				    profile__first_line(in, id)))
		return -ENOMEM;
	if (hashmap__set(map, (uint64_t)id + 1, (uint64_t)nid))
		return -ENOMEM;
	return nid;
}

struct profile *filter__profile(struct filter *f, const struct profile *in)
{
	struct profile *out = profile__new();
	struct hashmap map = {}; /* in's frame id + 1 -> out's */
	uint32_t *buf = NULL;
	size_t cap = 0;
	int err = 0;

	if (!out)
		return NULL;
	profile__add_filtered(out, profile__filtered(in));
	for (size_t i = 0; i < profile__nstacks(in) && !err; i++) {
		const uint32_t *fr;
		uint32_t n;
		uint64_t count;
		int keep;

		profile__stack(in, i, &fr, &n, &count);
		if (!n || !count)
			continue;
		if (grow__reserve((void **)&buf, &cap, n, sizeof(*buf))) {
			err = -ENOMEM;
			break;
		}
		memcpy(buf, fr, n * sizeof(*buf));
		keep = filter__stack(f, in, buf, &n);
		if (keep < 0) {
			err = keep;
			break;
		}
		if (!keep) {
			profile__add_filtered(out, count);
			continue;
		}
		for (uint32_t j = 0; j < n && !err; j++) {
			int64_t id = copy_frame(out, in, buf[j], &map);

			if (id < 0)
				err = (int)id;
			else
				buf[j] = (uint32_t)id;
		}
		if (!err)
			err = profile__add(out, buf, n, count);
	}
	free(buf);
	hashmap__free(&map);
	if (err) {
		profile__free(out);
		errno = -err;
		return NULL;
	}
	return out;
}

int filter__apply(const struct filter_opts *o, struct profile **p)
{
	struct filter *f;
	struct profile *out;
	char err[256];

	if (!filter__wanted(o))
		return 0;
	f = filter__new(o, err, sizeof(err));
	if (!f)
		return -errno;
	out = filter__profile(f, *p);
	filter__free(f);
	if (!out)
		return -errno;
	profile__free(*p);
	*p = out;
	return 0;
}
