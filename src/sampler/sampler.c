// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "sampler/sampler.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/clock.h"
#include "lib/hashmap.h"
#include "native/merge.h"
#include "sampler/mapsize.h"
#include "sampler/offcpu.h"
#include "pyprof.skel.h"

/*
 * After flipping active_buf, samples already inside the program may still
 * write to the old buffer.  A sample runs for microseconds (a 8192-frame
 * walk for well under a millisecond), so waiting this long before reading
 * the old buffer means every sample that chose it has finished.
 */
#define FLIP_GRACE_NS (20 * 1000 * 1000)

/* Segments cached across drains: their keys are content hashes, so a key
 * seen once means the same frames forever.  Bounded; cleared when full. */
#define SEG_CACHE_MAX 65536

/*
 * The timer of a cpu-clock event fires at exact multiples of its period
 * (hrtimer_forward): a program whose work repeats in step with it (a loop
 * of 20.2 ms against 99 Hz) is seen at one phase only, and a 75/25 split
 * comes out 50/50 or 100/0.  So each CPU's timer is re-armed every
 * REARM_S seconds (at least REARM_PERIODS periods, at most REARM_PER_S
 * ioctls a second however many CPUs) with a rate drawn
 * within jitter of -F, the next time with the opposite draw, so that two
 * intervals average -F exactly.  A re-arm starts a full period from then
 * and loses the part of one already run, half a period on average: the
 * rate asked for is higher by one half sample per interval.
 *
 * A stretch of CPU time gets its length x -F samples, give or take, at
 * each of its ends, jitter x the periods in an interval: how far the
 * samples drift in phase in an interval, which is all the mixing needs.
 * So jitter is JITTER_MAX, or less where an interval holds more than
 * DRIFT / JITTER_MAX periods.  With 20% at 999 Hz, a burst of 80 ms of
 * CPU after a sleep took 67 to 94 samples (perf record beside it: 82 to
 * 84), and a short process's profile was 20% off its CPU time.  The
 * caller's wait is cut at each re-arm (sampler__poll), which was up to a
 * whole 100 ms tick late, and an interval stretched at -20% lost samples.
 */
#define REARM_S 0.1
#define REARM_PERIODS 8
#define REARM_PER_S 500 /* ioctls a second, all CPUs: ~5 us each */
#define JITTER_MAX 0.2
#define DRIFT 4.0 /* periods */

struct sampler {
	struct pyprof_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *exec_link;
	struct bpf_link *fork_link; /* only when following children */
	struct bpf_link *switch_link; /* only in wall mode */
	struct bpf_link *waking_link; /* only in wall mode */
	struct sampler_events events;
	struct bpf_link **links;
	int *pfds;
	double *jitter; /* per CPU: the last draw (rearm) */
	unsigned freq;
	unsigned rearms;
	double rearm_every, rearm_at;
	uint64_t rng;
	int ncpus;
	int ncpus_possible;
	/* Drains so far: active_buf, whose low bit is the buffer samples
	 * currently go to. */
	uint32_t flips;
	struct hashmap segs; /* segment key -> struct seg_entry * */
	struct hashmap forgotten; /* pids whose segments go at the next drain */
	/* Wall mode: pids with a thread at rest under a record worth reading
	 * again (offcpu_reread), found by the last drain. */
	struct hashmap reread;
	struct py_frame *frames; /* drain scratch: max_depth frames */
	unsigned max_depth;
	int drain_kfd; /* kernel stacks of the buffer being drained, or -1 */
	bool verbose;
	bool wall, gil;
	double poll_until; /* sampler__poll's end (clock__now()), or 0 */
	bool at_rest; /* wall mode, and the at_rest iterator loaded */
	bool timeline; /* the timeline ring is read (issue 21) */
	struct map_plan plan; /* the maps' sizes (mapsize.c) */
};

static bool verbose_libbpf;

static int seg_cache_put(struct sampler *p, uint32_t pid, uint64_t k,
			 const struct py_seg *seg);
static void seg_cache_clear(struct sampler *p);

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose_libbpf)
		return 0;
	if (!verbose_libbpf)
		return 0; /* our own messages say what went wrong, once */
	return vfprintf(stderr, fmt, ap);
}

/* Parses a CPU list such as "0-3,8,10-11" into a bitmap. Count or -EINVAL. */
static int parse_cpus(const char *s, bool *cpus, int max)
{
	int n = 0;

	while (*s && *s != '\n') {
		char *end;
		long a = strtol(s, &end, 10), b = a;

		if (end == s || a < 0)
			return -EINVAL;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			if (end == s + 1 || b < a)
				return -EINVAL;
			s = end;
		}
		for (long c = a; c <= b && c < max; c++, n++)
			cpus[c] = true;
		if (*s == ',')
			s++;
	}
	return n;
}

static int online_cpus(bool **cpus, int *ncpus_possible)
{
	char buf[4096];
	FILE *f;
	int n = libbpf_num_possible_cpus();

	if (n <= 0)
		return -EINVAL;
	*ncpus_possible = n;
	*cpus = calloc(n, sizeof(**cpus));
	if (!*cpus)
		return -ENOMEM;
	f = fopen("/sys/devices/system/cpu/online", "re");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		for (int i = 0; i < n; i++)
			(*cpus)[i] = true;
		return n;
	}
	fclose(f);
	return parse_cpus(buf, *cpus, n);
}

static int perf_open(int cpu, unsigned freq)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		/* A fixed period in nanoseconds of CPU clock, rather than
		 * freq mode: the kernel does not retune it under load. */
		.sample_period = 1000000000ull / freq,
	};

	return (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1,
			    PERF_FLAG_FD_CLOEXEC);
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct sampler *p = ctx;
	const struct pyprof_event_hdr *h = data;
	const struct pyprof_event *ev = data;

	if (len < sizeof(*h))
		return 0;
	switch (h->type) {
	case EV_NEW_SEG:
		if (len < sizeof(*ev) || ev->seg.nframes == 0 ||
		    ev->seg.nframes > PY_SEG_FRAMES)
			return 0;
		if (seg_cache_put(p, h->pid, h->key, &ev->seg) == 0 &&
		    p->events.new_seg)
			p->events.new_seg(h->pid, &ev->seg, p->events.arg);
		break;
	case EV_NEW_THREAD:
		if (p->events.new_thread)
			p->events.new_thread(h->pid, h->tid, h->key,
					     p->events.arg);
		break;
	case EV_EXEC:
		if (p->events.exec)
			p->events.exec(h->pid, p->events.arg);
		break;
	case EV_PROBE:
		if (p->events.probe)
			p->events.probe(h->pid, p->events.arg);
		break;
	case EV_FORK:
		if (p->events.fork)
			p->events.fork(h->pid, (uint32_t)h->key, p->events.arg);
		break;
	case EV_RECOGNISED:
		if (len >= sizeof(struct recognised_event) &&
		    p->events.recognised)
			p->events.recognised(data, p->events.arg);
		break;
	case EV_NATIVE:
		/* Even a short record: the callback counts it lost. */
		if (p->events.native)
			p->events.native(data, len, p->events.arg);
		break;
	}
	/* libbpf goes on for as long as records keep coming: a flood of
	 * them (new stacks at -F 10000, a loaded machine) would keep the
	 * caller from its duration and its signals.  Stop at the poll's
	 * end; this record is consumed, the rest wait for the next poll. */
	if (p->poll_until && clock__now() >= p->poll_until)
		return -EAGAIN;
	return 0;
}

/*
 * The PID namespace pyprof-bpf runs in, for the sampler's pid helpers:
 * *ino = 0 in the host's, where plain tgids are right.  The host's has a
 * fixed inode number (PROC_PID_INIT_INO in include/linux/proc_ns.h).
 */
#define PROC_PID_INIT_INO 0xEFFFFFFCu
static int own_pidns(__u64 *dev, __u64 *ino)
{
	struct stat st;

	*dev = *ino = 0;
	if (stat("/proc/self/ns/pid", &st) != 0)
		return -errno;
	if (st.st_ino == PROC_PID_INIT_INO)
		return 0;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

/*
 * What went wrong in a step of sampler__open: a sampler_err, and one line
 * saying what to do, into the caller's buffer.
 */
struct open_err {
	int why;
	char *msg;
	size_t len;
};

/* Records why a step failed; returns rc, the step's -errno (never 0: a
 * failure without an errno is -EINVAL). */
static int __attribute__((format(printf, 4, 5)))
open_fail(struct open_err *e, int why, int rc, const char *fmt, ...)
{
	va_list ap;

	e->why = why;
	va_start(ap, fmt);
	vsnprintf(e->msg, e->len, fmt, ap);
	va_end(ap);
	return rc < 0 ? rc : -EINVAL;
}

/* The sampler's own memory, before any BPF; NULL when out of memory. */
static struct sampler *sampler_alloc(const struct sampler_opts *o)
{
	struct sampler *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->verbose = o->verbose;
	p->max_depth = o->max_depth;
	p->events = o->events;
	p->wall = o->wall;
	p->gil = o->gil;
	p->timeline = o->timeline;
	p->drain_kfd = -1;
	/* One more than --max-depth: a stack may end in --async's task
	 * pseudo-frame (SAMPLE_F_TASK). */
	p->frames = calloc(o->max_depth + 1, sizeof(*p->frames));
	if (!p->frames) {
		free(p);
		return NULL;
	}
	return p;
}

/*
 * Sizes the maps whose size depends on the run (mapsize.c: -F, CPUs,
 * --interval, --max-depth, the targets, the mode, --map-scale); the
 * others keep bpf/maps.bpf.h's.  A map a mode does not use gets one
 * entry, so that it costs nothing.  0 or -errno.
 */
static int size_maps(struct sampler *p, const struct sampler_opts *o)
{
	struct pyprof_bpf *skel = p->skel;
	struct mapsize_in in = {
		.freq = o->freq,
		.interval = o->interval,
		.max_depth = o->max_depth,
		.ntargets = o->ntargets,
		.open_ended = o->discover & PYPROF_DISCOVER_ALL,
		.follow = o->discover & PYPROF_DISCOVER_FOLLOW,
		.wall = o->wall,
		.gil = o->gil,
		.kernel = o->native_mode & NATIVE_MODE_KERNEL,
		.native = o->native_mode & NATIVE_MODE_USER,
		.timeline = o->timeline,
		.async = o->async,
		.scale = o->map_scale,
	};
	const struct {
		struct bpf_map *map;
		enum map_id id;
	} maps[] = {
		{ skel->maps.targets, MAP_TARGETS },
		{ skel->maps.gil_cfgs, MAP_GIL_CFGS },
		{ skel->maps.tstate_cache, MAP_TSTATE_CACHE },
		{ skel->maps.follow, MAP_FOLLOW },
		{ skel->maps.probe, MAP_PROBE },
		{ skel->maps.counts0, MAP_COUNTS },
		{ skel->maps.counts1, MAP_COUNTS },
		{ skel->maps.stacks0, MAP_STACKS },
		{ skel->maps.stacks1, MAP_STACKS },
		{ skel->maps.kstacks0, MAP_KSTACKS },
		{ skel->maps.kstacks1, MAP_KSTACKS },
		{ skel->maps.announced, MAP_ANNOUNCED },
		{ skel->maps.offcpu, MAP_OFFCPU },
		{ skel->maps.off_stacks, MAP_OFF_STACKS },
		{ skel->maps.events, MAP_EVENTS },
		{ skel->maps.rest_tstates, MAP_REST_TSTATES },
		{ skel->maps.timeline, MAP_TIMELINE },
		{ skel->maps.async_cfgs, MAP_ASYNC_CFGS },
	};
	bool *cpus = NULL;
	int rc, n;

	n = online_cpus(&cpus, &p->ncpus_possible);
	free(cpus);
	in.ncpus = n > 0 ? (unsigned)n : 1;
	mapsize__plan(&in, &p->plan);
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		rc = bpf_map__set_max_entries(maps[i].map,
					      p->plan.entries[maps[i].id]);
		if (rc)
			return rc;
	}
	return 0;
}

/* Opens the BPF object and sets what must be set before it is loaded: the
 * tunables, which programs load (at_rest: the iterator of wall mode), the
 * map sizes. */
static int open_bpf(struct sampler *p, const struct sampler_opts *o,
		    bool at_rest, struct open_err *e)
{
	struct pyprof_bpf *skel;
	int rc;

	skel = p->skel = pyprof_bpf__open();
	if (!skel) {
		rc = -errno;
		return open_fail(e, SAMPLER_EOTHER, rc,
				 "cannot open the BPF object: %s",
				 strerror(-rc));
	}
	skel->rodata->max_depth = o->max_depth;
	skel->rodata->discover = o->discover;
	skel->rodata->offcpu_enabled = o->wall;
	skel->rodata->gil_enabled = o->gil;
	skel->rodata->native_mode = o->native_mode;
	skel->rodata->timeline_enabled = o->timeline;
	skel->rodata->async_enabled = o->async;
	/* pids as pyprof-bpf's namespace numbers them, as the sampler's */
	skel->rodata->self_pid = (__u32)getpid();
	/* Wall mode's programs cost nothing in cpu mode: not loaded. */
	bpf_program__set_autoload(skel->progs.on_switch, o->wall);
	bpf_program__set_autoload(skel->progs.on_waking, o->wall);
	bpf_program__set_autoload(skel->progs.offcpu_flush, o->wall);
	bpf_program__set_autoload(skel->progs.at_rest, at_rest);
	p->at_rest = at_rest;
	rc = size_maps(p, o);
	if (rc)
		return open_fail(e, SAMPLER_EOTHER, rc,
				 "cannot size the BPF maps: %s", strerror(-rc));
	rc = own_pidns(&skel->rodata->pidns_dev, &skel->rodata->pidns_ino);
	if (rc)
		return open_fail(
			e, SAMPLER_EOTHER, rc,
			"cannot tell which PID namespace pyprof-bpf runs in: "
			"%s (is /proc mounted?)",
			strerror(-rc));
	return 0;
}

/* Loads the programs into the kernel: what the kernel's refusal means. */
static int load_bpf(struct sampler *p, struct open_err *e)
{
	int rc = pyprof_bpf__load(p->skel);

	if (!rc)
		return 0;
	if (rc == -EPERM)
		/* Privileges were checked before: this is a lockdown or a
		 * security module saying no. */
		return open_fail(
			e, SAMPLER_EPERM, rc,
			"the kernel refused to load the BPF program (%s): "
			"check kernel lockdown (/sys/kernel/security/lockdown) "
			"and security modules; rerun with -v for details",
			strerror(-rc));
	if (rc == -EACCES)
		/* The verifier's verdict. */
		return open_fail(
			e, SAMPLER_EKERNEL, rc,
			"the kernel's verifier rejected the BPF program (%s): "
			"it needs Linux 5.17+; rerun with -v for the "
			"verifier's log and report it",
			strerror(-rc));
	return open_fail(e, SAMPLER_EKERNEL, rc,
			 "the kernel refused the BPF program (%s): it needs "
			 "Linux 5.17+ with BTF (bpf_loop); rerun with -v for "
			 "the verifier's log",
			 strerror(-rc));
}

/*
 * Opens and loads the programs.  In wall mode without its at_rest iterator
 * if the kernel refuses it (sleepable task iterators and
 * bpf_copy_from_user_task are Linux 5.18+): threads asleep at the start are
 * then counted without their stack (offcpu__seed).
 */
static int open_and_load(struct sampler *p, const struct sampler_opts *o,
			 struct open_err *e)
{
	int rc = open_bpf(p, o, o->wall, e);

	if (!rc)
		rc = load_bpf(p, e);
	if (!rc || !o->wall)
		return rc;
	pyprof_bpf__destroy(p->skel);
	p->skel = NULL;
	rc = open_bpf(p, o, false, e);
	return rc ? rc : load_bpf(p, e);
}

/* The ring buffer the programs' events arrive on (on_event). */
/* A timeline record (issue 21), for events.timed. */
static int on_timed(void *ctx, void *data, size_t len)
{
	struct sampler *p = ctx;

	if (len >= sizeof(struct timeline_rec) && p->events.timed)
		p->events.timed(data, p->events.arg);
	return 0;
}

static int open_ring(struct sampler *p, struct open_err *e)
{
	int rc;

	p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.events), on_event, p,
				 NULL);
	if (!p->rb)
		goto fail;
	/* The same manager reads the timeline: one poll, one consume. */
	if (p->timeline &&
	    ring_buffer__add(p->rb, bpf_map__fd(p->skel->maps.timeline),
			     on_timed, p))
		goto fail;
	return 0;
fail:
	rc = -errno;
	return open_fail(e, SAMPLER_EOTHER, rc,
			 "cannot set up the event ring buffer: %s",
			 strerror(-rc));
}

/* Attaches prog to its tracepoint (named by its section) into *link. */
static int attach_tp(struct bpf_program *prog, struct bpf_link **link,
		     const char *tp, const char *hint, struct open_err *e)
{
	int rc;

	*link = bpf_program__attach(prog);
	if (*link)
		return 0;
	rc = -errno;
	return open_fail(e, SAMPLER_EKERNEL, rc, "cannot attach to %s: %s%s",
			 tp, strerror(-rc), hint);
}

/* The process lifecycle programs: exec always, fork when following
 * processes, sched_switch in wall mode. */
static int attach_tracepoints(struct sampler *p, const struct sampler_opts *o,
			      struct open_err *e)
{
	int rc;

	rc = attach_tp(p->skel->progs.on_exec, &p->exec_link,
		       "sched_process_exec", "", e);
	if (!rc && o->discover)
		rc = attach_tp(p->skel->progs.on_fork, &p->fork_link,
			       "sched_process_fork", "", e);
	if (!rc && o->wall)
		rc = attach_tp(p->skel->progs.on_switch, &p->switch_link,
			       "sched_switch for --mode wall",
			       "; use --mode cpu", e);
	if (!rc && o->wall)
		rc = attach_tp(p->skel->progs.on_waking, &p->waking_link,
			       "sched_waking for --mode wall",
			       "; use --mode cpu", e);
	return rc;
}

/* A cpu-clock perf event on CPU c, with the sampler attached to it. */
static int attach_cpu(struct sampler *p, int c, unsigned freq,
		      struct open_err *e)
{
	int rc;

	p->pfds[c] = perf_open(c, freq);
	if (p->pfds[c] < 0) {
		rc = -errno;
		if (rc == -EACCES || rc == -EPERM)
			return open_fail(
				e, SAMPLER_EPERM, rc,
				"cannot open a cpu-clock perf event on CPU %d: "
				"%s: run as root or grant CAP_PERFMON",
				c, strerror(-rc));
		return open_fail(
			e, SAMPLER_EKERNEL, rc,
			"cannot open a cpu-clock perf event on CPU %d: %s", c,
			strerror(-rc));
	}
	p->links[c] = bpf_program__attach_perf_event(p->skel->progs.sample,
						     p->pfds[c]);
	if (!p->links[c]) {
		rc = -errno;
		return open_fail(e, SAMPLER_EKERNEL, rc,
				 "cannot attach the sampler to CPU %d: %s", c,
				 strerror(-rc));
	}
	p->ncpus++;
	return 0;
}

/* The sampler on every online CPU, at freq Hz. */
static int attach_perf_events(struct sampler *p, unsigned freq,
			      struct open_err *e)
{
	bool *cpus = NULL;
	int rc = 0, n;

	n = online_cpus(&cpus, &p->ncpus_possible);
	if (n <= 0) {
		free(cpus);
		return open_fail(e, SAMPLER_EOTHER, n ? n : -ENODEV,
				 "cannot read the online CPUs");
	}
	p->links = calloc(p->ncpus_possible, sizeof(*p->links));
	p->pfds = calloc(p->ncpus_possible, sizeof(*p->pfds));
	p->jitter = calloc(p->ncpus_possible, sizeof(*p->jitter));
	if (!p->links || !p->pfds || !p->jitter) {
		free(cpus);
		return open_fail(e, SAMPLER_EOTHER, -ENOMEM, "out of memory");
	}
	for (int c = 0; c < p->ncpus_possible; c++)
		p->pfds[c] = -1;
	for (int c = 0; c < p->ncpus_possible && !rc; c++)
		if (cpus[c])
			rc = attach_cpu(p, c, freq, e);
	free(cpus);
	p->freq = freq;
	p->rearm_every = REARM_S;
	if (p->rearm_every < (double)REARM_PERIODS / freq)
		p->rearm_every = (double)REARM_PERIODS / freq;
	if (p->rearm_every < (double)p->ncpus / REARM_PER_S)
		p->rearm_every = (double)p->ncpus / REARM_PER_S;
	p->rearm_at = clock__now() + p->rearm_every;
	p->rng = clock__now_ns() ^ ((uint64_t)getpid() << 32);
	return rc;
}

/* A uniform draw in [0, 1): splitmix64, whose mix is hash64's. */
static double draw(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ull;
	return (double)(hash64(*state) >> 11) / 9007199254740992.0;
}

/* Every CPU's timer at a new rate (the comment at REARM_S). */
static void rearm(struct sampler *p, double now)
{
	bool again = p->rearms++ & 1;
	double max = fmin(JITTER_MAX, DRIFT / (p->rearm_every * p->freq));

	for (int c = 0; c < p->ncpus_possible; c++) {
		double rate;
		__u64 ns;

		if (p->pfds[c] < 0)
			continue;
		p->jitter[c] = again ? -p->jitter[c] :
				       max * (2 * draw(&p->rng) - 1);
		rate = p->freq * (1 + p->jitter[c]) + 0.5 / p->rearm_every;
		ns = (__u64)(1e9 / rate);
		/* A failure leaves the timer as it was: still sampling. */
		if (ioctl(p->pfds[c], PERF_EVENT_IOC_PERIOD, &ns) && p->verbose)
			fprintf(stderr, "pyprof-bpf: re-arming CPU %d: %s\n", c,
				strerror(errno));
	}
	p->rearm_at = now + p->rearm_every;
}

/*
 * Lifecycle: open and configure, load, the ring buffer, then attach.  On
 * any failure sampler__close undoes what was done: it copes with a sampler
 * built halfway.
 */
struct sampler *sampler__open(const struct sampler_opts *o, int *why, char *err,
			      size_t errlen)
{
	struct open_err e = { .why = SAMPLER_EOTHER,
			      .msg = err,
			      .len = errlen };
	struct sampler *p;

	verbose_libbpf = o->verbose;
	libbpf_set_print(libbpf_print);

	p = sampler_alloc(o);
	if (!p) {
		*why = SAMPLER_EOTHER;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (open_and_load(p, o, &e) || open_ring(p, &e) ||
	    attach_tracepoints(p, o, &e) ||
	    attach_perf_events(p, o->freq, &e)) {
		*why = e.why;
		sampler__close(p);
		return NULL;
	}
	return p;
}

void sampler__close(struct sampler *p)
{
	if (!p)
		return;
	for (int c = 0; p->links && p->pfds && c < p->ncpus_possible; c++) {
		/* A perf link owns its event and closes it: closing it again
		 * would close whatever another thread opened since (the
		 * agent's control runs, src/serve/control.c). */
		if (p->links[c])
			bpf_link__destroy(p->links[c]);
		else if (p->pfds[c] >= 0)
			close(p->pfds[c]);
	}
	free(p->links);
	free(p->pfds);
	free(p->jitter);
	bpf_link__destroy(p->waking_link);
	bpf_link__destroy(p->switch_link);
	bpf_link__destroy(p->fork_link);
	bpf_link__destroy(p->exec_link);
	ring_buffer__free(p->rb);
	pyprof_bpf__destroy(p->skel);
	seg_cache_clear(p);
	hashmap__free(&p->forgotten);
	hashmap__free(&p->reread);
	free(p->frames);
	free(p);
}

/*
 * Wall mode: runs the at_rest iterator (bpf/offcpu.bpf.c) over the threads
 * of pid, so that those at rest (asleep, or waiting for a CPU) without a
 * record get one under the stack they rest in.  0 or -errno.
 */
static int read_at_rest(struct sampler *p, pid_t pid)
{
	LIBBPF_OPTS(bpf_iter_attach_opts, opts);
	union bpf_iter_link_info linfo;
	struct bpf_link *link;
	char buf[64];
	ssize_t n;
	int fd, rc = 0;

	if (!p->at_rest)
		return -EOPNOTSUPP;
	/* A new index of thread states (bpf/maps.bpf.h, rest_tstates). */
	p->skel->bss->rest_gen++;
	memset(&linfo, 0, sizeof(linfo));
	linfo.task.pid = (__u32)pid;
	opts.link_info = &linfo;
	opts.link_info_len = sizeof(linfo);
	link = bpf_program__attach_iter(p->skel->progs.at_rest, &opts);
	/* Linux before 6.1 cannot iterate over one process: over every task
	 * then; the program keeps the targets' threads. */
	if (!link && (errno == EINVAL || errno == E2BIG || errno == EOPNOTSUPP))
		link = bpf_program__attach_iter(p->skel->progs.at_rest, NULL);
	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		rc = -errno;
	} else {
		/* The program writes nothing: read() runs it to the end. */
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			;
		if (n < 0)
			rc = -errno;
		close(fd);
	}
	bpf_link__destroy(link);
	return rc;
}

/* After a change of the targets map: the sampler's copies of configs are
 * taken again (targets_gen). */
static void targets_changed(struct sampler *p)
{
	__atomic_fetch_add(&p->skel->bss->targets_gen, 1, __ATOMIC_SEQ_CST);
}

int sampler__add_target(struct sampler *p, pid_t pid,
			const struct py_proc_cfg *cfg)
{
	struct py_proc_cfg c = *cfg;
	__u32 key = (__u32)pid;
	struct py_gil_cfg g;

	/* Never sampled: which program it describes is not known. */
	if (!c.code.start || !c.code.end)
		return -EINVAL;
	native__entry_markers(&c);
	if (p->gil && offcpu__gil_cfg(&c, &g) == 0 &&
	    bpf_map__update_elem(p->skel->maps.gil_cfgs, &key, sizeof(key), &g,
				 sizeof(g), BPF_ANY))
		return -errno;
	if (bpf_map__update_elem(p->skel->maps.targets, &key, sizeof(key), &c,
				 sizeof(c), BPF_ANY))
		return -errno;
	targets_changed(p);
	/* Wall mode: threads asleep now would not be seen until they wake;
	 * their stacks are read where they rest.  If the iterator cannot
	 * run, they are counted from now all the same, without their stack
	 * (the reason comes from /proc). */
	if (p->wall && read_at_rest(p, pid))
		offcpu__seed(bpf_map__fd(p->skel->maps.offcpu), pid);
	return 0;
}

int sampler__add_interp_file(struct sampler *p,
			     const struct interp_file_key *key,
			     const struct interp_file *file)
{
	struct interp_file f = *file;

	native__entry_markers(&f.cfg);
	if (bpf_map__update_elem(p->skel->maps.interp_files, key, sizeof(*key),
				 &f, sizeof(f), BPF_ANY))
		return -errno;
	__atomic_add_fetch(&p->skel->bss->interp_files_n, 1, __ATOMIC_SEQ_CST);
	return 0;
}

int sampler__add_interp_exe(struct sampler *p,
			    const struct interp_file_key *key)
{
	__u8 one = 1;

	if (bpf_map__update_elem(p->skel->maps.interp_exes, key, sizeof(*key),
				 &one, sizeof(one), BPF_ANY))
		return -errno;
	return 0;
}

uint64_t sampler__take_parked(struct sampler *p, pid_t pid)
{
	__u32 key = (__u32)pid;
	__u64 n = 0;

	if (bpf_map__lookup_and_delete_elem(p->skel->maps.parked, &key,
					    sizeof(key), &n, sizeof(n), 0))
		return 0;
	return n;
}

uint64_t sampler__exec_ns(struct sampler *p, pid_t pid)
{
	__u32 key = (__u32)pid;
	__u64 ns = 0;

	if (bpf_map__lookup_elem(p->skel->maps.execs, &key, sizeof(key), &ns,
				 sizeof(ns), 0))
		return 0;
	return ns;
}

bool sampler__has_target(struct sampler *p, pid_t pid)
{
	struct py_proc_cfg cfg;
	__u32 key = (__u32)pid;

	return bpf_map__lookup_elem(p->skel->maps.targets, &key, sizeof(key),
				    &cfg, sizeof(cfg), 0) == 0;
}

void sampler__remove_target(struct sampler *p, pid_t pid)
{
	__u32 key = (__u32)pid;

	bpf_map__delete_elem(p->skel->maps.targets, &key, sizeof(key), 0);
	targets_changed(p);
	bpf_map__delete_elem(p->skel->maps.gil_cfgs, &key, sizeof(key), 0);
	bpf_map__delete_elem(p->skel->maps.async_cfgs, &key, sizeof(key), 0);
}

int sampler__async_cfg(struct sampler *p, pid_t pid,
		       const struct py_async_cfg *cfg)
{
	__u32 key = (__u32)pid;

	if (!cfg) {
		bpf_map__delete_elem(p->skel->maps.async_cfgs, &key,
				     sizeof(key), 0);
		return 0;
	}
	if (bpf_map__update_elem(p->skel->maps.async_cfgs, &key, sizeof(key),
				 cfg, sizeof(*cfg), BPF_ANY))
		return -errno;
	return 0;
}

int sampler__follow(struct sampler *p, pid_t pid)
{
	__u32 key = (__u32)pid, parent = 0;

	if (bpf_map__update_elem(p->skel->maps.follow, &key, sizeof(key),
				 &parent, sizeof(parent), BPF_ANY))
		return -errno;
	return 0;
}

void sampler__forget(struct sampler *p, pid_t pid)
{
	__u32 key = (__u32)pid;

	bpf_map__delete_elem(p->skel->maps.targets, &key, sizeof(key), 0);
	targets_changed(p);
	bpf_map__delete_elem(p->skel->maps.follow, &key, sizeof(key), 0);
	bpf_map__delete_elem(p->skel->maps.probe, &key, sizeof(key), 0);
	hashmap__set(&p->forgotten, key, 1);
}

void sampler__probe_later(struct sampler *p, pid_t pid, uint64_t retry_ns)
{
	__u32 key = (__u32)pid;
	__u64 next = PYPROF_PROBE_NEVER;
	struct timespec ts;

	if (retry_ns && clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
		next = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec +
		       retry_ns;
	bpf_map__update_elem(p->skel->maps.probe, &key, sizeof(key), &next,
			     sizeof(next), BPF_ANY);
}

static void sleep_ns(long ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000L,
			       .tv_nsec = ns % 1000000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * A cached segment and the process it belongs to (segment keys are
 * per-process), so that a process's segments leave with it.  Allocated up
 * to seg.frames[seg.nframes]: most segments are the root-most, part full.
 */
struct seg_entry {
	uint32_t pid;
	uint32_t pad;
	struct py_seg seg;
};

static void seg_cache_clear(struct sampler *p)
{
	for (size_t i = 0; i < p->segs.cap; i++)
		if (p->segs.keys[i])
			free((void *)(uintptr_t)p->segs.vals[i]);
	hashmap__free(&p->segs);
}

/* Drops the segments of the processes forgotten since the last sweep. */
static void seg_cache_sweep(struct sampler *p)
{
	if (!p->forgotten.len)
		return;
	for (size_t i = 0; i < p->segs.cap; i++) {
		struct seg_entry *e;

		if (!p->segs.keys[i])
			continue;
		e = (struct seg_entry *)(uintptr_t)p->segs.vals[i];
		if (!hashmap__get(&p->forgotten, e->pid, NULL))
			continue;
		hashmap__del(&p->segs, p->segs.keys[i]);
		free(e);
		i--; /* the backward shift moved another key here */
	}
	hashmap__free(&p->forgotten);
}

/* Caches a copy of segment k of process pid. 0 if it was new, 1 if known,
 * -ENOMEM. */
static int seg_cache_put(struct sampler *p, uint32_t pid, uint64_t k,
			 const struct py_seg *seg)
{
	struct seg_entry *e;
	uint64_t v;

	if (hashmap__get(&p->segs, k, &v))
		return 1;
	e = malloc(offsetof(struct seg_entry, seg.frames) +
		   seg->nframes * sizeof(seg->frames[0]));
	if (!e)
		return -ENOMEM;
	e->pid = pid;
	memcpy(&e->seg, seg,
	       offsetof(struct py_seg, frames) +
		       seg->nframes * sizeof(seg->frames[0]));
	if (p->segs.len >= SEG_CACHE_MAX)
		seg_cache_clear(p);
	if (hashmap__set(&p->segs, k, (uint64_t)(uintptr_t)e)) {
		free(e);
		return -ENOMEM;
	}
	return 0;
}

/* Segment k of process pid: from the cache, else from the stacks map.
 * Only its first nframes frames may be read. */
static const struct py_seg *get_seg(struct sampler *p, int stacks_fd,
				    uint32_t pid, uint64_t k)
{
	struct py_seg s;
	uint64_t v;

	if (!hashmap__get(&p->segs, k, &v)) {
		/* Off-CPU stacks live in off_stacks, which no drain
		 * empties: the thread may have been away for many. */
		if ((bpf_map_lookup_elem(stacks_fd, &k, &s) &&
		     (!p->wall ||
		      bpf_map__lookup_elem(p->skel->maps.off_stacks, &k,
					   sizeof(k), &s, sizeof(s), 0))) ||
		    s.nframes == 0 || s.nframes > PY_SEG_FRAMES ||
		    seg_cache_put(p, pid, k, &s) < 0 ||
		    !hashmap__get(&p->segs, k, &v))
			return NULL;
	}
	return &((const struct seg_entry *)(uintptr_t)v)->seg;
}

/*
 * Rebuilds a stack (leaf first) from its segment chain.  The chain is walked
 * from the root-most segment towards the leaf, so segments are placed from
 * the end of the frames array backwards.  Returns false when a segment is
 * missing or the chain disagrees with depth.
 */
static bool resolve_stack(struct sampler *p, int stacks_fd,
			  const struct sample_key *key)
{
	uint32_t left = key->depth;
	uint64_t k = key->stack_id;

	if (key->depth > p->max_depth + !!(key->flags & SAMPLE_F_TASK))
		return false;
	while (left > 0) {
		const struct py_seg *s = get_seg(p, stacks_fd, key->pid, k);

		if (!s || s->nframes > left)
			return false;
		left -= s->nframes;
		memcpy(&p->frames[left], s->frames,
		       s->nframes * sizeof(*s->frames));
		k = s->prev;
		if ((left == 0) != (k == 0))
			return false;
	}
	return true;
}

/* Entries moved per batch syscall while draining. */
#define DRAIN_BATCH 256

/* Called for each entry taken out of a map by take_all(). */
typedef int (*take_fn)(const void *key, const void *val, void *arg);

/*
 * Empties map fd (one no program writes to any more), handing each entry to
 * fn (if not NULL): a batch of entries per syscall where the kernel can
 * (lookup_and_delete_batch, Linux 5.6+), else entry by entry.  Every entry
 * is removed even when fn fails; the first failure is returned.
 */
static int take_all(int fd, size_t ksz, size_t vsz, take_fn fn, void *arg)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	unsigned char *keys = malloc(DRAIN_BATCH * ksz);
	unsigned char *vals = malloc(DRAIN_BATCH * vsz);
	unsigned char key[64], next[64], *val = vals;
	__u32 in = 0, out = 0, n;
	void *prev = NULL;
	bool first = true;
	int rc = 0, err;

	if (!keys || !vals || ksz > sizeof(key)) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		n = DRAIN_BATCH;
		err = bpf_map_lookup_and_delete_batch(
			fd, first ? NULL : &in, &out, keys, vals, &n, &opts);
		err = err ? errno : 0;
		/* The kernel reports in n what it copied out and deleted on
		 * success, at the end (ENOENT) and at a bucket too crowded for
		 * the batch (ENOSPC); hand that on.  On any other error it may
		 * not have written n at all. */
		if (err && err != ENOENT && err != ENOSPC)
			n = 0;
		for (__u32 i = 0; i < n && i < DRAIN_BATCH; i++)
			if (fn && !rc)
				rc = fn(keys + i * ksz, vals + i * vsz, arg);
		if (err == ENOENT) /* that was the last batch */
			goto out;
		if (err)
			break; /* no batch support, or a crowded bucket:
				  finish entry by entry below */
		in = out;
		first = false;
	}
	/* Entry by entry.  Deleting the key we stand on would restart the
	 * iteration, so delete the previous one once the next is known. */
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if (prev)
			bpf_map_delete_elem(fd, key);
		memcpy(key, next, ksz);
		prev = key;
		if (fn && !rc && bpf_map_lookup_elem(fd, key, val) == 0)
			rc = fn(key, val, arg);
	}
	if (prev)
		bpf_map_delete_elem(fd, key);
out:
	free(keys);
	free(vals);
	return rc;
}

/* A count the sampler kept in a CPU's count cache (struct count_cache). */
struct cached_count {
	struct sample_key key;
	uint64_t n;
	bool taken; /* added to the counts map's entry of its key */
};

struct drain_ctx {
	struct sampler *p;
	int stacks_fd;
	sampler_sample_fn fn;
	void *arg;
	struct cached_count *cached; /* sorted by key, each key once */
	size_t ncached;
};

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct sample_key));
}

/*
 * The count cache's samples taken under flip, every CPU's, into d->cached:
 * read once the flip's grace has passed, when no program writes that
 * buffer's table any more.  An error leaves d->cached empty: the samples
 * there are lost, the counts map's are still drained.
 */
static int take_cached(struct drain_ctx *d, __u32 flip)
{
	int ncpus = libbpf_num_possible_cpus(), fd;
	struct count_cache *cc;
	struct cached_count *out;
	size_t n = 0;
	__u32 zero = 0;

	d->cached = NULL;
	d->ncached = 0;
	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	fd = bpf_map__fd(d->p->skel->maps.count_cache);
	cc = calloc((size_t)ncpus, sizeof(*cc));
	out = calloc((size_t)ncpus * COUNT_CACHE_SLOTS, sizeof(*out));
	if (!cc || !out || bpf_map_lookup_elem(fd, &zero, cc)) {
		int rc = cc && out ? -errno : -ENOMEM;

		free(cc);
		free(out);
		return rc;
	}
	for (int c = 0; c < ncpus; c++)
		for (int i = 0; i < COUNT_CACHE_SLOTS; i++) {
			const struct count_slot *s = &cc[c].slot[flip & 1][i];

			if (s->n && s->flip == flip) {
				out[n].key = s->key;
				out[n++].n = s->n;
			}
		}
	free(cc);
	/* One entry per key: the same thread's stack may be in the caches
	 * of several CPUs. */
	if (n)
		qsort(out, n, sizeof(*out), key_cmp);
	for (size_t i = 0; i < n; i++) {
		if (d->ncached &&
		    !key_cmp(&out[d->ncached - 1].key, &out[i].key))
			out[d->ncached - 1].n += out[i].n;
		else
			out[d->ncached++] = out[i];
	}
	d->cached = out;
	return 0;
}

static int drain_one(struct drain_ctx *d, const struct sample_key *key,
		     uint64_t count)
{
	if (!count)
		return 0;
	/* A thread at rest whose stack could not be read: again before the
	 * next drain, if it still rests then. */
	if (offcpu_reread(key->depth, key->flags))
		hashmap__set(&d->p->reread, key->pid, 1);
	if (key->depth && !resolve_stack(d->p, d->stacks_fd, key))
		return d->fn(key, count, NULL, 0, d->arg);
	return d->fn(key, count, d->p->frames, key->depth, d->arg);
}

static int drain_count(const void *k, const void *v, void *arg)
{
	struct drain_ctx *d = arg;
	struct cached_count *c = NULL;
	uint64_t count;

	memcpy(&count, v, sizeof(count));
	if (d->ncached)
		c = bsearch(k, d->cached, d->ncached, sizeof(*c), key_cmp);
	if (c) {
		count += c->n;
		c->taken = true;
	}
	return drain_one(d, k, count);
}

void sampler__stop(struct sampler *p)
{
	__atomic_store_n(&p->skel->bss->sampling_stopped, 1, __ATOMIC_SEQ_CST);
	/* Samples already inside the program finish before the drain. */
	sleep_ns(FLIP_GRACE_NS);
}

int sampler__drain(struct sampler *p, sampler_sample_fn fn, void *arg)
{
	unsigned old = p->flips & 1;
	struct drain_ctx d = { .p = p, .fn = fn, .arg = arg };
	int counts_fd, rc, rc2;

	/* Threads still off-CPU: their time so far, into the buffer that
	 * is drained now; first the stacks of those the last drain found
	 * resting without one. */
	if (p->wall) {
		for (size_t i = 0; i < p->reread.cap; i++)
			if (p->reread.keys[i])
				read_at_rest(p, (pid_t)p->reread.keys[i]);
		hashmap__free(&p->reread);
		rc = sampler__offcpu_flush(p);
		if (rc)
			return rc;
	}
	p->flips++;
	__atomic_store_n(&p->skel->bss->active_buf, p->flips, __ATOMIC_SEQ_CST);
	sleep_ns(FLIP_GRACE_NS);
	ring_buffer__consume(p->rb);

	counts_fd = bpf_map__fd(old ? p->skel->maps.counts1 :
				      p->skel->maps.counts0);
	d.stacks_fd = bpf_map__fd(old ? p->skel->maps.stacks1 :
					p->skel->maps.stacks0);
	/* Counts first: resolving them may look segments up in the stacks
	 * map, which is emptied only after. */
	p->drain_kfd = bpf_map__fd(old ? p->skel->maps.kstacks1 :
					 p->skel->maps.kstacks0);
	rc = take_cached(&d, p->flips - 1);
	rc2 = take_all(counts_fd, sizeof(struct sample_key), sizeof(__u64),
		       drain_count, &d);
	rc = rc ? rc : rc2;
	/* The cached counts of keys the counts map did not have. */
	for (size_t i = 0; i < d.ncached && !rc; i++)
		if (!d.cached[i].taken)
			rc = drain_one(&d, &d.cached[i].key, d.cached[i].n);
	free(d.cached);
	rc2 = take_all(d.stacks_fd, sizeof(__u64), sizeof(struct py_seg), NULL,
		       NULL);
	/* Stack ids are only meaningful with this buffer's counts. */
	if (bpf_map__max_entries(old ? p->skel->maps.kstacks1 :
				       p->skel->maps.kstacks0) > 1)
		take_all(p->drain_kfd, sizeof(__u32),
			 KSTACK_MAX_DEPTH * sizeof(__u64), NULL, NULL);
	p->drain_kfd = -1;
	seg_cache_sweep(p);
	return rc ? rc : rc2;
}

int sampler__poll(struct sampler *p, int timeout_ms)
{
	double now = clock__now();
	double end = timeout_ms < 0 ? INFINITY : now + timeout_ms / 1e3;
	int rc;

	/* The wait is cut at each re-arm that falls in it (REARM_S). */
	for (;;) {
		double until = p->rearm_at && p->rearm_at < end ? p->rearm_at :
								  end;
		int slice = timeout_ms;

		if (p->rearm_at && now >= p->rearm_at) {
			rearm(p, now);
			continue;
		}
		if (timeout_ms != 0 && until != INFINITY)
			slice = (int)ceil((until - now) * 1e3);
		if (timeout_ms > 0 && slice > timeout_ms)
			slice = timeout_ms;
		p->poll_until = now + (slice > 0 ? slice : 1) / 1e3;
		rc = ring_buffer__poll(p->rb, slice);
		now = clock__now();
		if (rc != 0 || timeout_ms == 0 || now >= end)
			break;
	}
	/* Records sent without a wake-up (--native's, the timeline's) and
	 * those behind them (a ring that is not empty wakes no one) wait for
	 * the next poll, not for a quarter of the ring to fill. */
	if (rc >= 0) {
		int m = ring_buffer__consume(p->rb);

		rc = m < 0 ? m : rc + m;
	}
	p->poll_until = 0;
	return rc;
}

int sampler__stats(struct sampler *p, uint64_t *stats)
{
	int fd = bpf_map__fd(p->skel->maps.stats);
	uint64_t *vals = calloc(p->ncpus_possible, sizeof(*vals));

	if (!vals)
		return -ENOMEM;
	for (__u32 i = 0; i < STAT__MAX; i++) {
		stats[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, vals))
			continue;
		for (int c = 0; c < p->ncpus_possible; c++)
			stats[i] += vals[c];
	}
	free(vals);
	return 0;
}

int sampler__prog_stats(struct sampler *p, uint64_t *run_ns, uint64_t *runs)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_program__fd(p->skel->progs.sample),
				   &info, &len))
		return -errno;
	*run_ns = info.run_time_ns;
	*runs = info.run_cnt;
	return 0;
}

int sampler__offcpu_flush(struct sampler *p)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	if (!p->wall)
		return 0;
	if (bpf_prog_test_run_opts(bpf_program__fd(p->skel->progs.offcpu_flush),
				   &opts))
		return -errno;
	return 0;
}

int sampler__switch_stats(struct sampler *p, uint64_t *run_ns, uint64_t *runs)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	*run_ns = *runs = 0;
	if (!p->wall)
		return -ENOENT;
	if (bpf_obj_get_info_by_fd(bpf_program__fd(p->skel->progs.on_switch),
				   &info, &len))
		return -errno;
	*run_ns = info.run_time_ns;
	*runs = info.run_cnt;
	return 0;
}

int sampler__waking_stats(struct sampler *p, uint64_t *run_ns, uint64_t *runs)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	*run_ns = *runs = 0;
	if (!p->wall)
		return -ENOENT;
	if (bpf_obj_get_info_by_fd(bpf_program__fd(p->skel->progs.on_waking),
				   &info, &len))
		return -errno;
	*run_ns = info.run_time_ns;
	*runs = info.run_cnt;
	return 0;
}

int sampler__thread_id(struct sampler *p, uint32_t tid, uint64_t *thread_id)
{
	struct tstate_entry e;

	if (bpf_map__lookup_elem(p->skel->maps.tstate_cache, &tid, sizeof(tid),
				 &e, sizeof(e), 0))
		return -ENOENT;
	*thread_id = e.thread_id;
	return 0;
}

int sampler__kstack(struct sampler *p, int32_t id, uint64_t *ips, uint32_t max)
{
	__u64 v[KSTACK_MAX_DEPTH] = {};
	__u32 k = (__u32)id;
	uint32_t n = 0;

	if (p->drain_kfd < 0 || id < 0 ||
	    bpf_map_lookup_elem(p->drain_kfd, &k, v))
		return -ENOENT;
	while (n < KSTACK_MAX_DEPTH && n < max && v[n]) {
		ips[n] = v[n];
		n++;
	}
	return (int)n;
}

int sampler__kstack_of(struct sampler *p, uint32_t buf, int32_t id,
		       uint64_t *ips, uint32_t max)
{
	__u64 v[KSTACK_MAX_DEPTH] = {};
	struct bpf_map *m = buf ? p->skel->maps.kstacks1 :
				  p->skel->maps.kstacks0;
	__u32 k = (__u32)id;
	uint32_t n = 0;

	if (id < 0 || bpf_map__max_entries(m) <= 1 ||
	    bpf_map_lookup_elem(bpf_map__fd(m), &k, v))
		return -ENOENT;
	while (n < KSTACK_MAX_DEPTH && n < max && v[n]) {
		ips[n] = v[n];
		n++;
	}
	return (int)n;
}

int sampler__py_frames(struct sampler *p, const struct sample_key *key,
		       const struct py_frame **frames)
{
	*frames = p->frames;
	if (!key->depth)
		return 0;
	/* The segments are in the cache (announced before this record on
	 * the same ring), else in one of the two stacks maps. */
	if (resolve_stack(p, bpf_map__fd(p->skel->maps.stacks0), key) ||
	    resolve_stack(p, bpf_map__fd(p->skel->maps.stacks1), key))
		return (int)key->depth;
	return -ENOENT;
}

int sampler__print_full(const struct sampler *p, const uint64_t *stats, FILE *f)
{
	return mapsize__print_full(&p->plan, stats, f);
}

/* The kernel memory of map fd, from its fdinfo (what the kernel charges
 * for it: "memlock"), or 0. */
static uint64_t map_memlock(int fd)
{
	char path[64], line[128];
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %" SCNu64, &v) == 1)
			break;
	fclose(f);
	return v;
}

uint64_t sampler__maps_memory(const struct sampler *p, FILE *f)
{
	struct bpf_map *m;
	uint64_t total = 0;
	int n = 0;

	bpf_object__for_each_map(m, p->skel->obj)
	{
		uint64_t b = map_memlock(bpf_map__fd(m));

		total += b;
		/* The ones worth naming: a sixteenth of a MiB or more. */
		if (f && b >= (64u << 10))
			fprintf(f, "%s %s %.2f MiB (%" PRIu32 ")",
				n++ ? "," : ":", bpf_map__name(m),
				(double)b / (1 << 20), bpf_map__max_entries(m));
	}
	return total;
}

int sampler__ncpus(const struct sampler *p)
{
	return p->ncpus;
}
