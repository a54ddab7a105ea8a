// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The floor for scripts/bench: a perf_event program that does nothing.
 * Attached to the same cpu-clock events as the sampler, at the same rate,
 * its kernel.bpf_stats_enabled run time is what any perf_event BPF program
 * costs per run before it does any work.
 */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("perf_event")
int floor_prog(void *ctx __attribute__((unused)))
{
	return 0;
}
