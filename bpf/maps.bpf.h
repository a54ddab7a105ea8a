/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The maps and tunables the BPF programs share, declared for all of them.
 *
 * Each .bpf.c file of bpf/ is compiled alone; `bpftool gen object` links them into
 * one object, build/pyprof.bpf.o, so that userspace has one skeleton and
 * the programs one set of maps.  A map's shape is written once, as a
 * typedef here; bpf/maps.bpf.c defines every map and tunable from these
 * declarations, and the linker resolves the other files' extern ones to
 * those definitions.
 *
 * Userspace sets the size of every map that depends on the run with
 * bpf_map__set_max_entries before load (src/sampler/mapsize.c: from -F,
 * the CPUs, --interval, --max-depth, the targets and the mode; one entry
 * for a map the mode does not use): the sizes written here are only
 * placeholders for those.
 */
#ifndef PYPROF_MAPS_BPF_H
#define PYPROF_MAPS_BPF_H

#include "vmlinux.h"

#include <bpf/bpf_helpers.h>

#include "pyprof_shared.h"

/* ---- Tunables: const volatile, set by userspace between open and load ---- */

extern const volatile __u32 max_depth; /* --max-depth */
extern const volatile __u32 max_threads_walk; /* PY_MAX_THREADS_WALK */
/* PYPROF_DISCOVER_*: which non-targets to announce to userspace. */
extern const volatile __u32 discover;
/*
 * When pyprof-bpf runs inside a PID namespace, pids are those of that
 * namespace (its /proc shows no others): pidns_ino/pidns_dev name it.
 * Both 0 in the host's.
 */
extern const volatile __u64 pidns_dev;
extern const volatile __u64 pidns_ino;
/* pyprof-bpf's own process: never discovered. */
extern const volatile __u32 self_pid;
/* NATIVE_MODE_*: kernel stacks (--kernel), user stacks (--native). */
extern const volatile __u32 native_mode;
/* --mode wall (bpf/offcpu.bpf.c), and --gil. */
extern const volatile __u32 offcpu_enabled;
extern const volatile __u32 gil_enabled;
/* A timeline is wanted: each sample and off-CPU span is also sent, with
 * its time, on the timeline ring buffer (issue 21). */
extern const volatile __u32 timeline_enabled;
/* --async: task pseudo-frames (issue 23; see SAMPLE_F_TASK). */
extern const volatile __u32 async_enabled;

/* How many times userspace has flipped the buffers to drain one: samples
 * go to buffer active_buf & 1.  The count tells a buffer's contents apart
 * from its contents before its last drain (struct walk's seg_memo). */
extern __u32 active_buf;
/* Entries userspace put in interp_files (0: skip looking). */
extern __u32 interp_files_n;
/* Set by userspace when the run ends (sampler__stop): nothing is sampled
 * or recognised after its last drain, so that every sample counted as
 * taken is drained (a process the sampler recognised, or a forked child
 * it added, would otherwise still be sampled). */
extern __u32 sampling_stopped;

/* Changes of the targets map: each writer of it, BPF or userspace, adds 1
 * after its change, so that a copy of a config taken before (struct walk's
 * cfg_memo) is known stale. */
extern __u64 targets_gen;

/* ---- Maps ---- */

/* Processes sampled, and how to walk their stacks. */
typedef struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYPROF_TARGETS_MAX);
	__type(key, __u32); /* tgid */
	__type(value, struct py_proc_cfg);
} targets_map_t;
extern targets_map_t targets SEC(".maps");

/* Where each thread's PyThreadState is, or why it has none. */
typedef struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32); /* tid */
	__type(value, struct tstate_entry);
} tstate_cache_map_t;
extern tstate_cache_map_t tstate_cache SEC(".maps");

/* Processes whose children are followed (--children, `-- cmd`): a fork
 * adds the child, an exit removes it (userspace). */
typedef struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tgid */
	__type(value, __u32); /* parent tgid */
} follow_map_t;
extern follow_map_t follow SEC(".maps");

/*
 * Processes announced for discovery, and when they may be announced again
 * (PYPROF_PROBE_NEVER once userspace has decided).  An exec forgets the
 * entry: a new program deserves a new look.
 */
typedef struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32); /* tgid */
	__type(value, __u64);
} probe_map_t;
extern probe_map_t probe SEC(".maps");

/* Interpreter files a process under discovery is recognised by
 * (bpf/discover.bpf.h); filled by userspace as it attaches processes. */
typedef struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, INTERP_FILES_MAX);
	__type(key, struct interp_file_key);
	__type(value, struct interp_file);
} interp_files_map_t;
extern interp_files_map_t interp_files SEC(".maps");

/* Executables whose processes run a CPython (INTERP_EXES_MAX). */
typedef struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, INTERP_EXES_MAX);
	__type(key, struct interp_file_key);
	__type(value, __u8);
} interp_exes_map_t;
extern interp_exes_map_t interp_exes SEC(".maps");

/* Samples of processes under discovery not recognised yet, per process,
 * until userspace's verdict takes them (bpf/discover.bpf.h).  LRU: the
 * counts of processes that never were Python age out. */
typedef struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tgid */
	__type(value, __u64);
} parked_map_t;
extern parked_map_t parked SEC(".maps");

/*
 * When each process last exec'd (bpf_ktime_get_ns), for userspace to tell
 * whether what it read of a process (its maps, its memory) still describes
 * it once its config is in targets: an exec in between makes that config
 * another program's.  A fork forgets the child's entry.  LRU: old ones go.
 */
typedef struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tgid */
	__type(value, __u64);
} execs_map_t;
extern execs_map_t execs SEC(".maps");

/*
 * Two buffers of counts and stack segments; see active_buf.  Preallocated:
 * the sampler runs in interrupt context, where an on-demand (NO_PREALLOC)
 * hash map fails allocations until its per-CPU cache is refilled, and a
 * failed insert is a lost sample (seen on a fresh map's first stacks).
 * A segment takes about 600 bytes of kernel memory: sized per run.
 */
typedef struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sample_key);
	__type(value, __u64);
} counts_map_t;
extern counts_map_t counts0 SEC(".maps");
extern counts_map_t counts1 SEC(".maps");

typedef struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct py_seg);
} stacks_map_t;
extern stacks_map_t stacks0 SEC(".maps");
extern stacks_map_t stacks1 SEC(".maps");

/* Kernel stacks (--kernel), one map per buffer like the counts; userspace
 * sizes them (1 entry when --kernel is off) and empties them on drain. */
typedef struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, KSTACK_MAX_DEPTH * sizeof(__u64));
} kstacks_map_t;
extern kstacks_map_t kstacks0 SEC(".maps");
extern kstacks_map_t kstacks1 SEC(".maps");

/*
 * Stacks recorded when a thread leaves the CPU (wall mode, bpf/offcpu.bpf.c):
 * the thread may come back after any number of drains, so its stack cannot
 * live in a drained buffer.  Keys are content hashes, so a segment that is
 * stored again is the same segment; LRU, so that old ones make room.  One
 * entry unless wall mode sizes it.
 */
typedef struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct py_seg);
} off_stacks_map_t;
extern off_stacks_map_t off_stacks SEC(".maps");
/* The "buffer" index of off_stacks for stacks_map(). */
#define OFF_STACKS_BUF 2

/* Threads off-CPU (wall mode): when they left, under which key. */
typedef struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32); /* tid */
	__type(value, struct offcpu_rec);
} offcpu_map_t;
extern offcpu_map_t offcpu SEC(".maps");

/*
 * The at_rest iterator's index of a target's thread states by thread_id
 * (bpf/offcpu.bpf.c), filled by one walk of its thread lists per run of the
 * iterator (rest_gen): a walk per thread at rest would cost as the square
 * of the threads.  The entry of thread_id 0 says the process was walked in
 * that run, and how it went (tstate: 0, or an enum tstate_miss).  One entry
 * unless wall mode sizes it.
 */
struct rest_key {
	__u32 pid;
	__u32 pad;
	__u64 thread_id;
};
struct rest_val {
	__u64 tstate;
	__u64 gen; /* rest_gen of the run that wrote it */
};
typedef struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, struct rest_key);
	__type(value, struct rest_val);
} rest_tstates_map_t;
extern rest_tstates_map_t rest_tstates SEC(".maps");
/* Which run of the at_rest iterator this is: userspace counts them. */
extern __u64 rest_gen;

/* Where each target's GIL is (--gil). */
typedef struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32); /* tgid */
	__type(value, struct py_gil_cfg);
} gil_cfgs_map_t;
extern gil_cfgs_map_t gil_cfgs SEC(".maps");

/* Where each target keeps its asyncio state (--async, issue 23); filled
 * once its _asyncio module is loaded.  One entry unless --async sizes it. */
typedef struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32); /* tgid */
	__type(value, struct py_async_cfg);
} async_cfgs_map_t;
extern async_cfgs_map_t async_cfgs SEC(".maps");

/* Events to userspace (struct pyprof_event_hdr and what follows it). */
typedef struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events_map_t;
extern events_map_t events SEC(".maps");

/*
 * The timeline (struct timeline_rec), apart from the events so that a
 * sample never waits for room behind a --native stack copy, and so that
 * userspace reads it without being woken for each record.  Userspace
 * sizes it (one page when no timeline is wanted).
 */
typedef struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} timeline_map_t;
extern timeline_map_t timeline SEC(".maps");

/*
 * Segments already announced on the ring buffer.  Each drain empties the
 * stacks map, so without this every segment would be announced again every
 * interval; with it, a steady workload sends no events at all.  Forgetting
 * one (LRU) only costs a repeat announcement.
 */
typedef struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} announced_map_t;
extern announced_map_t announced SEC(".maps");

/* The counters of PYPROF_STATS, per CPU. */
typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats_map_t;
extern stats_map_t stats SEC(".maps");

/* The sampler's counts not yet in a counts map, per CPU: see struct
 * count_cache. */
typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct count_cache);
} count_cache_map_t;
extern count_cache_map_t count_cache SEC(".maps");

/* Per-CPU scratch for the walk (bpf/pystack.bpf.h): too big for the
 * 512-byte BPF stack. */
#define WIN_MAX 4096
#define WALK_FP_CODES 8
/* The fingerprints kept from sample to sample where the code object
 * generation says they still hold (3.14+): see code_fingerprint(). */
#define FPC_SLOTS 256
#define FPC_WAYS 4
/* This CPU's last thread states and stack segments (see struct walk). */
#define TS_MEMO_SLOTS 16
#define SEG_MEMO_SLOTS 64
struct ts_memo {
	__u32 tid;
	__u32 pid;
	__u64 thread_id;
	__u64 tstate;
};
struct seg_memo {
	__u64 key; /* 0: empty (no segment's key is 0) */
	__u64 flip; /* active_buf when it was stored */
};
struct walk {
	struct pyprof_event ev; /* ev.seg: the segment being filled */
	__u64 hash; /* running hash of seg's frames */
	__u64 prev_key; /* key of the last segment written */
	__u64 seed; /* what the first segment's key starts from */
	__u32 flip; /* active_buf as read with buf_idx */
	__u32 pad0;

	__u64 frame; /* next frame to read */
	__u64 cframe; /* 3.11, 3.12: the _PyCFrame the first frame came from
			 (pystack.bpf.h unset_cframe), until it is read */
	__u64 code_adaptive;
	__u32 depth; /* frames recorded */
	__u32 flags; /* SAMPLE_F_* */
	__u32 read_len; /* bytes of a frame struct to read */
	__u32 buf_idx;
	__u32 lost; /* a segment could not be stored */
	__u32 entry_next; /* the next frame recorded gets PY_FRAME_F_ENTRY */
	__u32 pad1;
	/*
	 * A window of the target's memory, valid for one sample.  3.11+ keep
	 * interpreter frames on a per-thread stack of chunks, each caller
	 * below its callee; one read of the memory below a frame (down to its
	 * page start, never across into a page that may be unmapped) then
	 * holds the next frames too, instead of one read per frame.
	 */
	__u64 win_base;
	__u32 win_len;
	/* Brent's cycle detection on the frame chain: the frame compared
	 * with, steps since it was taken, and when to take a new one. */
	__u32 cyc_steps;
	__u64 cyc_frame;
	__u32 cyc_limit;
	/* --async (issue 23): the running task, where its coroutine's frame
	 * is, the fingerprint, and how many frames from the leaf are the
	 * task's (0 until that frame is met). */
	__u32 task_depth;
	__u64 task;
	__u64 task_frame;
	__u32 task_fp;
	/* The code objects whose fingerprint this walk read, and the next
	 * slot to fill: see code_fingerprint() in bpf/pystack.bpf.h. */
	__u32 fp_next;
	__u64 fp_code[WALK_FP_CODES];
	__u32 fp_val[WALK_FP_CODES];
	/* The next frame object is read with the memory below it: see
	 * walk_frame() in bpf/pystack.bpf.h. */
	__u32 win_below;
	/* 3.12, 3.14+: fingerprints kept across samples, FPC_WAYS ways of
	 * FPC_SLOTS / FPC_WAYS sets by code address.  A slot holds while its epoch is the current
	 * one; the epoch moves on when the process, the interpreter or its
	 * code object generation changes (fpc_tag, fpc_gen), which drops
	 * every slot at once.  fpc_on: this walk may use them. */
	__u32 fpc_on;
	__u64 fpc_tag;
	__u64 fpc_gen;
	__u64 fpc_epoch;
	__u64 fpc_code[FPC_SLOTS];
	__u64 fpc_epoch_of[FPC_SLOTS];
	__u32 fpc_val[FPC_SLOTS];
	/*
	 * Map lookups a sample would repeat, kept on this CPU: a lookup in
	 * a map shared by all CPUs misses the caches and the TLB (150-250
	 * ns a sample here, timed in place), where these slots are in the
	 * scratch every sample touches anyway.  cfg_memo: the config in
	 * targets of the process last sampled, cfg_pid, while targets_gen
	 * is still cfg_gen.  ts_memo: the thread state last found for a
	 * tid, by tid (checked against the thread's memory as a
	 * tstate_cache entry is; tstate_cache stays the truth).  seg_memo:
	 * segments this CPU found or stored in a stacks buffer since its
	 * last drain, by key (flip: active_buf then; a drain empties a
	 * buffer only after the next flip, when the flip no longer
	 * matches).
	 */
	struct py_proc_cfg cfg_memo;
	__u64 cfg_gen;
	__u32 cfg_pid; /* 0: none (pid 0, the idle task, is never kept) */
	__u32 pad2;
	struct ts_memo ts_memo[TS_MEMO_SLOTS];
	struct seg_memo seg_memo[SEG_MEMO_SLOTS];
	__u8 win[WIN_MAX + PY_FRAME_READ_MAX + 8];
	/* The span of a code object its fingerprint is taken from. */
	__u8 code[PY_CODE_FP_SPAN_MAX + 8];
};

typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk);
} scratch_map_t;
extern scratch_map_t scratch SEC(".maps");
/* The same for the at_rest iterator (bpf/offcpu.bpf.c), which may sleep
 * mid-walk while the sampler runs on its CPU. */
extern scratch_map_t rest_scratch SEC(".maps");

/* Per-CPU scratch for discovery (bpf/discover.bpf.h). */
#define RECOGNISE_WORDS_MAX 32
struct discover_scratch {
	__u64 words[RECOGNISE_WORDS_MAX]; /* the top of a user stack */
	struct py_proc_cfg cfg;
	struct recognised_event ev;
};

typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct discover_scratch);
} discover_scratch_map_t;
extern discover_scratch_map_t discover_scratch SEC(".maps");

/* ---- Helpers over the shared maps ---- */

/* Counts one event of kind idx (enum stat_idx). */
static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1; /* per-CPU: no other writer */
}

/* After a change of the targets map. */
static __always_inline void targets_changed(void)
{
	__sync_fetch_and_add(&targets_gen, 1);
}

/* This CPU's walk scratch, or NULL (counted as err_scratch). */
static __always_inline struct walk *scratch_get(void)
{
	__u32 zero = 0;
	struct walk *w = bpf_map_lookup_elem(&scratch, &zero);

	if (!w)
		stat_inc(STAT_ERR_SCRATCH);
	return w;
}

static __always_inline void *counts_map(__u32 buf)
{
	return buf ? (void *)&counts1 : (void *)&counts0;
}

static __always_inline void *stacks_map(__u32 buf)
{
	if (buf == OFF_STACKS_BUF)
		return (void *)&off_stacks;
	return buf ? (void *)&stacks1 : (void *)&stacks0;
}

/* Sends a fixed-size event on the ring buffer, or counts it lost. */
static __always_inline void event_send(void *ev, __u64 size)
{
	if (bpf_ringbuf_output(&events, ev, size, 0))
		stat_inc(STAT_EVENTS_LOST);
}

/* Adds value to key's count in the counts map counts; false when the map
 * had no room. */
static __always_inline bool counts_add(void *counts,
				       const struct sample_key *key,
				       __u64 value)
{
	__u64 *v;

	v = bpf_map_lookup_elem(counts, key);
	if (v) {
		__sync_fetch_and_add(v, value);
		return true;
	}
	if (bpf_map_update_elem(counts, key, &value, BPF_NOEXIST)) {
		/* Lost a race with another CPU inserting the same key? */
		v = bpf_map_lookup_elem(counts, key);
		if (!v)
			return false;
		__sync_fetch_and_add(v, value);
	}
	return true;
}

/* Adds value (1 for a sample) to key's count in buffer buf's counts map.
 * false when the map had no room (counted as lost_counts). */
static __always_inline bool count(struct sample_key *key, __u32 buf,
				  __u64 value)
{
	if (!counts_add(counts_map(buf), key, value)) {
		stat_inc(STAT_LOST_COUNTS);
		return false;
	}
	stat_inc(STAT_COUNTED);
	return true;
}

static __always_inline bool same_key(const struct sample_key *a,
				     const struct sample_key *b)
{
	return a->pid == b->pid && a->tid == b->tid &&
	       a->stack_id == b->stack_id && a->depth == b->depth &&
	       a->flags == b->flags && a->kstack == b->kstack &&
	       a->ustack == b->ustack;
}

/*
 * Counts one sample of key, taken under flip (active_buf), in this CPU's
 * count cache (struct count_cache); as count() otherwise.  The slot's
 * samples of another key go to the counts map first; if that map has no
 * room for them they stay, and this sample goes to the map, or is lost.
 */
static __always_inline bool count_sample(struct sample_key *key, __u32 flip)
{
	__u32 zero = 0, buf = flip & 1, i;
	struct count_cache *cc = bpf_map_lookup_elem(&count_cache, &zero);
	struct count_slot *s;

	if (!cc)
		return count(key, buf, 1);
	/* stack_id is a hash already; tid tells threads of one stack. */
	i = ((__u32)(key->stack_id >> 32) ^ key->tid ^ key->flags) &
	    (COUNT_CACHE_SLOTS - 1);
	s = &cc->slot[buf][i];
	if (s->n && s->flip == flip) {
		if (same_key(&s->key, key)) {
			s->n++;
			goto counted;
		}
		if (!counts_add(counts_map(buf), &s->key, s->n))
			return count(key, buf, 1);
		stat_inc(STAT_COUNT_SPILLS);
	}
	s->key = *key;
	s->n = 1;
	s->flip = flip;
counted:
	stat_inc(STAT_COUNTED);
	return true;
}

/*
 * The timeline (issue 21): a counted sample (dur_ns 0, at t_ns, with the
 * thread's voluntary switch count nvcsw) or off-CPU span ([t_ns, t_ns +
 * dur_ns)) of key in buffer buf, sent to userspace when a timeline is
 * wanted.  Nobody is woken: userspace reads the ring at every tick (100
 * ms) and drain.
 */
static __always_inline void timeline_send(const struct sample_key *key,
					  __u32 buf, __u64 t_ns, __u64 dur_ns,
					  __u32 nvcsw)
{
	struct timeline_rec *r;
	__u32 idx = STAT_TIMELINE_NS;
	__u64 t0, *ns;

	if (!timeline_enabled)
		return;
	/* What this costs, measured in place (one more clock read): -v. */
	t0 = bpf_ktime_get_ns();
	r = bpf_ringbuf_reserve(&timeline, sizeof(*r), 0);
	if (!r) {
		stat_inc(STAT_TIMELINE_LOST);
		return;
	}
	r->t_ns = t_ns;
	r->dur_ns = dur_ns;
	r->key = *key;
	r->buf = buf;
	r->nvcsw = nvcsw;
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	stat_inc(STAT_TIMELINE_SENT);
	ns = bpf_map_lookup_elem(&stats, &idx);
	if (ns)
		*ns += bpf_ktime_get_ns() - t0; /* per-CPU: no other writer */
}

#endif /* PYPROF_MAPS_BPF_H */
