// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Process lifecycle: a target that execs stops being sampled, a followed
 * process's forks are followed (and sampled from their first instruction
 * when the parent is a target).  Userspace hears of both on the ring
 * buffer; exits it finds itself, in /proc.
 */
#include "maps.bpf.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "task.bpf.h"

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
	__u64 now = bpf_ktime_get_ns();
	__u32 pid, tid;

	if (!current_ids(&pid, &tid))
		return 0;
	/* Before targets is looked at: userspace, which may be putting a
	 * config it read before this exec into targets, checks this after. */
	bpf_map_update_elem(&execs, &pid, &now, BPF_ANY);
	bpf_map_delete_elem(&probe, &pid);
	/* Samples of the program it was are not the new one's. */
	bpf_map_delete_elem(&parked, &pid);
	if (!bpf_map_lookup_elem(&targets, &pid)) {
		/* A followed process runs a new program (a shell's child
		 * execs python): look at it now, not at its first sample,
		 * which a script that sleeps at once may never give. */
		if ((discover & PYPROF_DISCOVER_FOLLOW) &&
		    bpf_map_lookup_elem(&follow, &pid)) {
			ev.type = EV_PROBE;
			ev.pid = pid;
			stat_inc(STAT_PROBES);
			event_send(&ev, sizeof(ev));
		}
		return 0;
	}
	bpf_map_delete_elem(&targets, &pid);
	targets_changed();
	ev.pid = pid;
	event_send(&ev, sizeof(ev));
	return 0;
}

/*
 * A fork of a followed process is followed too; a forked target runs the
 * same interpreter at the same addresses, so it is sampled from its first
 * instruction with its parent's config.  Threads are not processes: skip
 * them.  When a map is full the child is still announced (userspace adds
 * it as a target itself), but counted: its own forks are not followed, or
 * its first samples are not taken.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	struct pyprof_event_hdr ev = { .type = EV_FORK };
	const struct py_proc_cfg *cfg;
	__u32 ppid, cpid;
	long err;

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
	bpf_map_delete_elem(&parked, &cpid);
	bpf_map_delete_elem(&execs, &cpid);
	if (!bpf_map_lookup_elem(&follow, &ppid))
		return 0;
	if (bpf_map_update_elem(&follow, &cpid, &ppid, BPF_ANY))
		stat_inc(STAT_FORK_UNFOLLOWED);
	cfg = bpf_map_lookup_elem(&targets, &ppid);
	if (cfg) {
		err = bpf_map_update_elem(&targets, &cpid, cfg, BPF_NOEXIST);
		if (!err)
			targets_changed();
		/* -EEXIST: userspace added it first. */
		if (err && err != -17)
			stat_inc(STAT_FORK_UNTARGETED);
	}
	ev.pid = cpid;
	ev.key = ppid;
	event_send(&ev, sizeof(ev));
	return 0;
}
