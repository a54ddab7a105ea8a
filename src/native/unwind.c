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
#include <gelf.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <time.h>

#include "lib/hashmap.h"
#include "native/cfi.h"
#include "native/merge.h"
#include "native/symidx.h"
#include "sampler/proc.h"

#define NREGS CFI_NREGS
#define REG_SP CFI_REG_SP
#define REG_PC CFI_REG_PC
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
/* The vDSO image read from a target (x86-64's is 8 KiB, arm64's 4-8). */
#define VDSO_MAX (1u << 20)
/* Parts of the eval loop found outside its symbol's range. */
#define EVAL_PARTS_MAX 4
/* Modules named in the summary as lacking symbols. */
#define UNNAMED_MODS_MAX 4

struct perfmap_ent {
	uint64_t start, end;
	char *name;
};

/* Where a module's file is opened from, or its image (the vDSO). */
struct msrc {
	char *open_path; /* a path that opens the mapped file */
	void *image; /* the vDSO's bytes, or NULL */
	size_t image_len;
	char root[64]; /* "/proc/PID/root", for debug files in the
			  target's root */
};

/* A module of one process's session. */
struct umod {
	uint64_t start, end; /* its span in the process */
	Dwfl_Module *mod;
	uint64_t bias; /* the main file's load bias */
	uint64_t bid; /* the build-id's hash (or the path's, per pid) */
	struct cfi_table *tab; /* shared by every process with this file */
	struct sym_index *idx; /* its symbols and inlines, shared too */
	Dwarf_CFI *eh, *dbg; /* .eh_frame, .debug_frame: NULL until asked */
	int64_t eh_delta, dbg_delta; /* their bias minus the main bias */
	bool eh_asked, dbg_asked, eval_asked, plt_asked;
	uint64_t plt[2]; /* .plt, [start, end) in the file, or empty */
	uint32_t neval;
	uint64_t eval[EVAL_PARTS_MAX][2]; /* split-off parts of the eval
					     loop, [start, end) */
	const char *path; /* as pyprof-bpf sees it ("[vdso]") */
};

struct uproc {
	pid_t pid;
	Dwfl *dwfl;
	struct umod *mods; /* sorted by start */
	size_t nmods;
	struct msrc **srcs; /* the sources of the session's modules */
	size_t nsrcs;
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
	/* The sample being unwound. */
	const struct unwind_sample *cur;
	bool beyond; /* a read above the stack copy was refused */
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
	struct hashmap tabs; /* build-id hash -> struct cfi_table * */
	struct hashmap idxs; /* build-id hash -> struct sym_index * */
	uint64_t samples, frames, sessions, rows_computed;
	/* The unwinds' CPU time, sessions excluded: measured on some,
	 * counted for all (see UNWIND_TIMED_EVERY). */
	uint64_t ns;
	uint64_t session_ns, sym_ns, syms_done; /* building sessions;
						  symbolising cache misses */
	uint64_t unnamed; /* addresses without a symbol */
	uint64_t sym_ids; /* the last unwind_sym.id given */
	char unnamed_mods[UNNAMED_MODS_MAX][64];
	uint32_t nunnamed_mods;
};

/*
 * The summary's unwinding cost is measured on every one of the first
 * UNWIND_TIMED_ALL unwinds (those that compute most of the rows, the
 * costly ones), then on one in UNWIND_TIMED_EVERY, which stands for the
 * others.  The thread's CPU clock is a system call, not a vDSO read: two
 * a sample cost more than the unwind itself where system calls are dear
 * (a VM that traps them, 1-2 us each), a quarter of --native's CPU.
 */
#define UNWIND_TIMED_ALL 1024
#define UNWIND_TIMED_EVERY 64

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The costs in the summary are this thread's CPU time: wall time on a
 * busy machine counts other processes' turns. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct unwinder *unwinder__new(void)
{
	/* DEBUGINFOD_URLS, when the user set it, is used: libdwfl fetches
	 * a stripped file's debug file by build-id (libdebuginfod), once,
	 * into its cache. */
	return calloc(1, sizeof(struct unwinder));
}

static void perfmap_free(struct uproc *p)
{
	for (size_t i = 0; i < p->npm; i++)
		free(p->pm[i].name);
	free(p->pm);
	p->pm = NULL;
	p->npm = 0;
}

static void msrc_free(struct msrc *m)
{
	if (!m)
		return;
	free(m->open_path);
	free(m->image);
	free(m);
}

/* Ends p's session; the vDSO images after the Elf handles on them. */
static void session_free(struct uproc *p)
{
	if (p->dwfl)
		dwfl_end(p->dwfl);
	p->dwfl = NULL;
	free(p->mods);
	p->mods = NULL;
	p->nmods = 0;
	for (size_t i = 0; i < p->nsrcs; i++)
		msrc_free(p->srcs[i]);
	free(p->srcs);
	p->srcs = NULL;
	p->nsrcs = 0;
}

static void uproc_free(struct uproc *p)
{
	if (!p)
		return;
	session_free(p);
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
	for (size_t i = 0; i < u->tabs.cap; i++)
		if (u->tabs.keys[i])
			cfi_table__free(
				(struct cfi_table *)(uintptr_t)u->tabs.vals[i]);
	hashmap__free(&u->tabs);
	for (size_t i = 0; i < u->idxs.cap; i++)
		if (u->idxs.keys[i])
			symidx__free(
				(struct sym_index *)(uintptr_t)u->idxs.vals[i]);
	hashmap__free(&u->idxs);
	syms_clear(u);
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

/* --- opening a target's files --- */

/*
 * The ELF file of a module: the vDSO from the image read out of the
 * target, any other file from the path that opens it (see open_path).
 */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *name,
		    Dwarf_Addr base, char **file_name, Elf **elfp)
{
	struct msrc *m = *userdata;

	if (!m)
		return -1;
	if (m->image) {
		*elfp = elf_memory(m->image, m->image_len);
		*file_name = NULL;
		return -1;
	}
	(void)name;
	return dwfl_linux_proc_find_elf(mod, userdata, m->open_path, base,
					file_name, elfp);
}

/*
 * The debug file of a stripped module: where libdwfl looks (beside the
 * file, .debug/, /usr/lib/debug by .gnu_debuglink and by build-id, and
 * debuginfod when DEBUGINFOD_URLS is set), then the same /usr/lib/debug
 * places in the target's root (a container, a chroot).
 */
static int find_debuginfo(Dwfl_Module *mod, void **userdata,
			  const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	struct msrc *m = *userdata;
	const unsigned char *bits;
	char path[4096 + 128];
	GElf_Addr vaddr;
	int fd, nb;

	fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base,
					  file_name, debuglink_file,
					  debuglink_crc, debuginfo_file_name);
	if (fd >= 0 || !m || m->image)
		return fd;
	nb = dwfl_module_build_id(mod, &bits, &vaddr);
	if (nb > 1 && nb < 64) {
		int len = snprintf(path, sizeof(path),
				   "%s/usr/lib/debug/.build-id/%02x/", m->root,
				   bits[0]);

		for (int i = 1; i < nb; i++)
			len += snprintf(path + len, sizeof(path) - (size_t)len,
					"%02x", bits[i]);
		snprintf(path + len, sizeof(path) - (size_t)len, ".debug");
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			*debuginfo_file_name = strdup(path);
			return fd;
		}
	}
	if (debuglink_file && modname[0] == '/') {
		const char *slash = strrchr(modname, '/');

		snprintf(path, sizeof(path), "%s/usr/lib/debug%.*s/%s", m->root,
			 (int)(slash - modname), modname, debuglink_file);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			*debuginfo_file_name = strdup(path);
			return fd;
		}
	}
	return -1;
}

static char *debuginfo_path =
	NULL; /* the default: .debug dirs, /usr/lib/debug */

static const Dwfl_Callbacks dwfl_cbs = {
	.find_elf = find_elf,
	.find_debuginfo = find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

/*
 * A path that opens the file mapped at m: as the process sees it, under
 * /proc/PID/root (a container); as pyprof-bpf sees it (maps shows a
 * chroot's files by their path from pyprof-bpf's root); else the mapping
 * itself (map_files: a file deleted or replaced since).  Each must be the
 * mapped inode.
 */
static char *open_path(const struct uproc *p, const struct proc_map *m)
{
	char path[4096 + 80];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", p->root, m->path);
	if (stat(path, &st) == 0 && st.st_ino == m->inode &&
	    S_ISREG(st.st_mode))
		return strdup(path);
	if (stat(m->path, &st) == 0 && st.st_ino == m->inode &&
	    S_ISREG(st.st_mode))
		return strdup(m->path);
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
		 (int)p->pid, m->start, m->end);
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return strdup(path);
	return NULL;
}

/* Reads the vDSO image at [start, end) out of the target. */
static struct msrc *vdso_src(const struct uproc *p, uint64_t start,
			     uint64_t end)
{
	struct msrc *m;
	struct iovec local, remote;
	ssize_t n;

	if (end <= start || end - start > VDSO_MAX)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->image_len = end - start;
	m->image = malloc(m->image_len);
	if (!m->image)
		goto fail;
	local.iov_base = m->image;
	local.iov_len = m->image_len;
	remote.iov_base = (void *)(uintptr_t)start;
	remote.iov_len = m->image_len;
	n = process_vm_readv(p->pid, &local, 1, &remote, 1, 0);
	if (n != (ssize_t)m->image_len ||
	    memcmp(m->image, ELFMAG, SELFMAG) != 0)
		goto fail;
	return m;
fail:
	msrc_free(m);
	return NULL;
}

/* --- sessions --- */

static uint64_t maps_hash(const struct proc_maps *m)
{
	uint64_t h = 0;

	for (int i = 0; i < m->n; i++) {
		const struct proc_map *pm = &m->v[i];

		if (pm->path[0] != '/' && strcmp(pm->path, "[vdso]") != 0)
			continue;
		h = hash64(h ^ pm->start) ^ hash64(pm->end + pm->inode);
		h = hash_bytes(pm->path, strlen(pm->path), h);
	}
	return h ? h : 1;
}

static int keep_src(struct uproc *p, struct msrc *m)
{
	struct msrc **nv = realloc(p->srcs, (p->nsrcs + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	p->srcs = nv;
	p->srcs[p->nsrcs++] = m;
	return 0;
}

struct mods_arg {
	struct unwinder *u;
	struct uproc *p;
	size_t cap;
};

static int cmp_umod(const void *a, const void *b)
{
	const struct umod *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The CFI table of a module file, shared by every process mapping it. */
static struct cfi_table *table_of(struct unwinder *u, uint64_t bid)
{
	struct cfi_table *t;
	uint64_t v;

	if (hashmap__get(&u->tabs, bid, &v))
		return (struct cfi_table *)(uintptr_t)v;
	t = cfi_table__new();
	if (t && hashmap__set(&u->tabs, bid, (uint64_t)(uintptr_t)t)) {
		cfi_table__free(t);
		t = NULL;
	}
	return t;
}

/* The symbol index of a module file, shared like its CFI table. */
static struct sym_index *index_of(struct unwinder *u, uint64_t bid)
{
	struct sym_index *x;
	uint64_t v;

	if (hashmap__get(&u->idxs, bid, &v))
		return (struct sym_index *)(uintptr_t)v;
	x = symidx__new();
	if (x && hashmap__set(&u->idxs, bid, (uint64_t)(uintptr_t)x)) {
		symidx__free(x);
		x = NULL;
	}
	return x;
}

/* Opens each module now, while the process (and /proc/PID/root) is
 * there: its samples may be unwound after it exited.  Lists it. */
static int add_module(Dwfl_Module *mod, void **userdata,
		      const char *name __attribute__((unused)),
		      Dwarf_Addr start, void *arg)
{
	struct mods_arg *a = arg;
	struct uproc *p = a->p;
	const unsigned char *bits;
	Dwarf_Addr end, bias = 0;
	GElf_Addr vaddr;
	const char *path;
	struct umod *um;
	int nb;

	(void)userdata;
	if (!dwfl_module_getelf(mod, &bias))
		return DWARF_CB_OK;
	path = dwfl_module_info(mod, NULL, NULL, &end, NULL, NULL, NULL, NULL);
	if (p->nmods == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 32;
		struct umod *nv = realloc(p->mods, ncap * sizeof(*nv));

		if (!nv)
			return DWARF_CB_ABORT;
		p->mods = nv;
		a->cap = ncap;
	}
	um = &p->mods[p->nmods];
	memset(um, 0, sizeof(*um));
	um->start = start;
	um->end = end;
	um->mod = mod;
	um->bias = bias;
	um->path = path ? path : "?";
	nb = dwfl_module_build_id(mod, &bits, &vaddr);
	um->bid = nb > 0 ? hash_bytes(bits, (size_t)nb, 0) :
			   hash_bytes(um->path, strlen(um->path),
				      hash64((uint64_t)p->pid));
	if (!um->bid)
		um->bid = 1;
	um->tab = table_of(a->u, um->bid);
	um->idx = index_of(a->u, um->bid);
	if (!um->tab || !um->idx)
		return DWARF_CB_ABORT;
	p->nmods++;
	return DWARF_CB_OK;
}

/*
 * Reports pid's file mappings to a new session, each file as one module
 * from its first mapping (file offset 0: where libdwfl puts its load
 * bias) to the end of its last, and the vDSO from its image in memory.
 */
static int build_session(struct unwinder *u, struct uproc *p,
			 const struct proc_maps *m)
{
	uint64_t t0 = cpu_ns();
	struct mods_arg a = { .u = u, .p = p };
	Dwfl *dwfl;
	int rc = 0;

	session_free(p);
	dwfl = dwfl_begin(&dwfl_cbs);
	if (!dwfl)
		return -ENOMEM;
	p->dwfl = dwfl;
	dwfl_report_begin(dwfl);
	for (int i = 0; i < m->n;) {
		const struct proc_map *first = &m->v[i];
		uint64_t end = first->end;
		int j = i + 1;
		size_t len = strlen(first->path);
		struct msrc *src = NULL;
		Dwfl_Module *mod;
		void **ud;

		while (j < m->n && m->v[j].inode == first->inode &&
		       strcmp(m->v[j].path, first->path) == 0) {
			end = m->v[j].end;
			j++;
		}
		i = j;
		if (strcmp(first->path, "[vdso]") == 0) {
			src = vdso_src(p, first->start, end);
		} else if (first->path[0] != '/' || first->pgoff != 0 ||
			   first->inode == 0 ||
			   strncmp(first->path, "/dev/", 5) == 0 ||
			   (len > 10 && strcmp(first->path + len - 10,
					       " (deleted)") == 0)) {
			continue;
		} else {
			src = calloc(1, sizeof(*src));
			if (src && !(src->open_path = open_path(p, first))) {
				msrc_free(src);
				src = NULL;
			}
		}
		if (!src)
			continue;
		snprintf(src->root, sizeof(src->root), "%s", p->root);
		if (keep_src(p, src)) {
			msrc_free(src);
			rc = -ENOMEM;
			break;
		}
		mod = dwfl_report_module(dwfl, first->path, first->start, end);
		if (mod && dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL,
					    NULL, NULL))
			*ud = src;
	}
	if (dwfl_report_end(dwfl, NULL, NULL) != 0 && !rc)
		rc = -EINVAL;
	if (!rc && dwfl_getmodules(dwfl, add_module, &a, 0) != 0)
		rc = -ENOMEM;
	if (rc) {
		session_free(p);
		return rc;
	}
	qsort(p->mods, p->nmods, sizeof(*p->mods), cmp_umod);
	u->sessions++;
	u->session_ns += cpu_ns() - t0;
	return p->nmods ? 0 : -ENOEXEC;
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
		p->maps_hash = rc ? 0 : h;
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
	/* A session that could not be built is kept (with no module):
	 * its samples are cut, and it is tried again after REFRESH_NS. */
	refresh(u, p);
	if (hashmap__set(&u->procs, (uint64_t)pid, (uint64_t)(uintptr_t)p)) {
		uproc_free(p);
		return NULL;
	}
	return p;
}

static struct umod *find_mod(struct uproc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nmods;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->mods[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || addr >= p->mods[lo - 1].end)
		return NULL;
	return &p->mods[lo - 1];
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

/* Only the copied stack is readable: CFI needs nothing else. */
static bool read_stack(uint64_t addr, uint64_t *val, void *arg)
{
	struct uproc *p = arg;
	const struct unwind_sample *s = p->cur;
	uint64_t sp = s->regs[REG_SP];

	if (addr < sp || addr - sp > s->stack_len ||
	    s->stack_len - (addr - sp) < sizeof(*val)) {
		/* Above the copy: the unwind may end here for want of the
		 * rest of the stack. */
		if (addr >= sp)
			p->beyond = true;
		return false;
	}
	memcpy(val, s->stack + (addr - sp), sizeof(*val));
	return true;
}

/* The row for pc in um: from the table, else from .eh_frame, else from
 * .debug_frame (a debug file's, for code without .eh_frame). */
static const struct cfi_row *row_for(struct unwinder *u, struct umod *um,
				     uint64_t pc)
{
	const struct cfi_row *row;
	Dwarf_Addr b;
	bool computed;

	if (!um->eh_asked) {
		um->eh_asked = true;
		um->eh = dwfl_module_eh_cfi(um->mod, &b);
		um->eh_delta = (int64_t)(b - um->bias);
	}
	row = cfi_table__row(um->tab, um->eh, um->eh_delta, pc - um->bias,
			     &computed);
	u->rows_computed += computed;
	if (row)
		return row;
	if (!um->dbg_asked) {
		um->dbg_asked = true;
		um->dbg = dwfl_module_dwarf_cfi(um->mod, &b);
		um->dbg_delta = (int64_t)(b - um->bias);
	}
	if (!um->dbg)
		return NULL;
	row = cfi_table__row(um->tab, um->dbg, um->dbg_delta, pc - um->bias,
			     &computed);
	u->rows_computed += computed;
	return row;
}

#if ARCH_LEAF_RA_REG >= 0
static const uint8_t *code_at(Elf *elf, uint64_t vaddr, size_t len);

/* um's .plt, [start, end) in the file, or empty: found once. */
static void find_plt(struct umod *um)
{
	Elf_Scn *scn = NULL;
	GElf_Addr bias;
	size_t shstrndx;
	Elf *elf;

	um->plt_asked = true;
	elf = dwfl_module_getelf(um->mod, &bias);
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && strcmp(name, ".plt") == 0) {
			um->plt[0] = sh.sh_addr;
			um->plt[1] = sh.sh_addr + sh.sh_size;
			return;
		}
	}
}

/*
 * True if pc (without CFI) is in a frameless leaf (arch__frameless): a
 * stub of um's PLT (16 bytes, after the first of 32), or a function of the
 * vDSO (by its symbol) other than the signal return trampoline.  Where,
 * on arm64, code has no CFI (ARCH_LEAF_RA_REG).
 */
static bool frameless_leaf(struct umod *um, uint64_t pc)
{
	uint64_t rel = pc - um->bias, lo, len;
	const uint8_t *code;
	GElf_Addr bias;

	if (strcmp(um->path, "[vdso]") == 0) {
		GElf_Off off;
		GElf_Sym sym;
		const char *name = dwfl_module_addrinfo(um->mod, pc, &off, &sym,
							NULL, NULL, NULL);

		if (!name || strstr(name, "sigreturn") || !sym.st_size ||
		    sym.st_size > 4096)
			return false;
		lo = rel - off;
		len = sym.st_size;
	} else {
		if (!um->plt_asked)
			find_plt(um);
		if (rel < um->plt[0] || rel >= um->plt[1])
			return false;
		lo = rel - um->plt[0] < 32 ? um->plt[0] :
					     rel - (rel - um->plt[0] - 32) % 16;
		len = lo == um->plt[0] ? 32 : 16;
	}
	code = code_at(dwfl_module_getelf(um->mod, &bias), lo, len);
	return code && arch__frameless(code, len);
}
#endif

enum walk_end {
	WALK_DONE, /* the outermost frame */
	WALK_CUT, /* stopped before it */
	WALK_STALE, /* an address outside every module: maps may be old */
};

/*
 * Walks s from its registers: the leaf's pc, then each caller's return
 * address minus one.  Each step is a row of the frame's module's CFI
 * (cfi.c).  CPython 3.12+'s -X perf trampolines (Python/asm_trampoline.S,
 * copied to anonymous memory, no CFI) are stepped through by hand, from
 * their frame's layout (native/arch.h): at the return address in one, the
 * caller's return address is at sp + ARCH_TRAMP_RA_OFF, its sp is sp +
 * ARCH_TRAMP_FRAME, and only the frame pointer (arm64) is restored.
 */
static enum walk_end walk(struct unwinder *u, struct uproc *p,
			  const struct unwind_sample *s, uint64_t *pcs,
			  uint32_t max, uint32_t *n)
{
	uint64_t regs[NREGS], valid = CFI_ALL_VALID;
	uint32_t tramps = 0;
	bool exact = true; /* the pc is not a return address */

	memcpy(regs, s->regs, sizeof(regs));
	*n = 0;
	for (;;) {
		uint64_t pc = regs[REG_PC], sp = regs[REG_SP], w;
		const struct cfi_row *row;
		const char *jit;
		struct umod *um;
		bool signal;

		if (!pc)
			return WALK_DONE;
		if (!exact)
			pc--;
		if (*n >= max)
			return WALK_CUT;
		pcs[(*n)++] = pc;
		/* JIT code first: an anonymous mapping can sit in the span
		 * a library reports as its own (between its segments). */
		jit = perfmap_find(p, pc);
		um = jit ? NULL : find_mod(p, pc);
		if (!um) {
			if (!jit)
				jit = perfmap_lookup(p, pc);
			if (!jit)
				return WALK_STALE;
			if (strncmp(jit, "py::", 4) != 0 || *n == 1 ||
			    ++tramps > TRAMPOLINES_MAX ||
			    !read_stack(sp + ARCH_TRAMP_RA_OFF, &w, p))
				return WALK_CUT;
			if (ARCH_TRAMP_FP_OFF >= 0) {
				uint64_t fp;

				if (read_stack(sp + (uint64_t)ARCH_TRAMP_FP_OFF,
					       &fp, p)) {
					regs[ARCH_REG_FP] = fp;
					valid |= CFI_BIT(ARCH_REG_FP);
				} else {
					valid &= ~CFI_BIT(ARCH_REG_FP);
				}
			}
			regs[REG_SP] = sp + ARCH_TRAMP_FRAME;
			/* The same slot on x86-64. */
			regs[CFI_REG_RA] = arch__code_addr(w);
			regs[REG_PC] = regs[CFI_REG_RA];
			exact = false;
			continue;
		}
		row = row_for(u, um, pc);
#if ARCH_LEAF_RA_REG >= 0
		if (!row && exact && (valid & CFI_BIT(ARCH_LEAF_RA_REG)) &&
		    frameless_leaf(um, pc)) {
			/* A frameless leaf without CFI: its caller's pc is
			 * the link register, its sp the same. */
			regs[REG_PC] = arch__code_addr(regs[ARCH_LEAF_RA_REG]);
			exact = false;
			continue;
		}
#endif
		if (!row)
			return WALK_CUT;
		switch (cfi_row__step(row, regs, &valid, read_stack, p,
				      &signal)) {
		case CFI_STEP_END:
			return WALK_DONE;
		case CFI_STEP_FAIL:
			return WALK_CUT;
		case CFI_STEP_OK:
			break;
		}
		/* The stack grows down: a caller's frame is above.  Only a
		 * frame caught at an exact pc (the leaf, or one a signal
		 * interrupted) may have none of its own: on arm64 a leaf's
		 * return address is in x30, its CFA its sp. */
		if (!signal &&
		    (regs[REG_SP] < sp || (regs[REG_SP] == sp && !exact)))
			return WALK_CUT;
		exact = signal;
	}
}

int unwinder__unwind(struct unwinder *u, const struct unwind_sample *s,
		     uint64_t *pcs, uint32_t max, bool *cut)
{
	uint64_t weight = u->samples < UNWIND_TIMED_ALL ? 1 :
			  u->samples % UNWIND_TIMED_EVERY ? 0 :
							    UNWIND_TIMED_EVERY;
	uint64_t t0 = weight ? cpu_ns() : 0, s0 = u->session_ns;
	enum walk_end how;
	struct uproc *p;
	uint32_t n = 0;

	*cut = true;
	p = get_proc(u, s->pid);
	if (!p)
		return -ESRCH;
	p->cur = s;
	p->beyond = false;
	how = walk(u, p, s, pcs, max, &n);
	/* An address outside every module: the session may predate a
	 * mapping (a library being loaded is first mapped whole from its
	 * start, its segments only after). */
	if (how == WALK_STALE && now_ns() - p->refreshed_ns >= REFRESH_NS &&
	    refresh(u, p) == 0) {
		p->beyond = false;
		how = walk(u, p, s, pcs, max, &n);
	}
	p->cur = NULL;
	*cut = how != WALK_DONE || p->beyond;
	u->samples++;
	u->frames += n;
	if (weight) {
		uint64_t t = cpu_ns() - t0, in_sessions = u->session_ns - s0;

		u->ns += (t > in_sessions ? t - in_sessions : 0) * weight;
	}
	return (int)n;
}

/* --- symbolisation --- */

/* Appends s to the csym's string block; the offset, or -1.  A symbol
 * version ("clock_gettime@@GLIBC_2.17", as debug files' .symtab has
 * them) is dropped: one function, one frame. */
static long strs_add(char **strs, size_t *len, size_t *cap, const char *s,
		     bool sym)
{
	const char *at = sym && s[0] != '[' ? strchr(s, '@') : NULL;
	size_t n = (at && at > s ? (size_t)(at - s) : strlen(s)) + 1;
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
 * The start of the function holding vaddr (the file's address), from the
 * sorted table of .eh_frame_hdr (PT_GNU_EH_FRAME): what names a function
 * of a stripped file, one frame for all its addresses.  Only the table
 * encoding GNU ld, gold and lld write (datarel sdata4).
 */
static bool fde_start(Elf *elf, uint64_t vaddr, uint64_t *fstart,
		      uint64_t *fnext)
{
	size_t nph;

	if (!elf || elf_getphdrnum(elf, &nph) != 0)
		return false;
	for (size_t i = 0; i < nph; i++) {
		const uint8_t *b;
		Elf_Data *d;
		GElf_Phdr ph;
		uint32_t count;
		int64_t rel;
		size_t lo = 0, hi;

		if (!gelf_getphdr(elf, (int)i, &ph) ||
		    ph.p_type != PT_GNU_EH_FRAME)
			continue;
		d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
					 ELF_T_BYTE);
		if (!d || d->d_size < 12)
			return false;
		b = d->d_buf;
		/* version 1; eh_frame_ptr 4 bytes; count udata4; table
		 * datarel|sdata4 */
		if (b[0] != 1 || (b[1] & 0x0f) != 0x0b || b[2] != 0x03 ||
		    b[3] != 0x3b)
			return false;
		memcpy(&count, b + 8, 4);
		if (count == 0 || (d->d_size - 12) / 8 < count)
			return false;
		rel = (int64_t)(vaddr - ph.p_vaddr);
		hi = count;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int32_t loc;

			memcpy(&loc, b + 12 + mid * 8, 4);
			if (loc <= rel)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0)
			return false;
		{
			int32_t loc;

			memcpy(&loc, b + 12 + (lo - 1) * 8, 4);
			*fstart = ph.p_vaddr + (uint64_t)(int64_t)loc;
			*fnext = UINT64_MAX;
			if (lo < count) {
				memcpy(&loc, b + 12 + lo * 8, 4);
				*fnext = ph.p_vaddr + (uint64_t)(int64_t)loc;
			}
		}
		return true;
	}
	return false;
}

/* The file's bytes at vaddr (a loaded, file-backed segment), or NULL. */
static const uint8_t *code_at(Elf *elf, uint64_t vaddr, size_t len)
{
	size_t nph;

	if (!elf || elf_getphdrnum(elf, &nph) != 0)
		return NULL;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		Elf_Data *d;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
		    vaddr < ph.p_vaddr || vaddr - ph.p_vaddr >= ph.p_filesz ||
		    len > ph.p_filesz - (vaddr - ph.p_vaddr))
			continue;
		d = elf_getdata_rawchunk(
			elf, (int64_t)(ph.p_offset + (vaddr - ph.p_vaddr)), len,
			ELF_T_BYTE);
		return d && d->d_size == len ? d->d_buf : NULL;
	}
	return NULL;
}

/*
 * The parts of the eval loop outside the range its symbol names.  GCC
 * splits a big function into its symbol's part and a ".cold" one (with
 * PGO, as Debian builds python3.x, the bulk of _PyEval_EvalFrameDefault
 * lands there), which only .symtab names: in a stripped file its frames
 * would be unnamed and stay unmerged.  The symbol's part jumps into the
 * other: each function (an .eh_frame_hdr entry) that two or more of its
 * direct jumps land in is a part of it.  Computed once per module.
 */
static void find_eval_parts(struct umod *um)
{
	uint64_t cand[EVAL_PARTS_MAX * 4][3]; /* start, next, hits */
	uint64_t lo = 0, size = 0;
	const uint8_t *code;
	GElf_Addr bias;
	size_t ncand = 0;
	Elf *elf;
	int n;

	um->eval_asked = true;
	n = dwfl_module_getsymtab(um->mod);
	for (int i = 0; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(
			um->mod, i, &sym, &addr, NULL, NULL, NULL);

		if (name && GELF_ST_TYPE(sym.st_info) == STT_FUNC &&
		    strcmp(name, "_PyEval_EvalFrameDefault") == 0) {
			lo = addr - um->bias;
			size = sym.st_size;
			break;
		}
	}
	elf = dwfl_module_getelf(um->mod, &bias);
	if (!size || size > (1u << 20) || !(code = code_at(elf, lo, size)))
		return;
	for (uint64_t i = 0; i < size; i += ARCH_INSN_ALIGN) {
		uint64_t target, fs, fn;
		size_t k;

		if (!arch__jump_target(code, size, i, lo + i, &target))
			continue;
		if ((target >= lo && target < lo + size) ||
		    !fde_start(elf, target, &fs, &fn) ||
		    (fs >= lo && fs < lo + size))
			continue;
		for (k = 0; k < ncand && cand[k][0] != fs; k++)
			;
		if (k == ncand) {
			if (ncand == sizeof(cand) / sizeof(*cand))
				continue;
			cand[ncand][0] = fs;
			cand[ncand][1] = fn;
			cand[ncand++][2] = 0;
		}
		cand[k][2]++;
	}
	for (size_t k = 0; k < ncand && um->neval < EVAL_PARTS_MAX; k++)
		if (cand[k][2] >= 2 && cand[k][1] != UINT64_MAX) {
			um->eval[um->neval][0] = cand[k][0];
			um->eval[um->neval++][1] = cand[k][1];
		}
}

/* True if vaddr (the file's) is in a part of the eval loop its symbol
 * does not cover. */
static bool eval_part(struct umod *um, uint64_t vaddr)
{
	if (!um->eval_asked)
		find_eval_parts(um);
	for (uint32_t i = 0; i < um->neval; i++)
		if (vaddr >= um->eval[i][0] && vaddr < um->eval[i][1])
			return true;
	return false;
}

/*
 * Symbolises addr in um: the ELF symbol (.symtab, its debug file's, or
 * .dynsym), else "[file+0xoff]" at the start of its function (from
 * .eh_frame_hdr) or at addr; then the functions DWARF says are inlined at
 * addr, outermost first.  Both from the file's index (symidx.c), built
 * once: libdwfl is asked only what the index cannot decide.
 */
static struct csym *symbolise(struct umod *um, uint64_t addr, bool *unnamed)
{
	long offs[UNWIND_INLINE_MAX + 2];
	const char *inl[UNWIND_INLINE_MAX];
	char label[512];
	size_t len = 0, cap = 0;
	Dwarf_Die *cu;
	const char *name = NULL;
	struct csym *c;
	Dwarf_Addr bias;
	GElf_Off off;
	GElf_Sym sym;
	uint32_t n = 0;
	int ninl;

	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (symidx__func(um->idx, um->mod, um->bias, addr - um->bias, &name) ==
	    SYMIDX_ASK)
		name = dwfl_module_addrinfo(um->mod, addr, &off, &sym, NULL,
					    NULL, NULL);
	*unnamed = !name || !name[0];
	if (*unnamed && eval_part(um, addr - um->bias)) {
		name = "_PyEval_EvalFrameDefault";
		*unnamed = false;
	} else if (*unnamed) {
		uint64_t fstart = addr - um->bias, fnext;

		if (fde_start(dwfl_module_getelf(um->mod, &bias),
			      addr - um->bias, &fstart, &fnext))
			fstart += um->bias;
		else
			fstart = addr;
		snprintf(label, sizeof(label), "[%s+0x%" PRIx64 "]",
			 base_name(um->path), fstart - um->start);
		name = label;
	}
	offs[n++] = strs_add(&c->strs, &len, &cap, name, true);

	/* The eval loop's frames are replaced by Python frames: its inlined
	 * helpers would be thrown away, and it is where most samples of a
	 * Python program land, each at another address. */
	cu = native__is_eval(name) ? NULL :
				     dwfl_module_addrdie(um->mod, addr, &bias);
	ninl = cu ? symidx__inlines(um->idx, cu, addr - bias, inl,
				    UNWIND_INLINE_MAX, native__is_eval) :
		    0;
	/* inl[0] is the innermost: the outermost goes first. */
	for (int i = ninl; i-- > 0;)
		offs[n++] = strs_add(&c->strs, &len, &cap, inl[i], false);
	offs[n++] = strs_add(&c->strs, &len, &cap, um->path, false);

	for (uint32_t i = 0; i < n; i++)
		if (offs[i] < 0) {
			csym_free(c);
			return NULL;
		}
	c->sym.n = n - 1;
	c->sym.unnamed = *unnamed;
	for (uint32_t i = 0; i + 1 < n; i++)
		c->sym.names[i] = c->strs + offs[i];
	c->sym.module = c->strs + offs[n - 1];
	return c;
}

/* Remembers a module with addresses left without a name, for the
 * summary's hint. */
static void note_unnamed(struct unwinder *u, const char *path)
{
	const char *b = base_name(path);

	u->unnamed++;
	for (uint32_t i = 0; i < u->nunnamed_mods; i++)
		if (strcmp(u->unnamed_mods[i], b) == 0)
			return;
	if (u->nunnamed_mods < UNNAMED_MODS_MAX)
		snprintf(u->unnamed_mods[u->nunnamed_mods++],
			 sizeof(u->unnamed_mods[0]), "%s", b);
}

int unwinder__sym(struct unwinder *u, pid_t pid, uint64_t addr,
		  struct unwind_sym *out)
{
	const char *jit;
	struct umod *um;
	struct uproc *p;
	struct csym *c;
	uint64_t key, v, t0;
	bool unnamed;

	memset(out, 0, sizeof(*out));
	p = get_proc(u, pid);
	if (!p)
		return -ESRCH;
	jit = perfmap_find(p, addr);
	um = jit ? NULL : find_mod(p, addr);
	if (!um) {
		if (!jit)
			jit = perfmap_lookup(p, addr);
		out->names[0] = jit ? jit : "[unknown]";
		out->n = 1;
		out->unnamed = !jit;
		return 0;
	}
	key = hash64(um->bid ^ hash64(addr - um->start));
	if (!key)
		key = 1;
	if (hashmap__get(&u->syms, key, &v)) {
		c = (struct csym *)(uintptr_t)v;
		if (c->bid == um->bid && c->rel == addr - um->start) {
			*out = c->sym;
			return 0;
		}
	}
	t0 = cpu_ns();
	c = symbolise(um, addr, &unnamed);
	u->sym_ns += cpu_ns() - t0;
	u->syms_done++;
	if (!c)
		return -ENOMEM;
	if (unnamed)
		note_unnamed(u, um->path);
	c->bid = um->bid;
	c->rel = addr - um->start;
	c->sym.id = ++u->sym_ids;
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
	st->unwind_ns = u->ns;
	st->session_ns = u->session_ns;
	st->syms = u->syms_done;
	st->sym_ns = u->sym_ns;
	st->rows = u->rows_computed;
	st->unnamed = u->unnamed;
	st->unnamed_mods[0] = '\0';
	for (uint32_t i = 0; i < u->nunnamed_mods; i++) {
		size_t l = strlen(st->unnamed_mods);

		snprintf(st->unnamed_mods + l, sizeof(st->unnamed_mods) - l,
			 "%s%s", i ? ", " : "", u->unnamed_mods[i]);
	}
}
