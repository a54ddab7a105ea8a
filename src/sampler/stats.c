// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "sampler/stats.h"

#include <inttypes.h>

/* PYPROF_STATS, expanded in enum order: the table cannot drift from the
 * enum the BPF programs index the stats map with. */
static const struct {
	const char *name;
	const char *desc;
	unsigned show; /* enum stat_show, | STAT_SHOW_ZERO */
} stats[STAT__MAX] = {
#define STAT_ROW(e, name, desc, show) [e] = { name, desc, show },
	PYPROF_STATS(STAT_ROW)
#undef STAT_ROW
};

const char *stats__name(unsigned i)
{
	return i < STAT__MAX ? stats[i].name : NULL;
}

const char *stats__desc(unsigned i)
{
	return i < STAT__MAX ? stats[i].desc : NULL;
}

enum stat_show stats__show(unsigned i)
{
	return i < STAT__MAX ? stats[i].show & STAT_SHOW_WHERE :
			       STAT_SHOW_VERBOSE;
}

uint64_t stats__lost(const uint64_t *s)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < STAT__MAX; i++)
		if ((stats[i].show & STAT_SHOW_WHERE) == STAT_SHOW_LOST)
			n += s[i];
	return n;
}

int stats__print(FILE *f, const uint64_t *s, enum stat_show where,
		 const char *lead)
{
	int n = 0;

	for (unsigned i = 0; i < STAT__MAX; i++) {
		if ((stats[i].show & STAT_SHOW_WHERE) != where ||
		    (!s[i] && !(stats[i].show & STAT_SHOW_ZERO)))
			continue;
		fprintf(f, "%s%s %" PRIu64, n ? ", " : lead, stats[i].desc,
			s[i]);
		n++;
	}
	return n;
}

void stats__print_all(FILE *f, const uint64_t *s, const char *prefix)
{
	for (unsigned i = 0; i < STAT__MAX; i++)
		fprintf(f, "%s%-16s %10" PRIu64 "  %s\n", prefix, stats[i].name,
			s[i], stats[i].desc);
}
