// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The one definition of every map and tunable the programs share (their
 * shapes and what they hold: bpf/maps.bpf.h), and the license of the
 * linked object.  No program lives here.
 */
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 max_depth = PY_DEFAULT_MAX_DEPTH;
const volatile __u32 max_threads_walk = PY_MAX_THREADS_WALK;
const volatile __u32 discover;
const volatile __u64 pidns_dev;
const volatile __u64 pidns_ino;
const volatile __u32 self_pid;
const volatile __u32 native_mode;
const volatile __u32 offcpu_enabled;
const volatile __u32 gil_enabled;
const volatile __u32 timeline_enabled;
const volatile __u32 async_enabled;

__u32 active_buf;
__u64 rest_gen;
__u32 interp_files_n;
__u32 sampling_stopped;
__u64 targets_gen;

targets_map_t targets SEC(".maps");
tstate_cache_map_t tstate_cache SEC(".maps");
follow_map_t follow SEC(".maps");
probe_map_t probe SEC(".maps");
interp_files_map_t interp_files SEC(".maps");
interp_exes_map_t interp_exes SEC(".maps");
parked_map_t parked SEC(".maps");
execs_map_t execs SEC(".maps");
counts_map_t counts0 SEC(".maps");
counts_map_t counts1 SEC(".maps");
stacks_map_t stacks0 SEC(".maps");
stacks_map_t stacks1 SEC(".maps");
kstacks_map_t kstacks0 SEC(".maps");
kstacks_map_t kstacks1 SEC(".maps");
off_stacks_map_t off_stacks SEC(".maps");
offcpu_map_t offcpu SEC(".maps");
gil_cfgs_map_t gil_cfgs SEC(".maps");
async_cfgs_map_t async_cfgs SEC(".maps");
rest_tstates_map_t rest_tstates SEC(".maps");
events_map_t events SEC(".maps");
timeline_map_t timeline SEC(".maps");
announced_map_t announced SEC(".maps");
stats_map_t stats SEC(".maps");
count_cache_map_t count_cache SEC(".maps");
scratch_map_t scratch SEC(".maps");
scratch_map_t rest_scratch SEC(".maps");
discover_scratch_map_t discover_scratch SEC(".maps");
