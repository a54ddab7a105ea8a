// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The floor of scripts/bpfcost: what one bpf_probe_read_user costs here.
 *
 * A perf_event program, on the same cpu-clock events as the sampler: on
 * the samples of one target process that interrupted user mode, it times an
 * empty pair of clock reads (the clock's own cost, to subtract), then one
 * bpf_probe_read_user of 8, 64 and 512 bytes at the interrupted stack
 * pointer: memory the thread was using a moment ago, hot like the frames
 * the sampler reads.  Each time goes into a histogram, so that medians of
 * single reads can be taken, which the few reads a hypervisor preempts
 * half-way do not move.
 */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Keep in step with scripts/bpfcost-read.c. */
#define BUCKET_NS 2
#define BUCKETS 4096
enum { H_CLOCK, H_READ8, H_READ64, H_READ512, H__MAX };

const volatile __u64 pidns_dev;
const volatile __u64 pidns_ino;
const volatile __u32 target_tgid;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, H__MAX *BUCKETS);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[512]);
} buf SEC(".maps");

static __always_inline void add(__u32 h, __u64 ns)
{
	__u32 b = (__u32)(ns / BUCKET_NS);
	__u64 *v;

	if (b >= BUCKETS)
		b = BUCKETS - 1;
	b += h * BUCKETS;
	v = bpf_map_lookup_elem(&hist, &b);
	if (v)
		__sync_fetch_and_add(v, 1);
}

/* The interrupted instruction is a user one (as in bpf/sample.bpf.c). */
#define USER_ADDR_END (1ull << 56)

SEC("perf_event")
int read_floor(struct bpf_perf_event_data *ctx)
{
	struct bpf_pidns_info ns;
	__u32 zero = 0;
	__u64 t0, t1, sp;
	__u8 *b;

	if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns,
					sizeof(ns)) ||
	    ns.tgid != target_tgid || ctx->regs.ip >= USER_ADDR_END)
		return 0;
	b = bpf_map_lookup_elem(&buf, &zero);
	if (!b)
		return 0;
	sp = ctx->regs.sp;

	t0 = bpf_ktime_get_ns();
	t1 = bpf_ktime_get_ns();
	add(H_CLOCK, t1 - t0);

	t0 = bpf_ktime_get_ns();
	bpf_probe_read_user(b, 8, (const void *)sp);
	t1 = bpf_ktime_get_ns();
	add(H_READ8, t1 - t0);

	t0 = bpf_ktime_get_ns();
	bpf_probe_read_user(b, 64, (const void *)sp);
	t1 = bpf_ktime_get_ns();
	add(H_READ64, t1 - t0);

	t0 = bpf_ktime_get_ns();
	bpf_probe_read_user(b, 512, (const void *)sp);
	t1 = bpf_ktime_get_ns();
	add(H_READ512, t1 - t0);
	return 0;
}
