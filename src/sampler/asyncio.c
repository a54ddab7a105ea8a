// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * asyncio tasks in the profile (asyncio.h; issue 23).
 *
 * Where the running task is read: in BPF, at each sample, from the
 * sampled thread's state (bpf/pystack.bpf.h, async_task): one pointer
 * (asyncio_running_task) and the task's coroutine, whose frame marks where
 * the event loop's frames end and the task's begin.  Everything else is
 * read here, in userspace, from the target's memory: a task's name and
 * awaiters when its first stack is announced (collect__on_new_seg) and
 * again in each drain that has samples of it, and, in wall mode, the task
 * lists at each pass (asyncio__tick).
 */
#include "sampler/asyncio.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <time.h>

#include "lib/clock.h"
#include "lib/hashmap.h"
#include "lib/profile.h"
#include "native/elf_sym.h"
#include "python/pytask.h"
#include "sampler/collect.h"
#include "sampler/proc.h"
#include "sampler/targets.h"

/* A process whose _asyncio is not loaded yet is looked at again after
 * this long, doubling up to LOOK_MAX (s). */
#define LOOK_MIN 0.1
#define LOOK_MAX 2.0
/* Bytes of _Py_DebugOffsets read (3.15's is 888). */
#define DBG_READ 1024
/* The share of one CPU the passes over the task lists may take: a pass
 * that takes longer stretches the period to keep to it. */
#define PASS_CPU_SHARE 0.05
/* Task entries cached per process; past it, the oldest drains' go. */
#define TASKS_CACHED_MAX 65536
/* Tasks read again (for awaiters that changed) per drain, at most: with
 * many pending tasks the others keep what they were read as until a later
 * drain.  A task's first read is not counted against it. */
#define REREADS_PER_DRAIN 2000

enum aproc_state {
	AP_NEW,
	AP_OLD, /* older than 3.14: no task frames */
	AP_WAITING, /* 3.14+, its _asyncio not (yet) found */
	AP_READY, /* the sampler has its config */
	AP_FAILED, /* found, but unreadable: said once with -v */
};

/* What a task was read as: its frames, root first. */
struct task_ent {
	uint64_t addr;
	uint32_t fp;
	bool ok; /* read, not a marker */
	uint64_t gen; /* the drain it was read in */
	uint32_t nids;
	uint32_t ids[];
};

struct aproc {
	pid_t pid;
	const struct target *t; /* the target it is of (identity only) */
	enum aproc_state state;
	double next_look, look_every;
	struct pytask_offsets off;
	struct hashmap tasks; /* task key -> struct task_ent * */
	struct hashmap lines; /* code address -> fingerprint + 1, for a
				 drain (a code object may be freed) */
};

/* Wall mode's scratch: the pending tasks of a pass, a batch at a time,
 * with their coroutine chains. */
struct pass_scratch {
	struct pytask_seen seen[PYTASK_BATCH];
	struct pytask_chain chains[PYTASK_BATCH];
	struct py_frame frames[PYTASK_BATCH][PYTASK_CORO_MAX];
	struct pytask_batch batch;
};

struct asyncio {
	unsigned freq;
	bool wall, verbose;
	struct hashmap procs; /* pid -> struct aproc * */
	uint64_t gen; /* drains */
	unsigned rereads; /* this drain */
	bool said_old;
	/* Wall mode passes. */
	double last_tick, next_tick;
	double pass_avg; /* a pass's time, moving average (s) */
	double carry; /* sample-equivalents not yet given */
	struct asyncio_stats st;
	/* Scratch. */
	struct pass_scratch *pass; /* wall mode's */
	uint32_t leaf[ASYNC_FRAMES_MAX]; /* a chain being built, leaf first */
	struct py_frame frames[PYTASK_CORO_MAX];
	uint64_t awaiters[PYTASK_AWAITERS_MAX];
};

struct asyncio *asyncio__new(unsigned freq, bool wall, bool verbose)
{
	struct asyncio *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->freq = freq ? freq : 1;
	a->wall = wall;
	if (wall && !(a->pass = calloc(1, sizeof(*a->pass)))) {
		free(a);
		return NULL;
	}
	a->verbose = verbose;
	a->last_tick = a->next_tick = clock__now();
	a->st.period = 1.0 / a->freq;
	return a;
}

static void tasks_free(struct hashmap *h)
{
	for (size_t i = 0; i < h->cap; i++)
		if (h->keys[i])
			free((void *)(uintptr_t)h->vals[i]);
	hashmap__free(h);
}

static void aproc_free(struct aproc *ap)
{
	if (!ap)
		return;
	tasks_free(&ap->tasks);
	hashmap__free(&ap->lines);
	free(ap);
}

void asyncio__free(struct asyncio *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->procs.cap; i++)
		if (a->procs.keys[i])
			aproc_free((struct aproc *)(uintptr_t)a->procs.vals[i]);
	hashmap__free(&a->procs);
	free(a->pass);
	free(a);
}

const struct asyncio_stats *asyncio__stats(const struct asyncio *a)
{
	return &a->st;
}

static struct aproc *aproc_of(const struct asyncio *a, pid_t pid)
{
	uint64_t v;

	return hashmap__get(&a->procs, (uint64_t)pid, &v) ?
		       (struct aproc *)(uintptr_t)v :
		       NULL;
}

/* ---- Finding the .AsyncioDebug section ---- */

/* The section name's address and size in ELF file path. 0 or -errno. */
static int find_section(const char *path, const char *name, uint64_t *vaddr,
			uint64_t *size)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;
	int fd, rc = -ENOENT;
	Elf *e;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || elf_getshdrstrndx(e, &shstrndx)) {
		rc = -ENOEXEC;
		goto out;
	}
	while ((scn = elf_nextscn(e, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, &sh))
			continue;
		n = elf_strptr(e, shstrndx, sh.sh_name);
		if (n && strcmp(n, name) == 0) {
			*vaddr = sh.sh_addr;
			*size = sh.sh_size;
			rc = 0;
			break;
		}
	}
out:
	if (e)
		elf_end(e);
	close(fd);
	return rc;
}

/* Whether a mapped file may hold the section: the interpreter's own file
 * (built in, as Debian's 3.15), or the _asyncio extension module (3.14). */
static bool may_hold(const struct target *t, const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return strcmp(path, t->py.elf_path) == 0 ||
	       strncmp(base, "_asyncio.", 9) == 0;
}

/*
 * The target's .AsyncioDebug contents into buf (PYTASK_ASYNC_DEBUG_SIZE
 * bytes), read from its memory where its file says the section is.  0,
 * -ENOENT when no mapped file has it (yet), other -errno.
 */
static int read_async_debug(const struct target *t, void *buf)
{
	struct proc_maps maps = { 0 };
	char root[PATH_MAX + 64];
	int rc = -ENOENT;

	if (proc__maps(t->pid, &maps))
		return -ESRCH;
	for (int i = 0; i < maps.n && rc == -ENOENT; i++) {
		const char *path = maps.v[i].path;
		uint64_t vaddr = 0, size = 0, bias = 0;
		struct elf_file *f;
		bool dup = false;

		if (!path[0] || path[0] != '/' || !may_hold(t, path))
			continue;
		for (int j = 0; j < i && !dup; j++)
			dup = strcmp(maps.v[j].path, path) == 0;
		if (dup)
			continue;
		proc__root_path(t->pid, path, root, sizeof(root));
		if (find_section(root, ".AsyncioDebug", &vaddr, &size))
			continue;
		if (size < PYTASK_ASYNC_DEBUG_SIZE) {
			rc = -EINVAL;
			break;
		}
		f = elf_file__open(root);
		if (!f) {
			rc = -errno;
			break;
		}
		rc = elf_file__bias(f, &maps, path, &bias);
		elf_file__close(f);
		if (rc)
			break;
		rc = rmem__read(&t->py.mem, bias + vaddr, buf,
				PYTASK_ASYNC_DEBUG_SIZE);
	}
	proc__maps_free(&maps);
	return rc;
}

/* Makes a 3.14+ target's tasks readable: its offsets, and the sampler's
 * config.  0, -ENOENT (not yet: _asyncio not loaded), other -errno. */
static int setup(struct aproc *ap, const struct target *t, struct sampler *bpf,
		 char *err, size_t errlen)
{
	uint8_t dbg[DBG_READ], adbg[PYTASK_ASYNC_DEBUG_SIZE];
	struct py_async_cfg cfg;
	int rc;

	rc = read_async_debug(t, adbg);
	if (rc) {
		snprintf(err, errlen, "no readable .AsyncioDebug section: %s",
			 strerror(-rc));
		return rc;
	}
	rc = rmem__read(&t->py.mem, t->py.runtime_addr, dbg, sizeof(dbg));
	if (rc) {
		snprintf(err, errlen, "_Py_DebugOffsets unreadable: %s",
			 strerror(-rc));
		return rc == -ENOENT ? -EIO : rc;
	}
	rc = pytask__offsets(&t->py.layout, dbg, sizeof(dbg), adbg,
			     sizeof(adbg), &ap->off, err, errlen);
	if (rc)
		return rc == -ENOENT ? -EINVAL : rc;
	pytask__cfg(&ap->off, &cfg);
	rc = sampler__async_cfg(bpf, t->pid, &cfg);
	if (rc)
		snprintf(err, errlen, "cannot give the sampler its config: %s",
			 strerror(-rc));
	return rc == -ENOENT ? -EIO : rc;
}

static void look(struct asyncio *a, struct aproc *ap, const struct target *t,
		 struct sampler *bpf, double now)
{
	char err[256] = "";
	int rc;

	if (now < ap->next_look)
		return;
	rc = setup(ap, t, bpf, err, sizeof(err));
	if (!rc) {
		ap->state = AP_READY;
		a->st.ready++;
		if (a->verbose)
			fprintf(stderr,
				"pyprof-bpf: --async: pid %d: asyncio tasks "
				"readable\n",
				t->pid);
		return;
	}
	if (rc == -ENOENT) {
		/* Not loaded yet (3.14's _asyncio is imported with
		 * asyncio): look again, less and less often. */
		ap->next_look = now + ap->look_every;
		ap->look_every = ap->look_every * 2 > LOOK_MAX ?
					 LOOK_MAX :
					 ap->look_every * 2;
		return;
	}
	ap->state = AP_FAILED;
	a->st.no_section++;
	if (a->verbose)
		fprintf(stderr, "pyprof-bpf: --async: pid %d: %s\n", t->pid,
			err);
}

void asyncio__check(struct asyncio *a, struct targets *ts, struct sampler *bpf)
{
	double now = clock__now();

	for (size_t i = 0; i < ts->n; i++) {
		struct target *t = ts->v[i];
		struct aproc *ap = aproc_of(a, t->pid);

		if (ap && ap->t != t) {
			/* The pid is another process's now. */
			hashmap__del(&a->procs, (uint64_t)t->pid);
			aproc_free(ap);
			ap = NULL;
		}
		if (!ap) {
			ap = calloc(1, sizeof(*ap));
			if (!ap || hashmap__set(&a->procs, (uint64_t)t->pid,
						(uint64_t)(uintptr_t)ap)) {
				free(ap);
				continue;
			}
			ap->pid = t->pid;
			ap->t = t;
			ap->look_every = LOOK_MIN;
			ap->next_look = now;
			if (t->py.version < PYVER(3, 14)) {
				ap->state = AP_OLD;
				a->st.old++;
				if (!a->said_old)
					fprintf(stderr,
						"pyprof-bpf: --async needs "
						"CPython 3.14 or later: pid "
						"%d runs %s, profiled without "
						"task frames\n",
						t->pid, t->py.version_str);
				a->said_old = true;
			} else {
				ap->state = AP_WAITING;
			}
		}
		if (ap->state == AP_WAITING && !t->gone)
			look(a, ap, t, bpf, now);
	}
	/* Processes no longer targets are forgotten. */
	for (size_t i = 0; i < a->procs.cap; i++) {
		struct aproc *ap;
		struct target *t;

		if (!a->procs.keys[i])
			continue;
		ap = (struct aproc *)(uintptr_t)a->procs.vals[i];
		t = targets__get(ts, ap->pid);
		if (t == ap->t)
			continue;
		hashmap__del(&a->procs, (uint64_t)ap->pid);
		aproc_free(ap);
		i--; /* backward shift may have moved another key here */
	}
}

/* ---- Naming a task and its awaiters ---- */

static uint64_t task_key(uint64_t addr, uint32_t fp)
{
	return hash64(addr ^ ((uint64_t)fp << 1)) | 1;
}

struct chain {
	struct asyncio *a;
	struct collector *c;
	struct target *t;
	uint32_t n; /* frames in a->leaf */
	int err; /* -ENOMEM */
	bool multi, cycle, cut, set_cut; /* what the chain met */
};

static void put(struct chain *ch, int64_t id)
{
	if (ch->err)
		return;
	if (id < 0)
		ch->err = (int)id;
	else if (ch->n < ASYNC_FRAMES_MAX)
		ch->a->leaf[ch->n++] = (uint32_t)id;
}

static void put_marker(struct chain *ch, const char *text)
{
	put(ch, collect__marker(ch->c, text));
}

/* The `Task-NAME` frame of task pt; -ESTALE when it has no name. */
static int64_t name_frame(struct chain *ch, const struct pytask *pt)
{
	struct profile *prof = ch->c->prof;
	char name[256], label[300];
	bool numbered;
	int rc = pytask__name(&ch->t->py.layout, &ch->t->py.mem, pt, name,
			      sizeof(name), &numbered);

	if (rc < 0)
		return rc;
	/* asyncio's own names (an int n, or the str "Task-n" once
	 * get_name() has made one of it) already read "Task-...". */
	snprintf(label, sizeof(label), "%s%s",
		 numbered || strncmp(name, "Task-", 5) == 0 ? "" : "Task-",
		 name);
	for (char *p = label; *p; p++)
		if (*p == ';')
			*p = ':';
	return profile__frame(prof, PF_TASK, profile__intern_str(prof, label),
			      0, -1);
}

/* The coroutine frames awaiter pt waits in, leaf first. */
static void put_coro(struct chain *ch, const struct aproc *ap,
		     const struct pytask *pt)
{
	struct asyncio *a = ch->a;
	bool cut;
	int n;

	if (!pt->coro)
		return;
	n = pytask__coro_frames(&ap->off, &ch->t->py.layout, &ch->t->py.mem,
				pt->coro, a->frames, PYTASK_CORO_MAX, &cut,
				NULL);
	for (int i = n; i-- > 0 && !ch->err;)
		put(ch, collect__python_frame(ch->c, ch->t, &a->frames[i]));
}

/*
 * Builds the frames of task (fp) into a->leaf, leaf first: `Task-NAME`,
 * then up the chain of awaiters.  Returns whether the task itself could
 * be read (else a->leaf holds a marker).
 */
static bool resolve(struct chain *ch, const struct aproc *ap, uint64_t task,
		    uint32_t fp)
{
	struct asyncio *a = ch->a;
	const struct py_layout *l = &ch->t->py.layout;
	const struct rmem *m = &ch->t->py.mem;
	uint64_t visited[ASYNC_CHAIN_MAX], cur = task, pick;
	struct pytask pt, aw;
	int steps = 0, k, total;
	bool cut;

	for (;;) {
		int64_t f = -ESTALE;

		/* A Future awaiting (not a Task) has no frame: f stays 0. */
		if (!pytask__read(&ap->off, l, m, cur, &pt) &&
		    (cur != task || (pt.is_task && pytask__fp(pt.coro) == fp)))
			f = pt.is_task ? name_frame(ch, &pt) : INT64_MAX;
		if (f < 0 && f != -ENOMEM) {
			if (cur == task) {
				ch->n = 0;
				put_marker(ch, "[task unreadable]");
				return false;
			}
			put_marker(ch, "[awaiter unreadable]");
			break;
		}
		if (f != INT64_MAX)
			put(ch, f);
		visited[steps++] = cur;
		k = pytask__awaiters(&ap->off, l, m, &pt, a->awaiters,
				     PYTASK_AWAITERS_MAX, &total, &cut);
		if (k < 0) {
			put_marker(ch, "[awaiter unreadable]");
			break;
		}
		if (cut)
			ch->set_cut = true;
		if (k == 0)
			break;
		/* One path: the awaiter at the lowest address, so that the
		 * same graph gives the same stack. */
		pick = a->awaiters[0];
		if (total > 1) {
			char text[48];

			snprintf(text, sizeof(text), "[+%d awaiter%s]",
				 total - 1, total == 2 ? "" : "s");
			put_marker(ch, text);
			ch->multi = true;
		}
		for (int i = 0; i < steps; i++)
			if (visited[i] == pick) {
				put_marker(ch, "[awaiter cycle]");
				ch->cycle = true;
				goto done;
			}
		if (steps >= ASYNC_CHAIN_MAX ||
		    ch->n + PYTASK_CORO_MAX + 2 >= ASYNC_FRAMES_MAX) {
			put_marker(ch, "[awaiter chain cut]");
			ch->cut = true;
			break;
		}
		if (!pytask__read(&ap->off, l, m, pick, &aw) && aw.is_task)
			put_coro(ch, ap, &aw);
		cur = pick;
	}
done:
	return true;
}

/* What one read of a task met.  first: the task's first read (tasks are
 * counted once; what went wrong, at each read). */
static void count_task(struct asyncio *a, const struct chain *ch, bool ok,
		       bool first)
{
	a->st.named += ok && first;
	a->st.multi += ch->multi && first;
	a->st.unreadable += !ok;
	a->st.cycles += ch->cycle;
	a->st.chains_cut += ch->cut;
	a->st.awaiters_cut += ch->set_cut;
}

int asyncio__task_frames(struct asyncio *a, struct collector *c,
			 struct target *t, uint64_t task, uint32_t fp,
			 uint32_t *out, uint32_t max)
{
	struct aproc *ap = aproc_of(a, t->pid);
	uint64_t key = task_key(task, fp), v;
	struct chain ch = { .a = a, .c = c, .t = t };
	struct task_ent *e = NULL, *ne;
	bool ok;
	uint32_t n;

	if (hashmap__get(ap ? &ap->tasks : &a->procs, key, &v) && ap)
		e = (struct task_ent *)(uintptr_t)v;
	if (e && (e->addr != task || e->fp != fp))
		e = NULL; /* another task's (a hash collision) */
	if (!e || (e->gen != a->gen && a->rereads < REREADS_PER_DRAIN)) {
		a->rereads += e != NULL;
		if (ap && ap->state == AP_READY) {
			ok = resolve(&ch, ap, task, fp);
		} else {
			ok = false;
			put_marker(&ch, "[task unreadable]");
		}
		if (ch.err)
			return ch.err;
		/* A task gone by now keeps what it was read as before. */
		if (e && e->ok && !ok) {
			e->gen = a->gen;
			a->st.gone_kept++;
		} else if (ap && (ap->tasks.len < TASKS_CACHED_MAX || e)) {
			ne = malloc(sizeof(*ne) + ch.n * sizeof(*ne->ids));
			if (!ne)
				return -ENOMEM;
			ne->addr = task;
			ne->fp = fp;
			ne->ok = ok;
			ne->gen = a->gen;
			ne->nids = ch.n;
			for (uint32_t i = 0; i < ch.n; i++)
				ne->ids[i] = a->leaf[ch.n - 1 - i];
			if (hashmap__set(&ap->tasks, key,
					 (uint64_t)(uintptr_t)ne)) {
				free(ne);
				return -ENOMEM;
			}
			count_task(a, &ch, ok, !e);
			free(e);
			e = ne;
		} else {
			/* Not kept (the cache is full): this once. */
			count_task(a, &ch, ok, true);
			n = ch.n < max ? ch.n : max;
			for (uint32_t i = 0; i < n; i++)
				out[i] = a->leaf[ch.n - 1 - i];
			return (int)n;
		}
	}
	n = e->nids < max ? e->nids : max;
	memcpy(out, e->ids, n * sizeof(*out));
	return (int)n;
}

void asyncio__new_drain(struct asyncio *a)
{
	a->gen++;
	a->rereads = 0;
	/* Entries not used for a few drains go: tasks end. */
	for (size_t i = 0; i < a->procs.cap; i++) {
		struct aproc *ap;

		if (!a->procs.keys[i])
			continue;
		ap = (struct aproc *)(uintptr_t)a->procs.vals[i];
		hashmap__free(&ap->lines);
		for (size_t j = 0; j < ap->tasks.cap; j++) {
			struct task_ent *e;

			if (!ap->tasks.keys[j])
				continue;
			e = (struct task_ent *)(uintptr_t)ap->tasks.vals[j];
			if (e->gen + 4 >= a->gen)
				continue;
			hashmap__del(&ap->tasks, ap->tasks.keys[j]);
			free(e);
			j--; /* backward shift */
		}
	}
}

/* ---- Wall mode: the tasks that are not running ---- */

double asyncio__tick_in(const struct asyncio *a)
{
	if (!a->wall || !a->st.ready)
		return 1e9;
	return a->next_tick - clock__now();
}

struct pass {
	struct asyncio *a;
	struct collector *c;
	struct target *t;
	struct aproc *ap;
	uint64_t weight;
	size_t n; /* tasks in a->pass->seen */
};

/* The tasks gathered so far, their chains read in a batch, added to the
 * profile each under its stack. */
static void pass_flush(struct pass *p)
{
	struct pass_scratch *ps = p->a->pass;
	struct py_frame leaf[PYTASK_CORO_MAX];

	for (size_t i = 0; i < p->n; i++) {
		ps->chains[i].coro = ps->seen[i].t.coro;
		ps->chains[i].frames = ps->frames[i];
	}
	pytask__coro_frames_many(&p->ap->off, &p->t->py.layout, &p->t->py.mem,
				 ps->chains, p->n, PYTASK_CORO_MAX,
				 &p->ap->lines, &ps->batch);
	for (size_t i = 0; i < p->n; i++) {
		const struct pytask_seen *s = &ps->seen[i];
		struct collect_sample cs = { 0 };
		int n = ps->chains[i].n > 0 ? ps->chains[i].n : 0;

		for (int j = 0; j < n; j++)
			leaf[j] = ps->frames[i][n - 1 - j];
		cs.t = p->t;
		/* A task of a thread that has ended: the main thread. */
		cs.tid = s->tid ? s->tid : (uint32_t)p->t->pid;
		cs.count = p->weight;
		cs.py = leaf;
		cs.npy = (uint32_t)n;
		cs.task = s->t.addr;
		cs.task_fp = pytask__fp(s->t.coro);
		cs.task_depth = n;
		cs.task_waiting = true;
		/* Counted either way: one that could not be added is
		 * counted lost, and the summary's sums add up. */
		collect__add(p->c, &cs);
		p->a->st.waiting += p->weight;
	}
	p->n = 0;
}

static int on_task(const struct pytask_seen *s, void *arg)
{
	struct pass *p = arg;

	if (s->running)
		return 0; /* its time is the sampler's */
	if (s->rc || !s->t.is_task || !s->t.coro)
		return 0; /* done meanwhile */
	p->a->pass->seen[p->n++] = *s;
	if (p->n == PYTASK_BATCH)
		pass_flush(p);
	return 0;
}

/* This thread's CPU time, in seconds: what a pass costs (a wall clock
 * would count the time a loaded machine ran others). */
static double cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void asyncio__tick(struct asyncio *a, struct collector *c, struct targets *ts)
{
	double now = clock__now(), t0, d, w;
	struct pytask_walk walk;
	uint64_t weight;

	if (!a->wall || now < a->next_tick)
		return;
	/* Each task seen waiting stands for the time since the last pass. */
	w = (now - a->last_tick) * a->freq + a->carry;
	a->last_tick = now;
	weight = (uint64_t)floor(w);
	a->carry = w - (double)weight;
	a->next_tick = now + a->st.period;
	if (!weight)
		return;
	t0 = cpu_now();
	for (size_t i = 0; i < ts->n; i++) {
		struct target *t = ts->v[i];
		struct aproc *ap = aproc_of(a, t->pid);
		struct pass p = { a, c, t, ap, weight, 0 };
		uint64_t interp;

		if (!ap || ap->state != AP_READY || ap->t != t || t->gone ||
		    python__interp(&t->py, &interp) || !interp)
			continue;
		memset(&walk, 0, sizeof(walk));
		walk.max_tasks = ASYNC_TASKS_MAX;
		walk.max_threads = PY_MAX_THREADS_WALK;
		if (pytask__foreach(&ap->off, &t->py.layout, &t->py.mem, interp,
				    &walk, on_task, &p))
			continue;
		pass_flush(&p);
		a->st.lists_cut += walk.cut;
		a->st.lists_bad += walk.loops || walk.unreadable;
		if (walk.tasks > a->st.tasks_max)
			a->st.tasks_max = walk.tasks;
	}
	d = cpu_now() - t0;
	a->st.passes++;
	a->st.pass_secs += d;
	if (d > a->st.pass_max)
		a->st.pass_max = d;
	/* Keep to PASS_CPU_SHARE of a CPU: long passes space the next
	 * ones (a moving average: one slow pass, the first reads of many
	 * new tasks, is not the rule). */
	a->pass_avg = a->st.passes == 1 ? d : 0.7 * a->pass_avg + 0.3 * d;
	a->st.period = a->pass_avg / PASS_CPU_SHARE > 1.0 / a->freq ?
			       a->pass_avg / PASS_CPU_SHARE :
			       1.0 / a->freq;
	if (a->st.period > 10.0)
		a->st.period = 10.0;
	a->next_tick = clock__now() + a->st.period;
}

void asyncio__print_summary(const struct asyncio *a, FILE *f, bool wall,
			    unsigned freq)
{
	const struct asyncio_stats *s = &a->st;

	fprintf(f,
		"pyprof-bpf: asyncio: %" PRIu64 " process%s with tasks "
		"readable, %" PRIu64 " tasks named",
		s->ready, s->ready == 1 ? "" : "es", s->named);
	if (s->old)
		fprintf(f, "; %" PRIu64 " older than 3.14 (no task frames)",
			s->old);
	if (s->no_section)
		fprintf(f, "; %" PRIu64 " without readable task offsets (-v)",
			s->no_section);
	if (s->multi)
		fprintf(f, "; %" PRIu64 " with several awaiters (one shown)",
			s->multi);
	fputc('\n', f);
	if (s->unreadable || s->cycles || s->chains_cut || s->awaiters_cut)
		fprintf(f,
			"pyprof-bpf: asyncio: reads of a task (once a drain) "
			"that met: the task unreadable %" PRIu64
			" (freed or reused first: \"[task unreadable]\"), "
			"an awaiter cycle %" PRIu64 ", a chain over %d tasks "
			"%" PRIu64 ", an awaited-by set over %d slots %" PRIu64
			"\n",
			s->unreadable, s->cycles, ASYNC_CHAIN_MAX,
			s->chains_cut, PYTASK_SET_SLOTS_MAX, s->awaiters_cut);
	if (!wall || !s->ready)
		return;
	fprintf(f,
		"pyprof-bpf: asyncio: waiting tasks %" PRIu64
		" sample-equivalents of 1/%u s, read in %" PRIu64
		" passes over the task lists (every %.1f ms at the end; "
		"%.2f ms of CPU each, %.2f ms at most; up to %" PRIu64
		" tasks)",
		s->waiting, freq, s->passes, s->period * 1000,
		s->passes ? s->pass_secs * 1000 / (double)s->passes : 0.0,
		s->pass_max * 1000, s->tasks_max);
	if (s->lists_cut)
		fprintf(f, "; %" PRIu64 " passes cut at %d tasks", s->lists_cut,
			ASYNC_TASKS_MAX);
	if (s->lists_bad)
		fprintf(f, "; %" PRIu64 " met a task list that loops or broke",
			s->lists_bad);
	fputc('\n', f);
}
