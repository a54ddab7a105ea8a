// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "native/unwind.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "lib/hashmap.h"
#include "native/evalparts.h"
#include "native/merge.h"
#include "sampler/proc.h"

#define NREGS 17 /* x86-64 DWARF registers 0-16, 16 the return address */
#define REG_SP 7
/* A process's mappings are re-read at most this often (ns) when an
 * address falls outside them (a library loaded since, new JIT code). */
#define REFRESH_NS (20ull * 1000 * 1000)
/* Perf map lines kept per process, and the longest name. */
#define PERFMAP_MAX (1u << 20)
#define PERFMAP_NAME_MAX 512
/* Symbolised addresses kept (a cache: cleared when full). */
#define SYMS_MAX (1u << 18)
/* Processes with a live session. */
#define PROCS_MAX 4096
/* CPython 3.12+ -X perf trampolines restarted through, per sample. */
#define TRAMPOLINES_MAX 256

struct perfmap_ent {
	uint64_t start, end;
	char *name;
};

struct uproc {
	pid_t pid;
	Dwfl *dwfl;
	bool attached;
	uint64_t maps_hash;
	uint64_t refreshed_ns; /* when the mappings were last read */
	struct perfmap_ent *pm; /* sorted by start */
	size_t npm;
	off_t pm_size; /* the perf map's size when read */
	int pm_fd; /* the perf map, kept open: it stays readable after the
		      process exits (its samples may be unwound later) */
	uint64_t pm_read_ns;
	char root[64]; /* "/proc/PID/root" */
	pid_t ns_pid;
	/* Modules opened through /proc/PID/map_files: their paths as the
	 * process names them, by module start (see module_file). */
	struct alias {
		uint64_t start;
		char *path;
	} * alias;
	size_t nalias;
	/* The sample being unwound. */
	const struct unwind_sample *cur;
	uint64_t regs[NREGS];
	uint64_t *pcs;
	uint32_t max, n;
	bool stale; /* an address outside every mapping and perf map entry */
	bool first; /* the next frame_cb is the first of this unwind */
	bool beyond; /* a read outside the stack copy was refused: the
			unwind is cut */
	bool ra_start; /* ... and its pc is a return address */
	bool trampoline; /* stopped at a -X perf trampoline: restart */
};

/* A symbolised address, cached by (build-id, offset in the module). */
struct csym {
	uint64_t bid, rel;
	struct unwind_sym sym;
	char *strs; /* the names, one allocation */
};

struct unwinder {
	struct hashmap procs; /* pid -> struct uproc * */
	struct hashmap syms; /* hash -> struct csym * */
	struct hashmap evalparts; /* module hash -> struct eval_parts * */
	char *modname; /* scratch */
	uint64_t samples, frames, sessions, ns;
	uint64_t session_ns, sym_ns, syms_done; /* building sessions;
						  symbolising cache misses */
};

static const Dwfl_Callbacks dwfl_cbs = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = NULL, /* the default: .debug dirs, /usr/lib/debug */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct unwinder *unwinder__new(void)
{
	struct unwinder *u = calloc(1, sizeof(*u));

	/* Never fetch debug files over the network from a profiler. */
	unsetenv("DEBUGINFOD_URLS");
	return u;
}

static void perfmap_free(struct uproc *p)
{
	for (size_t i = 0; i < p->npm; i++)
		free(p->pm[i].name);
	free(p->pm);
	p->pm = NULL;
	p->npm = 0;
}

static void alias_free(struct alias *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(a[i].path);
	free(a);
}

static void uproc_free(struct uproc *p)
{
	if (!p)
		return;
	if (p->dwfl)
		dwfl_end(p->dwfl);
	alias_free(p->alias, p->nalias);
	perfmap_free(p);
	if (p->pm_fd >= 0)
		close(p->pm_fd);
	free(p);
}

static void csym_free(struct csym *c)
{
	if (!c)
		return;
	free(c->strs);
	free(c);
}

static void syms_clear(struct unwinder *u)
{
	for (size_t i = 0; i < u->syms.cap; i++)
		if (u->syms.keys[i])
			csym_free((struct csym *)(uintptr_t)u->syms.vals[i]);
	hashmap__free(&u->syms);
}

void unwinder__free(struct unwinder *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->procs.cap; i++)
		if (u->procs.keys[i])
			uproc_free((struct uproc *)(uintptr_t)u->procs.vals[i]);
	hashmap__free(&u->procs);
	syms_clear(u);
	for (size_t i = 0; i < u->evalparts.cap; i++)
		if (u->evalparts.keys[i])
			free((void *)(uintptr_t)u->evalparts.vals[i]);
	hashmap__free(&u->evalparts);
	free(u);
}

void unwinder__forget(struct unwinder *u, pid_t pid)
{
	uint64_t v;

	if (!hashmap__get(&u->procs, (uint64_t)pid, &v))
		return;
	uproc_free((struct uproc *)(uintptr_t)v);
	hashmap__del(&u->procs, (uint64_t)pid);
}

/* --- the thread callbacks: one sample's registers and stack copy --- */

static bool cb_get_thread(Dwfl *dwfl __attribute__((unused)),
			  pid_t tid __attribute__((unused)), void *arg,
			  void **thread_argp)
{
	*thread_argp = arg;
	return true;
}

static pid_t cb_next_thread(Dwfl *dwfl __attribute__((unused)), void *arg,
			    void **thread_argp)
{
	struct uproc *p = arg;

	if (*thread_argp)
		return 0;
	*thread_argp = p;
	return p->cur ? p->cur->tid : 0;
}

/* Only the copied stack is readable: CFI needs nothing else. */
static bool cb_memory_read(Dwfl *dwfl __attribute__((unused)), Dwarf_Addr addr,
			   Dwarf_Word *result, void *arg)
{
	struct uproc *p = arg;
	const struct unwind_sample *s = p->cur;
	uint64_t sp;

	if (!s)
		return false;
	sp = s->regs[REG_SP];
	/* Above the copy: the unwind may end here for want of the rest,
	 * which libdwfl does not tell from the stack's real end. */
	if (addr >= sp && addr - sp + sizeof(*result) > s->stack_len)
		p->beyond = true;
	/* Below it: a register saved where the stack was popped from (GCC's
	 * epilogue CFI keeps a register's save rule after the pop restored
	 * it, seen in Debian's 3.14 and 3.15).  It cannot be restored, and
	 * the unwind that then ends is cut, not complete. */
	if (addr < sp)
		p->beyond = true;
	if (addr < sp || addr - sp > s->stack_len ||
	    s->stack_len - (addr - sp) < sizeof(*result))
		return false;
	memcpy(result, s->stack + (addr - sp), sizeof(*result));
	return true;
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct uproc *p = arg;

	if (!dwfl_thread_state_registers(thread, 0, NREGS, p->regs))
		return false;
	dwfl_thread_state_register_pc(thread, p->regs[16]);
	return true;
}

static const Dwfl_Thread_Callbacks thread_cbs = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};

/* --- sessions --- */

static uint64_t maps_hash(const struct proc_maps *m)
{
	uint64_t h = 0;

	for (int i = 0; i < m->n; i++) {
		const struct proc_map *pm = &m->v[i];

		if (!pm->path[0] || pm->path[0] != '/')
			continue;
		h = hash64(h ^ pm->start) ^ hash64(pm->end + pm->inode);
		h = hash_bytes(pm->path, strlen(pm->path), h);
	}
	return h ? h : 1;
}

static int open_module(Dwfl_Module *mod,
		       void **userdata __attribute__((unused)),
		       const char *name __attribute__((unused)),
		       Dwarf_Addr start __attribute__((unused)),
		       void *arg __attribute__((unused)))
{
	Dwarf_Addr bias;

	dwfl_module_getelf(mod, &bias);
	return DWARF_CB_OK;
}

/*
 * Where the file of mapping m (pid's) opens, into out: through
 * /proc/PID/root (the process's own view: a container), else at the same
 * path here (a process chroot'ed in our mount namespace: /proc/PID/maps
 * shows the path as we see it), else the mapping itself,
 * /proc/PID/map_files/START-END (while the process lives).  The first two
 * only when the inode is the mapping's.  Returns whether out is the
 * mapping (then the path to show is m->path).
 */
static bool module_file(const struct uproc *p, const struct proc_map *m,
			char *out, size_t len)
{
	struct stat st;

	snprintf(out, len, "%s%s", p->root, m->path);
	if (stat(out, &st) == 0 && st.st_ino == m->inode)
		return false;
	snprintf(out, len, "%s", m->path);
	if (stat(out, &st) == 0 && st.st_ino == m->inode)
		return false;
	snprintf(out, len, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
		 (int)p->pid, m->start, m->end);
	return true;
}

/*
 * Reports pid's file mappings to a new session, each file as one module
 * from its first mapping (file offset 0: where libdwfl puts its load
 * bias) to the end of its last, opened as module_file says.
 */
static int build_session(struct unwinder *u, struct uproc *p,
			 const struct proc_maps *m)
{
	uint64_t t0 = now_ns();
	struct alias *alias = NULL;
	size_t nalias = 0;
	Dwfl *dwfl;
	char name[4096 + 80];

	dwfl = dwfl_begin(&dwfl_cbs);
	if (!dwfl)
		return -ENOMEM;
	dwfl_report_begin(dwfl);
	for (int i = 0; i < m->n;) {
		const struct proc_map *first = &m->v[i];
		uint64_t end = first->end;
		int j = i + 1;
		size_t len = strlen(first->path);

		while (j < m->n && m->v[j].inode == first->inode &&
		       strcmp(m->v[j].path, first->path) == 0) {
			end = m->v[j].end;
			j++;
		}
		i = j;
		if (first->path[0] != '/' || first->pgoff != 0 ||
		    first->inode == 0 ||
		    strncmp(first->path, "/dev/", 5) == 0 ||
		    (len > 10 &&
		     strcmp(first->path + len - 10, " (deleted)") == 0))
			continue;
		if (module_file(p, first, name, sizeof(name))) {
			struct alias *na =
				realloc(alias, (nalias + 1) * sizeof(*alias));

			if (!na)
				continue;
			alias = na;
			alias[nalias].start = first->start;
			alias[nalias].path = strdup(first->path);
			if (!alias[nalias].path)
				continue;
			nalias++;
		}
		dwfl_report_module(dwfl, name, first->start, end);
	}
	if (dwfl_report_end(dwfl, NULL, NULL) != 0) {
		alias_free(alias, nalias);
		dwfl_end(dwfl);
		return -EINVAL;
	}
	/* Open every file now, while the process (and /proc/PID/root) is
	 * there: its samples may be unwound after it exited. */
	dwfl_getmodules(dwfl, open_module, NULL, 0);
	if (p->dwfl)
		dwfl_end(p->dwfl);
	p->dwfl = dwfl;
	alias_free(p->alias, p->nalias);
	p->alias = alias;
	p->nalias = nalias;
	p->attached = dwfl_attach_state(dwfl, NULL, p->pid, &thread_cbs, p);
	u->sessions++;
	u->session_ns += now_ns() - t0;
	return p->attached ? 0 : -ENOEXEC;
}

/* Re-reads pid's mappings; a new session if they changed. */
static int refresh(struct unwinder *u, struct uproc *p)
{
	struct proc_maps m = {};
	uint64_t h;
	int rc;

	p->refreshed_ns = now_ns();
	rc = proc__maps(p->pid, &m);
	if (rc)
		return rc;
	h = maps_hash(&m);
	if (h != p->maps_hash || !p->dwfl) {
		rc = build_session(u, p, &m);
		if (!rc)
			p->maps_hash = h;
	}
	proc__maps_free(&m);
	return rc;
}

static void perfmap_load(struct uproc *p);

static struct uproc *get_proc(struct unwinder *u, pid_t pid)
{
	struct uproc *p;
	uint64_t v;

	if (hashmap__get(&u->procs, (uint64_t)pid, &v))
		return (struct uproc *)(uintptr_t)v;
	if (u->procs.len >= PROCS_MAX) {
		/* Make room: sessions of processes that are gone. */
		for (size_t i = 0; i < u->procs.cap; i++) {
			pid_t dead = (pid_t)u->procs.keys[i];

			if (dead && !proc__alive(dead)) {
				unwinder__forget(u, dead);
				i--; /* backward shift moved an entry here */
			}
		}
		if (u->procs.len >= PROCS_MAX)
			return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->pm_fd = -1;
	snprintf(p->root, sizeof(p->root), "/proc/%d/root", (int)pid);
	if (proc__ns_pid(pid, &p->ns_pid) || p->ns_pid <= 0)
		p->ns_pid = pid;
	perfmap_load(p); /* opened now, while /proc/PID/root is there */
	if (refresh(u, p) ||
	    hashmap__set(&u->procs, (uint64_t)pid, (uint64_t)(uintptr_t)p)) {
		uproc_free(p);
		return NULL;
	}
	return p;
}

/* --- /tmp/perf-PID.map: "START SIZE name" in hex, one per line --- */

static int cmp_pm(const void *a, const void *b)
{
	const struct perfmap_ent *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static void perfmap_load(struct uproc *p)
{
	char path[128], line[PERFMAP_NAME_MAX + 64];
	struct perfmap_ent *v = NULL;
	size_t n = 0, cap = 0;
	struct stat st;
	FILE *f;
	int fd;

	p->pm_read_ns = now_ns();
	if (p->pm_fd < 0) {
		snprintf(path, sizeof(path), "%s/tmp/perf-%d.map", p->root,
			 (int)p->ns_pid);
		/* Non-blocking: a FIFO planted there must not hang us. */
		p->pm_fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (p->pm_fd < 0)
			return;
	}
	if (fstat(p->pm_fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size == p->pm_size)
		return;
	fd = dup(p->pm_fd);
	if (fd < 0 || lseek(fd, 0, SEEK_SET) != 0 || !(f = fdopen(fd, "re"))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while (n < PERFMAP_MAX && fgets(line, sizeof(line), f)) {
		char *end, *end2, *name;
		uint64_t start, size;
		size_t len;

		errno = 0;
		start = strtoull(line, &end, 16);
		if (end == line || *end != ' ' || errno)
			continue;
		size = strtoull(end + 1, &end2, 16);
		if (end2 == end + 1 || *end2 != ' ' || errno || !size ||
		    start + size < start)
			continue;
		name = end2 + 1;
		len = strcspn(name, "\n");
		if (!len)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct perfmap_ent *nv = realloc(v, ncap * sizeof(*v));

			if (!nv)
				break;
			v = nv;
			cap = ncap;
		}
		v[n].start = start;
		v[n].end = start + size;
		v[n].name = strndup(name, len);
		if (!v[n].name)
			break;
		/* ';' separates folded frames. */
		for (char *c = v[n].name; *c; c++)
			if (*c == ';')
				*c = ':';
		n++;
	}
	fclose(f);
	qsort(v, n, sizeof(*v), cmp_pm);
	perfmap_free(p);
	p->pm = v;
	p->npm = n;
	p->pm_size = st.st_size;
}

static const char *perfmap_find(const struct uproc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->npm;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->pm[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || addr >= p->pm[lo - 1].end)
		return NULL;
	return p->pm[lo - 1].name;
}

/* The perf map entry of addr, re-reading the map (rate-limited) if it
 * grew since. */
static const char *perfmap_lookup(struct uproc *p, uint64_t addr)
{
	const char *s = perfmap_find(p, addr);

	if (!s && now_ns() - p->pm_read_ns >= REFRESH_NS) {
		perfmap_load(p);
		s = perfmap_find(p, addr);
	}
	return s;
}

/* --- unwinding --- */

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct uproc *p = arg;
	Dwarf_Addr pc;
	bool act;
	const char *jit;

	if (!dwfl_frame_pc(state, &pc, &act))
		return DWARF_CB_ABORT;
	if (p->first && p->ra_start)
		act = false;
	p->first = false;
	if (!act && pc)
		pc--;
	if (p->n >= p->max)
		return DWARF_CB_ABORT;
	p->pcs[p->n++] = pc;
	/* JIT code first: an anonymous mapping can sit in the span a
	 * library reports as its own (between its segments). */
	jit = perfmap_find(p, pc);
	if (!jit && dwfl_addrmodule(p->dwfl, pc))
		return DWARF_CB_OK;
	if (!jit)
		jit = perfmap_lookup(p, pc);
	if (!jit) {
		p->stale = true;
		return DWARF_CB_ABORT;
	}
	/*
	 * CPython 3.12+'s -X perf trampoline (Python/asm_trampoline.S,
	 * x86-64): "sub $8,%rsp; call *%rcx; add $8,%rsp; ret", with no CFI
	 * (it is copied to anonymous memory).  At its return address the
	 * caller's return address is at sp+8 and the caller's sp is sp+16;
	 * no other register is touched.  Restart from there.
	 */
	if (strncmp(jit, "py::", 4) == 0 && p->n > 1) {
		Dwarf_Word v;

		for (unsigned r = 0; r < NREGS; r++)
			if (dwfl_frame_reg(state, r, &v) == 0)
				p->regs[r] = v;
			else
				p->regs[r] = 0;
		p->trampoline = true;
	}
	return DWARF_CB_ABORT;
}

int unwinder__unwind(struct unwinder *u, const struct unwind_sample *s,
		     uint64_t *pcs, uint32_t max, bool *cut)
{
	uint64_t t0 = now_ns();
	struct uproc *p;
	bool retried = false;
	int rc;

	*cut = true;
	p = get_proc(u, s->pid);
	if (!p || !p->attached)
		return -ESRCH;
again:
	memcpy(p->regs, s->regs, sizeof(p->regs));
	p->cur = s;
	p->pcs = pcs;
	p->max = max;
	p->n = 0;
	p->stale = false;
	p->beyond = false;
	p->ra_start = false;
	for (int t = 0;; t++) {
		Dwarf_Word w;
		uint64_t sp;

		p->trampoline = false;
		p->first = true;
		rc = dwfl_getthread_frames(p->dwfl, s->tid, frame_cb, p);
		if (!p->trampoline || t == TRAMPOLINES_MAX)
			break;
		/* The trampoline's caller: return address at sp+8, its sp
		 * at sp+16, every other register as the trampoline left it. */
		sp = p->regs[REG_SP];
		if (!cb_memory_read(NULL, sp + 8, &w, p)) {
			rc = -1;
			break;
		}
		p->regs[REG_SP] = sp + 16;
		p->regs[16] = w;
		p->ra_start = true;
	}
	/* An address outside every module, or an unwind that failed inside
	 * one: the session may predate a mapping (a library being loaded is
	 * first mapped whole from its start, its segments only after). */
	if ((p->stale || rc != 0) && !retried &&
	    now_ns() - p->refreshed_ns >= REFRESH_NS) {
		retried = true;
		if (refresh(u, p) == 0 && p->attached)
			goto again;
	}
	p->cur = NULL;
	*cut = rc != 0 || p->beyond;
	u->samples++;
	u->frames += p->n;
	u->ns += now_ns() - t0;
	return (int)p->n;
}

/* --- symbolisation --- */

/* Appends s to the csym's string block; the offset, or -1. */
static long strs_add(char **strs, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s) + 1;
	long off = (long)*len;

	if (n > 4096)
		n = 4096;
	if (*len + n > *cap) {
		size_t ncap = (*len + n) * 2;
		char *nv = realloc(*strs, ncap);

		if (!nv)
			return -1;
		*strs = nv;
		*cap = ncap;
	}
	memcpy(*strs + *len, s, n - 1);
	(*strs)[*len + n - 1] = '\0';
	/* ';' separates folded frames. */
	for (size_t i = *len; i < *len + n - 1; i++)
		if ((*strs)[i] == ';')
			(*strs)[i] = ':';
	*len += n;
	return off;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

/*
 * Symbolises addr in mod: the ELF symbol (else "[file+0xoff]"), then the
 * functions DWARF says are inlined at addr, outermost first.
 */
/* The parts of mod's eval loop outside its symbol (src/native/evalparts.h),
 * found once per module (bid: its build-id hash); NULL without memory. */
static const struct eval_parts *eval_parts_of(struct unwinder *u,
					      Dwfl_Module *mod, uint64_t bid)
{
	struct eval_parts *ep;
	uint64_t v;

	if (hashmap__get(&u->evalparts, bid, &v))
		return (const struct eval_parts *)(uintptr_t)v;
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return NULL;
	evalparts__find(mod, ep);
	if (hashmap__set(&u->evalparts, bid, (uint64_t)(uintptr_t)ep)) {
		free(ep);
		return NULL;
	}
	return ep;
}

static struct csym *symbolise(Dwfl_Module *mod, uint64_t addr,
			      const char *modpath, uint64_t start,
			      const struct eval_parts *ep)
{
	long offs[UNWIND_INLINE_MAX + 2];
	const char *inl[UNWIND_INLINE_MAX];
	char label[512];
	size_t len = 0, cap = 0;
	Dwarf_Die *scopes = NULL, *cu;
	const char *name;
	struct csym *c;
	Dwarf_Addr bias;
	GElf_Off off;
	GElf_Sym sym;
	uint32_t n = 0, ninl = 0;
	int ns;

	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	name = dwfl_module_addrinfo(mod, addr, &off, &sym, NULL, NULL, NULL);
	/* A part of the eval loop its symbol does not cover (GCC's
	 * partitioning, in a stripped build): the eval loop all the same. */
	if ((!name || !name[0]) && ep && dwfl_module_getelf(mod, &bias) &&
	    evalparts__contains(ep, addr - bias))
		name = "_PyEval_EvalFrameDefault";
	if (!name || !name[0]) {
		snprintf(label, sizeof(label), "[%s+0x%" PRIx64 "]",
			 base_name(modpath), addr - start);
		name = label;
	}
	offs[n++] = strs_add(&c->strs, &len, &cap, name);

	/* The eval loop's frames are replaced by Python frames: its inlined
	 * helpers would be thrown away, and it is where most samples of a
	 * Python program land, each at another address. */
	cu = native__is_eval(name) ? NULL :
				     dwfl_module_addrdie(mod, addr, &bias);
	ns = cu ? dwarf_getscopes(cu, addr - bias, &scopes) : 0;
	/* scopes[0] is the innermost: collect inlined callees inner first. */
	for (int i = 0; i < ns && ninl < UNWIND_INLINE_MAX; i++) {
		const char *in;

		if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
			continue;
		in = dwarf_diename(&scopes[i]);
		inl[ninl++] = in ? in : "[inlined]";
	}
	for (uint32_t i = ninl; i-- > 0;)
		offs[n++] = strs_add(&c->strs, &len, &cap, inl[i]);
	free(scopes);
	offs[n++] = strs_add(&c->strs, &len, &cap, modpath);

	for (uint32_t i = 0; i < n; i++)
		if (offs[i] < 0) {
			csym_free(c);
			return NULL;
		}
	c->sym.n = n - 1;
	for (uint32_t i = 0; i + 1 < n; i++)
		c->sym.names[i] = c->strs + offs[i];
	c->sym.module = c->strs + offs[n - 1];
	return c;
}

int unwinder__sym(struct unwinder *u, pid_t pid, uint64_t addr,
		  struct unwind_sym *out)
{
	const unsigned char *bits;
	const char *modname, *jit;
	Dwarf_Addr start, end, vaddr;
	Dwfl_Module *mod;
	struct uproc *p;
	struct csym *c;
	uint64_t key, v, bid, t0;
	int nb;

	memset(out, 0, sizeof(*out));
	p = get_proc(u, pid);
	if (!p)
		return -ESRCH;
	jit = perfmap_find(p, addr);
	mod = jit ? NULL : dwfl_addrmodule(p->dwfl, addr);
	if (!mod) {
		if (!jit)
			jit = perfmap_lookup(p, addr);
		out->names[0] = jit ? jit : "[unknown]";
		out->n = 1;
		return 0;
	}
	modname = dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL,
				   NULL);
	if (!modname)
		modname = "?";
	/* The module's path as the process sees it. */
	if (strncmp(modname, p->root, strlen(p->root)) == 0)
		modname += strlen(p->root);
	for (size_t i = 0; i < p->nalias; i++)
		if (p->alias[i].start == start)
			modname = p->alias[i].path;
	nb = dwfl_module_build_id(mod, &bits, &vaddr);
	bid = nb > 0 ? hash_bytes(bits, (size_t)nb, 0) :
		       hash_bytes(modname, strlen(modname), (uint64_t)pid);
	key = hash64(bid ^ hash64(addr - start));
	if (!key)
		key = 1;
	if (hashmap__get(&u->syms, key, &v)) {
		c = (struct csym *)(uintptr_t)v;
		if (c->bid == bid && c->rel == addr - start) {
			*out = c->sym;
			return 0;
		}
	}
	t0 = now_ns();
	c = symbolise(mod, addr, modname, start, eval_parts_of(u, mod, bid));
	u->sym_ns += now_ns() - t0;
	u->syms_done++;
	if (!c)
		return -ENOMEM;
	c->bid = bid;
	c->rel = addr - start;
	if (u->syms.len >= SYMS_MAX)
		syms_clear(u);
	if (hashmap__get(&u->syms, key, &v)) {
		/* A collision: the newer one stays. */
		csym_free((struct csym *)(uintptr_t)v);
	}
	if (hashmap__set(&u->syms, key, (uint64_t)(uintptr_t)c)) {
		csym_free(c);
		return -ENOMEM;
	}
	*out = c->sym;
	return 0;
}

void unwinder__stats(const struct unwinder *u, struct unwind_stats *st)
{
	st->samples = u->samples;
	st->frames = u->frames;
	st->sessions = u->sessions;
	st->unwind_ns = u->ns - (u->ns >= u->session_ns ? u->session_ns : 0);
	st->session_ns = u->session_ns;
	st->syms = u->syms_done;
	st->sym_ns = u->sym_ns;
}
