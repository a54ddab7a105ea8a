// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Wall-clock mode (--mode wall): time off-CPU, and GIL waits.
 *
 * When a target thread leaves a CPU, tp_btf/sched_switch runs while
 * `current` is still that thread, so its Python stack is readable: it is
 * walked (into off_stacks, which no drain empties) and kept with the time
 * and the reason in the offcpu map.  When the thread is switched back in,
 * the time it was away is counted under that stack.  Threads still away at a
 * drain are accounted by offcpu_flush, which userspace runs (BPF_PROG_RUN)
 * before each drain: it counts up to now and moves the record's start to
 * now.  Both sides claim a record's time with an atomic exchange on
 * start_ns, so an interval is counted once even when a thread wakes while
 * the flush runs.  GIL state: bpf/gil.bpf.h.
 *
 * A thread already asleep when its process is attached is never seen
 * leaving the CPU: the at_rest task iterator, which userspace runs over
 * the new target's threads, reads its stack where it rests (the same walk,
 * reading the target's memory with bpf_copy_from_user_task) and gives it
 * its record.  Run again before a drain, it gives a stack to the records of
 * threads still asleep whose stack could not be read before.
 */
#include "maps.bpf.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "discover.bpf.h"
#include "gil.bpf.h"
#include "pystack.bpf.h"
#include "task.bpf.h"

/* task states (include/linux/sched.h) */
#define TASK_UNINTERRUPTIBLE_ 0x0002
#define TASK_STOPPED_ 0x0004
#define TASK_TRACED_ 0x0008

/* Why prev leaves the CPU, or is off it: an offcpu_why, and *gil when it
 * waits for the GIL.  mem: whose memory is read, NULL when prev is the
 * current task (bpf/pystack.bpf.h).  System call numbers: bpf/syscalls.h. */
static __always_inline __u32 offcpu_why(struct task_struct *prev, bool preempt,
					unsigned int state, __u32 pid,
					const struct py_proc_cfg *cfg,
					bool *gil, struct task_struct *mem)
{
	struct pt_regs *regs;
	struct py_gil_cfg *g;
	__u32 why;
	long nr;
	__u64 uaddr, a;

	*gil = false;
	if (preempt || state == 0)
		return OFFCPU_PREEMPTED;
	if (state & (TASK_STOPPED_ | TASK_TRACED_))
		return OFFCPU_STOPPED;
	regs = (struct pt_regs *)bpf_task_pt_regs(prev);
	if (!regs)
		return OFFCPU_OTHER;
	nr = REGS_SYSCALL(regs);
	switch (nr) {
	case PYNR_futex:
	case PYNR_futex_waitv:
		if (!gil_enabled || nr != PYNR_futex)
			return OFFCPU_FUTEX;
		g = bpf_map_lookup_elem(&gil_cfgs, &pid);
		if (!g)
			return OFFCPU_FUTEX;
		a = gil_addr(g, cfg, mem);
		uaddr = REGS_ARG0(regs);
		if (a && uaddr - a < g->size) {
			*gil = true;
			return OFFCPU_GIL;
		}
		return OFFCPU_FUTEX;
	default:
		break;
	}
	why = offcpu_why_of_syscall(nr, REGS_ARG0(regs), REGS_ARG1(regs));
	if (why != OFFCPU_OTHER)
		return why;
	if (state & TASK_UNINTERRUPTIBLE_)
		return OFFCPU_DISK;
	if (nr >= 0 && nr < (long)(SAMPLE_WHY_MASK - OFFCPU_SYSCALL))
		return OFFCPU_SYSCALL + (__u32)nr;
	return OFFCPU_OTHER;
}

/*
 * The off-CPU key of thread tid of pid (task), which leaves the CPU or is
 * off it: its Python stack, stored in off_stacks, why it is off the CPU,
 * and its GIL state.  mem: whose memory is read (NULL when task is the
 * current task).  false when the stack could not be stored (counted as
 * lost_stacks).
 */
static __always_inline bool offcpu_key(struct walk *w, struct task_struct *task,
				       struct task_struct *mem, bool preempt,
				       unsigned int state, __u32 pid, __u32 tid,
				       const struct py_proc_cfg *cfg,
				       struct sample_key *key)
{
	__u32 why;
	bool gil;

	key->pid = pid;
	key->tid = tid;
	key->kstack = -1;
	key->ustack = -1;
	w->buf_idx = OFF_STACKS_BUF;
	if (!py_stack(w, cfg, key, mem))
		return false;
	why = offcpu_why(task, preempt, state, pid, cfg, &gil, mem);
	key->flags |= SAMPLE_F_OFFCPU | (why & SAMPLE_WHY_MASK)
						<< SAMPLE_WHY_SHIFT;
	/* A thread preempted while it holds the GIL keeps holding it while
	 * it waits for a CPU: the others wait for it. */
	if (gil)
		key->flags |= SAMPLE_F_GIL_WAIT;
	else
		key->flags |= gil_state(pid, tid, cfg, mem);
	return true;
}

/* prev (current) leaves the CPU: remember its stack, when, and why. */
static __always_inline void offcpu_out(struct task_struct *prev, bool preempt,
				       unsigned int state, __u64 now)
{
	const struct py_proc_cfg *cfg;
	struct offcpu_rec rec = {};
	struct tstate_entry *e;
	__u32 pid, tid;
	struct walk *w;

	if (BPF_CORE_READ(prev, flags) & PF_EXITING)
		return;
	if (!current_ids(&pid, &tid))
		return;
	cfg = bpf_map_lookup_elem(&targets, &pid);
	/* A process under discovery that goes to sleep before a sample
	 * saw it (a script that sleeps right after start-up): its sleep is
	 * worth a look too. */
	if (!cfg && discover) {
		struct pt_regs *ur = (struct pt_regs *)bpf_task_pt_regs(prev);

		cfg = discover_task(pid, tid, REGS_IP(ur), REGS_SP(ur),
				    RECOGNISE_SWITCH_WORDS, false);
	}
	if (!cfg || !cfg_is_of(cfg, prev))
		return;
	w = scratch_get();
	if (!w)
		return; /* counted as err_scratch */
	stat_inc(STAT_OFFCPU_SWITCHES);
	/* A new thread often first leaves the CPU before it has bound its
	 * thread state (waiting for the GIL), and next time from Python; a
	 * process often goes to sleep right after its start-up: no verdict
	 * of "no thread state" or "interpreter not readable" is trusted
	 * here, the list is walked again, for the stack kept here stands
	 * for the whole time off-CPU.  Only threads that never run Python
	 * pay that walk. */
	e = bpf_map_lookup_elem(&tstate_cache, &tid);
	if (e && e->tstate <= TSTATE_MISS_MAX)
		e->checked_ns = 0;
	if (!offcpu_key(w, prev, NULL, preempt, state, pid, tid, cfg, &rec.key))
		return; /* counted as lost_stacks */
	rec.start_ns = now;
	if (bpf_map_update_elem(&offcpu, &tid, &rec, BPF_ANY))
		stat_inc(STAT_OFFCPU_LOST);
}

/* next comes back: count the time it was away. */
static __always_inline void offcpu_in(struct task_struct *next, __u64 now)
{
	struct offcpu_rec *r;
	struct sample_key key;
	__u32 tid = task_pid_in_ns(next);
	__u64 start;

	if (!tid)
		return;
	r = bpf_map_lookup_elem(&offcpu, &tid);
	if (!r)
		return;
	/* Claim the time still unaccounted; offcpu_flush may have moved
	 * start_ns forward, never back. */
	start = __sync_lock_test_and_set(&r->start_ns, 0);
	key = r->key;
	bpf_map_delete_elem(&offcpu, &tid);
	if (start && now > start && count(&key, active_buf & 1, now - start))
		timeline_send(&key, active_buf & 1, start, now - start, 0);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	__u64 now = bpf_ktime_get_ns();

	(void)ctx;
	if (!offcpu_enabled)
		return 0;
	offcpu_out(prev, preempt, prev_state, now);
	offcpu_in(next, now);
	return 0;
}

/*
 * A target thread off the CPU is woken (issue 21): what it waited for is
 * over, and from now on it waits for a CPU.  The time so far is counted
 * under the reason it left with, and the rest, until it is switched in, as
 * preempted (runnable, waiting for a CPU): a sleep is then as long as the
 * sleep was, on a busy machine too.  Not a wait for the GIL: that lasts
 * until the thread runs and holds it (--gil's waiting share).
 * sched_waking runs before the task is queued, so no CPU switches it in
 * meanwhile; a flush may claim the time first (start_ns), as with
 * offcpu_in.
 */
SEC("tp_btf/sched_waking")
int BPF_PROG(on_waking, struct task_struct *p)
{
	__u32 tid, mask = SAMPLE_WHY_MASK << SAMPLE_WHY_SHIFT;
	struct sample_key key;
	struct offcpu_rec *r;
	__u64 now, start;

	(void)ctx;
	if (!offcpu_enabled)
		return 0;
	tid = task_pid_in_ns(p);
	r = tid ? bpf_map_lookup_elem(&offcpu, &tid) : NULL;
	if (!r || (r->key.flags & SAMPLE_F_GIL_WAIT) ||
	    ((r->key.flags & mask) >> SAMPLE_WHY_SHIFT) == OFFCPU_PREEMPTED)
		return 0;
	now = bpf_ktime_get_ns();
	start = r->start_ns;
	if (!start || start >= now ||
	    __sync_val_compare_and_swap(&r->start_ns, start, now) != start)
		return 0;
	key = r->key;
	if (count(&key, active_buf & 1, now - start))
		timeline_send(&key, active_buf & 1, start, now - start, 0);
	/* Runnable: no longer waiting for the GIL; one held is still held. */
	r->key.flags = (key.flags & ~mask & ~(__u32)SAMPLE_F_GIL_WAIT) |
		       (__u32)OFFCPU_PREEMPTED << SAMPLE_WHY_SHIFT;
	return 0;
}

struct flush_ctx {
	__u64 now;
	__u32 buf;
};

static long flush_one(struct bpf_map *map __attribute__((unused)),
		      __u32 *tid __attribute__((unused)), struct offcpu_rec *r,
		      struct flush_ctx *c)
{
	struct sample_key key;
	__u64 start = r->start_ns;

	if (!start || start >= c->now)
		return 0;
	/* Lost to a wake-up that claimed it first: that one counts it. */
	if (__sync_val_compare_and_swap(&r->start_ns, start, c->now) != start)
		return 0;
	key = r->key;
	/* The timeline gets the span so far; the wake-up sends the rest,
	 * and userspace joins the pieces. */
	if (count(&key, c->buf, c->now - start))
		timeline_send(&key, c->buf, start, c->now - start, 0);
	return 0;
}

/*
 * Run by userspace (BPF_PROG_RUN) before each drain: counts the time of the
 * threads that are still off-CPU up to now, so that a long sleep shows up
 * at each drain and at the end, not only when the thread wakes.
 */
SEC("syscall")
int offcpu_flush(void *ctx __attribute__((unused)))
{
	struct flush_ctx c = { .now = bpf_ktime_get_ns(),
			       .buf = active_buf & 1 };

	bpf_for_each_map_elem(&offcpu, flush_one, &c, 0);
	return 0;
}

/*
 * Indexes the thread states of process pid (task's) by thread_id in
 * rest_tstates, once per run of at_rest: one walk of its thread lists.
 * Returns how the walk went: 0, or an enum tstate_miss.
 */
static __always_inline __u64 rest_index(const struct py_proc_cfg *cfg,
					__u32 pid, struct task_struct *task)
{
	struct tsw_ctx c = { .cfg = cfg, .task = task, .index_pid = pid };
	struct rest_key k = { .pid = pid };
	struct rest_val v = { .gen = rest_gen }, *m;

	m = bpf_map_lookup_elem(&rest_tstates, &k);
	if (m && m->gen == rest_gen)
		return m->tstate;
	stat_inc(STAT_TSTATE_WALKS);
	bpf_loop(max_threads_walk, tstate_step, &c, 0);
	v.tstate = c.miss;
	if (c.tstate) {
		/* Longer than max_threads_walk: a list that loops. */
		stat_inc(STAT_TSTATE_WALK_CAP);
		v.tstate = TSTATE_RUNTIME_BAD;
	}
	bpf_map_update_elem(&rest_tstates, &k, &v, BPF_ANY);
	return v.tstate;
}

/*
 * Tells the thread-state cache where thread tid (task, of pid) has its
 * thread state, from the index, so that its walk does not look for it:
 * there, or nowhere when the index was read whole; if it could not be,
 * the walk looks for itself.
 */
static __always_inline void rest_tstate(const struct py_proc_cfg *cfg,
					__u32 pid, __u32 tid,
					struct task_struct *task)
{
	struct tstate_entry e = { .thread_id = thread_id_of(cfg, task) };
	struct rest_key k = { .pid = pid, .thread_id = e.thread_id };
	struct rest_val *v;

	if (rest_index(cfg, pid, task))
		return;
	v = bpf_map_lookup_elem(&rest_tstates, &k);
	e.tstate = v && v->gen == rest_gen ? v->tstate : TSTATE_NONE;
	e.checked_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&tstate_cache, &tid, &e, BPF_ANY);
}

/*
 * A thread at rest: userspace runs this task iterator over a target's
 * threads when it attaches the target, and again before a drain when some
 * of them rest under a record worth reading again.  A thread on a CPU is
 * the sampler's; one with a record was seen leaving the CPU by
 * sched_switch, unless that record is worth reading again.  The others get
 * a record from now, under the stack they rest in.  Sleepable, for
 * bpf_copy_from_user_task: the thread is not the current task.
 */
SEC("iter.s/task")
int at_rest(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	const struct py_proc_cfg *cfg;
	struct offcpu_rec rec = {}, *r;
	__u32 pid, tid, zero = 0;
	__u64 now, start;
	struct walk *w;

	if (!task || !offcpu_enabled)
		return 0;
	if (BPF_CORE_READ(task, on_cpu) ||
	    (BPF_CORE_READ(task, flags) & PF_EXITING))
		return 0;
	pid = task_tgid_in_ns(task);
	tid = task_pid_in_ns(task);
	cfg = bpf_map_lookup_elem(&targets, &pid);
	if (!pid || !tid || !cfg || !cfg_is_of(cfg, task))
		return 0;
	r = bpf_map_lookup_elem(&offcpu, &tid);
	if (r && !offcpu_reread(r->key.depth, r->key.flags))
		return 0;
	/* Its own scratch: while this program sleeps in a page fault, the
	 * sampler may run on this CPU and use the per-CPU one. */
	w = bpf_map_lookup_elem(&rest_scratch, &zero);
	if (!w) {
		stat_inc(STAT_ERR_SCRATCH);
		return 0;
	}
	rest_tstate(cfg, pid, tid, task);
	if (!offcpu_key(w, task, task, false, BPF_CORE_READ(task, __state), pid,
			tid, cfg, &rec.key))
		return 0; /* counted as lost_stacks */
	stat_inc(STAT_AT_REST);
	now = bpf_ktime_get_ns();
	if (r) {
		if (offcpu_reread(rec.key.depth, rec.key.flags))
			return 0; /* no better than the record it has */
		/* Its time so far under the old key, the rest under the new
		 * one; unless it woke meanwhile (then offcpu_in counted it). */
		start = r->start_ns;
		if (!start || __sync_val_compare_and_swap(&r->start_ns, start,
							  0) != start)
			return 0;
		if (now > start)
			count(&r->key, active_buf & 1, now - start);
		rec.start_ns = now;
		bpf_map_update_elem(&offcpu, &tid, &rec, BPF_EXIST);
		return 0;
	}
	rec.start_ns = now;
	/* NOEXIST: a record sched_switch wrote meanwhile is newer. */
	if (bpf_map_update_elem(&offcpu, &tid, &rec, BPF_NOEXIST)) {
		if (!bpf_map_lookup_elem(&offcpu, &tid))
			stat_inc(STAT_OFFCPU_LOST);
		return 0;
	}
	/* It woke while it was read, and offcpu_in ran before the record was
	 * there: this record counts nothing (offcpu_in or sched_switch will
	 * replace it). */
	if (BPF_CORE_READ(task, on_cpu)) {
		r = bpf_map_lookup_elem(&offcpu, &tid);
		if (r)
			__sync_val_compare_and_swap(&r->start_ns, now, 0);
	}
	return 0;
}
