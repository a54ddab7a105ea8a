// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "sampler/offcpu.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "lib/grow.h"
#include "lib/hashmap.h"
#include "sampler/proc.h"

/* Remainders kept per key; past this, a new key's remainder is rounded. */
#define CARRY_MAX (1u << 20)
/* Threads whose shares are kept for the summary. */
#define THREADS_MAX 65536

struct offcpu {
	uint64_t period_ns;
	bool gil_only;
	struct hashmap carry; /* hash of a sample_key -> ns not yet a sample */
	struct hashmap tidx; /* pid << 32 | tid -> index + 1 in threads */
	struct offcpu_thread *threads;
	size_t nthreads, cap;
	uint64_t on, off, held, waiting, dropped;
	uint64_t off_all; /* off-CPU sample-equivalents, dropped ones too */
};

struct offcpu *offcpu__new(uint64_t period_ns, bool gil_only)
{
	struct offcpu *o;

	if (!period_ns) {
		errno = EINVAL;
		return NULL;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->period_ns = period_ns;
	o->gil_only = gil_only;
	return o;
}

void offcpu__free(struct offcpu *o)
{
	if (!o)
		return;
	hashmap__free(&o->carry);
	hashmap__free(&o->tidx);
	free(o->threads);
	free(o);
}

uint64_t offcpu__ns_to_samples(uint64_t ns, uint64_t period_ns, uint64_t *carry)
{
	uint64_t n;

	if (!period_ns)
		return 0;
	/* ns + carry cannot overflow: carry < period_ns, and an interval of
	 * 2^64 - 2^32 ns is 584 years. */
	if (ns > UINT64_MAX - *carry)
		ns = UINT64_MAX - *carry;
	ns += *carry;
	n = ns / period_ns;
	*carry = ns % period_ns;
	return n;
}

static struct offcpu_thread *thread(struct offcpu *o, uint32_t pid, uint32_t tid)
{
	uint64_t k = (uint64_t)pid << 32 | tid, v;
	struct offcpu_thread *t;

	if (hashmap__get(&o->tidx, k, &v))
		return &o->threads[v - 1];
	if (o->nthreads >= THREADS_MAX ||
	    grow__reserve((void **)&o->threads, &o->cap, o->nthreads + 1,
			  sizeof(*o->threads)))
		return NULL;
	t = &o->threads[o->nthreads];
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->tid = tid;
	if (hashmap__set(&o->tidx, k, ++o->nthreads))
		return NULL;
	return t;
}

uint64_t offcpu__samples(struct offcpu *o, const struct sample_key *key,
			 uint64_t count)
{
	struct offcpu_thread *t;
	uint64_t n = count, carry = 0, h;

	if (key->flags & SAMPLE_F_OFFCPU) {
		h = hash_bytes(key, sizeof(*key), 0) | 1;
		hashmap__get(&o->carry, h, &carry);
		n = offcpu__ns_to_samples(count, o->period_ns, &carry);
		if (carry && (o->carry.len < CARRY_MAX ||
			      hashmap__get(&o->carry, h, NULL)))
			hashmap__set(&o->carry, h, carry);
		else if (carry)
			n += carry * 2 >= o->period_ns; /* no room: round */
		else
			hashmap__del(&o->carry, h);
	}
	if (!n)
		return 0;
	if (key->flags & SAMPLE_F_OFFCPU)
		o->off_all += n;
	if (o->gil_only && !(key->flags & SAMPLE_F_GIL_HELD)) {
		o->dropped += n;
		return 0;
	}
	t = thread(o, key->pid, key->tid);
	if (key->flags & SAMPLE_F_OFFCPU)
		o->off += n;
	else
		o->on += n;
	if (key->flags & SAMPLE_F_GIL_HELD)
		o->held += n;
	if (key->flags & SAMPLE_F_GIL_WAIT)
		o->waiting += n;
	if (t) {
		if (key->flags & SAMPLE_F_OFFCPU)
			t->off += n;
		else
			t->on += n;
		if (key->flags & SAMPLE_F_GIL_HELD)
			t->held += n;
		if (key->flags & SAMPLE_F_GIL_WAIT)
			t->waiting += n;
	}
	return n;
}

/* Names of the system calls most often slept in that the BPF side does not
 * classify itself (bpf/syscalls.h). */
static const char *syscall_name(unsigned nr)
{
	switch (nr) {
#ifdef PYPROF_ARCH_X86_64
	case PYNR_pause:
		return "pause";
#endif
	case PYNR_fcntl:
		return "fcntl";
	case PYNR_flock:
		return "flock";
	case PYNR_rt_sigsuspend:
		return "sigsuspend";
	case PYNR_rt_sigtimedwait:
		return "sigtimedwait";
	case PYNR_openat:
		return "openat";
	case PYNR_close:
		return "close";
	case PYNR_mmap:
		return "mmap";
	case PYNR_munmap:
		return "munmap";
	case PYNR_exit:
		return "exit";
	case PYNR_exit_group:
		return "exit_group";
	case PYNR_sched_yield:
		return "sched_yield";
	default:
		return NULL;
	}
}

const char *offcpu__leaf(uint32_t flags, char *buf, size_t len)
{
	static const char *const names[] = {
		[OFFCPU_OTHER] = "other",     [OFFCPU_PREEMPTED] = "preempted",
		[OFFCPU_FUTEX] = "futex",     [OFFCPU_SLEEP] = "sleep",
		[OFFCPU_IO] = "io",	      [OFFCPU_DISK] = "D",
		[OFFCPU_GIL] = "gil",	      [OFFCPU_CHILD] = "wait",
		[OFFCPU_STOPPED] = "stopped",
	};
	unsigned why = (flags >> SAMPLE_WHY_SHIFT) & SAMPLE_WHY_MASK;
	const char *name;

	if (why >= OFFCPU_SYSCALL) {
		name = syscall_name(why - OFFCPU_SYSCALL);
		if (name)
			snprintf(buf, len, "[off-cpu: %s]", name);
		else
			snprintf(buf, len, "[off-cpu: syscall %u]",
				 why - OFFCPU_SYSCALL);
		return buf;
	}
	name = why < sizeof(names) / sizeof(names[0]) && names[why] ?
		       names[why] :
		       "other";
	snprintf(buf, len, "[off-cpu: %s]", name);
	return buf;
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

static int by_total(const void *a, const void *b)
{
	const struct offcpu_thread *x = a, *y = b;
	uint64_t tx = x->on + x->off, ty = y->on + y->off;

	if (tx != ty)
		return tx > ty ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

size_t offcpu__threads(const struct offcpu *o,
		       const struct offcpu_thread **v)
{
	*v = o->threads;
	return o->nthreads;
}

void offcpu__added(const struct offcpu *o, uint64_t *off, uint64_t *dropped)
{
	*off = o->off_all;
	*dropped = o->dropped;
}

void offcpu__gil_shares(const struct offcpu *o, double *held,
			double *waiting)
{
	uint64_t total = o->on + o->off;

	*held = total ? (double)o->held / (double)total : 0;
	*waiting = total ? (double)o->waiting / (double)total : 0;
}

void offcpu__print_summary(const struct offcpu *o, FILE *f, bool wall, bool gil,
			   size_t max_threads, offcpu_name_fn name_fn,
			   void *arg)
{
	uint64_t total = o->on + o->off;
	struct offcpu_thread *v;
	size_t n = o->nthreads;

	if (wall)
		fprintf(f,
			"pyprof-bpf: wall mode: %" PRIu64
			" sample-equivalents, on-CPU %" PRIu64
			" (%.1f%%), off-CPU %" PRIu64 " (%.1f%%)\n",
			total, o->on, pct(o->on, total), o->off,
			pct(o->off, total));
	if (gil)
		fprintf(f,
			"pyprof-bpf: GIL: held %.1f%%, waiting %.1f%% of %" PRIu64
			" samples%s",
			pct(o->held, total), pct(o->waiting, total), total,
			o->gil_only ? "" : "\n");
	if (gil && o->gil_only)
		fprintf(f, " (--gil-only: %" PRIu64 " others left out)\n",
			o->dropped);
	if (!n || (!wall && !gil))
		return;
	v = malloc(n * sizeof(*v));
	if (!v)
		return;
	memcpy(v, o->threads, n * sizeof(*v));
	qsort(v, n, sizeof(*v), by_total);
	for (size_t i = 0; i < n && i < max_threads; i++) {
		uint64_t t = v[i].on + v[i].off;
		char buf[128];
		const char *name = name_fn ? name_fn(v[i].pid, v[i].tid, buf,
						     sizeof(buf), arg) :
					     NULL;

		fprintf(f, "pyprof-bpf:   pid %u tid %u", v[i].pid, v[i].tid);
		if (name)
			fprintf(f, " \"%s\"", name);
		fprintf(f, ": %" PRIu64 " samples", t);
		if (wall)
			fprintf(f, ", on-CPU %.1f%%, off-CPU %.1f%%",
				pct(v[i].on, t), pct(v[i].off, t));
		if (gil)
			fprintf(f, ", GIL held %.1f%%, waiting %.1f%%",
				pct(v[i].held, t), pct(v[i].waiting, t));
		fputc('\n', f);
	}
	if (n > max_threads)
		fprintf(f, "pyprof-bpf:   ... and %zu more threads\n",
			n - max_threads);
	free(v);
}

/*
 * Where the GIL is, from CPython's headers, checked against the DWARF of
 * the pyenv builds (gdb: offsetof):
 *  - 3.8-3.11: struct _gil_runtime_state gil inside _PyRuntime.ceval
 *    (Include/internal/pycore_runtime.h, pycore_ceval.h): at 1152 (3.8),
 *    352 (3.9, 3.10), 360 (3.11).
 *  - 3.12+: per interpreter; interp->ceval.gil points to it
 *    (Include/internal/pycore_ceval_state.h; 3.14: pycore_interp_structs.h)
 *    and the main interpreter is _PyRuntime.interpreters.main, the pointer
 *    after interpreters.head.  ceval.gil: 384 (3.12), 16 (3.13 to 3.15:
 *    ceval is the first member of struct _is there; the target's
 *    _Py_DebugOffsets say so too, interpreter_state.ceval_gil).
 *  - struct _gil_runtime_state is the same on every version
 *    (Include/internal/pycore_gil.h): last_holder at 8, locked at 16,
 *    208 bytes with FORCE_SWITCHING (always defined).
 */
int offcpu__gil_cfg(const struct py_proc_cfg *cfg, struct py_gil_cfg *g)
{
	memset(g, 0, sizeof(*g));
	/* Free-threaded builds have no GIL (PEP 703). */
	if (cfg->flags & PY_CFG_FREE_THREADED)
		return -ENOTSUP;
	g->size = 208;
	g->holder_off = 8;
	g->locked_off = 16;
	switch (cfg->version) {
	case 0x0308:
		g->where = PY_GIL_IN_RUNTIME;
		g->off = 1152;
		return 0;
	case 0x0309:
	case 0x030a:
		g->where = PY_GIL_IN_RUNTIME;
		g->off = 352;
		return 0;
	case 0x030b:
		g->where = PY_GIL_IN_RUNTIME;
		g->off = 360;
		return 0;
	case 0x030c:
		g->off = 384;
		break;
	case 0x030d:
	case 0x030e:
	case 0x030f:
		g->off = 16;
		break;
	default:
		return -ENOTSUP;
	}
	if (cfg->off.runtime_interp_head == PY_OFF_NONE)
		return -ENOTSUP;
	g->where = PY_GIL_INTERP_PTR;
	g->main_interp_off = cfg->off.runtime_interp_head + 8;
	return 0;
}

/* Reads /proc/PID/task/TID/syscall: 0 with *why when the thread is asleep
 * in a system call, -EAGAIN when it runs or is not in one. */
static int asleep_why(pid_t pid, pid_t tid, uint32_t *why)
{
	char path[64], buf[256];
	unsigned long long a0 = 0, a1 = 0;
	long nr;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* "running", "-1 SP PC" (not in a system call), or "NR A0 ... PC" */
	if (sscanf(buf, "%ld %llx %llx", &nr, &a0, &a1) < 1 || nr < 0)
		return -EAGAIN;
	*why = offcpu_why_of_syscall(nr, a0, a1);
	if (*why == OFFCPU_OTHER &&
	    nr < (long)(SAMPLE_WHY_MASK - OFFCPU_SYSCALL))
		*why = OFFCPU_SYSCALL + (uint32_t)nr;
	return 0;
}

int offcpu__seed(int map_fd, pid_t pid)
{
	struct offcpu_rec rec;
	struct timespec ts;
	pid_t *tids = NULL;
	int n, seeded = 0;
	uint32_t why = 0;

	n = proc__tids(pid, &tids);
	if (n < 0)
		return n;
	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (int i = 0; i < n; i++) {
		__u32 key = (__u32)tids[i];

		if (asleep_why(pid, tids[i], &why))
			continue;
		memset(&rec, 0, sizeof(rec));
		rec.start_ns = (uint64_t)ts.tv_sec * 1000000000ull +
			       (uint64_t)ts.tv_nsec;
		rec.key.pid = (__u32)pid;
		rec.key.tid = key;
		rec.key.kstack = -1;
		rec.key.ustack = -1;
		rec.key.flags = SAMPLE_F_OFFCPU | SAMPLE_F_ASLEEP_AT_START |
				(why & SAMPLE_WHY_MASK) << SAMPLE_WHY_SHIFT;
		/* NOEXIST: a record the sched_switch program wrote is better. */
		if (bpf_map_update_elem(map_fd, &key, &rec, BPF_NOEXIST) == 0)
			seeded++;
	}
	free(tids);
	return seeded;
}
