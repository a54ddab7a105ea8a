/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Tasks as pyprof-bpf numbers them: pids in pyprof-bpf's own PID namespace
 * (pidns_ino, 0 in the host's), which is what its /proc, the targets map
 * and the events speak.
 */
#ifndef PYPROF_TASK_BPF_H
#define PYPROF_TASK_BPF_H

#include "maps.bpf.h"

#include <bpf/bpf_core_read.h>

/* task_struct.flags: the task is exiting (include/linux/sched.h). */
#define PF_EXITING 0x00000004

/*
 * The current task's tgid and pid as pyprof-bpf's /proc numbers them;
 * false when that namespace does not number it (a task of an outer
 * namespace, or of a nested one: bpf_get_ns_current_pid_tgid only
 * answers for tasks of exactly that namespace).
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

/* The number of pid p in pyprof-bpf's PID namespace; 0 if p is not
 * visible there.  A pid has one number per namespace level, up to 32. */
static __always_inline __u32 pid_nr_in_ns(struct pid *p)
{
	struct upid up;
	__u32 lvl;

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

/* The tgid of task t in pyprof-bpf's PID namespace; 0 if not visible. */
static __always_inline __u32 task_tgid_in_ns(struct task_struct *t)
{
	if (!pidns_ino)
		return BPF_CORE_READ(t, tgid);
	return pid_nr_in_ns(BPF_CORE_READ(t, group_leader, thread_pid));
}

/* The pid (thread id) of task t in pyprof-bpf's PID namespace; 0 if not
 * visible. */
static __always_inline __u32 task_pid_in_ns(struct task_struct *t)
{
	if (!pidns_ino)
		return BPF_CORE_READ(t, pid);
	return pid_nr_in_ns(BPF_CORE_READ(t, thread_pid));
}

/*
 * Whether cfg, the targets entry of task's process, describes the program
 * task runs.  An exec replaces the address space some time before its
 * tracepoint forgets the entry; a sample in between (in the kernel,
 * loading the new program) is of another program, whose memory the old
 * one's addresses do not describe.  Its code lies elsewhere (or, until it
 * is mapped, nowhere); a fork's, a vfork's, a thread's, where its
 * parent's does.  (A program that exec'd its own executable, mapped at the
 * same place, is the rare exception: when the config is the old one's,
 * userspace takes it out, see push_cfg in src/sampler/targets.c.)
 */
static __always_inline bool task_code(struct task_struct *task,
				     struct py_code_range *code)
{
	struct mm_struct *mm;

	/* Plain loads: task is a BTF pointer (every caller's is), so the
	 * verifier lets them through as faulting loads, where a helper call
	 * each (BPF_CORE_READ) cost ~95 ns more a sample.  A load that
	 * faults gives 0, which no config's range is. */
	mm = task->mm;
	if (!mm) {
		code->start = code->end = 0;
		return false;
	}
	code->start = mm->start_code;
	code->end = mm->end_code;
	return true;
}

/*
 * Whether task is inside an exec (bprm_execve sets in_execve until the
 * new program is loaded or the exec failed).  A vfork child's exec lets
 * its parent go on (exec_mm_release) before it leaves the parent's
 * memory (exec_mmap): sampled in between, the child's reads are of its
 * parent's frames while the parent runs, a stack neither program has.
 * Before the release the child is in the kernel, not running Python
 * either.  The bit is a plain load, as in task_code (task is a BTF
 * pointer); on a kernel without the field this is false.
 */
static __always_inline bool task_in_exec(struct task_struct *task)
{
	if (!bpf_core_field_exists(task->in_execve))
		return false;
	return BPF_CORE_READ_BITFIELD(task, in_execve);
}

static __always_inline bool cfg_is_of(const struct py_proc_cfg *cfg,
				      struct task_struct *task)
{
	struct py_code_range code;

	if (!task_code(task, &code) || code.start != cfg->code.start ||
	    code.end != cfg->code.end)
		return false;
	if (task_in_exec(task)) {
		stat_inc(STAT_IN_EXEC);
		return false;
	}
	return true;
}

#endif /* PYPROF_TASK_BPF_H */
