/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The Python stack walk, shared by the sampler (bpf/sample.bpf.c) and the
 * off-CPU program (bpf/offcpu.bpf.c): find the current thread's
 * PyThreadState (cached per thread, else a bounded walk of the
 * interpreters' thread lists), then follow its frame chain and store the
 * stack as segments in a stacks map.
 *
 * Nothing here trusts the target: every read goes through read_user()
 * (bpf_probe_read_user, or bpf_copy_from_user_task for a thread at rest),
 * every loop is bounded by a read-only global, and a read that faults is
 * told apart from a NULL it read: each failure returns its own STAT_*
 * reason, which the caller counts.
 *
 * One walk serves two callers, told apart by `task`, the thread whose stack
 * is read: NULL for the thread running now (the sampler, and sched_switch
 * as the thread leaves the CPU), where the target's memory is the current
 * address space; or a thread at rest, seen by the sleepable task iterator
 * (bpf/offcpu.bpf.c), which reads another process's memory and may fault
 * its pages in.  In the first case task is a constant NULL, so the verifier
 * never walks the sleepable branch of read_user() in a program that cannot
 * sleep.
 */
#ifndef PYPROF_PYSTACK_BPF_H
#define PYPROF_PYSTACK_BPF_H

#include "maps.bpf.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "arch.bpf.h"

/* How long a "this thread has no Python thread state" verdict is trusted
 * before the thread list is walked again: a new thread binds its thread
 * state a little after it starts running. */
#define NO_TSTATE_TTL_NS (20ull * 1000 * 1000)
#define PAGE_MASK_ (~4095ull)

#define mix64 pyprof_mix64

/* Offsets in the config are checked here once per sample, so that the loads
 * below are in bounds whatever userspace (or a bug) put there. */
static __always_inline bool off_ok(__u32 off, __u32 size, __u32 limit)
{
	return off != PY_OFF_NONE && off <= limit - size;
}

/*
 * Reads size bytes of the target's memory at src into dst: task's memory,
 * or the current task's when task is NULL.  0, or a negative error (dst
 * zeroed) when the memory cannot be read.
 */
static __always_inline long read_user(struct task_struct *task, void *dst,
				      __u32 size, __u64 src)
{
	if (task)
		return bpf_copy_from_user_task(dst, size, (const void *)src,
					       task, 0);
	return bpf_probe_read_user(dst, size, (const void *)src);
}

/*
 * One load of a field the target's memory left at any alignment, p into a
 * map value.  A __builtin_memcpy would do, but clang cannot know p's
 * alignment and makes it a load per byte, shifted and or-ed: 22
 * instructions for a u64, three of them per frame of the walk.  The
 * architectures pyprof-bpf runs on load unaligned words in hardware, where
 * the verifier checks no alignment of a map value (it does only under
 * BPF_F_STRICT_ALIGNMENT or without efficient unaligned access), and the
 * target's fields are aligned anyway unless it lies.
 */
static __always_inline __u64 unaligned_u64(const __u8 *p)
{
	return *(const __u64 *)(const void *)p;
}

static __always_inline __u32 unaligned_u32(const __u8 *p)
{
	return *(const __u32 *)(const void *)p;
}

/* Loads from the window: base is the frame's offset in it, off a field's
 * offset in the frame; both masked so the verifier sees them in bounds. */
static __always_inline __u64 load_u64(const __u8 *win, __u32 base, __u32 off)
{
	return unaligned_u64(win + (base & (WIN_MAX - 1)) +
			     (off & (PY_FRAME_READ_MAX - 1)));
}

static __always_inline __s32 load_s32(const __u8 *win, __u32 base, __u32 off)
{
	return (__s32)unaligned_u32(win + (base & (WIN_MAX - 1)) +
				    (off & (PY_FRAME_READ_MAX - 1)));
}

static __always_inline __u8 load_u8(const __u8 *win, __u32 base, __u32 off)
{
	return win[(base & (WIN_MAX - 1)) + (off & (PY_FRAME_READ_MAX - 1))];
}

/* Loads from the code object span w->code (see code_fingerprint). */
static __always_inline __u64 code_u64(const struct walk *w, __u32 off)
{
	return unaligned_u64(w->code + (off & (PY_CODE_FP_SPAN_MAX - 1)));
}

/* The first of the FPC_WAYS slots where code's fingerprint may be kept. */
static __always_inline __u32 fpc_set(__u64 code)
{
	return (__u32)(mix64(code) >> 32) & (FPC_SLOTS - FPC_WAYS);
}

/*
 * The fingerprint (py_code_fp) of the code object at code, into *fp; false
 * if it cannot be read.  The span's offsets were checked by fp_span_ok.
 *
 * A frame holds a reference to its code object, so no code object a frame
 * of the stack refers to can be freed while the stack is read, as long as
 * the thread does not run meanwhile: within one walk, one address is one
 * code object.  Its fingerprint is then read once per walk, not once per
 * frame: a recursive function's frames, or a decorator's wrapper at
 * several depths, cost one read.  That holds for the thread the walk
 * interrupted (task NULL: the sampler, or a thread switching out); a thread
 * at rest (task) may wake on another CPU while it is read, so each of its
 * frames reads its own.
 *
 * 3.14+ counts the code objects it frees, 3.12 and 3.13 those they make
 * (fpc_begin):
 * while the count has not moved, no code object was freed (or none made),
 * so an address is still the code object whose fingerprint was read there,
 * in any sample since.  The walk
 * then keeps fingerprints from sample to sample (w->fpc_*): a stack of 32
 * distinct functions costs one read of the count instead of 32 reads.
 */
static __always_inline bool code_fingerprint(struct walk *w,
					     struct task_struct *task,
					     const struct py_proc_cfg *cfg,
					     __u64 code, __u32 *fp)
{
	const struct py_code_fp_span *s = &cfg->fp;
	__u32 len = s->len, slot, set = 0;

	if (w->fpc_on) {
		set = fpc_set(code);
		for (__u32 k = 0; k < FPC_WAYS; k++) {
			slot = (set + k) & (FPC_SLOTS - 1);
			if (w->fpc_code[slot] == code &&
			    w->fpc_epoch_of[slot] == w->fpc_epoch) {
				*fp = w->fpc_val[slot];
				return true;
			}
		}
	} else if (!task) {
		for (__u32 k = 0; k < WALK_FP_CODES; k++) {
			if (k < w->fp_next && w->fp_code[k] == code) {
				*fp = w->fp_val[k];
				return true;
			}
		}
	}
	if (len > PY_CODE_FP_SPAN_MAX)
		len = PY_CODE_FP_SPAN_MAX;
	stat_inc(STAT_CODE_READS);
	if (read_user(task, w->code, len, code + s->base))
		return false;
	*fp = py_code_fp(code_u64(w, s->filename), code_u64(w, s->name),
			 code_u64(w, s->linetable));
	if (w->fpc_on) {
		/* The first way that holds nothing of this epoch, else one
		 * at random: a stack with more codes in one set than it has
		 * ways then misses on some of them, not on all of them in
		 * turn. */
		slot = FPC_SLOTS;
		for (__u32 k = 0; k < FPC_WAYS; k++) {
			__u32 s2 = (set + k) & (FPC_SLOTS - 1);

			if (w->fpc_epoch_of[s2] != w->fpc_epoch) {
				slot = s2;
				break;
			}
		}
		if (slot == FPC_SLOTS)
			slot = (set + (bpf_get_prandom_u32() &
				       (FPC_WAYS - 1))) &
			       (FPC_SLOTS - 1);
		w->fpc_code[slot] = code;
		w->fpc_epoch_of[slot] = w->fpc_epoch;
		w->fpc_val[slot] = *fp;
		return true;
	}
	/* The first WALK_FP_CODES distinct ones: the root-most frames the
	 * walk has not reached yet are as likely to repeat as any. */
	slot = w->fp_next;
	if (slot < WALK_FP_CODES) {
		w->fp_code[slot] = code;
		w->fp_val[slot] = *fp;
		w->fp_next = slot + 1;
	}
	return true;
}

/*
 * Makes the window hold [frame, frame + need); returns the frame's offset
 * in it, or -1 if the frame cannot be read.
 */
static __always_inline long window(struct walk *w, struct task_struct *task,
				   __u64 frame, __u32 need, bool below)
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
	if (read_user(task, w->win, len, lo)) {
		if (lo == frame)
			return -1;
		/* The memory below may be unreadable: this frame alone. */
		lo = frame;
		len = need;
		if (read_user(task, w->win, len & (PY_FRAME_READ_MAX * 2 - 1),
			      lo))
			return -1;
	}
	w->win_base = lo;
	w->win_len = (__u32)len;
	return (long)(frame - lo);
}

/* Reads a pointer of the target into *v: 0, or a negative error (a fault)
 * with *v = 0.  A NULL read is 0 with *v = 0: the caller tells them apart. */
static __always_inline long read_ptr(struct task_struct *task, __u64 addr,
				     __u64 *v)
{
	return read_user(task, v, sizeof(*v), addr);
}

/* Writes the filled segment to the stacks map and starts the next one. */
static __always_inline int flush_seg(struct walk *w)
{
	__u32 n = w->depth % PY_SEG_FRAMES;
	__u64 key;
	void *stacks = stacks_map(w->buf_idx);
	/* The sampler's buffers, not the off-CPU one. */
	bool memo = w->buf_idx == (w->flip & 1);
	struct seg_memo *m;
	int err;

	if (n == 0)
		n = PY_SEG_FRAMES;
	key = mix64(w->hash ^ mix64((w->prev_key ? w->prev_key : w->seed) + n));
	if (key == 0)
		key = 1;
	w->ev.seg.prev = w->prev_key;
	w->ev.seg.nframes = n;
	w->prev_key = key;
	w->hash = 0;
	/* Found or stored by this CPU since the buffer's last drain? */
	m = &w->seg_memo[key & (SEG_MEMO_SLOTS - 1)];
	if (memo && m->key == key && m->flip == w->flip)
		return 0;
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
	if (memo) {
		m->key = key;
		m->flip = w->flip;
	}
	return 0;
}

struct walk_ctx {
	struct walk *w;
	const struct py_proc_cfg *cfg;
	struct task_struct *task; /* whose memory: NULL, the current task's */
};

/*
 * The frame chain's next link, or 0 if it leads back to a frame seen (Brent's
 * cycle detection): a chain the target corrupted, or reused as we read it,
 * would otherwise be walked to --max-depth, repeating itself.
 */
static __always_inline __u64 cycle_cut(struct walk *w, __u64 next)
{
	if (next && next == w->cyc_frame) {
		w->flags |= SAMPLE_F_CYCLE;
		return 0;
	}
	if (++w->cyc_steps >= w->cyc_limit) {
		w->cyc_frame = next;
		w->cyc_steps = 0;
		w->cyc_limit *= 2;
	}
	return next;
}

/* Thread-local bytecode copies a free-threaded 3.14+ thread may run. */
#define TLBC_INDEX_MAX 65536

/*
 * Free-threaded 3.14+: the bytecode the frame at base runs, which its
 * instr_ptr points into: co_tlbc->entries[frame->tlbc_index]
 * (_PyFrame_GetBytecode, pycore_interpframe.h).  Entry 0 is the code
 * object's own co_code_adaptive, main.  0 if it cannot be read, counted
 * as STAT_ERR_TLBC: the frame is kept, its line unknown.
 */
static __always_inline __u64 tlbc_bytecode(struct task_struct *task,
					   const struct walk *w,
					   const struct py_proc_cfg *cfg,
					   long base, __u64 code, __u64 main)
{
	__s32 idx = load_s32(w->win, base, cfg->off.frame_tlbc_index);
	__u64 arr, size, entry;

	if (idx == 0)
		return main;
	/* _PyCodeArray: Py_ssize_t size, then char *entries[size]. */
	if (idx < 0 || idx >= TLBC_INDEX_MAX ||
	    read_ptr(task, code + cfg->off.code_tlbc, &arr) || !arr ||
	    read_ptr(task, arr, &size) || (__u64)idx >= size ||
	    read_ptr(task, arr + 8 + 8 * (__u64)idx, &entry) || !entry) {
		stat_inc(STAT_ERR_TLBC);
		return 0;
	}
	return entry;
}

/* The byte offset of the frame's current instruction in its code object
 * (at base in the window), or -1 if it is out of range or unknown. */
static __always_inline __s32 frame_lasti(struct task_struct *task,
					 const struct walk *w,
					 const struct py_proc_cfg *cfg,
					 long base, __u64 code, const bool interp)
{
	__s64 lasti;

	if (interp) {
		/* The instruction pointer is into the code object's own
		 * co_code_adaptive (or a thread's copy of it), so the byte
		 * offset is a subtraction. */
		__u64 bytecode = code + w->code_adaptive;

		if (cfg->off.frame_tlbc_index != PY_OFF_NONE)
			bytecode = tlbc_bytecode(task, w, cfg, base, code,
						 bytecode);
		if (!bytecode)
			return -1;
		lasti = (__s64)(load_u64(w->win, base, cfg->off.frame_instr) -
				bytecode);
	} else {
		lasti = load_s32(w->win, base, cfg->off.frame_instr);
		if (cfg->lasti_units && lasti > 0)
			lasti *= 2;
	}
	if (lasti > 0x7fffffff || lasti < -0x7fffffff)
		return -1;
	return (__s32)lasti;
}

/*
 * 3.11 and 3.12 enter the eval loop by making a _PyCFrame on the C stack
 * the thread's (tstate->cframe = &cframe) some instructions before they
 * set its current_frame: in between, that is whatever the stack held
 * there, often the frame of a generator the same C caller resumed last
 * time, unlinked since (previous NULL).  The frame running is then still
 * the caller's cframe's (cframe.previous, set first; it follows
 * current_frame in both versions).  A first frame whose previous is NULL
 * is the thread's first only where that cframe has no frame (3.11; in
 * 3.12 the first is a C-stack shim, never current).  Called with the
 * first frame's previous NULL; true if the walk goes on from the caller's
 * frame (w->frame, 0 if none) instead.
 */
static __always_inline bool unset_cframe(struct walk *w,
					 struct task_struct *task,
					 const struct py_proc_cfg *cfg,
					 __u64 cframe)
{
	__u32 off = cfg->off.cframe_current_frame;
	__u64 prev = 0, prev_frame = 0;

	if (read_ptr(task, cframe + off + 8, &prev) || !prev ||
	    read_ptr(task, prev + off, &prev_frame))
		return false;
	if (!prev_frame && cfg->version < 0x030c)
		return false;
	stat_inc(STAT_CFRAME_UNSET);
	w->frame = prev_frame;
	w->win_below = 0;
	return true;
}

/* One frame of the walk; returns 1 to stop.  interp: 3.11+'s
 * interpreter frames, else 3.8-3.10's frame objects (a constant: each kind
 * has its own loop body, without the other's branches). */
static __always_inline long walk_frame(void *arg, const bool interp)
{
	struct walk_ctx *c = arg;
	struct walk *w = c->w;
	const struct py_proc_cfg *cfg = c->cfg;
	struct py_frame *f;
	__u64 code, next;
	__u32 fp = 0, len;
	__s32 lasti;
	long base;

	if (!w->frame)
		return 1;
	len = w->read_len;
	if (len > PY_FRAME_READ_MAX)
		len = PY_FRAME_READ_MAX;
	/* 3.11+'s interpreter frames: the memory below, down to the page
	 * start, holds the callers (see struct walk).  3.8-3.10's frame
	 * objects are heap objects of their own, but pymalloc hands out a
	 * pool's blocks in address order, so a caller's is often just below
	 * its callee's (recursion, or calls first made in order): the memory
	 * below too for the first frame and when the link just followed led
	 * down by less than two windows, else the frame's own bytes
	 * (callers scattered, e.g. in size classes apart, would each cost a
	 * window's read for one frame). */
	base = window(w, c->task, w->frame, len,
		      interp || w->win_below);
	if (base < 0) {
		w->flags |= SAMPLE_F_PARTIAL;
		return 1;
	}
	next = load_u64(w->win, base, cfg->off.frame_previous);
	if (interp && w->cframe) {
		__u64 cframe = w->cframe;

		/* The link as read: one that loops to this frame is cut to
		 * 0 below, and that is not a first frame's NULL. */
		w->cframe = 0;
		if (!next && unset_cframe(w, c->task, cfg, cframe))
			return 0;
	}
	next = cycle_cut(w, next);
	w->win_below = next < w->frame && w->frame - next <= 2 * WIN_MAX;

	if (interp) {
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
	lasti = frame_lasti(c->task, w, cfg, base, code, interp);
	if (!code_fingerprint(w, c->task, cfg, code, &fp)) {
		w->flags |= SAMPLE_F_PARTIAL;
		return 1;
	}

	/* --async (issue 23): the running task's coroutine frame; it and
	 * the frames nearer the leaf are the task's. */
	if (async_enabled && w->frame == w->task_frame)
		w->task_depth = w->depth + 1;
	if (w->entry_next)
		fp |= PY_FRAME_F_ENTRY;
	w->entry_next = 0;
	/* 3.11: the first frame of an eval-loop activation has is_entry. */
	if (interp && cfg->frame_is_entry < PY_FRAME_READ_MAX &&
	    load_u8(w->win, base, cfg->frame_is_entry))
		w->entry_next = 1;

	f = &w->ev.seg.frames[w->depth % PY_SEG_FRAMES];
	f->code = code;
	f->lasti = lasti;
	f->fingerprint = fp;
	w->hash = mix64(w->hash ^ code) + ((__u64)(__u32)lasti << 32 | fp);
	w->depth++;
	w->frame = next;
	if (w->depth % PY_SEG_FRAMES == 0 && flush_seg(w)) {
		w->lost = 1;
		return 1;
	}
	return 0;
}

static long walk_interp_frame(__u32 i __attribute__((unused)), void *arg)
{
	return walk_frame(arg, true);
}

static long walk_frame_object(__u32 i __attribute__((unused)), void *arg)
{
	return walk_frame(arg, false);
}

/* Each loop in a function of its own: one bpf_loop call with one callback,
 * which the verifier inlines (a loop of direct calls).  With both calls in
 * one function, clang merged them into one call whose callback is chosen
 * at run time; the verifier does not inline that, and each frame then
 * cost an indirect call through the helper (tests/test_bpf_code.py). */
static __attribute__((noinline)) int walk_interp_frames(struct walk_ctx *wc)
{
	bpf_loop(2 * max_depth + 1, walk_interp_frame, wc, 0);
	return 0;
}

static __attribute__((noinline)) int walk_frame_objects(struct walk_ctx *wc)
{
	bpf_loop(2 * max_depth + 1, walk_frame_object, wc, 0);
	return 0;
}

struct tsw_ctx {
	const struct py_proc_cfg *cfg;
	struct task_struct *task; /* whose memory: NULL, the current task's */
	__u64 want; /* thread_id looked for */
	__u64 interp; /* interpreter being walked */
	__u64 tstate; /* next thread state to look at */
	__u64 found;
	__u32 interps; /* interpreters started */
	__u32 miss; /* enum tstate_miss, if not found */
	/* The at_rest iterator: not a search, but an index of every thread
	 * state of process index_pid into rest_tstates (0: a search). */
	__u32 index_pid;
};

/* A fault on the fields of interpreter number c->interps (its list head,
 * its link to the next): the main one's is a process starting (see
 * tstate_next_interp()), unless its thread list was already found
 * unreadable; another's is a list unreadable. */
static __always_inline void interp_fault(struct tsw_ctx *c)
{
	if (c->interps > 1)
		c->miss = TSTATE_LIST_BAD;
	else if (c->miss != TSTATE_LIST_BAD)
		c->miss = TSTATE_NO_INTERP;
}

/* Starts the next interpreter's thread list; returns 1 to stop. */
static __always_inline long tstate_next_interp(struct tsw_ctx *c)
{
	const struct py_walk_offsets *o = &c->cfg->off;

	/* Subinterpreters are rare, but real. */
	if (c->interps >= PY_MAX_INTERPS)
		return 1;
	if (c->interps == 0) {
		/* A fault here is _PyRuntime's page not touched yet: the
		 * process has not started its interpreter. */
		if (read_ptr(c->task,
			     c->cfg->runtime_addr + o->runtime_interp_head,
			     &c->interp) ||
		    !c->interp) {
			c->miss = TSTATE_NO_INTERP;
			return 1;
		}
	} else if (read_ptr(c->task, c->interp + o->interp_next, &c->interp)) {
		/* Seen: the main interpreter's link and list head both
		 * faulting, 1 launch in 300 at 4999 Hz. */
		interp_fault(c);
		return 1;
	}
	c->interps++;
	if (!c->interp)
		return 1;
	/* The main interpreter's pages (in _PyRuntime on 3.12+) are
	 * touched one by one as start-up writes them, and it is linked
	 * before it is set up: its thread list head's page may not be
	 * touched yet when it is already linked.  That is a process
	 * starting (find_tstate() makes it "gone" for a thread seen running
	 * Python), not an unreadable one.  Elsewhere a fault is a list
	 * unreadable; either way, on to the next interpreter. */
	if (read_ptr(c->task, c->interp + o->interp_threads_head, &c->tstate))
		interp_fault(c);
	return 0;
}

/*
 * One step of the thread-state search; returns 1 to stop.  A fault in one
 * interpreter's thread list is remembered and the search goes on with the
 * next interpreter: the thread may be there.
 */
static long tstate_step(__u32 i __attribute__((unused)), void *arg)
{
	struct tsw_ctx *c = arg;
	const struct py_walk_offsets *o = &c->cfg->off;
	__u64 tid;

	if (!c->tstate)
		return tstate_next_interp(c);
	if (read_user(c->task, &tid, sizeof(tid),
		      c->tstate + o->tstate_thread_id)) {
		c->miss = TSTATE_LIST_BAD;
		c->tstate = 0;
		return 0;
	}
	if (c->index_pid) {
		struct rest_key k = { .pid = c->index_pid, .thread_id = tid };
		struct rest_val v = { .tstate = c->tstate, .gen = rest_gen };

		bpf_map_update_elem(&rest_tstates, &k, &v, BPF_ANY);
	} else if (tid == c->want) {
		c->found = c->tstate;
		return 1;
	}
	if (read_ptr(c->task, c->tstate + o->tstate_next, &c->tstate))
		c->miss = TSTATE_LIST_BAD;
	return 0;
}

/*
 * The pthread_self() of task, or of the current task when task is NULL,
 * which CPython stores in PyThreadState.thread_id.  It is the thread
 * pointer (bpf/arch.bpf.h) on x86-64; on arm64 glibc's struct pthread
 * lies just below it, and cfg->thread_ptr_off is its size.
 */
static __always_inline __u64 thread_id_of(const struct py_proc_cfg *cfg,
					  struct task_struct *task)
{
	if (!task)
		task = bpf_get_current_task_btf();
	return TASK_THREAD_POINTER(task) - cfg->thread_ptr_off;
}

/* The reason to count for a thread state not found. */
static __always_inline __u32 tstate_miss_stat(__u64 miss)
{
	if (miss == TSTATE_RUNTIME_BAD)
		return STAT_ERR_RUNTIME;
	if (miss == TSTATE_LIST_BAD)
		return STAT_ERR_TSTATE_LIST;
	if (miss == TSTATE_NO_INTERP)
		return STAT_NO_INTERP;
	if (miss == TSTATE_INTERP_GONE)
		return STAT_INTERP_GONE;
	return STAT_NO_TSTATE;
}

/* Announces thread tid's thread state to userspace (its name, its GIL). */
static __always_inline void announce_thread(__u32 pid, __u32 tid,
					    __u64 thread_id)
{
	struct pyprof_event_hdr ev = {
		.type = EV_NEW_THREAD,
		.pid = pid,
		.tid = tid,
		.key = thread_id,
	};

	/* Woken at once, even behind --native records (sent without a
	 * wake-up): a short-lived thread is named only while it lives. */
	if (bpf_ringbuf_output(&events, &ev, sizeof(ev), BPF_RB_FORCE_WAKEUP))
		stat_inc(STAT_EVENTS_LOST);
}

/* The most bytes of a PyThreadState read at once (read_tstate()). */
#define TSTATE_SPAN_MAX 256

/*
 * Reads thread state tstate's thread_id into *thread_id, and, when both
 * fields lie within TSTATE_SPAN_MAX bytes (every layout so far), its link
 * to the current frame (tstate_frame) into *link with *linked set: one
 * read for the two fields a sample needs.  Where the code object
 * generation is known (3.14+) and its interpreter (tstate_interp) lies in
 * the same span, that too, into *interp; else *interp is 0.  w->win is
 * free for it: the walk has not started.  0, or a negative error on a
 * fault.
 */
static __always_inline long read_tstate(struct walk *w,
					struct task_struct *task,
					const struct py_walk_offsets *o,
					__u64 tstate, __u64 *thread_id,
					__u64 *link, __u64 *interp,
					bool *linked)
{
	__u32 lo = o->tstate_thread_id, hi = o->tstate_frame, len;
	__u32 at = o->tstate_interp;
	bool with_interp = false;

	*linked = false;
	*interp = 0;
	if (lo > hi) {
		lo = o->tstate_frame;
		hi = o->tstate_thread_id;
	}
	if (at != PY_OFF_NONE && o->interp_code_gen != PY_OFF_NONE) {
		__u32 lo2 = at < lo ? at : lo, hi2 = at > hi ? at : hi;

		/* 64-bit, as below. */
		if ((__u64)hi2 + 8 - lo2 <= TSTATE_SPAN_MAX) {
			lo = lo2;
			hi = hi2;
			with_interp = true;
		}
	}
	/* 64-bit, so that offsets near 4 GiB cannot wrap around. */
	if ((__u64)hi + 8 - lo > TSTATE_SPAN_MAX)
		return read_ptr(task, tstate + o->tstate_thread_id, thread_id);
	len = hi + 8 - lo;
	if (read_user(task, w->win, len & (TSTATE_SPAN_MAX * 2 - 1),
		      tstate + lo))
		return -1;
	*thread_id = unaligned_u64(
		w->win + ((o->tstate_thread_id - lo) & (TSTATE_SPAN_MAX - 1)));
	*link = unaligned_u64(
		w->win + ((o->tstate_frame - lo) & (TSTATE_SPAN_MAX - 1)));
	if (with_interp)
		*interp = unaligned_u64(w->win +
					((at - lo) & (TSTATE_SPAN_MAX - 1)));
	*linked = true;
	return 0;
}

/*
 * Finds the thread state of thread tid of process pid (task, or the
 * current thread when task is NULL) into *tstate.  Returns 0, or the
 * reason there is none (STAT_NO_TSTATE, STAT_ERR_TSTATE_LIST,
 * STAT_ERR_RUNTIME).  When the cached thread state was right, its link to
 * the current frame was read with it: into *link, with *linked set; and
 * its interpreter into *interp where read_tstate() reads it (else 0).
 */
static __always_inline __u32
find_tstate(struct walk *w, const struct py_proc_cfg *cfg, __u32 pid, __u32 tid,
	    struct task_struct *task, __u64 *tstate, __u64 *link, __u64 *interp,
	    bool *linked)
{
	struct tstate_entry *e, ne = {};
	struct tsw_ctx c = { .cfg = cfg, .task = task };
	struct ts_memo *m;
	__u64 tid_now;

	*linked = false;
	*interp = 0;
	c.want = thread_id_of(cfg, task);
	m = &w->ts_memo[tid & (TS_MEMO_SLOTS - 1)];
	if (!task && m->tid == tid && m->pid == pid &&
	    m->thread_id == c.want) {
		if (!read_tstate(w, task, &cfg->off, m->tstate, &tid_now, link,
				 interp, linked) &&
		    tid_now == c.want) {
			*tstate = m->tstate;
			return 0;
		}
		/* Gone, or another's now: tstate_cache says. */
		m->tid = 0;
		*linked = false;
		*interp = 0;
	}
	e = bpf_map_lookup_elem(&tstate_cache, &tid);
	if (e && e->thread_id == c.want) {
		if (e->tstate > TSTATE_MISS_MAX) {
			if (read_tstate(w, task, &cfg->off, e->tstate, &tid_now,
					link, interp, linked)) {
				/* Freed and unmapped?  Walk again. */
				stat_inc(STAT_ERR_TSTATE);
			} else if (tid_now == c.want) {
				*tstate = e->tstate;
				goto found;
			}
			*linked = false;
			*interp = 0;
		} else if ((e->tstate == TSTATE_NONE ||
			    e->tstate == TSTATE_RUNTIME_BAD) &&
			   bpf_ktime_get_ns() - e->checked_ns <
				   NO_TSTATE_TTL_NS) {
			return tstate_miss_stat(e->tstate);
		}
	}

	stat_inc(STAT_TSTATE_WALKS);
	bpf_loop(max_threads_walk, tstate_step, &c, 0);
	if (!c.found && c.tstate) {
		/* A list this long is a list that loops (corrupt memory):
		 * the interpreter is unreadable, not the thread native. */
		stat_inc(STAT_TSTATE_WALK_CAP);
		c.miss = TSTATE_RUNTIME_BAD;
	}

	/* No interpreter, after this thread ran Python: it is gone.  So is a
	 * thread list that faults under the walk of a thread that ran
	 * Python: its own thread state is gone (the cached one would have
	 * been read above) and the list is being freed: Py_Finalize tearing
	 * it down (seen: 1 sample in 500 launches, at exit). */
	if ((c.miss == TSTATE_NO_INTERP || c.miss == TSTATE_LIST_BAD) && e &&
	    e->thread_id == c.want &&
	    (e->tstate > TSTATE_MISS_MAX || e->tstate == TSTATE_INTERP_GONE))
		c.miss = TSTATE_INTERP_GONE;
	ne.tstate = c.found ?: c.miss;
	ne.thread_id = c.want;
	ne.checked_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&tstate_cache, &tid, &ne, BPF_ANY);
	if (!c.found)
		return tstate_miss_stat(c.miss);
	if (!e || e->tstate != c.found)
		announce_thread(pid, tid, c.want);
	*tstate = c.found;
found:
	if (!task) {
		m->tid = tid;
		m->pid = pid;
		m->thread_id = c.want;
		m->tstate = *tstate;
	}
	return 0;
}

/* The Python frame the thread state is running, into w->frame (0 if
 * none): tstate->frame (<=3.10), tstate->cframe->current_frame (3.11,
 * 3.12), tstate->current_frame (3.13+); the first link already read if
 * linked.  0, or a negative error on a fault. */
static __always_inline long current_frame(struct walk *w,
					  struct task_struct *task,
					  const struct py_proc_cfg *cfg,
					  __u64 tstate, __u64 link, bool linked)
{
	const struct py_walk_offsets *o = &cfg->off;
	long err = 0;

	w->cframe = 0;
	if (linked)
		w->frame = link;
	else
		err = read_ptr(task, tstate + o->tstate_frame, &w->frame);

	if (!err && w->frame && o->cframe_current_frame != PY_OFF_NONE) {
		w->cframe = w->frame;
		err = read_ptr(task, w->cframe + o->cframe_current_frame,
			       &w->frame);
	}
	return err;
}

static __always_inline __u32 max3(__u32 a, __u32 b, __u32 c)
{
	__u32 m = a > b ? a : b;

	return m > c ? m : c;
}

/* Bytes of a frame struct the walk reads, or 0 if the config's offsets
 * are out of bounds. */
static __always_inline __u32 frame_read_len(const struct py_proc_cfg *cfg)
{
	const struct py_walk_offsets *o = &cfg->off;
	__u32 need;

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
	    /* Thread-local bytecode exists only with interpreter frames. */
	    (o->frame_tlbc_index != PY_OFF_NONE &&
	     (cfg->frame_kind != PY_FRAME_INTERP ||
	      !off_ok(o->frame_tlbc_index, 4, PY_FRAME_READ_MAX))) ||
	    need > PY_FRAME_READ_MAX)
		return 0;
	return need;
}

/* ---- --async (issue 23): the running task (see SAMPLE_F_TASK) ---- */

/* Reads the thread's running asyncio task, and where its coroutine's frame
 * is, into w (w->task 0: none).  Off the walk's path without --async. */
static __always_inline void async_task(struct walk *w, struct task_struct *task,
				       __u32 pid, __u64 tstate)
{
	const struct py_async_cfg *a;
	__u64 t, coro;

	w->task = 0;
	w->task_frame = 0;
	w->task_depth = 0;
	a = bpf_map_lookup_elem(&async_cfgs, &pid);
	if (!a)
		return; /* not 3.14+, or its _asyncio not loaded yet */
	if (read_ptr(task, tstate + a->running_task, &t)) {
		stat_inc(STAT_ASYNC_UNREAD);
		return;
	}
	if (!t)
		return;
	if (read_ptr(task, t + a->task_coro, &coro)) {
		stat_inc(STAT_ASYNC_UNREAD);
		return;
	}
	w->task = t;
	w->task_frame = coro ? coro + a->gi_iframe : 0;
	w->task_fp = PY_FRAME_F_TASK | ((__u32)(coro >> 4) & PY_FRAME_FP_MASK);
}

/* Adds the task pseudo-frame at the root end of the stack just walked. */
static __always_inline void async_push(struct walk *w)
{
	struct py_frame *f = &w->ev.seg.frames[w->depth % PY_SEG_FRAMES];

	stat_inc(STAT_ASYNC_TASKS);
	if (!w->task_depth)
		stat_inc(STAT_ASYNC_NOFRAME);
	f->code = w->task;
	f->lasti = w->task_depth ? (__s32)w->task_depth : -1;
	f->fingerprint = w->task_fp;
	w->hash = mix64(w->hash ^ f->code) +
		  ((__u64)(__u32)f->lasti << 32 | f->fingerprint);
	w->depth++;
	w->flags |= SAMPLE_F_TASK;
	if (w->depth % PY_SEG_FRAMES == 0 && flush_seg(w))
		w->lost = 1;
}
/* ---- end of issue 23 ---- */

/*
 * 3.12+: whether this walk may use the fingerprints kept from earlier
 * samples (see code_fingerprint()): the count of code objects freed of the
 * current thread's interpreter interp (3.14+), its count of code objects
 * made (3.13), or the process's (3.12, interp may be 0), is read, and if
 * it, the interpreter or the process differs from the ones the kept
 * fingerprints were read under, they are all dropped.  Only for the
 * thread the walk interrupted (its frames keep their code objects alive
 * while it is read), and not in a free-threaded build, whose other
 * threads free objects while this one is read.
 */
static __always_inline void fpc_begin(struct walk *w,
				      const struct py_proc_cfg *cfg, __u32 pid,
				      __u64 interp)
{
	__u32 off = cfg->off.interp_code_gen;
	bool global = cfg->flags & PY_CFG_CODE_GEN_RUNTIME;
	__u64 gen, tag;

	w->fpc_on = 0;
	if ((!interp && !global) || off == PY_OFF_NONE ||
	    (cfg->flags & PY_CFG_FREE_THREADED) ||
	    read_ptr(NULL,
		     global ? cfg->runtime_addr + (__u64)(__s64)(__s32)off :
			      interp + off,
		     &gen))
		return;
	/* 3.12's and 3.13's count is 32 bits, and stops at 0 once spent. */
	if ((cfg->flags & PY_CFG_CODE_GEN_U32) && !(gen = (__u32)gen))
		return;
	/* The process as its pid and address space (a pid is reused only
	 * by another process, with another mm), and the interpreter. */
	tag = mix64(mix64(pid ^ (__u64)BPF_CORE_READ(
					bpf_get_current_task_btf(), mm)) ^
		    interp);
	if (tag != w->fpc_tag || gen != w->fpc_gen) {
		w->fpc_epoch++;
		w->fpc_tag = tag;
		w->fpc_gen = gen;
	}
	w->fpc_on = 1;
}

/* Whether the fingerprint's offsets are inside its span, and the span
 * inside the scratch room: checked once per sample. */
static __always_inline bool fp_span_ok(const struct py_code_fp_span *s)
{
	return s->len >= 8 && s->len <= PY_CODE_FP_SPAN_MAX &&
	       s->filename <= s->len - 8 && s->name <= s->len - 8 &&
	       s->linetable <= s->len - 8;
}

/*
 * Walks a thread's Python stack into key (stack_id, depth, flags) and
 * stores its segments in the stacks map of buffer w->buf_idx: the current
 * thread's when task is NULL, else task's, a thread at rest.  key->pid and
 * key->tid are that thread's.  Returns the stat to count for the
 * sample: how its stack ended (STAT_PY_FULL, STAT_TRUNCATED, ...) or why it
 * has none (STAT_NO_TSTATE, STAT_ERR_FRAME, ...; key->flags says so too);
 * or 0 if the stack could not be stored and the sample is lost (counted
 * here as lost_stacks).
 */
static __always_inline __u32 py_stack(struct walk *w,
				      const struct py_proc_cfg *cfg,
				      struct sample_key *key,
				      struct task_struct *task)
{
	struct walk_ctx wc;
	__u64 tstate, link = 0, interp = 0;
	__u32 reason, need;
	bool linked;

	w->ev.hdr.pid = key->pid;
	w->ev.hdr.tid = key->tid;

	need = frame_read_len(cfg);
	if (!need || !fp_span_ok(&cfg->fp)) {
		key->flags = SAMPLE_F_BAD_CONFIG;
		return STAT_ERR_CONFIG;
	}

	w->fpc_on = 0;
	reason = find_tstate(w, cfg, key->pid, key->tid, task, &tstate, &link,
			     &interp, &linked);
	if (reason) {
		key->flags = reason == STAT_NO_TSTATE	? SAMPLE_F_NO_TSTATE :
			     reason == STAT_NO_INTERP	? SAMPLE_F_NO_INTERP :
			     reason == STAT_INTERP_GONE ? SAMPLE_F_INTERP_GONE :
							  SAMPLE_F_NO_RUNTIME;
		return reason;
	}

	if (current_frame(w, task, cfg, tstate, link, linked)) {
		/* Like a first frame that cannot be read. */
		key->flags = SAMPLE_F_PARTIAL;
		return STAT_ERR_FRAME;
	}
	if (!w->frame) {
		key->flags = SAMPLE_F_NO_FRAME;
		return STAT_NO_FRAME;
	}

	if (async_enabled)
		async_task(w, task, key->pid, tstate);
	w->hash = 0;
	w->prev_key = 0;
	/* The first segment's key covers the pid: code addresses mean
	 * something only within one process. */
	w->seed = mix64(key->pid);
	w->depth = 0;
	w->flags = 0;
	w->read_len = need;
	w->code_adaptive = cfg->off.code_adaptive == PY_OFF_NONE ?
				   0 :
				   cfg->off.code_adaptive;
	wc.w = w;
	wc.cfg = cfg;
	wc.task = task;
	/* Iterations for max_depth frames, a skipped shim between each two
	 * (3.12+ pushes one per eval-loop entry), and one more so that a stack
	 * of exactly max_depth frames is not reported as truncated.  If the
	 * loop still ends with frames left, the stack is cut: say so. */
	w->lost = 0;
	w->entry_next = 0;
	w->win_base = 0;
	w->win_len = 0;
	/* The first frame object's too: its caller's is often just below
	 * (see walk_frame()). */
	w->win_below = 1;
	w->cyc_frame = w->frame;
	w->cyc_steps = 0;
	w->cyc_limit = 2;
	w->fp_next = 0;
	if (!task)
		fpc_begin(w, cfg, key->pid, interp);
	if (cfg->frame_kind == PY_FRAME_INTERP)
		walk_interp_frames(&wc);
	else
		walk_frame_objects(&wc);
	if (w->frame && !(w->flags & (SAMPLE_F_TRUNCATED | SAMPLE_F_PARTIAL)))
		w->flags |= SAMPLE_F_TRUNCATED;
	/* A stack with no frame keeps depth 0: wall mode reads it again. */
	if (async_enabled && w->task && w->depth && !w->lost)
		async_push(w);
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

#endif /* PYPROF_PYSTACK_BPF_H */
