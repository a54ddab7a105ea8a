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

/* Why prev, which is current, leaves the CPU: an offcpu_why, and *gil when
 * it waits for the GIL.  System call numbers are x86-64's. */
static __always_inline __u32 offcpu_why(struct task_struct *prev, bool preempt,
					unsigned int state, __u32 pid,
					const struct py_proc_cfg *cfg,
					bool *gil)
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
#ifdef __TARGET_ARCH_x86
	regs = (struct pt_regs *)bpf_task_pt_regs(prev);
	if (!regs)
		return OFFCPU_OTHER;
	nr = BPF_CORE_READ(regs, orig_ax);
	switch (nr) {
	case 202: /* futex */
	case 449: /* futex_waitv */
		if (!gil_enabled || nr != 202)
			return OFFCPU_FUTEX;
		g = bpf_map_lookup_elem(&gil_cfgs, &pid);
		if (!g)
			return OFFCPU_FUTEX;
		a = gil_addr(g, cfg);
		uaddr = BPF_CORE_READ(regs, di);
		if (a && uaddr - a < g->size) {
			*gil = true;
			return OFFCPU_GIL;
		}
		return OFFCPU_FUTEX;
	default:
		break;
	}
	why = offcpu_why_of_syscall(nr, BPF_CORE_READ(regs, di),
				    BPF_CORE_READ(regs, si));
	if (why != OFFCPU_OTHER)
		return why;
	if (state & TASK_UNINTERRUPTIBLE_)
		return OFFCPU_DISK;
	if (nr >= 0 && nr < (long)(SAMPLE_WHY_MASK - OFFCPU_SYSCALL))
		return OFFCPU_SYSCALL + (__u32)nr;
#else
	(void)regs;
	(void)why;
	(void)nr;
	(void)uaddr;
	(void)a;
	(void)g;
	(void)pid;
	(void)cfg;
	if (state & TASK_UNINTERRUPTIBLE_)
		return OFFCPU_DISK;
#endif
	return OFFCPU_OTHER;
}

/* prev (current) leaves the CPU: remember its stack, when, and why. */
static __always_inline void offcpu_out(struct task_struct *prev, bool preempt,
				       unsigned int state, __u64 now)
{
	const struct py_proc_cfg *cfg;
	struct offcpu_rec rec = {};
	struct tstate_entry *e;
	__u32 pid, tid, why;
	struct walk *w;
	bool gil;

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

		cfg = discover_task(pid, tid, BPF_CORE_READ(ur, ip),
				    BPF_CORE_READ(ur, sp),
				    RECOGNISE_SWITCH_WORDS, false);
	}
	if (!cfg)
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
	rec.key.pid = pid;
	rec.key.tid = tid;
	rec.key.kstack = -1;
	rec.key.ustack = -1;
	w->buf_idx = OFF_STACKS_BUF;
	if (!py_stack(w, cfg, &rec.key))
		return; /* counted as lost_stacks */
	why = offcpu_why(prev, preempt, state, pid, cfg, &gil);
	rec.key.flags |= SAMPLE_F_OFFCPU | (why & SAMPLE_WHY_MASK)
						   << SAMPLE_WHY_SHIFT;
	/* A thread preempted while it holds the GIL keeps holding it while
	 * it waits for a CPU: the others wait for it. */
	if (gil)
		rec.key.flags |= SAMPLE_F_GIL_WAIT;
	else
		rec.key.flags |= gil_state(pid, tid, cfg);
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
	if (start && now > start)
		count(&key, active_buf & 1, now - start);
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
	count(&key, c->buf, c->now - start);
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
