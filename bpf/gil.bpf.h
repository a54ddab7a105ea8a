/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * GIL state (--gil), for the sampler and the off-CPU program.  "Holds" is
 * read from the GIL itself at sample time (locked and last_holder == this
 * thread state): no event to trace.  "Waits" is seen at switch-out
 * (bpf/offcpu.bpf.c): a thread that sleeps in futex() on an address inside
 * the GIL (its cond or mutex, where take_gil waits) is waiting for the GIL.
 * Both cost nothing per GIL hand-off beyond the sched_switch program that
 * wall mode runs anyway; uprobes on take_gil/drop_gil would cost a trap
 * each.
 */
#ifndef PYPROF_GIL_BPF_H
#define PYPROF_GIL_BPF_H

#include "pystack.bpf.h"

/* The GIL's address in the target, found once and cached; 0 while it is
 * unknown (a read that faults is counted as err_gil). */
static __always_inline __u64 gil_addr(struct py_gil_cfg *g,
				      const struct py_proc_cfg *cfg,
				      struct task_struct *task)
{
	__u64 a = 0, interp;

	if (g->addr)
		return g->addr;
	if (g->where == PY_GIL_IN_RUNTIME) {
		a = cfg->runtime_addr + g->off;
	} else if (g->where == PY_GIL_INTERP_PTR) {
		/* Before the GIL is created the pointer is NULL: retry. */
		if (read_ptr(task, cfg->runtime_addr + g->main_interp_off,
			     &interp) ||
		    (interp && read_ptr(task, interp + g->off, &a))) {
			stat_inc(STAT_ERR_GIL);
			return 0;
		}
	}
	if (a)
		g->addr = a;
	return a;
}

/* SAMPLE_F_GIL_HELD if thread tid of pid holds the GIL: task, or the
 * current thread when task is NULL (whose memory is read, as in
 * bpf/pystack.bpf.h). */
static __always_inline __u32 gil_state(__u32 pid, __u32 tid,
				       const struct py_proc_cfg *cfg,
				       struct task_struct *task)
{
	struct tstate_entry *e;
	struct py_gil_cfg *g;
	__u64 a, holder = 0;
	__s32 locked = 0;

	if (!gil_enabled)
		return 0;
	g = bpf_map_lookup_elem(&gil_cfgs, &pid);
	if (!g)
		return 0;
	a = gil_addr(g, cfg, task);
	e = bpf_map_lookup_elem(&tstate_cache, &tid);
	if (!a || !e || e->tstate <= TSTATE_MISS_MAX || g->locked_off > 4096 ||
	    g->holder_off > 4096)
		return 0;
	if (read_user(task, &locked, sizeof(locked), a + g->locked_off) ||
	    read_user(task, &holder, sizeof(holder), a + g->holder_off)) {
		stat_inc(STAT_ERR_GIL);
		return 0;
	}
	return locked && holder == e->tstate ? SAMPLE_F_GIL_HELD : 0;
}

#endif /* PYPROF_GIL_BPF_H */
