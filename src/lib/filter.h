/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * pprof's stack filters, for every view (issue 21):
 *
 *   --focus REGEX   keeps only the stacks with a frame that matches;
 *   --ignore REGEX  drops the stacks with a frame that matches;
 *   --hide REGEX    removes the frames that match from every stack (its
 *                   samples stay, on the frames that are left).
 *
 * A frame matches when REGEX (POSIX extended) matches its label as folded
 * stacks show it, anywhere unless anchored: "name (file:line)" for a
 * Python frame, "name_[k]" for a kernel one, the name for the others (the
 * process "python3-4242", the thread "MainThread", "[off-cpu: sleep]"); a
 * ';' in a name is matched as ';'.  --focus and --ignore look at the whole
 * stack, before --hide removes anything, as pprof does.  A stack that
 * --hide empties has no frame left to show and is left out too.
 *
 * The samples --focus and --ignore leave out are counted
 * (profile__add_filtered): percentages stay shares of the whole profile,
 * as pprof's are.
 */
#ifndef PYPROF_FILTER_H
#define PYPROF_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/profile.h"

/* The regular expressions as given; NULL: not given. */
struct filter_opts {
	const char *focus;
	const char *hide;
	const char *ignore;
};

struct filter;

/* Whether o asks for any filter. */
bool filter__wanted(const struct filter_opts *o);

/*
 * Compiles o.  NULL with errno: EINVAL with one line in err naming the
 * option and what is wrong ("invalid --focus 'a(': parentheses not
 * balanced"), or ENOMEM.
 */
struct filter *filter__new(const struct filter_opts *o, char *err,
			   size_t errlen);
void filter__free(struct filter *f);

/*
 * Applies f to the stack frames[0..*n) (frame ids of p, root first).
 * Returns 1 when the stack is kept (the hidden frames removed in place,
 * *n the frames left), 0 when it is left out, or -ENOMEM.  f remembers
 * each frame's verdict, for the profile it was last used with.
 */
int filter__stack(struct filter *f, const struct profile *p, uint32_t *frames,
		  uint32_t *n);

/*
 * A new profile holding in's stacks through f: the kept ones, without
 * their hidden frames, and in its filtered count the samples left out
 * (in's own filtered count included).  First lines are kept; a timeline
 * is not.  NULL with errno (ENOMEM).
 */
struct profile *filter__profile(struct filter *f, const struct profile *in);

/*
 * For the commands that read a profile: replaces *p by a copy through
 * the filters o asks for (nothing when it asks for none).  0, -EINVAL
 * (an expression that does not compile: args__filter checks them first),
 * or -ENOMEM; *p is unchanged on failure.
 */
int filter__apply(const struct filter_opts *o, struct profile **p);

#endif /* PYPROF_FILTER_H */
