// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The sampler.  A perf_event program, run by the kernel on every CPU at -F Hz,
 * that reads the interrupted thread's Python stack straight out of its memory
 * and counts (thread, stack) pairs in BPF maps.  Userspace (src/sampler/sampler.c)
 * fills the targets map, flips active_buf every --interval and drains the
 * buffer it flipped away from, so no sample is ever lost to a drain.
 *
 * Nothing here trusts the target: every read goes through
 * bpf_probe_read_user, every loop is bounded by a read-only global, and every
 * failure has its own counter in the stats map.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "pyprof_shared.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Tunables, set by userspace between open and load. */
const volatile __u32 max_depth = PY_DEFAULT_MAX_DEPTH;
const volatile __u32 max_threads_walk = 1024;
/* PYPROF_DISCOVER_*: which non-targets to announce to userspace. */
const volatile __u32 discover;
/*
 * When pyprof-bpf runs inside a PID namespace, pids are those of that
 * namespace (its /proc shows no others): pidns_ino/pidns_dev name it.
 * Both 0 in the host's.
 */
const volatile __u64 pidns_dev;
const volatile __u64 pidns_ino;
/* NATIVE_MODE_*: kernel stacks (--kernel), user stacks (--native). */
const volatile __u32 native_mode;

/* Which buffer (0 or 1) samples go to; userspace flips it to drain. */
__u32 active_buf;

/* How long a "this thread has no Python thread state" verdict is trusted
 * before the thread list is walked again: a new thread binds its thread
 * state a little after it starts running. */
#define NO_TSTATE_TTL_NS (20ull * 1000 * 1000)
/* task_struct.flags: the task is exiting (include/linux/sched.h). */
#define PF_EXITING 0x00000004
/* tstate_entry.tstate of a miss because the thread list was unreadable. */
#define TSTATE_LIST_BAD 1

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tgid */
	__type(value, struct py_proc_cfg);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32); /* tid */
	__type(value, struct tstate_entry);
} tstate_cache SEC(".maps");

/* Processes whose children are followed (--children, `-- cmd`): a fork
 * adds the child, an exit removes it (userspace). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tgid */
	__type(value, __u32); /* parent tgid */
} follow SEC(".maps");

/*
 * Processes announced for discovery, and when they may be announced again
 * (PYPROF_PROBE_NEVER once userspace has decided).  An exec forgets the
 * entry: a new program deserves a new look.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32); /* tgid */
	__type(value, __u64);
} probe SEC(".maps");

/*
 * Two buffers of counts and stack segments; see active_buf.  Preallocated:
 * the sampler runs in interrupt context, where an on-demand (NO_PREALLOC)
 * hash map fails allocations until its per-CPU cache is refilled, and a
 * failed insert is a lost sample (seen on a fresh map's first stacks).
 * 16384 segments of 528 bytes: about 9 MiB per buffer.
 */
#define COUNTS_MAP(name)                         \
	struct {                                 \
		__uint(type, BPF_MAP_TYPE_HASH); \
		__uint(max_entries, 16384);      \
		__type(key, struct sample_key);  \
		__type(value, __u64);            \
	} name SEC(".maps")
#define STACKS_MAP(name)                         \
	struct {                                 \
		__uint(type, BPF_MAP_TYPE_HASH); \
		__uint(max_entries, 16384);      \
		__type(key, __u64);              \
		__type(value, struct py_seg);    \
	} name SEC(".maps")

/* Kernel stacks (--kernel), one map per buffer like the counts; userspace
 * sizes them (1 entry when --kernel is off) and empties them on drain. */
#define KSTACKS_MAP(name)                                \
	struct {                                         \
		__uint(type, BPF_MAP_TYPE_STACK_TRACE);  \
		__uint(max_entries, 1);                  \
		__uint(key_size, sizeof(__u32));         \
		__uint(value_size, 127 * sizeof(__u64)); \
	} name SEC(".maps")

KSTACKS_MAP(kstacks0);
KSTACKS_MAP(kstacks1);
COUNTS_MAP(counts0);
COUNTS_MAP(counts1);
STACKS_MAP(stacks0);
STACKS_MAP(stacks1);

/*
 * Stacks recorded when a thread leaves the CPU (wall mode, bpf/offcpu.bpf.h):
 * the thread may come back after any number of drains, so its stack cannot
 * live in a drained buffer.  Keys are content hashes, so a segment that is
 * stored again is the same segment; LRU, so that old ones make room.  One
 * entry unless wall mode sizes it (userspace, before load).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct py_seg);
} off_stacks SEC(".maps");
#define OFF_STACKS_BUF 2

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/*
 * Segments already announced on the ring buffer.  Each drain empties the
 * stacks map, so without this every segment would be announced again every
 * interval; with it, a steady workload sends no events at all.  Forgetting
 * one (LRU) only costs a repeat announcement.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} announced SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Per-CPU scratch for the walk: too big for the 512-byte BPF stack. */
#define WIN_MAX 4096
#define PAGE_MASK_ (~4095ull)
struct walk {
	struct pyprof_event ev; /* ev.seg: the segment being filled */
	__u64 hash; /* running hash of seg's frames */
	__u64 prev_key; /* key of the last segment written */
	__u64 seed; /* what the first segment's key starts from */

	__u64 frame; /* next frame to read */
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
	__u32 pad2;
	__u8 win[WIN_MAX + PY_FRAME_READ_MAX + 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk);
} scratch SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1; /* per-CPU: no other writer */
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

/* A 64-bit mix (the splitmix64 finaliser). */
static __always_inline __u64 mix64(__u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* Offsets in the config are checked here once per sample, so that the loads
 * below are in bounds whatever userspace (or a bug) put there. */
static __always_inline bool off_ok(__u32 off, __u32 size, __u32 limit)
{
	return off != PY_OFF_NONE && off <= limit - size;
}

/* Loads from the window: base is the frame's offset in it, off a field's
 * offset in the frame; both masked so the verifier sees them in bounds. */
static __always_inline __u64 load_u64(const __u8 *win, __u32 base, __u32 off)
{
	__u64 v;

	__builtin_memcpy(&v,
			 win + (base & (WIN_MAX - 1)) +
				 (off & (PY_FRAME_READ_MAX - 1)),
			 sizeof(v));
	return v;
}

static __always_inline __s32 load_s32(const __u8 *win, __u32 base, __u32 off)
{
	__s32 v;

	__builtin_memcpy(&v,
			 win + (base & (WIN_MAX - 1)) +
				 (off & (PY_FRAME_READ_MAX - 1)),
			 sizeof(v));
	return v;
}

static __always_inline __u8 load_u8(const __u8 *win, __u32 base, __u32 off)
{
	return win[(base & (WIN_MAX - 1)) + (off & (PY_FRAME_READ_MAX - 1))];
}

/*
 * Makes the window hold [frame, frame + need); returns the frame's offset
 * in it, or -1 if the frame cannot be read.
 */
static __always_inline long window(struct walk *w, __u64 frame, __u32 need,
				   bool below)
{
	__u64 end = frame + need, lo, len;

	if (frame >= w->win_base && end <= w->win_base + w->win_len)
		return (long)(frame - w->win_base);
	lo = frame;
	if (below) {
		lo = end - WIN_MAX;
		if (lo < (frame & PAGE_MASK_))
			lo = frame & PAGE_MASK_;
	}
	/* 64-bit, so that the value checked is the value passed. */
	len = end - lo;
	if (len > WIN_MAX)
		len = WIN_MAX;
	if (bpf_probe_read_user(w->win, len, (const void *)lo)) {
		if (lo == frame)
			return -1;
		/* The memory below may be unreadable: this frame alone. */
		lo = frame;
		len = need;
		if (bpf_probe_read_user(w->win,
					len & (PY_FRAME_READ_MAX * 2 - 1),
					(const void *)lo))
			return -1;
	}
	w->win_base = lo;
	w->win_len = (__u32)len;
	return (long)(frame - lo);
}

static __always_inline __u64 read_ptr(__u64 addr)
{
	__u64 v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr))
		return 0;
	return v;
}

/* Writes the filled segment to the stacks map and starts the next one. */
static __always_inline int flush_seg(struct walk *w)
{
	__u32 n = w->depth % PY_SEG_FRAMES;
	__u64 key;
	void *stacks = stacks_map(w->buf_idx);
	int err;

	if (n == 0)
		n = PY_SEG_FRAMES;
	key = mix64(w->hash ^ mix64((w->prev_key ? w->prev_key : w->seed) + n));
	if (key == 0)
		key = 1;
	w->ev.seg.prev = w->prev_key;
	w->ev.seg.nframes = n;
	if (!bpf_map_lookup_elem(stacks, &key)) {
		err = bpf_map_update_elem(stacks, &key, &w->ev.seg,
					  BPF_NOEXIST);
		if (err && err != -17 /* EEXIST: another CPU won the race */)
			return -1;
		if (!err && !bpf_map_lookup_elem(&announced, &key)) {
			__u8 one = 1;

			w->ev.hdr.type = EV_NEW_SEG;
			w->ev.hdr.key = key;
			if (bpf_ringbuf_output(&events, &w->ev, sizeof(w->ev),
					       0))
				stat_inc(STAT_EVENTS_LOST);
			else
				bpf_map_update_elem(&announced, &key, &one,
						    BPF_ANY);
		}
	}
	w->prev_key = key;
	w->hash = 0;
	return 0;
}

struct walk_ctx {
	struct walk *w;
	const struct py_proc_cfg *cfg;
};

/* Thread-local bytecode copies a free-threaded 3.14+ thread may run. */
#define TLBC_INDEX_MAX 65536

/*
 * Free-threaded 3.14+: the bytecode the frame at base runs, which its
 * instr_ptr points into: co_tlbc->entries[frame->tlbc_index]
 * (_PyFrame_GetBytecode, pycore_interpframe.h).  Entry 0 is the code
 * object's own co_code_adaptive, main; 0 if it cannot be read.
 */
static __always_inline __u64 tlbc_bytecode(const struct walk *w,
					   const struct py_proc_cfg *cfg,
					   long base, __u64 code, __u64 main)
{
	__s32 idx = load_s32(w->win, base, cfg->off.frame_tlbc_index);
	__u64 arr, size = 0;

	if (idx == 0)
		return main;
	if (idx < 0 || idx >= TLBC_INDEX_MAX)
		return 0;
	/* _PyCodeArray: Py_ssize_t size, then char *entries[size]. */
	arr = read_ptr(code + cfg->off.code_tlbc);
	if (!arr ||
	    bpf_probe_read_user(&size, sizeof(size), (const void *)arr) ||
	    (__u64)idx >= size)
		return 0;
	return read_ptr(arr + 8 + 8 * (__u64)idx);
}

/* One frame of the walk; returns 1 to stop. */
static long walk_frame(__u32 i __attribute__((unused)), void *arg)
{
	struct walk_ctx *c = arg;
	struct walk *w = c->w;
	const struct py_proc_cfg *cfg = c->cfg;
	struct py_frame *f;
	__u64 code, next;
	__s64 lasti;
	__u32 firstlineno = 0, len;
	long base;

	if (!w->frame)
		return 1;
	len = w->read_len;
	if (len > PY_FRAME_READ_MAX)
		len = PY_FRAME_READ_MAX;
	/* Frame objects (3.8-3.10) are separate heap objects: no window. */
	base = window(w, w->frame, len, cfg->frame_kind == PY_FRAME_INTERP);
	if (base < 0) {
		w->flags |= SAMPLE_F_PARTIAL;
		return 1;
	}
	next = load_u64(w->win, base, cfg->off.frame_previous);
	/* A chain that leads back to a frame seen (memory the target
	 * corrupted, or reused as we read it) would otherwise be walked to
	 * --max-depth, repeating itself: stop at the first repeat. */
	if (next && next == w->cyc_frame) {
		w->flags |= SAMPLE_F_CYCLE;
		next = 0;
	} else if (++w->cyc_steps >= w->cyc_limit) {
		w->cyc_frame = next;
		w->cyc_steps = 0;
		w->cyc_limit *= 2;
	}

	if (cfg->frame_kind == PY_FRAME_INTERP) {
		__u8 owner = load_u8(w->win, base, cfg->off.frame_owner);

		if (cfg->owner_skip_mask & (1u << (owner & 7))) {
			/* A shim the C stack pushed to enter the eval loop
			 * (3.12+): not a Python frame, but it links on.  It
			 * separates two eval-loop activations. */
			if (cfg->entry_owner_mask & (1u << (owner & 7)))
				w->entry_next = 1;
			stat_inc(STAT_SKIPPED_FRAMES);
			w->frame = next;
			return 0;
		}
	}

	/* Checked only now: shims (skipped above) are not frames, and the
	 * outermost frame of 3.12+ is one, so a stack of exactly max_depth
	 * frames reaches here with frame != 0 and nothing more to record. */
	if (w->depth >= max_depth) {
		w->flags |= SAMPLE_F_TRUNCATED;
		return 1;
	}

	code = load_u64(w->win, base, cfg->off.frame_code);
	code &= ~((1ull << (cfg->code_tag_bits & 7)) - 1);
	if (!code) {
		w->flags |= SAMPLE_F_PARTIAL;
		return 1;
	}
	if (cfg->frame_kind == PY_FRAME_INTERP) {
		/* The instruction pointer is into the code object's own
		 * co_code_adaptive (or a thread's copy of it), so the byte
		 * offset is a subtraction. */
		__u64 bytecode = code + w->code_adaptive;

		if (cfg->off.frame_tlbc_index != PY_OFF_NONE)
			bytecode = tlbc_bytecode(w, cfg, base, code, bytecode);
		lasti = bytecode ? (__s64)(load_u64(w->win, base,
						    cfg->off.frame_instr) -
					   bytecode) :
				   -1;
	} else {
		lasti = load_s32(w->win, base, cfg->off.frame_instr);
		if (cfg->lasti_units && lasti > 0)
			lasti *= 2;
	}
	if (lasti > 0x7fffffff || lasti < -0x7fffffff)
		lasti = -1;
	if (bpf_probe_read_user(
		    &firstlineno, sizeof(firstlineno),
		    (const void *)(code + cfg->off.code_firstlineno))) {
		w->flags |= SAMPLE_F_PARTIAL;
		return 1;
	}

	firstlineno &= PY_FRAME_LINENO_MASK;
	if (w->entry_next)
		firstlineno |= PY_FRAME_F_ENTRY;
	w->entry_next = 0;
	/* 3.11: the first frame of an eval-loop activation has is_entry. */
	if (cfg->frame_kind == PY_FRAME_INTERP &&
	    cfg->frame_is_entry < PY_FRAME_READ_MAX &&
	    load_u8(w->win, base, cfg->frame_is_entry))
		w->entry_next = 1;

	f = &w->ev.seg.frames[w->depth % PY_SEG_FRAMES];
	f->code = code;
	f->lasti = (__s32)lasti;
	f->firstlineno = firstlineno;
	w->hash = mix64(w->hash ^ code) +
		  ((__u64)(__u32)lasti << 32 | firstlineno);
	w->depth++;
	w->frame = next;
	if (w->depth % PY_SEG_FRAMES == 0 && flush_seg(w)) {
		w->lost = 1;
		return 1;
	}
	return 0;
}

struct tsw_ctx {
	const struct py_proc_cfg *cfg;
	__u64 want; /* thread_id looked for */
	__u64 interp; /* interpreter being walked */
	__u64 tstate; /* next thread state to look at */
	__u64 found;
	__u32 interps; /* interpreters started */
	__u32 err;
};

/* One step of the thread-state search; returns 1 to stop. */
static long tstate_step(__u32 i __attribute__((unused)), void *arg)
{
	struct tsw_ctx *c = arg;
	const struct py_walk_offsets *o = &c->cfg->off;
	__u64 tid;

	if (!c->tstate) {
		/* Next interpreter (subinterpreters are rare, but real). */
		if (c->interps >= PY_MAX_INTERPS)
			return 1;
		if (c->interps == 0)
			c->interp = read_ptr(c->cfg->runtime_addr +
					     o->runtime_interp_head);
		else
			c->interp = read_ptr(c->interp + o->interp_next);
		c->interps++;
		if (!c->interp) {
			if (c->interps == 1)
				c->err = 1;
			return 1;
		}
		c->tstate = read_ptr(c->interp + o->interp_threads_head);
		return 0;
	}
	if (bpf_probe_read_user(
		    &tid, sizeof(tid),
		    (const void *)(c->tstate + o->tstate_thread_id))) {
		c->tstate = 0;
		return 0;
	}
	if (tid == c->want) {
		c->found = c->tstate;
		return 1;
	}
	c->tstate = read_ptr(c->tstate + o->tstate_next);
	return 0;
}

static __always_inline __u64 current_thread_id(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	/* pthread_self() is the thread pointer, which on x86-64 is the FS base;
	 * CPython stores pthread_self() in PyThreadState.thread_id. */
	return BPF_CORE_READ(task, thread.fsbase);
}

/* The thread state of thread tid, or 0 with *reason set. */
static __always_inline __u64 find_tstate(const struct py_proc_cfg *cfg,
					 __u32 tid, __u32 *reason)
{
	struct tstate_entry *e, ne = {};
	struct tsw_ctx c = { .cfg = cfg };
	__u64 now, tid_now;

	c.want = current_thread_id();
	e = bpf_map_lookup_elem(&tstate_cache, &tid);
	if (e && e->thread_id == c.want) {
		if (e->tstate > TSTATE_LIST_BAD) {
			if (!bpf_probe_read_user(
				    &tid_now, sizeof(tid_now),
				    (const void *)(e->tstate +
						   cfg->off.tstate_thread_id)) &&
			    tid_now == c.want)
				return e->tstate;
		} else if (bpf_ktime_get_ns() - e->checked_ns <
			   NO_TSTATE_TTL_NS) {
			*reason = e->tstate == TSTATE_LIST_BAD ?
					  STAT_ERR_RUNTIME :
					  STAT_NO_TSTATE;
			return 0;
		}
	}

	stat_inc(STAT_TSTATE_WALKS);
	bpf_loop(max_threads_walk, tstate_step, &c, 0);
	if (!c.found && c.tstate && !c.err) {
		/* A list this long is a list that loops (corrupt memory):
		 * the interpreter is unreadable, not the thread native. */
		stat_inc(STAT_TSTATE_WALK_CAP);
		c.err = 1;
	}

	now = bpf_ktime_get_ns();
	ne.tstate = c.found ?: (c.err ? TSTATE_LIST_BAD : 0);
	ne.thread_id = c.want;
	ne.checked_ns = now;
	bpf_map_update_elem(&tstate_cache, &tid, &ne, BPF_ANY);
	if (c.found && (!e || e->tstate != c.found)) {
		struct pyprof_event_hdr ev = {
			.type = EV_NEW_THREAD,
			.pid = bpf_get_current_pid_tgid() >> 32,
			.tid = tid,
			.key = c.want,
		};

		if (bpf_ringbuf_output(&events, &ev, sizeof(ev), 0))
			stat_inc(STAT_EVENTS_LOST);
	}
	if (!c.found)
		*reason = c.err ? STAT_ERR_RUNTIME : STAT_NO_TSTATE;
	return c.found;
}

/* Adds value (1 for a sample) to key's count in the active counts map. */
static __always_inline void count(struct sample_key *key, __u32 buf,
				  __u64 value)
{
	void *counts = counts_map(buf);
	__u64 *v;

	v = bpf_map_lookup_elem(counts, key);
	if (v) {
		__sync_fetch_and_add(v, value);
		goto counted;
	}
	if (bpf_map_update_elem(counts, key, &value, BPF_NOEXIST)) {
		/* Lost a race with another CPU inserting the same key? */
		v = bpf_map_lookup_elem(counts, key);
		if (!v) {
			stat_inc(STAT_LOST_COUNTS);
			return;
		}
		__sync_fetch_and_add(v, value);
	}
counted:
	stat_inc(STAT_COUNTED);
}

static __always_inline __u32 max3(__u32 a, __u32 b, __u32 c)
{
	__u32 m = a > b ? a : b;

	return m > c ? m : c;
}

/* Between two announcements of one process, until userspace answers. */
#define PROBE_REPEAT_NS (50ull * 1000 * 1000)

/* Asks userspace to look at process pid, at most every PROBE_REPEAT_NS. */
static __always_inline void maybe_probe(__u32 pid)
{
	struct pyprof_event_hdr ev = { .type = EV_PROBE, .pid = pid };
	__u64 now, *next;

	if (!(discover & PYPROF_DISCOVER_ALL) &&
	    !bpf_map_lookup_elem(&follow, &pid))
		return;
	now = bpf_ktime_get_ns();
	next = bpf_map_lookup_elem(&probe, &pid);
	if (next && now < *next)
		return;
	now += PROBE_REPEAT_NS;
	bpf_map_update_elem(&probe, &pid, &now, BPF_ANY);
	stat_inc(STAT_PROBES);
	if (bpf_ringbuf_output(&events, &ev, sizeof(ev), 0))
		stat_inc(STAT_EVENTS_LOST);
}

/*
 * The current task's tgid << 32 | pid as pyprof-bpf's /proc numbers them;
 * false when it is not visible from pyprof-bpf's PID namespace.
 */
static __always_inline bool current_ids(__u32 *pid, __u32 *tid)
{
	struct bpf_pidns_info ns;
	__u64 id;

	if (!pidns_ino) {
		id = bpf_get_current_pid_tgid();
		*pid = id >> 32;
		*tid = (__u32)id;
		return true;
	}
	if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)))
		return false;
	*pid = ns.tgid;
	*tid = ns.pid;
	return true;
}

/*
 * Walks the current thread's Python stack into key (stack_id, depth, flags)
 * and stores its segments in the stacks map of buffer w->buf_idx.  key->pid
 * and key->tid are the current task's.  Returns the stat to count for the
 * sample (STAT_PY_FULL, STAT_TRUNCATED, ...), or 0 if the stack could not be
 * stored and the sample is lost.
 */
static __always_inline __u32 py_stack(struct walk *w,
				      const struct py_proc_cfg *cfg,
				      struct sample_key *key)
{
	const struct py_walk_offsets *o = &cfg->off;
	__u32 reason = 0, need;
	struct walk_ctx wc;
	__u64 tstate;

	w->ev.hdr.pid = key->pid;
	w->ev.hdr.tid = key->tid;

	need = max3(o->frame_previous, o->frame_code, o->frame_instr) + 8;
	if (cfg->frame_kind == PY_FRAME_INTERP && need < o->frame_owner + 1)
		need = o->frame_owner + 1;
	if (o->frame_tlbc_index != PY_OFF_NONE &&
	    need < o->frame_tlbc_index + 4)
		need = o->frame_tlbc_index + 4;
	if (!off_ok(o->frame_previous, 8, PY_FRAME_READ_MAX) ||
	    !off_ok(o->frame_code, 8, PY_FRAME_READ_MAX) ||
	    !off_ok(o->frame_instr, 8, PY_FRAME_READ_MAX) ||
	    (cfg->frame_kind == PY_FRAME_INTERP &&
	     !off_ok(o->frame_owner, 1, PY_FRAME_READ_MAX)) ||
	    (o->frame_tlbc_index != PY_OFF_NONE &&
	     (cfg->frame_kind != PY_FRAME_INTERP ||
	      !off_ok(o->frame_tlbc_index, 4, PY_FRAME_READ_MAX))) ||
	    need > PY_FRAME_READ_MAX) {
		key->flags = SAMPLE_F_NO_RUNTIME;
		return STAT_ERR_CONFIG;
	}

	tstate = find_tstate(cfg, key->tid, &reason);
	if (!tstate) {
		key->flags = reason == STAT_NO_TSTATE ? SAMPLE_F_NO_TSTATE :
							SAMPLE_F_NO_RUNTIME;
		return reason;
	}

	/* The current frame: tstate->frame (<=3.10), tstate->cframe->
	 * current_frame (3.11, 3.12), tstate->current_frame (3.13+). */
	w->frame = read_ptr(tstate + o->tstate_frame);
	if (w->frame && o->cframe_current_frame != PY_OFF_NONE)
		w->frame = read_ptr(w->frame + o->cframe_current_frame);
	if (!w->frame) {
		key->flags = SAMPLE_F_NO_FRAME;
		return STAT_NO_FRAME;
	}

	w->hash = 0;
	w->prev_key = 0;
	/* The first segment's key covers the pid: code addresses mean
	 * something only within one process. */
	w->seed = mix64(key->pid);
	w->depth = 0;
	w->flags = 0;
	w->read_len = need;
	w->code_adaptive = o->code_adaptive == PY_OFF_NONE ? 0 :
							     o->code_adaptive;
	wc.w = w;
	wc.cfg = cfg;
	/* Iterations for max_depth frames, a skipped shim between each two
	 * (3.12+ pushes one per eval-loop entry), and one more so that a stack
	 * of exactly max_depth frames is not reported as truncated.  If the
	 * loop still ends with frames left, the stack is cut: say so. */
	w->lost = 0;
	w->entry_next = 0;
	w->win_base = 0;
	w->win_len = 0;
	w->cyc_frame = w->frame;
	w->cyc_steps = 0;
	w->cyc_limit = 2;
	bpf_loop(2 * max_depth + 1, walk_frame, &wc, 0);
	if (w->frame && !(w->flags & (SAMPLE_F_TRUNCATED | SAMPLE_F_PARTIAL)))
		w->flags |= SAMPLE_F_TRUNCATED;
	if (!w->lost && w->depth % PY_SEG_FRAMES && flush_seg(w))
		w->lost = 1;
	if (w->lost) {
		/* The stack cannot be resolved without all its segments. */
		stat_inc(STAT_LOST_STACKS);
		return 0;
	}
	key->stack_id = w->depth ? w->prev_key : 0;
	key->depth = w->depth;
	key->flags = w->flags;
	if (w->flags & SAMPLE_F_TRUNCATED)
		return STAT_TRUNCATED;
	if (w->flags & SAMPLE_F_PARTIAL)
		return STAT_PARTIAL;
	if (w->flags & SAMPLE_F_CYCLE)
		return STAT_CYCLE;
	return STAT_PY_FULL;
}

/* Wall-clock mode and GIL state (issue 9). */
#include "offcpu.bpf.h"
/* The kernel stack of the sample, into key->kstack (-1 if none). */
static __always_inline void kernel_stack(struct bpf_perf_event_data *ctx,
					 __u32 buf, struct sample_key *key)
{
	long id;

	if (buf)
		id = bpf_get_stackid(ctx, &kstacks1, 0);
	else
		id = bpf_get_stackid(ctx, &kstacks0, 0);
	if (id >= 0) {
		key->kstack = (__s32)id;
		return;
	}
	/* -EFAULT: no kernel frame (the sample hit user mode). */
	if (id == -14) {
		stat_inc(STAT_KSTACK_NONE);
		return;
	}
	key->kstack = KSTACK_LOST;
	stat_inc(id == -17 ? STAT_KSTACK_COLLIDED : STAT_KSTACK_LOST);
}

/*
 * Copies user registers into the DWARF order of native_event.regs.  A
 * macro, not a function taking a pointer: the perf_event context only
 * allows 8-byte loads at fixed offsets from the context itself.
 */
#define COPY_REGS(d, r)          \
	do {                     \
		d[0] = (r).ax;   \
		d[1] = (r).dx;   \
		d[2] = (r).cx;   \
		d[3] = (r).bx;   \
		d[4] = (r).si;   \
		d[5] = (r).di;   \
		d[6] = (r).bp;   \
		d[7] = (r).sp;   \
		d[8] = (r).r8;   \
		d[9] = (r).r9;   \
		d[10] = (r).r10; \
		d[11] = (r).r11; \
		d[12] = (r).r12; \
		d[13] = (r).r13; \
		d[14] = (r).r14; \
		d[15] = (r).r15; \
		d[16] = (r).ip;  \
	} while (0)

/* The top of x86-64's user address space (canonical lower half, 47 bits;
 * 5-level paging's 56 bits are above it, and so is every kernel address). */
#define USER_ADDR_END (1ull << 56)

/*
 * --native: sends the sample on the ring buffer with the thread's user
 * registers and up to NATIVE_STACK_MAX bytes of its stack, for userspace to
 * unwind.  The registers are the interrupted ones when the sample hit user
 * mode, else those saved at kernel entry.  Returns false when the record
 * could not be reserved.
 */
static __always_inline bool native_sample(struct bpf_perf_event_data *ctx,
					  const struct sample_key *key)
{
	struct native_event *ev;
	struct pt_regs regs;
	__u32 first;
	bool wake;
	__u64 sp;
	__u32 len = 0;
	long n;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev)
		return false;
	ev->hdr.type = EV_NATIVE;
	ev->hdr.pid = key->pid;
	ev->hdr.tid = key->tid;
	ev->hdr.pad = 0;
	ev->hdr.key = 0;
	ev->key = *key;
	/* In user mode when the interrupted instruction is a user one. */
	if (ctx->regs.ip < USER_ADDR_END) {
		COPY_REGS(ev->regs, ctx->regs);
		/* Keep clang from merging the two branches' loads into one
		 * through a chosen pointer: the verifier refuses a load from
		 * a modified context pointer. */
		asm volatile("" ::: "memory");
	} else {
		void *ur = (void *)bpf_task_pt_regs(bpf_get_current_task_btf());

		if (bpf_probe_read_kernel(&regs, sizeof(regs), ur))
			__builtin_memset(&regs, 0, sizeof(regs));
		COPY_REGS(ev->regs, regs);
	}
	ev->nkips = 0;
	if (native_mode & NATIVE_MODE_KERNEL) {
		n = bpf_get_stack(ctx, ev->kips, sizeof(ev->kips), 0);
		if (n > 0)
			ev->nkips = (__u32)n / 8;
	}

	/*
	 * Copy page by page from the stack pointer up, and stop at the first
	 * page that cannot be read: a read across an unmapped page (above the
	 * stack's top) or one never touched (a hole a large frame skipped)
	 * fails whole.  The first piece runs to the end of sp's page, the
	 * next three are whole pages: 12-16 KiB, within stack[].
	 */
	sp = ev->regs[7];
	first = (__u32)(((sp | 4095) + 1 - sp) & 8191);
	if (first > 4096)
		first = 4096;
	if (!bpf_probe_read_user(ev->stack, first, (const void *)sp)) {
		len = first;
		for (int k = 0; k < 3; k++) {
			__u32 off = first + (__u32)k * 4096;

			if (off > NATIVE_STACK_MAX - 4096)
				break;
			if (bpf_probe_read_user(ev->stack + off, 4096,
						(const void *)(sp + off)))
				break;
			len = off + 4096;
		}
	}
	if (len < NATIVE_STACK_MAX - 4096)
		stat_inc(STAT_NATIVE_SHORT);
	ev->stack_len = len;
	/* Userspace polls every 100 ms anyway: waking it for each sample
	 * would cost a context switch per sample.  Wake it once the ring is
	 * a quarter full. */
	wake = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >
	       bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 4;
	bpf_ringbuf_submit(ev, wake ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	return true;
}

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	const struct py_proc_cfg *cfg;
	struct sample_key key = {};
	__u32 pid, tid, zero = 0;
	__u32 reason;
	struct walk *w;

	if (!current_ids(&pid, &tid))
		return 0;
	cfg = bpf_map_lookup_elem(&targets, &pid);
	if (!cfg) {
		if (discover)
			maybe_probe(pid);
		return 0;
	}
	stat_inc(STAT_SAMPLES);

	key.pid = pid;
	key.tid = tid;
	key.kstack = -1;
	key.ustack = -1;

	w = bpf_map_lookup_elem(&scratch, &zero);
	if (!w)
		return 0;
	w->buf_idx = active_buf & 1;
	if (BPF_CORE_READ(bpf_get_current_task_btf(), flags) & PF_EXITING) {
		/* Tearing down: its memory may be gone already. */
		key.flags = SAMPLE_F_EXITING;
		reason = STAT_EXITING;
	} else {
		reason = py_stack(w, cfg, &key);
	}
	if (!reason)
		return 0;
	stat_inc(reason);
	key.flags |= gil_state(pid, tid, cfg);
	if (native_mode & NATIVE_MODE_USER) {
		if (native_sample(ctx, &key)) {
			stat_inc(STAT_NATIVE_SENT);
			return 0;
		}
		stat_inc(STAT_NATIVE_LOST);
		key.ustack = NATIVE_USTACK_LOST;
	}
	if (native_mode & NATIVE_MODE_KERNEL)
		kernel_stack(ctx, w->buf_idx, &key);
	count(&key, w->buf_idx, 1);
	return 0;
}

/*
 * A target that execs is a new program: its config no longer describes it.
 * Stop sampling it at once, and tell userspace.  Any process that execs is
 * worth a new look for discovery.  A raw tracepoint: it attaches by name,
 * with no tracefs mounted.
 */
SEC("raw_tp/sched_process_exec")
int on_exec(void *ctx __attribute__((unused)))
{
	struct pyprof_event_hdr ev = { .type = EV_EXEC };
	__u32 pid, tid;

	if (!current_ids(&pid, &tid))
		return 0;
	bpf_map_delete_elem(&probe, &pid);
	if (!bpf_map_lookup_elem(&targets, &pid))
		return 0;
	bpf_map_delete_elem(&targets, &pid);
	ev.pid = pid;
	if (bpf_ringbuf_output(&events, &ev, sizeof(ev), 0))
		stat_inc(STAT_EVENTS_LOST);
	return 0;
}

/* The tgid of task t as pyprof-bpf's PID namespace numbers it; 0 if t is
 * not visible there.  A pid has one number per namespace level, up to 32. */
static __always_inline __u32 task_tgid_in_ns(struct task_struct *t)
{
	struct upid up;
	struct pid *p;
	__u32 lvl;

	if (!pidns_ino)
		return BPF_CORE_READ(t, tgid);
	p = BPF_CORE_READ(t, group_leader, thread_pid);
	if (!p)
		return 0;
	lvl = BPF_CORE_READ(p, level);
	for (__u32 i = 0; i < 32; i++) {
		if (i > lvl)
			break;
		if (bpf_core_read(&up, sizeof(up), &p->numbers[i]))
			return 0;
		if (BPF_CORE_READ(up.ns, ns.inum) == pidns_ino)
			return up.nr;
	}
	return 0;
}

/*
 * A fork of a followed process is followed too; a forked target runs the
 * same interpreter at the same addresses, so it is sampled from its first
 * instruction with its parent's config.  Threads are not processes: skip
 * them.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	struct pyprof_event_hdr ev = { .type = EV_FORK };
	const struct py_proc_cfg *cfg;
	__u32 ppid, cpid;

	(void)ctx;
	if (child->pid != child->tgid)
		return 0;
	ppid = task_tgid_in_ns(parent);
	cpid = task_tgid_in_ns(child);
	if (!ppid || !cpid)
		return 0;
	/* A new process: whatever was decided of an earlier one that had
	 * its pid no longer holds. */
	bpf_map_delete_elem(&probe, &cpid);
	if (!bpf_map_lookup_elem(&follow, &ppid))
		return 0;
	bpf_map_update_elem(&follow, &cpid, &ppid, BPF_ANY);
	cfg = bpf_map_lookup_elem(&targets, &ppid);
	if (cfg)
		bpf_map_update_elem(&targets, &cpid, cfg, BPF_NOEXIST);
	ev.pid = cpid;
	ev.key = ppid;
	if (bpf_ringbuf_output(&events, &ev, sizeof(ev), 0))
		stat_inc(STAT_EVENTS_LOST);
	return 0;
}
