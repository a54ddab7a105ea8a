/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The system calls a thread is most often asleep in, by their numbers on
 * the architecture pyprof-bpf is built for: the off-CPU reasons of wall
 * mode (offcpu_why_of_syscall in bpf/pyprof_shared.h) and the names of
 * the rest (src/sampler/offcpu.c).  Included by BPF code, where the target
 * architecture is __TARGET_ARCH_*, and by userspace, where it is the
 * compiler's.
 *
 * x86-64 numbers are arch/x86/entry/syscalls/syscall_64.tbl's; arm64 uses
 * the generic table (include/uapi/asm-generic/unistd.h), which has no
 * select, poll, epoll_wait or pause: those are named only under
 * PYPROF_ARCH_X86_64.
 */
#ifndef PYPROF_SYSCALLS_H
#define PYPROF_SYSCALLS_H

#if defined(__TARGET_ARCH_arm64) || \
	(!defined(__TARGET_ARCH_x86) && defined(__aarch64__))
#define PYPROF_ARCH_ARM64 1
#elif defined(__TARGET_ARCH_x86) || defined(__x86_64__)
#define PYPROF_ARCH_X86_64 1
#else
#error "pyprof-bpf is built for x86-64 or arm64"
#endif

#ifdef PYPROF_ARCH_X86_64
#define PYNR_read 0
#define PYNR_write 1
#define PYNR_close 3
#define PYNR_poll 7
#define PYNR_mmap 9
#define PYNR_munmap 11
#define PYNR_pread64 17
#define PYNR_pwrite64 18
#define PYNR_readv 19
#define PYNR_writev 20
#define PYNR_select 23
#define PYNR_sched_yield 24
#define PYNR_pause 34
#define PYNR_nanosleep 35
#define PYNR_connect 42
#define PYNR_accept 43
#define PYNR_sendto 44
#define PYNR_recvfrom 45
#define PYNR_sendmsg 46
#define PYNR_recvmsg 47
#define PYNR_exit 60
#define PYNR_wait4 61
#define PYNR_fcntl 72
#define PYNR_flock 73
#define PYNR_fsync 74
#define PYNR_fdatasync 75
#define PYNR_rt_sigtimedwait 128
#define PYNR_rt_sigsuspend 130
#define PYNR_futex 202
#define PYNR_clock_nanosleep 230
#define PYNR_exit_group 231
#define PYNR_epoll_wait 232
#define PYNR_waitid 247
#define PYNR_openat 257
#define PYNR_pselect6 270
#define PYNR_ppoll 271
#define PYNR_epoll_pwait 281
#define PYNR_accept4 288
#define PYNR_preadv 295
#define PYNR_pwritev 296
#define PYNR_recvmmsg 299
#define PYNR_sendmmsg 307
#define PYNR_epoll_pwait2 441
#define PYNR_futex_waitv 449
#else
#define PYNR_epoll_pwait 22
#define PYNR_fcntl 25
#define PYNR_flock 32
#define PYNR_openat 56
#define PYNR_close 57
#define PYNR_read 63
#define PYNR_write 64
#define PYNR_readv 65
#define PYNR_writev 66
#define PYNR_pread64 67
#define PYNR_pwrite64 68
#define PYNR_preadv 69
#define PYNR_pwritev 70
#define PYNR_pselect6 72
#define PYNR_ppoll 73
#define PYNR_fsync 82
#define PYNR_fdatasync 83
#define PYNR_exit 93
#define PYNR_exit_group 94
#define PYNR_waitid 95
#define PYNR_futex 98
#define PYNR_nanosleep 101
#define PYNR_clock_nanosleep 115
#define PYNR_sched_yield 124
#define PYNR_rt_sigsuspend 133
#define PYNR_rt_sigtimedwait 137
#define PYNR_accept 202
#define PYNR_connect 203
#define PYNR_sendto 206
#define PYNR_recvfrom 207
#define PYNR_sendmsg 211
#define PYNR_recvmsg 212
#define PYNR_munmap 215
#define PYNR_mmap 222
#define PYNR_accept4 242
#define PYNR_recvmmsg 243
#define PYNR_wait4 260
#define PYNR_sendmmsg 269
#define PYNR_epoll_pwait2 441
#define PYNR_futex_waitv 449
#endif

#endif /* PYPROF_SYSCALLS_H */
