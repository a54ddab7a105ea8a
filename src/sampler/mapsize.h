/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * How big each BPF map is.  Kernel memory for maps is allocated whole when
 * they are created (hash maps are preallocated: the sampler runs in
 * interrupt context) and RSS does not show it, so each map is sized from
 * what the run can put in it: samples a buffer holds (-F x CPUs x
 * --interval), segments a sample stores (--max-depth), processes and their
 * threads (the targets, or the whole host with -a).  --map-scale N doubles
 * every sized map N times.  When one fills anyway, the summary names it,
 * its size and the option that raises it (mapsize__print_full).
 */
#ifndef PYPROF_MAPSIZE_H
#define PYPROF_MAPSIZE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* --map-scale: at most 2^MAPSIZE_SCALE_MAX times the default sizes. */
#define MAPSIZE_SCALE_MAX 8

/* The maps sized per run (the others are fixed in bpf/maps.bpf.h); a
 * map of both buffers (counts0 and counts1) once. */
enum map_id {
	MAP_TARGETS,
	MAP_GIL_CFGS,
	MAP_TSTATE_CACHE,
	MAP_FOLLOW,
	MAP_PROBE,
	MAP_COUNTS, /* per buffer */
	MAP_STACKS, /* per buffer */
	MAP_KSTACKS, /* per buffer */
	MAP_ANNOUNCED,
	MAP_OFFCPU,
	MAP_OFF_STACKS,
	MAP_EVENTS, /* bytes, a power of two */
	MAP_REST_TSTATES, /* wall mode: the at_rest iterator's index */
	MAP_TIMELINE, /* bytes, a power of two (issue 21) */
	MAP_ASYNC_CFGS, /* --async (issue 23) */
	MAP__N,
};

/* What the sizes come from. */
struct mapsize_in {
	unsigned freq; /* -F */
	double interval; /* --interval, seconds (0: 1) */
	unsigned ncpus; /* online CPUs sampled */
	unsigned max_depth; /* --max-depth */
	unsigned ntargets; /* processes attached before the start */
	bool open_ended; /* -a: any process of the host may become one */
	bool follow; /* --children, -- COMMAND: their descendants may */
	bool wall, gil, kernel, native;
	bool timeline; /* each sample's time is sent (issue 21) */
	bool async; /* --async: the targets' asyncio offsets (issue 23) */
	unsigned scale; /* --map-scale */
};

struct map_plan {
	uint32_t entries[MAP__N]; /* MAP_EVENTS: bytes; 1: not used */
	uint64_t buffer_samples; /* samples one buffer is sized for */
	struct mapsize_in in;
};

/* The size of every map for a run of in. */
void mapsize__plan(const struct mapsize_in *in, struct map_plan *pl);

/* The map's name as bpf/maps.bpf.c defines it ("counts" for both). */
const char *mapsize__name(enum map_id m);

/*
 * One line for each map that filled during the run, from the sampler's
 * counters st[STAT__MAX]: which map, its size, what was lost, and how to
 * raise it.  Returns how many lines were written.
 */
int mapsize__print_full(const struct map_plan *pl, const uint64_t *st, FILE *f);

#endif /* PYPROF_MAPSIZE_H */
