// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The floors for scripts/bench.
 *
 * floor_prog does nothing.  Attached to the same cpu-clock events as the
 * sampler, at the same rate, its kernel.bpf_stats_enabled run time is what
 * any perf_event BPF program costs per run before it does any work.
 *
 * read_prog, on the samples of one process (target_tgid), reads that
 * process's memory with bpf_probe_read_user: READS reads of 8 bytes, of 64
 * and of 512, each block timed with bpf_ktime_get_ns, and an empty block
 * for what the clock itself costs.  Each read is at its own address (8
 * and 64 bytes: one cache line each; 512 bytes: eight), so that READS
 * reads touch as many lines as a walk of READS frames.  Fixed addresses
 * (warm: the lines stay cached between samples, as the interpreter's own
 * frames do), or with rotate a new region each sample across the buffer
 * (cold: its lines most likely left the caches since).  The sample's
 * first read is timed on its own, before the others: it also pays for
 * the helper's code and the page tables' entries the timer interrupt
 * left cold.
 */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define READS 32
#define SIZES 5 /* nothing, 8, 64, 512 bytes, the sample's first read */
/* The span one sample reads: 8- and 64-byte reads a line apart, then
 * 512-byte reads back to back. */
#define SPAN (2 * READS * 64 + READS * 512 + 64)

const volatile __u32 target_tgid;
const volatile __u64 buf_addr;
const volatile __u64 buf_len;
const volatile __u32 rotate;

struct acc {
	__u64 ns[SIZES];
	__u64 runs;
	__u64 errors;
	__u64 off;
	__u8 dst[512];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct acc);
} accs SEC(".maps");

SEC("perf_event")
int floor_prog(void *ctx __attribute__((unused)))
{
	return 0;
}

SEC("perf_event")
int read_prog(void *ctx __attribute__((unused)))
{
	__u32 zero = 0;
	struct acc *a;
	__u64 base, t0, t1;
	long err = 0;

	if (bpf_get_current_pid_tgid() >> 32 != target_tgid)
		return 0;
	a = bpf_map_lookup_elem(&accs, &zero);
	if (!a)
		return 0;
	base = buf_addr + (rotate ? a->off : 0);

	t0 = bpf_ktime_get_ns();
	t1 = bpf_ktime_get_ns();
	a->ns[0] += t1 - t0;

	t0 = bpf_ktime_get_ns();
	err |= bpf_probe_read_user(a->dst, 8, (const void *)(base + SPAN));
	t1 = bpf_ktime_get_ns();
	a->ns[4] += t1 - t0;

	t0 = bpf_ktime_get_ns();
	for (int i = 0; i < READS; i++)
		err |= bpf_probe_read_user(a->dst, 8,
					   (const void *)(base + i * 64));
	t1 = bpf_ktime_get_ns();
	a->ns[1] += t1 - t0;
	base += READS * 64;

	t0 = bpf_ktime_get_ns();
	for (int i = 0; i < READS; i++)
		err |= bpf_probe_read_user(a->dst, 64,
					   (const void *)(base + i * 64));
	t1 = bpf_ktime_get_ns();
	a->ns[2] += t1 - t0;
	base += READS * 64;

	t0 = bpf_ktime_get_ns();
	for (int i = 0; i < READS; i++)
		err |= bpf_probe_read_user(a->dst, 512,
					   (const void *)(base + i * 512));
	t1 = bpf_ktime_get_ns();
	a->ns[3] += t1 - t0;

	a->runs++;
	if (err)
		a->errors++;
	if (rotate && buf_len > 2 * SPAN) {
		a->off += SPAN;
		if (a->off + SPAN > buf_len)
			a->off = 0;
	}
	return 0;
}
