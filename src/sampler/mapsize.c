// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "sampler/mapsize.h"

#include <inttypes.h>
#include <linux/types.h>
#include <string.h>
#include <unistd.h>

#include "bpf/pyprof_shared.h"

/*
 * Bounds before --map-scale, in entries.  A buffer's maps hold what one
 * --interval brings; the floors keep a slow machine's late drain and a
 * burst of new stacks at start-up in; the caps keep a mistaken -F or
 * --interval from asking the kernel for gigabytes.
 */
#define COUNTS_MIN 2048u
#define STACKS_MIN 4096u
#define BUF_MAX (1u << 20)
/* New segments a sample may store, on average: a stack of 64 frames,
 * each sample a new one.  A stack already stored in the interval stores
 * nothing more, and an interval has far fewer distinct deep stacks than
 * samples; a workload that has more fills the map, which says so. */
#define SEGS_PER_SAMPLE 2u
/* Threads of a target whose thread state is cached, off-CPU records and
 * off-CPU stack segments per target; and in all when any number of
 * processes may come (-a, followed children). */
#define TSTATE_PER_TARGET 512u
#define TSTATE_MIN 4096u
#define TSTATE_ALL 16384u
#define OFFCPU_PER_TARGET 1024u
#define OFFCPU_MIN 4096u
#define OFFCPU_ALL 32768u
#define OFF_STACKS_PER_TARGET 2048u
#define OFF_STACKS_ALL 16384u
#define PER_PROCESS_MAX 65536u
/* Discovery: verdicts on processes (-a: every process that runs), and
 * the processes followed for their children. */
#define PROBE_ALL 16384u
#define PROBE_FOLLOW 4096u
#define FOLLOW_MAX 16384u
/* Kernel stacks: a stack trace map is a table of buckets (1 KiB each:
 * 127 frames), a stack that lands in a taken bucket is lost
 * (kstack_collided): twice the buffer's samples, and 8192 at least (a
 * few hundred distinct kernel stacks an interval collide ~5 % at most),
 * keep those rare. */
#define KSTACKS_PER_SAMPLE 2u
#define KSTACKS_MIN 8192u
#define KSTACKS_MAX (1u << 18)
/* Events: new segments, threads, processes (1 MiB), or with --native
 * each sample's stack: a quarter second of samples, 4 MiB at least. */
#define EVENTS_BYTES (1u << 20)
#define NATIVE_EVENTS_MIN (4u << 20)
#define NATIVE_EVENTS_MAX (256u << 20)
#define NATIVE_EVENTS_SECONDS 0.25
/* Segments announced on the ring buffer, remembered across drains. */
/* Wall mode: thread states indexed by a run of the at_rest iterator. */
#define REST_TSTATES_MAX 16384u
/*
 * The timeline ring holds what arrives between two reads (a tick, 100 ms):
 * it is sized for half a second of samples on every CPU at -F, a record
 * and the ring's header each, within these bounds; one page when no
 * timeline is wanted.
 */
#define TIMELINE_RING_MIN (256u << 10)
#define TIMELINE_RING_MAX (64u << 20)
#define TIMELINE_RING_SECONDS 0.5
#define ANNOUNCED_PER_SEG 2u
#define ANNOUNCED_MIN 8192u

static uint64_t clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static uint32_t scaled(uint64_t v, unsigned scale)
{
	v <<= scale < MAPSIZE_SCALE_MAX ? scale : MAPSIZE_SCALE_MAX;
	return v > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)v;
}

static uint64_t pow2_at_least(uint64_t v)
{
	uint64_t p = 1;

	while (p < v && p < (1ull << 40))
		p <<= 1;
	return p;
}

void mapsize__plan(const struct mapsize_in *in, struct map_plan *pl)
{
	double interval = in->interval > 0 ? in->interval : 1.0;
	unsigned ncpus = in->ncpus ? in->ncpus : 1;
	unsigned s = in->scale;
	/* Processes, and threads, the run may meet. */
	bool open = in->open_ended || in->follow;
	uint64_t nt = in->ntargets ? in->ntargets : 1;
	uint64_t segs = (in->max_depth + PY_SEG_FRAMES - 1) / PY_SEG_FRAMES;
	uint64_t buf, stacks;
	double samples;

	memset(pl, 0, sizeof(*pl));
	pl->in = *in;
	/* Every CPU on a target for one interval, and once more for a drain
	 * that comes late (a busy machine, a slow --native symbolising). */
	samples = (double)in->freq * ncpus * interval * 2.0;
	buf = samples < 1 ? 1 : samples > BUF_MAX ? BUF_MAX : (uint64_t)samples;
	pl->buffer_samples = buf;
	if (segs > SEGS_PER_SAMPLE)
		segs = SEGS_PER_SAMPLE;
	if (!segs)
		segs = 1;

	pl->entries[MAP_COUNTS] = scaled(
		clamp(buf + (in->wall ? (open ? OFFCPU_ALL :
						clamp(nt * OFFCPU_PER_TARGET,
						      OFFCPU_MIN,
						      PER_PROCESS_MAX)) :
					0),
		      COUNTS_MIN, BUF_MAX),
		s);
	stacks = scaled(clamp(buf * segs, STACKS_MIN, BUF_MAX), s);
	pl->entries[MAP_STACKS] = (uint32_t)stacks;
	pl->entries[MAP_ANNOUNCED] = scaled(clamp(stacks * ANNOUNCED_PER_SEG,
						  ANNOUNCED_MIN, 2 * BUF_MAX),
					    0);
	/* The targets map is the limit on processes userspace enforces
	 * too: never scaled, never below it when processes may join. */
	pl->entries[MAP_TARGETS] =
		open ? PYPROF_TARGETS_MAX :
		       (uint32_t)clamp(nt, 16, PYPROF_TARGETS_MAX);
	pl->entries[MAP_GIL_CFGS] = in->gil ? pl->entries[MAP_TARGETS] : 1;
	pl->entries[MAP_ASYNC_CFGS] = in->async ? pl->entries[MAP_TARGETS] : 1;
	pl->entries[MAP_TSTATE_CACHE] =
		scaled(open ? TSTATE_ALL :
			      clamp(nt * TSTATE_PER_TARGET, TSTATE_MIN,
				    PER_PROCESS_MAX),
		       s);
	pl->entries[MAP_PROBE] = in->open_ended ? scaled(PROBE_ALL, s) :
				 in->follow	? scaled(PROBE_FOLLOW, s) :
						  1;
	pl->entries[MAP_FOLLOW] = in->follow ? scaled(FOLLOW_MAX, s) : 1;
	pl->entries[MAP_KSTACKS] =
		in->kernel ?
			scaled(pow2_at_least(clamp(buf * KSTACKS_PER_SAMPLE,
						   KSTACKS_MIN, KSTACKS_MAX)),
			       s) :
			1;
	pl->entries[MAP_OFFCPU] =
		in->wall ? scaled(open ? OFFCPU_ALL :
					 clamp(nt * OFFCPU_PER_TARGET,
					       OFFCPU_MIN, PER_PROCESS_MAX),
				  s) :
			   1;
	pl->entries[MAP_OFF_STACKS] =
		in->wall ? scaled(open ? OFF_STACKS_ALL :
					 clamp(nt * OFF_STACKS_PER_TARGET,
					       STACKS_MIN, PER_PROCESS_MAX),
				  s) :
			   1;
	if (in->native) {
		double bytes = (double)in->freq * ncpus *
			       NATIVE_EVENTS_SECONDS *
			       (double)sizeof(struct native_event);

		pl->entries[MAP_EVENTS] = scaled(
			pow2_at_least(clamp((uint64_t)bytes, NATIVE_EVENTS_MIN,
					    NATIVE_EVENTS_MAX)),
			s);
	} else {
		pl->entries[MAP_EVENTS] = scaled(EVENTS_BYTES, s);
	}
	pl->entries[MAP_REST_TSTATES] = in->wall ? REST_TSTATES_MAX : 1;
	if (in->timeline) {
		double bytes = (double)in->freq * ncpus *
			       TIMELINE_RING_SECONDS *
			       (double)(sizeof(struct timeline_rec) + 8);

		pl->entries[MAP_TIMELINE] = scaled(
			pow2_at_least(clamp((uint64_t)bytes, TIMELINE_RING_MIN,
					    TIMELINE_RING_MAX)),
			s);
	} else {
		pl->entries[MAP_TIMELINE] = (uint32_t)sysconf(_SC_PAGESIZE);
	}
}

static const char *const names[MAP__N] = {
	[MAP_TARGETS] = "targets",
	[MAP_GIL_CFGS] = "gil_cfgs",
	[MAP_TSTATE_CACHE] = "tstate_cache",
	[MAP_FOLLOW] = "follow",
	[MAP_PROBE] = "probe",
	[MAP_COUNTS] = "counts",
	[MAP_STACKS] = "stacks",
	[MAP_KSTACKS] = "kstacks",
	[MAP_ANNOUNCED] = "announced",
	[MAP_OFFCPU] = "offcpu",
	[MAP_OFF_STACKS] = "off_stacks",
	[MAP_EVENTS] = "events",
	[MAP_REST_TSTATES] = "rest_tstates",
	[MAP_TIMELINE] = "timeline",
	[MAP_ASYNC_CFGS] = "async_cfgs",
};

const char *mapsize__name(enum map_id m)
{
	return (unsigned)m < MAP__N ? names[m] : "?";
}

/* A counter that says a map was full, what it lost, and what the map
 * holds. */
static const struct {
	unsigned stat;
	enum map_id map;
	const char *lost; /* what the counter counts */
	const char *holds; /* what an entry is */
	const char *from; /* what its size comes from */
} full[] = {
	{ STAT_LOST_COUNTS, MAP_COUNTS, "samples lost",
	  "(thread, stack) pairs per --interval", "-F, CPUs and --interval" },
	{ STAT_LOST_STACKS, MAP_STACKS, "samples lost",
	  "Python stack segments (32 frames) per --interval",
	  "-F, CPUs, --interval and --max-depth" },
	{ STAT_KSTACK_LOST, MAP_KSTACKS, "kernel stacks lost",
	  "kernel stacks per --interval", "-F, CPUs and --interval" },
	{ STAT_KSTACK_COLLIDED, MAP_KSTACKS,
	  "kernel stacks lost to a taken bucket",
	  "kernel stacks per --interval", "-F, CPUs and --interval" },
	{ STAT_OFFCPU_LOST, MAP_OFFCPU, "off-CPU intervals lost",
	  "threads off-CPU at once", "the number of processes" },
	{ STAT_FORK_UNFOLLOWED, MAP_FOLLOW, "forks not followed",
	  "processes followed", "a fixed size" },
	{ STAT_EVENTS_LOST, MAP_EVENTS, "events lost",
	  "bytes of events not yet read", "-F and CPUs with --native" },
	{ STAT_TIMELINE_LOST, MAP_TIMELINE,
	  "samples missing from the timeline (still in the profile)",
	  "bytes of timeline records not yet read",
	  "-F and CPUs with a timeline" },
	{ STAT_NATIVE_LOST, MAP_EVENTS,
	  "--native samples sent without their stack",
	  "bytes of events not yet read", "-F and CPUs with --native" },
};

int mapsize__print_full(const struct map_plan *pl, const uint64_t *st, FILE *f)
{
	unsigned next = pl->in.scale + 1;
	int n = 0;

	for (size_t i = 0; i < sizeof(full) / sizeof(full[0]); i++) {
		uint64_t v = st[full[i].stat];
		enum map_id m = full[i].map;

		if (!v)
			continue;
		n++;
		fprintf(f,
			"pyprof-bpf: the %s map was full: %" PRIu64
			" %s; it holds %" PRIu32 " %s, sized from %s",
			names[m], v, full[i].lost, pl->entries[m],
			full[i].holds,
			m == MAP_EVENTS && !pl->in.native ? "nothing (1 MiB)" :
							    full[i].from);
		if (next <= MAPSIZE_SCALE_MAX)
			fprintf(f,
				": rerun with --map-scale %u to double it "
				"(and every map sized per run)\n",
				next);
		else
			fprintf(f, " (at the largest --map-scale)\n");
	}
	/* Targets: the limit on processes, not a size to raise. */
	if (st[STAT_FORK_UNTARGETED]) {
		n++;
		fprintf(f,
			"pyprof-bpf: the targets map was full: %" PRIu64
			" forks not sampled from their start; pyprof-bpf "
			"profiles at most %u processes at once\n",
			st[STAT_FORK_UNTARGETED], PYPROF_TARGETS_MAX);
	}
	return n;
}
