/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Discovery in the sampler (-a, followed processes): a sample of a process
 * that is not a target yet either recognises it as a process of an
 * interpreter file userspace has described (interp_files), and makes it a
 * target at once, or announces it to userspace (EV_PROBE) to look at.
 *
 * Recognising here, rather than waiting for userspace, is what keeps a
 * short-lived process's first samples: userspace answers a probe after
 * reading /proc and, for a file it has not seen, the file's symbols, which
 * on a loaded machine took up to seconds (issue 17, item 4), while the
 * sampler knows from the first sample that lands in the interpreter's code.
 * Userspace still attaches the process (EV_RECOGNISED) to read its code
 * objects; what it has not described yet goes the old way.
 *
 * Only processes whose executable userspace knows runs a CPython
 * (interp_exes) are looked up in their mappings: other processes pay one
 * lookup.  The samples taken of a process before it is recognised are
 * counted (parked) until userspace's verdict, which keeps them if it is
 * Python.
 */
#ifndef PYPROF_DISCOVER_BPF_H
#define PYPROF_DISCOVER_BPF_H

#include "maps.bpf.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "task.bpf.h"

/* Between two announcements of one process, until userspace answers. */
#define PROBE_REPEAT_NS (50ull * 1000 * 1000)
/* Words looked at on top of the user stack for a return address into
 * the interpreter, when the instruction pointer is not in it (a libc
 * call): a few for a sample; more for a thread that leaves the CPU, which
 * is in a system call, below the frames of libc's wrapper, and whose next
 * chance may be seconds away (a script that sleeps). */
#define RECOGNISE_SAMPLE_WORDS 8
#define RECOGNISE_SWITCH_WORDS RECOGNISE_WORDS_MAX
/* Lowest address a text mapping has (vm.mmap_min_addr, and non-PIE
 * executables' 0x400000): smaller words are not looked up. */
#define TEXT_MIN 0x10000ull
#define VM_EXEC_ 0x00000004ull /* include/linux/mm.h */

/* Asks userspace to look at process pid, at most every PROBE_REPEAT_NS;
 * next is its probe map entry (NULL if none). */
static __always_inline void maybe_probe(__u32 pid, const __u64 *next)
{
	struct pyprof_event_hdr ev = { .type = EV_PROBE, .pid = pid };
	__u64 now = bpf_ktime_get_ns();

	if (next && now < *next)
		return;
	now += PROBE_REPEAT_NS;
	bpf_map_update_elem(&probe, &pid, &now, BPF_ANY);
	stat_inc(STAT_PROBES);
	event_send(&ev, sizeof(ev));
}

/* What bpf_find_vma found at an address. */
struct vma_found {
	struct interp_file_key key;
	__u64 start;
	__u64 off; /* file offset of start */
	__u64 flags;
	bool file;
};

static long vma_cb(struct task_struct *task __attribute__((unused)),
		   struct vm_area_struct *vma, void *arg)
{
	struct vma_found *v = arg;
	struct file *f = BPF_CORE_READ(vma, vm_file);
	struct inode *ino;

	if (!f)
		return 0;
	ino = BPF_CORE_READ(f, f_inode);
	v->key.ino = BPF_CORE_READ(ino, i_ino);
	v->key.dev = BPF_CORE_READ(ino, i_sb, s_dev);
	v->start = BPF_CORE_READ(vma, vm_start);
	v->off = BPF_CORE_READ(vma, vm_pgoff) << 12;
	v->flags = BPF_CORE_READ(vma, vm_flags);
	v->file = true;
	return 0;
}

/*
 * If addr lies in an executable mapping of a described interpreter file,
 * the file and the runtime address of its _PyRuntime in this process.
 */
static __always_inline const struct interp_file *
interp_at(struct task_struct *task, __u64 addr, __u64 *runtime)
{
	struct vma_found v = {};
	const struct interp_file *f;

	if (addr < TEXT_MIN || addr >= (1ull << 47) ||
	    bpf_find_vma(task, addr, vma_cb, &v, 0) || !v.file ||
	    !(v.flags & VM_EXEC_))
		return NULL;
	f = bpf_map_lookup_elem(&interp_files, &v.key);
	if (!f)
		return NULL;
	for (__u32 i = 0; i < INTERP_FILE_SEGS; i++) {
		if (i >= f->nsegs)
			break;
		if (v.off < f->segs[i].off || v.off >= f->segs[i].end)
			continue;
		*runtime = v.start - v.off - f->segs[i].delta +
			   f->cfg.runtime_addr;
		return f;
	}
	return NULL;
}

/* Whether the current process's executable is known to run a CPython
 * (interp_exes, or an interpreter file itself). */
static __always_inline bool exe_known(struct task_struct *task)
{
	struct file *f = BPF_CORE_READ(task, mm, exe_file);
	struct interp_file_key k;

	if (!f)
		return false;
	k.ino = BPF_CORE_READ(f, f_inode, i_ino);
	k.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	return bpf_map_lookup_elem(&interp_exes, &k) ||
	       bpf_map_lookup_elem(&interp_files, &k);
}

/*
 * Tries to recognise the current process (pid) from where its thread runs:
 * its user instruction pointer ip, else a return address among the first
 * nwords words at its user stack pointer sp.  Makes it a target and tells
 * userspace.  Returns its config, or NULL.
 */
static __always_inline const struct py_proc_cfg *
recognise(__u32 pid, __u32 tid, __u64 ip, __u64 sp, __u32 nwords)
{
	struct task_struct *task = bpf_get_current_task_btf();
	const struct interp_file *f;
	struct discover_scratch *d;
	__u64 runtime = 0;
	__u32 zero = 0;
	long err;

	if (!interp_files_n || !exe_known(task))
		return NULL; /* nothing it could be recognised by */
	d = bpf_map_lookup_elem(&discover_scratch, &zero);
	if (!d)
		return NULL;
	stat_inc(STAT_RECOGNISE_TRIES);
	f = interp_at(task, ip, &runtime);
	if (!f && sp &&
	    !bpf_probe_read_user(d->words, sizeof(d->words),
				 (const void *)sp)) {
		for (__u32 i = 0; i < RECOGNISE_WORDS_MAX && !f; i++) {
			if (i >= nwords)
				break;
			f = interp_at(task, d->words[i], &runtime);
		}
	}
	if (!f)
		return NULL;
	d->cfg = f->cfg;
	d->cfg.runtime_addr = runtime;
	task_code(task, &d->cfg.code);
	err = bpf_map_update_elem(&targets, &pid, &d->cfg, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: another CPU recognised it */) {
		stat_inc(STAT_RECOGNISE_FULL);
		return NULL;
	}
	if (!err) {
		struct recognised_event *ev = &d->ev;

		targets_changed();
		stat_inc(STAT_RECOGNISED);
		__builtin_memset(ev, 0, sizeof(*ev));
		ev->hdr.type = EV_RECOGNISED;
		ev->hdr.pid = pid;
		ev->hdr.tid = tid;
		ev->hdr.key = runtime;
		ev->start_ns = BPF_CORE_READ(task, group_leader, start_time);
		ev->recognised_ns = bpf_ktime_get_ns();
		ev->cpu_ns = BPF_CORE_READ(task, se.sum_exec_runtime);
		ev->file_id = f->id;
		bpf_get_current_comm(ev->comm, sizeof(ev->comm));
		ev->code = d->cfg.code;
		event_send(ev, sizeof(*ev));
	}
	return bpf_map_lookup_elem(&targets, &pid);
}

/*
 * A sample of a process not recognised yet: counted per process until
 * userspace's verdict, which keeps the count as that many samples of a
 * Python process (before it was recognised: its dynamic loader, or the
 * start-up of the first process of a file not described yet), or throws
 * it away.
 */
static __always_inline void park(__u32 pid)
{
	__u64 one = 1, *n = bpf_map_lookup_elem(&parked, &pid);

	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&parked, &pid, &one, BPF_NOEXIST);
}

/*
 * A sample (park: true) or a switch-out of process pid, which is not a
 * target: if discovery wants it and userspace has not decided against it,
 * recognise it, else announce it (and park the sample).  ip and sp are its
 * user registers, nwords how deep to look on its stack.  Returns its new
 * config when recognised, else NULL.
 */
static __always_inline const struct py_proc_cfg *
discover_task(__u32 pid, __u32 tid, __u64 ip, __u64 sp, __u32 nwords,
	      bool sample)
{
	const struct py_proc_cfg *cfg;
	const __u64 *next;

	if (pid == self_pid || sampling_stopped)
		return NULL;
	if (!(discover & PYPROF_DISCOVER_ALL) &&
	    !bpf_map_lookup_elem(&follow, &pid))
		return NULL;
	next = bpf_map_lookup_elem(&probe, &pid);
	if (next && *next == PYPROF_PROBE_NEVER)
		return NULL;
	cfg = recognise(pid, tid, ip, sp, nwords);
	if (cfg)
		return cfg;
	maybe_probe(pid, next);
	if (sample)
		park(pid);
	return NULL;
}

#endif /* PYPROF_DISCOVER_BPF_H */
