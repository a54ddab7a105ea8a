// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The sampler.  A perf_event program, run by the kernel on every CPU at -F Hz,
 * that reads the interrupted thread's Python stack straight out of its memory
 * (bpf/pystack.bpf.h) and counts (thread, stack) pairs in BPF maps.
 * Userspace (src/sampler/sampler.c) fills the targets map, flips active_buf
 * every --interval and drains the buffer it flipped away from, so no sample
 * is ever lost to a drain.  With --kernel and --native it adds the kernel
 * stack and the user registers and stack.
 *
 * Every sample of a target is counted once in STAT_SAMPLES and once more
 * under how it ended: a stack (py_full, truncated...), a reason it has none
 * (no_tstate, err_frame...), or a reason it was lost (lost_counts...).
 */
#include "maps.bpf.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "arch.bpf.h"
#include "discover.bpf.h"
#include "gil.bpf.h"
#include "pystack.bpf.h"
#include "task.bpf.h"

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
 * --native: sends the sample on the ring buffer with the thread's user
 * registers and up to NATIVE_STACK_MAX bytes of its stack, for userspace to
 * unwind.  The registers are the interrupted ones when the sample hit user
 * mode, else those saved at kernel entry.  Returns false when the record
 * could not be reserved.
 */
static __always_inline bool native_sample(struct bpf_perf_event_data *ctx,
					  const struct sample_key *key,
					  __u64 t_ns)
{
	struct native_event *ev;
	__u8 *stack;
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
	/* The timeline (issue 21): when, and the thread's voluntary
	 * switches (see struct timeline_rec). */
	if (timeline_enabled) {
		ev->hdr.key = t_ns;
		ev->hdr.pad =
			(__u32)BPF_CORE_READ(bpf_get_current_task_btf(), nvcsw);
	}
	ev->key = *key;
	/* In user mode when the interrupted instruction is a user one. */
	if (CTX_IP(ctx) < USER_ADDR_END) {
		COPY_REGS(ev->regs, ctx->regs);
		/* Keep clang from merging the two branches' loads into one
		 * through a chosen pointer: the verifier refuses a load from
		 * a modified context pointer. */
		asm volatile("" ::: "memory");
	} else {
		void *ur = (void *)bpf_task_pt_regs(bpf_get_current_task_btf());

		/* Sent all the same: its Python stack is good. */
		if (read_task_regs(ev->regs, ur))
			stat_inc(STAT_NATIVE_REGS);
	}
	ev->nkips = 0;
	if (native_mode & NATIVE_MODE_KERNEL) {
		/* 0 bytes: the sample hit user mode, no kernel frame. */
		n = bpf_get_stack(ctx, ev->kips, sizeof(ev->kips), 0);
		if (n > 0)
			ev->nkips = (__u32)n / 8;
		else if (n < 0)
			stat_inc(STAT_KSTACK_UNREAD);
	}

	/*
	 * Copy page by page from the stack pointer up, and stop at the first
	 * page that cannot be read: a read across an unmapped page (above the
	 * stack's top) or one never touched (a hole a large frame skipped)
	 * fails whole.  The first piece runs to the end of sp's page, the
	 * next three are whole pages: 12-16 KiB, within stack[].
	 */
	stack = (__u8 *)ev->stack;
	sp = ev->regs[NATIVE_REG_SP];
	first = (__u32)(((sp | 4095) + 1 - sp) & 8191);
	if (first > 4096)
		first = 4096;
	if (!bpf_probe_read_user(stack, first, (const void *)sp)) {
		len = first;
		for (int k = 0; k < 3; k++) {
			__u32 off = first + (__u32)k * 4096;

			if (off > NATIVE_STACK_MAX - 4096)
				break;
			if (bpf_probe_read_user(stack + off, 4096,
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

/*
 * A sample of a process that is not a target: discovery (discover.bpf.h),
 * from the interrupted thread's user registers.  Its config if it was
 * recognised, else NULL.
 */
static __always_inline const struct py_proc_cfg *
discover_sample(struct bpf_perf_event_data *ctx, __u32 pid, __u32 tid)
{
	struct pt_regs *ur;
	__u64 ip, sp;

	if (CTX_IP(ctx) < USER_ADDR_END) {
		ip = CTX_IP(ctx);
		sp = CTX_SP(ctx);
		/* As in native_sample: no load through a chosen pointer. */
		asm volatile("" ::: "memory");
	} else {
		ur = (struct pt_regs *)bpf_task_pt_regs(
			bpf_get_current_task_btf());
		ip = REGS_IP(ur);
		sp = REGS_SP(ur);
	}
	return discover_task(pid, tid, ip, sp, RECOGNISE_SAMPLE_WORDS, true);
}

/*
 * pid's config in targets, or NULL: this CPU's copy of it (w->cfg_memo)
 * while no writer changed targets since it was taken, which spares a
 * lookup in a map shared by all CPUs on most samples.
 */
static __always_inline const struct py_proc_cfg *target_cfg(struct walk *w,
							    __u32 pid)
{
	__u64 gen = *(volatile __u64 *)&targets_gen;
	const struct py_proc_cfg *cfg;

	if (pid && w->cfg_pid == pid && w->cfg_gen == gen)
		return &w->cfg_memo;
	cfg = bpf_map_lookup_elem(&targets, &pid);
	if (!cfg)
		return NULL;
	w->cfg_memo = *cfg;
	w->cfg_pid = pid;
	w->cfg_gen = gen;
	return &w->cfg_memo;
}

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	const struct py_proc_cfg *cfg;
	struct sample_key key = {};
	__u32 pid, tid, reason;
	struct walk *w;
	__u64 t_ns;

	if (sampling_stopped)
		return 0;
	if (!current_ids(&pid, &tid)) {
		/* Not numbered where pyprof-bpf runs: not a target. */
		stat_inc(STAT_OTHER_PIDNS);
		return 0;
	}
	w = scratch_get();
	if (!w)
		return 0; /* counted lost as err_scratch */
	cfg = target_cfg(w, pid);
	if (!cfg && discover)
		cfg = discover_sample(ctx, pid, tid);
	if (!cfg || !cfg_is_of(cfg, bpf_get_current_task_btf()))
		return 0;
	stat_inc(STAT_SAMPLES);
	/* The timeline's time of the sample: the interrupt's, not the end
	 * of the walk's. */
	t_ns = timeline_enabled ? bpf_ktime_get_ns() : 0;

	key.pid = pid;
	key.tid = tid;
	key.kstack = -1;
	key.ustack = -1;

	w->flip = *(volatile __u32 *)&active_buf;
	w->buf_idx = w->flip & 1;
	if (bpf_get_current_task_btf()->flags & PF_EXITING) {
		/* Tearing down: its memory may be gone already. */
		key.flags = SAMPLE_F_EXITING;
		reason = STAT_EXITING;
	} else {
		reason = py_stack(w, cfg, &key, NULL);
	}
	if (!reason)
		return 0;
	stat_inc(reason);
	key.flags |= gil_state(pid, tid, cfg, NULL);
	if (native_mode & NATIVE_MODE_USER) {
		if (native_sample(ctx, &key, t_ns)) {
			stat_inc(STAT_NATIVE_SENT);
			return 0;
		}
		stat_inc(STAT_NATIVE_LOST);
		key.ustack = NATIVE_USTACK_LOST;
	}
	if (native_mode & NATIVE_MODE_KERNEL)
		kernel_stack(ctx, w->buf_idx, &key);
	if (count_sample(&key, w->flip) && timeline_enabled)
		timeline_send(&key, w->buf_idx, t_ns, 0,
			      (__u32)BPF_CORE_READ(bpf_get_current_task_btf(),
						   nvcsw));
	return 0;
}
