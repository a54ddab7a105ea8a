// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * src/sampler/mapsize.c: the maps' sizes follow -F, --interval,
 * --max-depth, the targets and the mode; --map-scale doubles them; a map
 * a mode does not use has one entry; a full map is named with its size
 * and the option that raises it.
 */
#include "unit.h"

#include <linux/types.h>
#include <stdlib.h>

#include "bpf/pyprof_shared.h"
#include "sampler/mapsize.h"

/* One target, 99 Hz, 2 CPUs, every second, 1024 frames: the default. */
static struct mapsize_in defaults(void)
{
	return (struct mapsize_in){ .freq = 99,
				    .interval = 1.0,
				    .ncpus = 2,
				    .max_depth = PY_DEFAULT_MAX_DEPTH,
				    .ntargets = 1 };
}

/* Bytes a preallocated hash map of n entries holds, roughly (the
 * kernel's htab_elem header, key and value rounded to 8). */
static uint64_t hash_bytes_of(uint64_t n, uint64_t key, uint64_t val)
{
	return n * (48 + ((key + 7) & ~7ull) + ((val + 7) & ~7ull));
}

/* The default run's maps, in bytes, as the kernel charges them give or
 * take its bookkeeping (the e2e test reads the real figure). */
static uint64_t estimate(const struct map_plan *p)
{
	const uint32_t *e = p->entries;

	return hash_bytes_of(e[MAP_TARGETS], 4, sizeof(struct py_proc_cfg)) +
	       hash_bytes_of(e[MAP_TSTATE_CACHE], 4,
			     sizeof(struct tstate_entry)) +
	       hash_bytes_of(e[MAP_PROBE], 4, 8) +
	       hash_bytes_of(e[MAP_FOLLOW], 4, 4) +
	       2 * hash_bytes_of(e[MAP_COUNTS], sizeof(struct sample_key), 8) +
	       2 * hash_bytes_of(e[MAP_STACKS], 8, sizeof(struct py_seg)) +
	       hash_bytes_of(e[MAP_ANNOUNCED], 8, 1) + e[MAP_EVENTS];
}

TEST(mapsize_default_is_small)
{
	struct mapsize_in in = defaults();
	struct map_plan p;

	mapsize__plan(&in, &p);
	CHECK_INT(p.buffer_samples, 99 * 2 * 2);
	CHECK_INT(p.entries[MAP_COUNTS], 2048);
	CHECK_INT(p.entries[MAP_STACKS], 4096);
	CHECK_INT(p.entries[MAP_TARGETS], 16);
	/* What cpu mode on -p does not use costs one entry. */
	CHECK_INT(p.entries[MAP_KSTACKS], 1);
	CHECK_INT(p.entries[MAP_OFFCPU], 1);
	CHECK_INT(p.entries[MAP_OFF_STACKS], 1);
	CHECK_INT(p.entries[MAP_GIL_CFGS], 1);
	CHECK_INT(p.entries[MAP_ASYNC_CFGS], 1);
	CHECK_INT(p.entries[MAP_PROBE], 1);
	CHECK_INT(p.entries[MAP_FOLLOW], 1);
	CHECK_INT(p.entries[MAP_EVENTS], 1 << 20);
	CHECK(estimate(&p) <= 16ull << 20);
}

TEST(mapsize_follows_freq_interval_depth)
{
	struct mapsize_in in = defaults();
	struct map_plan a, b;

	in.freq = 999;
	mapsize__plan(&in, &a);
	CHECK_INT(a.buffer_samples, 999 * 2 * 2);
	CHECK_INT(a.entries[MAP_COUNTS], 999 * 4);
	/* Two new segments a sample at most: 64 frames. */
	CHECK_INT(a.entries[MAP_STACKS], 999 * 4 * 2);
	CHECK(estimate(&a) <= 16ull << 20);
	in.interval = 2.0;
	mapsize__plan(&in, &b);
	CHECK_INT(b.entries[MAP_COUNTS], 2 * a.entries[MAP_COUNTS]);
	/* A shallow --max-depth needs one segment a sample. */
	in.interval = 1.0;
	in.max_depth = 32;
	mapsize__plan(&in, &b);
	CHECK_INT(b.entries[MAP_STACKS], 4096); /* 3996, and the floor */
	/* A mistaken rate never asks for gigabytes. */
	in.freq = 10000;
	in.ncpus = 4096;
	in.interval = 3600;
	mapsize__plan(&in, &b);
	CHECK(b.entries[MAP_COUNTS] <= 1u << 20);
	CHECK(b.entries[MAP_STACKS] <= 1u << 20);
}

TEST(mapsize_modes_and_targets)
{
	struct mapsize_in in = defaults();
	struct map_plan p;

	in.open_ended = true; /* -a */
	mapsize__plan(&in, &p);
	CHECK_INT(p.entries[MAP_TARGETS], PYPROF_TARGETS_MAX);
	CHECK(p.entries[MAP_PROBE] > 1);
	CHECK_INT(p.entries[MAP_FOLLOW], 1);
	in = defaults();
	in.follow = true; /* -- COMMAND */
	in.ntargets = 0;
	mapsize__plan(&in, &p);
	CHECK_INT(p.entries[MAP_TARGETS], PYPROF_TARGETS_MAX);
	CHECK(p.entries[MAP_FOLLOW] > 1);
	in = defaults();
	in.wall = in.gil = in.kernel = in.async = true;
	mapsize__plan(&in, &p);
	CHECK(p.entries[MAP_OFFCPU] >= 4096);
	CHECK(p.entries[MAP_OFF_STACKS] >= 4096);
	CHECK_INT(p.entries[MAP_GIL_CFGS], p.entries[MAP_TARGETS]);
	CHECK_INT(p.entries[MAP_ASYNC_CFGS], p.entries[MAP_TARGETS]);
	/* A stack trace map is a power of two of buckets. */
	CHECK(p.entries[MAP_KSTACKS] >= 8192 &&
	      !(p.entries[MAP_KSTACKS] & (p.entries[MAP_KSTACKS] - 1)));
	/* More targets, more threads. */
	in.ntargets = 64;
	{
		struct map_plan q;

		mapsize__plan(&in, &q);
		CHECK(q.entries[MAP_TSTATE_CACHE] >
		      p.entries[MAP_TSTATE_CACHE]);
		CHECK(q.entries[MAP_OFFCPU] > p.entries[MAP_OFFCPU]);
		CHECK_INT(q.entries[MAP_TARGETS], 64);
	}
	/* --native: the ring buffer holds a quarter second of samples, a
	 * power of two of bytes. */
	in = defaults();
	in.native = true;
	in.freq = 999;
	mapsize__plan(&in, &p);
	CHECK(p.entries[MAP_EVENTS] >=
	      999 * 2 / 4 * sizeof(struct native_event));
	CHECK(!(p.entries[MAP_EVENTS] & (p.entries[MAP_EVENTS] - 1)));
}

TEST(mapsize_scale_doubles)
{
	struct mapsize_in in = defaults();
	struct map_plan a, b;

	mapsize__plan(&in, &a);
	in.scale = 3;
	mapsize__plan(&in, &b);
	CHECK_INT(b.entries[MAP_COUNTS], 8 * a.entries[MAP_COUNTS]);
	CHECK_INT(b.entries[MAP_STACKS], 8 * a.entries[MAP_STACKS]);
	CHECK_INT(b.entries[MAP_EVENTS], 8 * a.entries[MAP_EVENTS]);
	/* The targets map is the process limit: never scaled. */
	CHECK_INT(b.entries[MAP_TARGETS], a.entries[MAP_TARGETS]);
	/* Unused maps stay at one entry. */
	CHECK_INT(b.entries[MAP_OFFCPU], 1);
}

TEST(mapsize_full_map_says_which_and_how)
{
	struct mapsize_in in = defaults();
	uint64_t st[STAT__MAX] = { 0 };
	struct map_plan p;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	mapsize__plan(&in, &p);
	f = open_memstream(&buf, &len);
	REQUIRE(f);
	CHECK_INT(mapsize__print_full(&p, st, f), 0);
	st[STAT_LOST_STACKS] = 12;
	st[STAT_FORK_UNTARGETED] = 1;
	CHECK_INT(mapsize__print_full(&p, st, f), 2);
	fclose(f);
	CHECK(strstr(buf, "the stacks map was full: 12 samples lost") != NULL);
	CHECK(strstr(buf, "holds 4096 Python stack segments") != NULL);
	CHECK(strstr(buf, "--map-scale 1") != NULL);
	CHECK(strstr(buf, "at most 4096 processes") != NULL);
	free(buf);
	/* At the largest scale there is nothing to raise. */
	in.scale = MAPSIZE_SCALE_MAX;
	mapsize__plan(&in, &p);
	buf = NULL;
	f = open_memstream(&buf, &len);
	REQUIRE(f);
	st[STAT_FORK_UNTARGETED] = 0;
	mapsize__print_full(&p, st, f);
	fclose(f);
	CHECK(strstr(buf, "--map-scale") == NULL ||
	      strstr(buf, "largest --map-scale") != NULL);
	free(buf);
}
