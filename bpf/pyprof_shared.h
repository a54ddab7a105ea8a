/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The contract between the BPF programs (the .bpf.c files of bpf/) and
 * userspace: map keys and values, the per-process config, events, flags,
 * counters and the sizes both sides must agree on.  Written once, here.
 *
 * Only __u32/__s32/__u64 types: this header is included both by BPF code
 * (after vmlinux.h) and by userspace (after <linux/types.h>), and includes
 * neither.  Every struct here has its size checked with _Static_assert.
 */
#ifndef PYPROF_SHARED_H
#define PYPROF_SHARED_H

#include "syscalls.h"

/* An offset the version does not have. */
#define PY_OFF_NONE 0xffffffffu

/* Frames per stack segment; a stack is a chain of segments (see py_seg). */
#define PY_SEG_FRAMES 32
/* Hard cap on --max-depth; the walk is a bpf_loop, so this only bounds work. */
#define PY_MAX_DEPTH_CAP 8192
#define PY_DEFAULT_MAX_DEPTH 1024
/* Thread states looked at when a thread's cache entry misses (the BPF
 * tunable max_threads_walk). */
#define PY_MAX_THREADS_WALK 4096
/* Interpreters (subinterpreters) looked at on a miss. */
#define PY_MAX_INTERPS 16
/* Largest span of a frame struct the walk reads in one go. */
#define PY_FRAME_READ_MAX 128

/* Processes profiled at once: the targets map's (and --gil's gil_cfgs
 * map's) size, and the limit userspace enforces (src/sampler/targets.c). */
#define PYPROF_TARGETS_MAX 4096
/* Kernel frames kept per stack: perf's default kernel.perf_event_max_stack.
 * The value size of the kernel stack maps, 8 bytes a frame. */
#define KSTACK_MAX_DEPTH 127

enum py_frame_kind {
	/* 3.8-3.10: PyFrameObject chain via f_back; f_lasti is an int. */
	PY_FRAME_OBJECT = 1,
	/* 3.11+: _PyInterpreterFrame chain via previous; an instruction pointer. */
	PY_FRAME_INTERP = 2,
};

/*
 * Struct offsets the BPF walk needs, for one CPython version.  Filled by
 * userspace from its built-in table (src/python/layout.c) or, on 3.13+, from
 * the target's own _Py_DebugOffsets; checked by BPF before use.
 */
struct py_walk_offsets {
	__u32 runtime_interp_head; /* _PyRuntimeState.interpreters.head */
	__u32 interp_next; /* PyInterpreterState.next */
	__u32 interp_threads_head; /* .tstate_head (<=3.10), .threads.head (3.11+) */
	__u32 tstate_next; /* PyThreadState.next */
	__u32 tstate_thread_id; /* PyThreadState.thread_id (== pthread_self()) */
	__u32 tstate_frame; /* .frame (<=3.10), .cframe (3.11, 3.12),
				       .current_frame (3.13+) */
	__u32 cframe_current_frame; /* _PyCFrame.current_frame (3.11, 3.12 only) */
	__u32 frame_previous; /* f_back (<=3.10), previous (3.11+) */
	__u32 frame_code; /* f_code (<=3.12), f_executable (3.13+) */
	__u32 frame_instr; /* f_lasti (<=3.10), prev_instr (3.11, 3.12),
				       instr_ptr (3.13+) */
	__u32 frame_owner; /* owner (3.11+) */
	__u32 code_firstlineno; /* PyCodeObject.co_firstlineno */
	__u32 code_adaptive; /* PyCodeObject.co_code_adaptive (3.11+) */
	/* Free-threaded 3.14+: each thread may run its own copy of the
	 * bytecode, co_tlbc->entries[frame->tlbc_index], which instr_ptr then
	 * points into.  PY_OFF_NONE otherwise. */
	__u32 frame_tlbc_index; /* _PyInterpreterFrame.tlbc_index (int32) */
	__u32 code_tlbc; /* PyCodeObject.co_tlbc (a _PyCodeArray *) */
	/* A count that moves whenever a code object may have been made at
	 * a freed one's address, so that a fingerprint read while it had one
	 * value holds for as long as it keeps it (the walk's fingerprint
	 * cache, bpf/pystack.bpf.h):
	 * - 3.14+: code_dealloc counts every code object freed in
	 *   PyInterpreterState._code_object_generation (from the target's
	 *   _Py_DebugOffsets);
	 * - 3.12: every new code object takes its co_version from the
	 *   global uint32 _Py_next_func_version and increments it, until it
	 *   wraps to 0, where it stays.  Found by its symbol; then
	 *   PY_CFG_CODE_GEN_RUNTIME is set and interp_code_gen is its
	 *   distance from _PyRuntime (same file), as an s32;
	 * - 3.13: the same count, per interpreter, in
	 *   PyInterpreterState.func_state.next_version (from the file's
	 *   DWARF).
	 * 3.12's and 3.13's set PY_CFG_CODE_GEN_U32.
	 * PY_OFF_NONE otherwise. */
	__u32 tstate_interp; /* PyThreadState.interp */
	__u32 interp_code_gen; /* see above */
};

/*
 * The span of a PyCodeObject the walk reads for each frame's fingerprint
 * (py_code_fp below): len bytes from offset base, and where in that span
 * co_filename, co_name and co_linetable (co_lnotab before 3.10) are.  All
 * three are fixed for the object's life, unlike the counters and caches
 * around them, and next to each other: one read of 24-32 bytes.
 */
#define PY_CODE_FP_SPAN_MAX 128
struct py_code_fp_span {
	__u32 base;
	__u32 len;
	__u32 filename;
	__u32 name;
	__u32 linetable;
	__u32 pad;
};

/* A 64-bit mix (the splitmix64 finaliser), for the fingerprint and the
 * sampler's stack hashes. */
static inline __u64 pyprof_mix64(__u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/*
 * What tells one code object from another that was freed and whose
 * address was reused: the addresses of its file name, name and line table
 * objects, which it keeps alive.  During start-up every module's <module>
 * code object starts at line 1 and is freed once the module ran, and the
 * next module's lands at the same address: co_firstlineno, the
 * fingerprint before, named one module's frames after another's file.
 * The sampler takes it when it samples the frame (the code object is
 * alive then: the frame holds it); userspace computes it again from what
 * it reads, later, and trusts the names only if both agree.  30 bits: bit
 * 31 of py_frame.fingerprint is PY_FRAME_F_ENTRY, bit 30 PY_FRAME_F_TASK.
 * One mix of the three,
 * rotated apart (object addresses differ in their low bits): a few
 * instructions a frame.
 */
static inline __u32 py_code_fp(__u64 filename, __u64 name, __u64 linetable)
{
	__u64 h = filename ^ (name << 21 | name >> 43) ^
		  (linetable << 42 | linetable >> 22);

	return (__u32)pyprof_mix64(h) & 0x3fffffffu; /* PY_FRAME_FP_MASK */
}

/* mm_struct's start_code and end_code, in that order there too. */
struct py_code_range {
	__u64 start, end;
};

/* Per-process configuration: the value of the targets map. */
struct py_proc_cfg {
	__u64 runtime_addr; /* address of _PyRuntime in the target */
	__u32 version; /* (major << 8) | minor, e.g. 0x030b */
	__u32 frame_kind; /* enum py_frame_kind */
	__u32 lasti_units; /* f_lasti counts 2-byte code units (3.10) */
	__u32 owner_skip_mask; /* frames whose 1 << owner is set are not Python
				  frames (C-stack shims, 3.12-3.14;
				  3.15's interpreter-owned entry and base
				  frames) */
	__u32 code_tag_bits; /* low bits of frame_code that are tags (3.14's
				_PyStackRef) and must be cleared */
	struct py_walk_offsets off;
	/* Eval-loop entry markers (--native merging, see PY_FRAME_F_ENTRY):
	 * 3.11's _PyInterpreterFrame.is_entry offset (0xffff: none), and
	 * the owners of 3.12+'s C-stack shim frames (1 << owner). */
	__u32 frame_is_entry;
	__u32 entry_owner_mask;
	__u32 flags; /* PY_CFG_* */
	__u32 thread_ptr_off; /* pthread_self() is the thread pointer minus
				 this: 0 on x86-64, glibc's sizeof(struct
				 pthread) on arm64 (bpf/arch.bpf.h) */
	struct py_code_fp_span fp; /* what py_frame.fingerprint covers */
	/* Where the program's code lies in the address space this
	 * describes (mm_struct.start_code and end_code, /proc/PID/stat's
	 * startcode and endcode): an exec changes it (bpf/task.bpf.h
	 * cfg_is_of). */
	struct py_code_range code;
};

/* py_proc_cfg.flags */
#define PY_CFG_FREE_THREADED 1 /* a Py_GIL_DISABLED build: there is no GIL */
/* off.interp_code_gen is the s32 distance from _PyRuntime to a uint32
 * count of code objects made, 0 once spent (3.12's _Py_next_func_version),
 * not an offset in PyInterpreterState. */
#define PY_CFG_CODE_GEN_RUNTIME 2
/* The count at off.interp_code_gen is a uint32 that stops at 0 once spent
 * (3.12, 3.13), not a uint64 that never does (3.14+). */
#define PY_CFG_CODE_GEN_U32 4

/*
 * Bit 31 of py_frame.fingerprint: the frame nearer the leaf than this one
 * was entered through a C call of the eval loop (3.11's is_entry frame,
 * or the frame above a 3.12+ C-stack shim), so the two frames belong to
 * different _PyEval_EvalFrameDefault activations on the native stack.
 * Mask it off (PY_FRAME_FP_MASK) to get the fingerprint.
 * 3.8-3.10 never set it: there every frame is its own eval-loop call.
 */
#define PY_FRAME_F_ENTRY 0x80000000u
/* Bit 30: not a Python frame but --async's task pseudo-frame (issue 23,
 * see SAMPLE_F_TASK).  A real frame's fingerprint keeps 30 bits. */
#define PY_FRAME_F_TASK 0x40000000u
#define PY_FRAME_FP_MASK 0x3fffffffu

/* One Python frame as the sampler records it. */
struct py_frame {
	__u64 code; /* PyCodeObject address */
	__s32 lasti; /* byte offset of the current instruction; <0 if
			       the frame has not started */
	__u32 fingerprint; /* py_code_fp() of the code object when sampled:
			      tells a reused code address; bit 31 is
			      PY_FRAME_F_ENTRY */
};

/*
 * A Python stack is stored as a chain of segments of PY_SEG_FRAMES frames,
 * leaf first.  Each segment is keyed by a hash that covers its frames and
 * the key of the segment before it (towards the leaf), so the key of the
 * last (root-most) segment identifies the whole stack.  Memory is then
 * proportional to depth, and any depth up to PY_MAX_DEPTH_CAP fits.
 */
struct py_seg {
	__u64 prev; /* key of the segment nearer the leaf, 0 for the first */
	__u32 nframes; /* frames used in this segment */
	__u32 pad;
	struct py_frame frames[PY_SEG_FRAMES]; /* leaf first */
};

/*
 * Events on the ring buffer, so that userspace reads code objects and thread
 * names while the target is alive, not at the next drain (a process may
 * exit before it).  Losing one costs nothing but that promptness: the drain
 * finds the same segments in the stacks map.
 */
enum pyprof_event_type {
	EV_NEW_SEG = 1, /* a segment was stored: key, seg */
	EV_NEW_THREAD = 2, /* a thread's PyThreadState was found: key is its
			      thread_id */
	EV_EXEC = 3, /* a target exec'd: it is no longer that Python */
	EV_PROBE = 4, /* a process to look at: it ran on a CPU and is not a
			 target, but -a or a followed parent asks for it */
	EV_FORK = 5, /* a target or followed process forked: pid is the
			child, key the parent (both tgids) */
	EV_NATIVE = 6, /* --native: a sample with its user stack, to unwind
			  in userspace (struct native_event); hdr.key is
			  when it was taken (bpf_ktime_get_ns) and hdr.pad
			  the thread's voluntary switches (timeline_rec's
			  nvcsw) */
	EV_RECOGNISED = 7, /* the sampler recognised a process under discovery
			      by an interpreter file userspace described, and
			      samples it (struct recognised_event) */
};

/* Discovery modes (the `discover` tunable). */
#define PYPROF_DISCOVER_ALL 1 /* probe every process that runs */
#define PYPROF_DISCOVER_FOLLOW 2 /* probe followed processes, follow forks */

/* Value of the probe map: when a process may be probed again (ktime ns). */
#define PYPROF_PROBE_NEVER (~0ull)

/*
 * Recognising a process in the sampler itself (-a, followed processes),
 * from its first sample in a known interpreter, without waiting for
 * userspace.  Userspace describes each interpreter file it has attached a
 * process of (libpython3.X.so, or an executable holding _PyRuntime): the
 * config any process of that file gets, with runtime_addr the file's own
 * address of _PyRuntime, and where its executable segments come from in
 * the file.  A sample of a process under discovery whose instruction
 * pointer (or a return address at the top of its stack) lies in an
 * executable mapping of such a file makes that process a target at once:
 * the mapping's address gives the load bias.
 */
#define INTERP_FILES_MAX 64
#define INTERP_FILE_SEGS 4
/* Executables known to run a CPython (the files above, and the small
 * programs that link a libpython3.X.so): only their processes are looked
 * up in their mappings, so that discovery costs other processes nothing
 * more than a lookup. */
#define INTERP_EXES_MAX 256

/* Key of the interp_files map: the file as the kernel names it. */
struct interp_file_key {
	__u64 dev; /* st_dev, the kernel's encoding: major << 20 | minor */
	__u64 ino;
};

/* A mapping of file offset off (page-aligned) in [off, end) has the load
 * bias start - off - delta, where delta = p_vaddr - p_offset of its
 * segment, both page-aligned.  A segment in an ET_EXEC file has bias 0. */
struct interp_file_seg {
	__u64 off;
	__u64 end;
	__u64 delta;
};

struct interp_file {
	struct py_proc_cfg cfg; /* runtime_addr: _PyRuntime's vaddr */
	__u32 id; /* userspace's number for the file */
	__u32 nsegs;
	struct interp_file_seg segs[INTERP_FILE_SEGS];
};

struct pyprof_event_hdr {
	__u32 type;
	__u32 pid;
	__u32 tid;
	__u32 pad;
	__u64 key;
};

/* EV_RECOGNISED: hdr.key is the runtime_addr the sampler computed. */
struct recognised_event {
	struct pyprof_event_hdr hdr;
	__u64 start_ns; /* the process's start (task start_time, ktime) */
	__u64 recognised_ns; /* ktime of the sample that recognised it */
	__u64 cpu_ns; /* CPU time its thread had run until then */
	__u32 file_id; /* interp_file.id */
	__u32 pad;
	__u64 comm[2]; /* the task's comm, NUL-padded */
	struct py_code_range code; /* of the program recognised */
};

/* EV_NEW_THREAD events are only the header. */
struct pyprof_event {
	struct pyprof_event_hdr hdr;
	struct py_seg seg;
};

/*
 * tstate_entry.tstate when it is no address: the thread state was not
 * found, and why.  Cached like a hit, so that a thread without one does
 * not pay a walk of the thread list at every sample.
 */
enum tstate_miss {
	TSTATE_NONE = 0, /* the thread has none: a native thread */
	TSTATE_RUNTIME_BAD = 1, /* _PyRuntime's interpreter list unreadable
				   or empty, or a thread list that loops */
	/* A link of the thread list unreadable.  Not trusted from the
	 * cache either: it is most often a list changing under the walk (a
	 * thread state freed as it was read), and a walk that faults stops
	 * there, so walking again is cheap. */
	TSTATE_LIST_BAD = 2,
	/*
	 * _PyRuntime has no interpreter (its list head is NULL, or its page
	 * was never touched): the interpreter does not exist yet, or no
	 * more.  Which of the two: whether this thread was seen with a
	 * thread state (INTERP_GONE) or not (NO_INTERP).  Never trusted
	 * from the cache: a start-up sample must not stick to the samples
	 * after it (a thread that goes to sleep right after start-up would
	 * carry it for the whole sleep).
	 */
	TSTATE_NO_INTERP = 3,
	TSTATE_INTERP_GONE = 4,
	TSTATE_MISS_MAX = TSTATE_INTERP_GONE,
};

/* Value of the tstate_cache map (key: tid). */
struct tstate_entry {
	__u64 tstate; /* PyThreadState address, or an enum tstate_miss
			 (<= TSTATE_MISS_MAX) */
	__u64 thread_id; /* the thread's pthread_self() (its FS base) */
	__u64 checked_ns; /* when a miss was last confirmed */
};

/* Flags of a sample (sample_key.flags). */
enum {
	SAMPLE_F_TRUNCATED = 1 << 0, /* hit --max-depth: root frames missing */
	SAMPLE_F_PARTIAL = 1 << 1, /* a frame could not be read: root missing */
	SAMPLE_F_NO_TSTATE = 1 << 2, /* thread has no Python thread state */
	SAMPLE_F_NO_FRAME = 1 << 3, /* thread state has no current frame */
	SAMPLE_F_NO_RUNTIME = 1 << 4, /* interpreter list unreadable */
	SAMPLE_F_CYCLE = 1 << 5, /* the frame chain loops: cut at the repeat */
	SAMPLE_F_EXITING = 1 << 6, /* the thread is exiting: not walked */
	SAMPLE_F_BAD_CONFIG = 1 << 7, /* the process's config is out of
					 bounds: not walked */
	SAMPLE_F_NO_INTERP = 1 << 8, /* no interpreter yet: start-up */
	SAMPLE_F_INTERP_GONE = 1 << 9, /* no interpreter any more: exit */
	/* Userspace's: samples the sampler parked before it recognised the
	 * process (the parked map), kept once userspace said Python. */
	SAMPLE_F_UNRECOGNISED = 1 << 10,
};

/* Key of the counts map: one per distinct (thread, stack) pair. */
struct sample_key {
	__u32 pid; /* tgid, as the kernel's init namespace sees it */
	__u32 tid;
	__u64 stack_id; /* key of the stack's root-most segment, 0 if empty */
	__u32 depth; /* frames recorded */
	__u32 flags; /* SAMPLE_F_* */
	__s32 kstack; /* kernel stack id (--kernel), -1 if none,
			 KSTACK_LOST if it could not be stored */
	__s32 ustack; /* user stack id, -1 if none, NATIVE_USTACK_LOST */
};

/*
 * The sampler's per-CPU count cache (the count_cache map): a sample adds
 * to its key's slot here, not to the counts map shared by all CPUs, whose
 * lookup misses the caches (about 200 ns a sample, timed in place).  A
 * slot's samples go to the counts map when another key takes the slot;
 * the drain takes the rest.  One table per buffer (active_buf & 1): a
 * slot counts only under the flip (active_buf) it holds, so that after a
 * flip the drain reads the old buffer's table while no program writes it.
 */
#define COUNT_CACHE_SLOTS 16
struct count_slot {
	struct sample_key key;
	__u64 n; /* samples: 0, an empty slot */
	__u32 flip; /* active_buf when they were counted */
	__u32 pad;
};
struct count_cache {
	struct count_slot slot[2][COUNT_CACHE_SLOTS];
};

/* Tunable native_mode: which extra stacks the sampler takes. */
#define NATIVE_MODE_KERNEL 1 /* --kernel: kernel stack ids */
#define NATIVE_MODE_USER 2 /* --native: user registers + stack copy */

/* Room for the user stack copied per --native sample, from the stack
 * pointer up: to the end of its page and 3 more pages (12-16 KiB); a frame
 * whose return address lies beyond is not unwound (the stack is "cut"). */
#define NATIVE_STACK_MAX 16384
/* sample_key.kstack of a kernel stack the sampler could not store. */
#define KSTACK_LOST (-2)
/* Room for the kernel return addresses carried by a native event: at
 * least KSTACK_MAX_DEPTH, 1 KiB. */
#define NATIVE_KSTACK_MAX 128
/*
 * The user registers of a native_event, in the machine's DWARF numbering,
 * then its pc where the pc is not a DWARF register.  x86-64: rax rdx rcx
 * rbx rsi rdi rbp rsp r8-r15, then rip (16, the return address column).
 * arm64: x0-x30 (x29 the frame pointer, x30 the link register), sp (31),
 * then pc (32, no DWARF number): struct user_pt_regs's order.  BPF code
 * sees __TARGET_ARCH_*, userspace the compiler's machine.
 */
#if defined(__TARGET_ARCH_arm64) || \
	(!defined(__TARGET_ARCH_x86) && defined(__aarch64__))
#define NATIVE_NREGS 33
#define NATIVE_REG_SP 31
#define NATIVE_REG_PC 32
#else
#define NATIVE_NREGS 17
#define NATIVE_REG_SP 7
#define NATIVE_REG_PC 16
#endif

/*
 * An EV_NATIVE record: the sample's key (its Python stack is stored as
 * usual), the interrupted thread's user registers and a copy of its stack
 * from rsp, and with --kernel its kernel return addresses.  Userspace
 * unwinds it with DWARF CFI and counts it itself: the sampler does not
 * count it in the counts map, unless the record could not be sent (then
 * the key is counted with ustack NATIVE_USTACK_LOST).
 */
#define NATIVE_USTACK_LOST (-2)
struct native_event {
	struct pyprof_event_hdr hdr;
	struct sample_key key;
	__u64 regs[NATIVE_NREGS];
	__u32 stack_len; /* bytes of stack[] filled */
	__u32 nkips; /* kernel addresses in kips[], leaf first */
	__u64 kips[NATIVE_KSTACK_MAX];
	__u64 stack[NATIVE_STACK_MAX / 8]; /* bytes, stack_len of them,
					      from regs[NATIVE_REG_SP] */
};

/*
 * Where the run summary shows a counter (the stat_show of PYPROF_STATS):
 * every failure that happened is shown by its description; -v shows every
 * counter.
 */
enum stat_show {
	STAT_SHOW_VERBOSE, /* activity, not a failure: -v only */
	STAT_SHOW_STACKS, /* Python stacks resolved: "python stacks ..." */
	STAT_SHOW_UNRESOLVED, /* samples counted without a Python stack, by
				 reason: "unresolved: ..." */
	STAT_SHOW_LOST, /* samples not counted at all: "N lost (...)" */
	STAT_SHOW_FAILED, /* other failures: "failures: ...", if not zero */
	STAT_SHOW_OWN, /* a line of their own: --native, --kernel, a target
			  whose memory is inconsistent */
	STAT_SHOW_WHERE = 0xff, /* the above */
	STAT_SHOW_ZERO = 0x100, /* shown even when zero, as the summary
				   always has; others only when not zero */
};

/*
 * The per-CPU counters of the stats map, summed by userspace.  One line
 * each: X(enum, name, description, stat_show).  The enum indexes the map;
 * the name is what -v prints; the description is what the summary calls
 * it.  Each failure of the BPF programs has its own counter: the program
 * increments it, then gives up on what it was doing.
 */
#define PYPROF_STATS(X)                                                        \
	X(STAT_SAMPLES, "samples", "samples of a target thread",               \
	  STAT_SHOW_VERBOSE)                                                   \
	X(STAT_COUNTED, "counted",                                             \
	  "samples counted (in the counts map or a CPU's count cache)",        \
	  STAT_SHOW_VERBOSE)                                                   \
	X(STAT_COUNT_SPILLS, "count_spills",                                   \
	  "keys moved from a CPU's count cache to the counts map",             \
	  STAT_SHOW_VERBOSE)                                                   \
	X(STAT_PY_FULL, "py_full", "Python stacks complete", STAT_SHOW_STACKS) \
	X(STAT_TRUNCATED, "truncated", "Python stacks cut at --max-depth",     \
	  STAT_SHOW_STACKS)                                                    \
	X(STAT_PARTIAL, "partial", "Python stacks cut at an unreadable frame", \
	  STAT_SHOW_STACKS)                                                    \
	X(STAT_NO_TSTATE, "no_tstate", "no thread state",                      \
	  STAT_SHOW_UNRESOLVED | STAT_SHOW_ZERO)                               \
	X(STAT_ERR_TSTATE_LIST, "err_tstate_list", "thread list unreadable",   \
	  STAT_SHOW_UNRESOLVED)                                                \
	X(STAT_NO_FRAME, "no_frame", "no frame",                               \
	  STAT_SHOW_UNRESOLVED | STAT_SHOW_ZERO)                               \
	X(STAT_ERR_FRAME, "err_frame", "current frame unreadable",             \
	  STAT_SHOW_UNRESOLVED)                                                \
	X(STAT_ERR_RUNTIME, "err_runtime", "interpreter unreadable",           \
	  STAT_SHOW_UNRESOLVED | STAT_SHOW_ZERO)                               \
	X(STAT_NO_INTERP, "no_interp", "interpreter starting",                 \
	  STAT_SHOW_UNRESOLVED)                                                \
	X(STAT_INTERP_GONE, "interp_gone", "interpreter finished",             \
	  STAT_SHOW_UNRESOLVED)                                                \
	X(STAT_ERR_CONFIG, "err_config", "bad config",                         \
	  STAT_SHOW_UNRESOLVED | STAT_SHOW_ZERO)                               \
	X(STAT_EXITING, "exiting", "exiting",                                  \
	  STAT_SHOW_UNRESOLVED | STAT_SHOW_ZERO)                               \
	X(STAT_LOST_COUNTS, "lost_counts", "counts map full",                  \
	  STAT_SHOW_LOST | STAT_SHOW_ZERO)                                     \
	X(STAT_LOST_STACKS, "lost_stacks", "stacks map full",                  \
	  STAT_SHOW_LOST | STAT_SHOW_ZERO)                                     \
	X(STAT_ERR_SCRATCH, "err_scratch", "no per-CPU scratch",               \
	  STAT_SHOW_LOST)                                                      \
	X(STAT_ERR_TSTATE, "err_tstate",                                       \
	  "cached thread state unreadable (list walked again)",                \
	  STAT_SHOW_FAILED)                                                    \
	X(STAT_TSTATE_WALKS, "tstate_walks", "thread list walks (cache miss)", \
	  STAT_SHOW_VERBOSE)                                                   \
	X(STAT_TSTATE_WALK_CAP, "tstate_walk_cap",                             \
	  "thread lists longer than PY_MAX_THREADS_WALK", STAT_SHOW_OWN)       \
	X(STAT_SKIPPED_FRAMES, "skipped_frames",                               \
	  "C-stack shim frames skipped (3.12+)", STAT_SHOW_VERBOSE)            \
	X(STAT_CODE_READS, "code_reads",                                       \
	  "code objects read for a fingerprint (the others came from the "     \
	  "walk's caches)",                                                    \
	  STAT_SHOW_VERBOSE)                                                   \
	X(STAT_CFRAME_UNSET, "cframe_unset",                                   \
	  "samples entering the eval loop, read from the caller's frame "     \
	  "(3.11, 3.12)",                                                      \
	  STAT_SHOW_VERBOSE)                                                   \
	X(STAT_ERR_TLBC, "err_tlbc",                                           \
	  "frames whose thread-local bytecode is unreadable (free-threaded; "  \
	  "line unknown)",                                                     \
	  STAT_SHOW_FAILED)                                                    \
	X(STAT_CYCLE, "cycle", "frame chain looped", STAT_SHOW_OWN)            \
	X(STAT_ERR_GIL, "err_gil", "--gil: GIL state unreadable",              \
	  STAT_SHOW_FAILED)                                                    \
	X(STAT_EVENTS_LOST, "events_lost", "events lost (ring buffer full)",   \
	  STAT_SHOW_FAILED)                                                    \
	X(STAT_PROBES, "probes", "processes announced for discovery",          \
	  STAT_SHOW_VERBOSE)                                                   \
	X(STAT_RECOGNISED, "recognised",                                       \
	  "processes the sampler recognised by their interpreter file",        \
	  STAT_SHOW_VERBOSE)                                                   \
	X(STAT_RECOGNISE_TRIES, "recognise_tries",                             \
	  "samples of processes under discovery looked up in their mappings",  \
	  STAT_SHOW_VERBOSE)                                                   \
	X(STAT_RECOGNISE_FULL, "recognise_full",                               \
	  "processes recognised but not sampled (targets map full)",           \
	  STAT_SHOW_FAILED)                                                    \
	X(STAT_OTHER_PIDNS, "other_pidns",                                     \
	  "samples of tasks pyprof-bpf's PID namespace does not number",       \
	  STAT_SHOW_VERBOSE)                                                   \
	X(STAT_IN_EXEC, "in_exec",                                             \
	  "target threads inside an exec, not read (samples, wall mode)",      \
	  STAT_SHOW_VERBOSE)                                                   \
	X(STAT_FORK_UNFOLLOWED, "fork_unfollowed",                             \
	  "forks not followed (follow map full)", STAT_SHOW_FAILED)            \
	X(STAT_FORK_UNTARGETED, "fork_untargeted",                             \
	  "forks of a target not sampled from their start (targets map full)", \
	  STAT_SHOW_FAILED)                                                    \
	X(STAT_OFFCPU_SWITCHES, "offcpu_switches",                             \
	  "target threads switched out (wall mode)", STAT_SHOW_VERBOSE)        \
	X(STAT_OFFCPU_LOST, "offcpu_lost",                                     \
	  "off-CPU intervals lost (offcpu map full)", STAT_SHOW_FAILED)        \
	X(STAT_AT_REST, "at_rest",                                             \
	  "stacks of threads at rest read (wall mode)", STAT_SHOW_VERBOSE)     \
	X(STAT_KSTACK_NONE, "kstack_none", "--kernel: samples in user mode",   \
	  STAT_SHOW_OWN)                                                       \
	X(STAT_KSTACK_LOST, "kstack_lost",                                     \
	  "--kernel: kernel stacks lost (map full)", STAT_SHOW_OWN)            \
	X(STAT_KSTACK_COLLIDED, "kstack_collided",                             \
	  "--kernel: kernel stacks collided", STAT_SHOW_OWN)                   \
	X(STAT_KSTACK_UNREAD, "kstack_unread",                                 \
	  "--native --kernel: kernel stacks unreadable", STAT_SHOW_FAILED)     \
	X(STAT_NATIVE_SENT, "native_sent",                                     \
	  "--native: samples sent with their user stack", STAT_SHOW_VERBOSE)   \
	X(STAT_NATIVE_LOST, "native_lost",                                     \
	  "--native: sent without their stack (ring buffer full)",             \
	  STAT_SHOW_OWN)                                                       \
	X(STAT_NATIVE_SHORT, "native_short",                                   \
	  "--native: under 12 KiB of stack copied", STAT_SHOW_OWN)             \
	X(STAT_NATIVE_REGS, "native_regs",                                     \
	  "--native: user registers unreadable", STAT_SHOW_FAILED)             \
	X(STAT_TIMELINE_SENT, "timeline_sent",                                 \
	  "timeline: samples and off-CPU spans sent with their time",          \
	  STAT_SHOW_VERBOSE)                                                   \
	X(STAT_TIMELINE_LOST, "timeline_lost",                                 \
	  "timeline: samples not timed (ring buffer full)", STAT_SHOW_FAILED)  \
	X(STAT_TIMELINE_NS, "timeline_ns",                                     \
	  "timeline: ns spent sending records (measured in place)",            \
	  STAT_SHOW_VERBOSE)                                                   \
	X(STAT_ASYNC_TASKS, "async_tasks",                                     \
	  "--async: samples of a thread running an asyncio task",              \
	  STAT_SHOW_VERBOSE)                                                   \
	X(STAT_ASYNC_UNREAD, "async_unread",                                   \
	  "--async: running task unreadable (no task frame)",                  \
	  STAT_SHOW_FAILED)                                                    \
	X(STAT_ASYNC_NOFRAME, "async_noframe",                                 \
	  "--async: running task whose coroutine frame the walk did not meet", \
	  STAT_SHOW_VERBOSE)

#define PYPROF_STAT_ENUM(e, name, desc, show) e,
enum stat_idx {
	PYPROF_STATS(PYPROF_STAT_ENUM) STAT__MAX,
};
#undef PYPROF_STAT_ENUM

#ifndef __cplusplus
_Static_assert(sizeof(struct py_walk_offsets) == 17 * 4, "py_walk_offsets");
_Static_assert(sizeof(struct py_code_fp_span) == 6 * 4, "py_code_fp_span");
_Static_assert(sizeof(struct py_proc_cfg) ==
		       8 + 4 + 4 * 4 + 17 * 4 + 4 * 4 + 6 * 4 + 16,
	       "py_proc_cfg");
_Static_assert(sizeof(struct interp_file_key) == 16, "interp_file_key");
_Static_assert(sizeof(struct interp_file) ==
		       sizeof(struct py_proc_cfg) + 8 + 24 * INTERP_FILE_SEGS,
	       "interp_file");
_Static_assert(sizeof(struct recognised_event) ==
		       24 + 8 + 8 + 8 + 8 + 16 + 16,
	       "recognised_event");
_Static_assert(sizeof(struct native_event) == 24 + 32 + 8 * NATIVE_NREGS + 8 +
						      8 * NATIVE_KSTACK_MAX +
						      NATIVE_STACK_MAX,
	       "native_event");
_Static_assert(NATIVE_KSTACK_MAX >= KSTACK_MAX_DEPTH, "native_event.kips");
_Static_assert(sizeof(struct py_frame) == 16, "py_frame");
_Static_assert(sizeof(struct py_seg) == 16 + 16 * PY_SEG_FRAMES, "py_seg");
_Static_assert(sizeof(struct sample_key) == 32, "sample_key");
_Static_assert(sizeof(struct tstate_entry) == 24, "tstate_entry");
_Static_assert(sizeof(struct pyprof_event_hdr) == 24, "pyprof_event_hdr");
_Static_assert(sizeof(struct pyprof_event) ==
		       sizeof(struct pyprof_event_hdr) + sizeof(struct py_seg),
	       "pyprof_event");
#endif

/*
 * ---- Wall-clock mode (off-CPU time) and GIL state: issue 9 ----
 *
 * In --mode wall a sched_switch program walks a target thread's Python stack
 * when it leaves the CPU and keeps an offcpu_rec; when the thread comes back
 * (or when userspace runs the offcpu_flush program at a drain, for threads
 * still asleep) the time off-CPU is added to the counts map under the
 * recorded key with SAMPLE_F_OFFCPU set: for such keys the count is in
 * nanoseconds, not samples.  The reason is in bits SAMPLE_WHY_SHIFT and up.
 * The high flag bits are used so that other flags can grow from bit 0.
 */
enum {
	SAMPLE_F_OFFCPU = 1 << 16, /* count is ns off-CPU */
	SAMPLE_F_GIL_HELD = 1 << 17, /* the thread held the GIL */
	SAMPLE_F_GIL_WAIT = 1 << 18, /* the thread waited for the GIL */
	SAMPLE_F_ASLEEP_AT_START = 1 << 19, /* off-CPU since before the
					       start, stack not read (the
					       at_rest iterator could not
					       run: read from /proc) */
};
#define SAMPLE_WHY_SHIFT 20
#define SAMPLE_WHY_MASK 0xfffu

/* Why a thread was off-CPU (the SAMPLE_WHY field). */
enum offcpu_why {
	OFFCPU_OTHER = 0, /* asleep outside a system call */
	OFFCPU_PREEMPTED, /* runnable, waiting for a CPU */
	OFFCPU_FUTEX, /* futex: a lock, a condition, a queue */
	OFFCPU_SLEEP, /* nanosleep, clock_nanosleep */
	OFFCPU_IO, /* read, write, recv, send, poll, select, epoll... */
	OFFCPU_DISK, /* uninterruptible sleep (D) outside those */
	OFFCPU_GIL, /* futex on the GIL's condition or mutex */
	OFFCPU_CHILD, /* wait4, waitid */
	OFFCPU_STOPPED, /* stopped or traced */
	OFFCPU_SYSCALL = 32, /* another system call: 32 + its number */
};

/*
 * What a thread asleep in system call nr (bpf/syscalls.h: the numbers of
 * the architecture built for) with first two arguments a0, a1 waits for;
 * OFFCPU_OTHER for a call not classified here.  One table for the
 * sched_switch program and for userspace, which reads
 * /proc/PID/task/TID/syscall for threads already asleep at the start.
 */
static inline __u32 offcpu_why_of_syscall(long nr, __u64 a0, __u64 a1)
{
	switch (nr) {
	case PYNR_futex:
	case PYNR_futex_waitv:
		return OFFCPU_FUTEX;
	case PYNR_nanosleep:
	case PYNR_clock_nanosleep:
		return OFFCPU_SLEEP;
#ifdef PYPROF_ARCH_X86_64
	case PYNR_select:
#endif
	case PYNR_pselect6:
		/* No descriptors: a sleep (time.sleep before 3.11). */
		return a0 ? OFFCPU_IO : OFFCPU_SLEEP;
#ifdef PYPROF_ARCH_X86_64
	case PYNR_poll:
#endif
	case PYNR_ppoll:
		return a1 ? OFFCPU_IO : OFFCPU_SLEEP;
	case PYNR_read:
	case PYNR_write:
	case PYNR_pread64:
	case PYNR_pwrite64:
	case PYNR_readv:
	case PYNR_writev:
	case PYNR_connect:
	case PYNR_accept:
	case PYNR_sendto:
	case PYNR_recvfrom:
	case PYNR_sendmsg:
	case PYNR_recvmsg:
	case PYNR_fsync:
	case PYNR_fdatasync:
#ifdef PYPROF_ARCH_X86_64
	case PYNR_epoll_wait:
#endif
	case PYNR_epoll_pwait:
	case PYNR_accept4:
	case PYNR_preadv:
	case PYNR_pwritev:
	case PYNR_recvmmsg:
	case PYNR_sendmmsg:
	case PYNR_epoll_pwait2:
		return OFFCPU_IO;
	case PYNR_wait4:
	case PYNR_waitid:
		return OFFCPU_CHILD;
	default:
		return OFFCPU_OTHER;
	}
}

/*
 * Whether the stack of an off-CPU key (depth, flags) is worth reading again
 * while its thread rests (the at_rest iterator of bpf/offcpu.bpf.c, which
 * userspace runs again before a drain that found such a key): it has none
 * because the interpreter or a frame could not be read (the process was
 * starting, or changing the frame as it left the CPU), or because it was
 * never read (SAMPLE_F_ASLEEP_AT_START).
 */
static inline int offcpu_reread(__u32 depth, __u32 flags)
{
	return (flags & SAMPLE_F_OFFCPU) && !depth &&
	       (flags & (SAMPLE_F_NO_RUNTIME | SAMPLE_F_PARTIAL |
			 SAMPLE_F_ASLEEP_AT_START));
}

/* Value of the offcpu map (key: tid). */
struct offcpu_rec {
	__u64 start_ns; /* off-CPU since (ktime); 0 once accounted */
	struct sample_key key;
};

/* Where the GIL is (--gil), per target: value of the gil_cfgs map. */
enum py_gil_where {
	PY_GIL_NONE = 0, /* no GIL (free-threaded) or unknown */
	PY_GIL_IN_RUNTIME = 1, /* _PyRuntime.ceval.gil (3.8-3.11) */
	PY_GIL_INTERP_PTR = 2, /* *main interpreter's ceval.gil (3.12+) */
};

struct py_gil_cfg {
	__u64 addr; /* the GIL's address; 0 until known (BPF fills it) */
	__u32 where; /* enum py_gil_where */
	__u32 off; /* runtime offset of the GIL, or of ceval.gil in the
		      interpreter */
	__u32 main_interp_off; /* _PyRuntime.interpreters.main (3.12+) */
	__u32 size; /* sizeof(struct _gil_runtime_state) */
	__u32 locked_off; /* _gil_runtime_state.locked (an int) */
	__u32 holder_off; /* _gil_runtime_state.last_holder (a tstate) */
};

#ifndef __cplusplus
_Static_assert(sizeof(struct offcpu_rec) == 8 + 32, "offcpu_rec");
_Static_assert(sizeof(struct py_gil_cfg) == 32, "py_gil_cfg");
#endif
/* ---- end of issue 9 ---- */

/*
 * ---- The timeline: when each sample was taken (issue 21) ----
 *
 * When a timeline is wanted (the timeline_enabled tunable), every sample
 * added to the counts map and every off-CPU span counted in wall mode is
 * also sent on the timeline ring buffer with its time, so that userspace
 * places it exactly.  The counts stay the profile: a record the ring
 * could not take (STAT_TIMELINE_LOST) only leaves a gap in the timeline.
 */
struct timeline_rec {
	__u64 t_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC): when the
		       sample was taken, or when the span began */
	__u64 dur_ns; /* an off-CPU span's length; 0 for a sample */
	struct sample_key key; /* as counted */
	__u32 buf; /* the buffer key was counted in: key.kstack is an id
		      of that buffer's kernel stack map */
	__u32 nvcsw; /* a sample: the thread's voluntary context switches
			so far (task_struct.nvcsw, low 32 bits).  Two
			samples of a thread with the same count had no
			sleep between them: it ran, or waited for a CPU */
};

#ifndef __cplusplus
_Static_assert(sizeof(struct timeline_rec) == 16 + 32 + 8, "timeline_rec");
#endif
/* ---- end of issue 21 ---- */

/*
 * ---- asyncio tasks (--async, CPython 3.14+): issue 23 ----
 *
 * With --async the walk also reads the thread's running asyncio task
 * (_PyThreadStateImpl.asyncio_running_task) and the address of its
 * coroutine's frame (task_coro + gi_iframe), and notes how many frames
 * from the leaf belong to the task: those up to and including that frame.
 * The stack then gets one more frame at its root end, which is no Python
 * frame but says which task (SAMPLE_F_TASK in the key's flags):
 *   code = the task object's address,
 *   lasti = frames from the leaf that are the task's (-1: its coroutine's
 *           frame was not met: the task is stepping, or the stack is cut
 *           before it),
 *   fingerprint = PY_FRAME_F_TASK | the task's coroutine address >> 4
 *           (its low 30 bits): a fingerprint that tells a task apart from
 *           a later one at the same address.
 * So the task is part of the stack's identity, and its segments carry it
 * to userspace (src/sampler/asyncio.c), which names the task and its
 * awaiters.  Offsets come from the _asyncio module's .AsyncioDebug section
 * and the target's _Py_DebugOffsets, per process, in the async_cfgs map.
 */
enum {
	SAMPLE_F_TASK =
		1 << 15, /* the root-most frame is a task pseudo-frame */
};

struct py_async_cfg {
	__u32 running_task; /* _PyThreadStateImpl.asyncio_running_task */
	__u32 task_coro; /* TaskObj.task_coro */
	__u32 gi_iframe; /* PyGenObject.gi_iframe: the coroutine's frame */
	__u32 pad;
};

#ifndef __cplusplus
_Static_assert(sizeof(struct py_async_cfg) == 16, "py_async_cfg");
#endif
/* ---- end of issue 23 ---- */

#endif /* PYPROF_SHARED_H */
