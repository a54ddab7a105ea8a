/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Native stacks without frame pointers: DWARF CFI unwinding of a sampled
 * thread from its registers and a copy of the top of its stack, and
 * symbolisation (ELF symbols, DWARF inline frames, debug files by
 * .gnu_debuglink and build-id, in the target's root too, or from
 * debuginfod when DEBUGINFOD_URLS is set; /tmp/perf-PID.map for JIT
 * code).  Files are opened as the process sees them (/proc/PID/root), or
 * through the mapping itself; the vDSO from its image in the process.
 * One libdwfl session per process (modules, symbols), rebuilt when an
 * address falls outside its known mappings.  The unwind steps themselves
 * are CFI rows cached per file (cfi.c), shared across processes, and so
 * are symbolised addresses.
 */
#ifndef PYPROF_UNWIND_H
#define PYPROF_UNWIND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct unwinder;

/* A sampled thread's state, as the sampler copied it. */
struct unwind_sample {
	pid_t pid, tid;
	const uint64_t *regs; /* NATIVE_NREGS, DWARF numbering */
	const uint8_t *stack; /* a copy of memory from regs[NATIVE_REG_SP] up */
	uint32_t stack_len;
};

/* A symbolised address: the function, then the functions inlined into
 * it at that address, outermost first; strings owned by the unwinder. */
#define UNWIND_INLINE_MAX 8
struct unwind_sym {
	const char *names[UNWIND_INLINE_MAX + 1];
	uint32_t n;
	const char *module; /* the file's path as pyprof-bpf sees it, or
			       NULL (anonymous memory) */
	bool unnamed; /* no symbol: names[0] is "[file+0xoff]" or
			 "[unknown]" */
	uint64_t id; /* names this result for as long as the unwinder
			lives (never reused), or 0 (JIT code, unknown) */
};

struct unwinder *unwinder__new(void);
void unwinder__free(struct unwinder *u);
/* Forgets pid's session (it exited or exec'd). */
void unwinder__forget(struct unwinder *u, pid_t pid);

/*
 * Unwinds s into pcs[max], leaf first: the leaf's pc, then each caller's
 * return address minus one (an address inside the call).  *cut is set when
 * the unwind stopped before the thread's first frame (stack copy too
 * short, no CFI, a cap).  Returns the frame count, or -errno.
 */
int unwinder__unwind(struct unwinder *u, const struct unwind_sample *s,
		     uint64_t *pcs, uint32_t max, bool *cut);

/* Symbolises addr in pid (after unwinder__unwind for pid). 0 or -errno. */
int unwinder__sym(struct unwinder *u, pid_t pid, uint64_t addr,
		  struct unwind_sym *out);

/* What the unwinder did, for the summary. */
struct unwind_stats {
	uint64_t samples, frames; /* samples unwound, frames found */
	/* unwinding, sessions excluded (measured on some unwinds: unwind.c) */
	uint64_t unwind_ns;
	uint64_t sessions, session_ns; /* sessions built, and their cost */
	uint64_t syms, sym_ns; /* addresses symbolised (cache misses) */
	uint64_t rows; /* unwind rows computed by libdw (cache misses) */
	uint64_t unnamed; /* addresses left without a symbol */
	char unnamed_mods[256]; /* some of their files, ", "-separated */
};
void unwinder__stats(const struct unwinder *u, struct unwind_stats *st);

#endif /* PYPROF_UNWIND_H */
