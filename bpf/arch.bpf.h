/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What the BPF programs read differently on x86-64 and arm64: the user
 * registers of a sample and of a task, a task's thread pointer, and the
 * system call a task sleeps in.  Everything else is the same source.  The
 * system call numbers themselves are in bpf/syscalls.h (shared with
 * userspace); the vmlinux header is vmlinux/$(ARCH)/vmlinux.h.
 */
#ifndef PYPROF_ARCH_BPF_H
#define PYPROF_ARCH_BPF_H

#include "maps.bpf.h"

#include <bpf/bpf_core_read.h>

/*
 * The end of user addresses: x86-64's lower half is 47 bits (56 with
 * 5-level paging), arm64's at most 52; every kernel address, on both, has
 * its top bits set.
 */
#define USER_ADDR_END (1ull << 56)

#if defined(__TARGET_ARCH_x86)

/* The interrupted instruction and stack pointers, in a perf_event
 * program: loads at fixed offsets from the context, as the verifier
 * wants. */
#define CTX_IP(ctx) ((ctx)->regs.ip)
#define CTX_SP(ctx) ((ctx)->regs.sp)

/* The user instruction and stack pointers saved at kernel entry. */
#define REGS_IP(r) BPF_CORE_READ((r), ip)
#define REGS_SP(r) BPF_CORE_READ((r), sp)

/* The system call a task is in (-1: none), and its first two arguments. */
#define REGS_SYSCALL(r) ((long)BPF_CORE_READ((r), orig_ax))
#define REGS_ARG0(r) BPF_CORE_READ((r), di)
#define REGS_ARG1(r) BPF_CORE_READ((r), si)

/* The thread pointer: the FS base, kept in thread.fsbase while the task is
 * off the CPU (and set by clone's CLONE_SETTLS, never changed after).  t is
 * a BTF pointer: a plain (faulting) load, no helper call. */
#define TASK_THREAD_POINTER(t) ((t)->thread.fsbase)

/*
 * --native: copies user registers into the DWARF order of
 * native_event.regs (bpf/pyprof_shared.h).  A macro, not a function taking
 * a pointer: the perf_event context only allows 8-byte loads at fixed
 * offsets from the context itself.
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

/* --native: the user registers saved at kernel entry (ur, the task's
 * pt_regs) into d, zeroed if unreadable; 0 or -errno. */
static __always_inline long read_task_regs(__u64 *d, const void *ur)
{
	struct pt_regs regs;
	long err = bpf_probe_read_kernel(&regs, sizeof(regs), ur);

	/* On failure the helper zeroed regs. */
	COPY_REGS(d, regs);
	return err;
}

#elif defined(__TARGET_ARCH_arm64)

/* bpf_user_pt_regs_t is struct user_pt_regs: regs[31], sp, pc, pstate. */
#define CTX_IP(ctx) ((ctx)->regs.pc)
#define CTX_SP(ctx) ((ctx)->regs.sp)

#define REGS_IP(r) BPF_CORE_READ((r), pc)
#define REGS_SP(r) BPF_CORE_READ((r), sp)

/* x0 is the return value's register: the first argument is kept in
 * orig_x0. */
#define REGS_SYSCALL(r) ((long)BPF_CORE_READ((r), syscallno))
#define REGS_ARG0(r) BPF_CORE_READ((r), orig_x0)
#define REGS_ARG1(r) BPF_CORE_READ((r), regs[1])

/* TPIDR_EL0, kept in thread.uw.tp_value while the task is off the CPU; t
 * is a BTF pointer, as above. */
#define TASK_THREAD_POINTER(t) ((t)->thread.uw.tp_value)

/* --native: x0-x30, sp, pc, the order of native_event.regs: one load each,
 * at fixed offsets from the context (see x86's). */
#define COPY_REGS(d, r)                                           \
	do {                                                      \
		_Pragma("unroll") for (int i_ = 0; i_ < 31; i_++) \
			d[i_] = (r).regs[i_];                     \
		d[31] = (r).sp;                                   \
		d[32] = (r).pc;                                   \
	} while (0)

/* struct pt_regs starts with struct user_pt_regs, whose regs[31], sp and
 * pc are native_event.regs as they are: one read, zeroed on failure. */
static __always_inline long read_task_regs(__u64 *d, const void *ur)
{
	_Static_assert(sizeof(struct user_pt_regs) >= 8 * NATIVE_NREGS,
		       "user_pt_regs");
	return bpf_probe_read_kernel(d, 8 * NATIVE_NREGS, ur);
}

#else
#error "pyprof-bpf's BPF programs are built for x86 or arm64 (__TARGET_ARCH_*)"
#endif

#endif /* PYPROF_ARCH_BPF_H */
