// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "python/python.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/clock.h"
#include "python/linetable.h"
#include "python/pyobj.h"
#include "sampler/proc.h"

/* Largest PyCodeObject prefix we read (code.size of every layout is less). */
#define CODE_READ_MAX 512
/* Code objects cached per process; a program that keeps making new code
 * (eval, templates) starts over when it reaches this many. */
#define CODE_CACHE_MAX 65536

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* The minor version a file name such as libpython3.11.so.1.0, python3.9 or
 * libpython3.13t.so claims, or -1.  *freethreaded is set for a 't' suffix. */
static int name_minor(const char *path, bool *freethreaded)
{
	const char *b = base_name(path), *p = strstr(b, "python3.");
	char *end;
	long minor;

	*freethreaded = false;
	if (!p)
		return -1;
	p += strlen("python3.");
	if (!isdigit((unsigned char)*p))
		return -1;
	minor = strtol(p, &end, 10);
	if (minor < 0 || minor > 99)
		return -1;
	*freethreaded = *end == 't';
	return (int)minor;
}

static bool has_sym(struct elf_file *f, const char *name)
{
	uint64_t v;

	return elf_file__sym(f, name, &v, NULL) == 0;
}

/* "3.8 to 3.15": the versions this build supports, for error lines. */
#define SUPPORTED_STR(buf)                                            \
	(snprintf(buf, sizeof(buf), "3.%u to 3.%u", PYVER_MIN & 0xff, \
		  PYVER_MAX & 0xff),                                  \
	 buf)

/*
 * 3.13+: whether the interpreter in f is a free-threaded build, from the
 * free_threaded member of the _Py_DebugOffsets that _PyRuntime's
 * initializer holds in the file.  1, 0, or -1 if the file does not say.
 */
static int file_free_threaded(struct elf_file *f)
{
	struct {
		char cookie[8];
		uint64_t version, free_threaded;
	} h;
	uint64_t addr;

	if (elf_file__sym(f, "_PyRuntime", &addr, NULL) ||
	    elf_file__read(f, addr, &h, sizeof(h)) ||
	    memcmp(h.cookie, "xdebugpy", 8) != 0 || h.free_threaded > 1)
		return -1;
	return (int)h.free_threaded;
}

int python__elf_version(struct elf_file *f, const char *path, unsigned *version,
			char *vstr, size_t vlen, bool *free_threaded, char *err,
			size_t errlen)
{
	uint64_t addr, hex = 0;
	int minor, hint, file_ft;
	char sup[32];
	bool ft;

	if (free_threaded)
		*free_threaded = false;
	if (!has_sym(f, "_PyRuntime")) {
		if (has_sym(f, "Py_GetVersion")) {
			snprintf(
				err, errlen,
				"%s is a Python older than 3.7 (it has no _PyRuntime): "
				"pyprof-bpf supports CPython %s",
				path, SUPPORTED_STR(sup));
			return -ENOTSUP;
		}
		snprintf(err, errlen, "%s holds no CPython interpreter", path);
		return -ENOEXEC;
	}

	if (elf_file__sym(f, "Py_Version", &addr, NULL) == 0) {
		/* 3.11+ export Py_Version, a const unsigned long holding
		 * PY_VERSION_HEX (gh-89157). */
		if (elf_file__read(f, addr, &hex, sizeof(hex)) != 0) {
			snprintf(err, errlen,
				 "%s: cannot read Py_Version from the file",
				 path);
			return -EINVAL;
		}
		if ((hex >> 24) != 3) {
			snprintf(
				err, errlen,
				"%s: Py_Version is 0x%llx, not a CPython 3 version",
				path, (unsigned long long)hex);
			return -ENOTSUP;
		}
		minor = (int)((hex >> 16) & 0xff);
	} else if (has_sym(f, "Py_IsNone")) {
		minor = 10; /* Py_IsNone() is new in 3.10 (bpo-43753) */
	} else if (has_sym(f, "PyFrame_GetCode")) {
		minor = 9; /* PyFrame_GetCode() is new in 3.9 (bpo-40421) */
	} else if (has_sym(f, "PyCode_NewWithPosOnlyArgs")) {
		minor = 8; /* positional-only parameters are new in 3.8 */
	} else {
		minor = 7; /* _PyRuntime exists since 3.7 */
	}

	hint = name_minor(path, &ft);
	if (hint >= 0 && hint != minor) {
		snprintf(
			err, errlen,
			"%s: its name says Python 3.%d but its symbols say 3.%d; "
			"refusing to guess",
			path, hint, minor);
		return -EINVAL;
	}
	/*
	 * Free-threaded (Py_GIL_DISABLED) builds exist from 3.13 on; the file's
	 * own _Py_DebugOffsets say which build it is.  The 't' of python3.13t
	 * or libpython3.14t.so must not say otherwise (a name without it says
	 * nothing: python3 may be either).
	 */
	file_ft = minor >= 13 ? file_free_threaded(f) : -1;
	if (file_ft == 0 && ft) {
		snprintf(err, errlen,
			 "%s: its name says a free-threaded build but its "
			 "_Py_DebugOffsets say a default (GIL) one; refusing "
			 "to guess",
			 path);
		return -EINVAL;
	} else if (file_ft >= 0) {
		ft = file_ft == 1;
	} else if (ft && minor < 13) {
		snprintf(
			err, errlen,
			"%s: its name says a free-threaded build, which CPython "
			"3.%d does not have; refusing to guess",
			path, minor);
		return -EINVAL;
	}

	if (hex) {
		static const char *level[16] = {
			[0xa] = "a", [0xb] = "b", [0xc] = "rc"
		};
		unsigned lv = (hex >> 4) & 0xf, serial = hex & 0xf;

		snprintf(vstr, vlen, "3.%d.%u%s", minor,
			 (unsigned)((hex >> 8) & 0xff),
			 lv != 0xf && level[lv] ? level[lv] : "");
		if (lv != 0xf && level[lv])
			snprintf(vstr + strlen(vstr), vlen - strlen(vstr), "%u",
				 serial);
	} else {
		snprintf(vstr, vlen, "3.%d", minor);
	}
	/* python3.14t's own spelling of its build. */
	if (ft)
		snprintf(vstr + strlen(vstr), vlen - strlen(vstr), "t");
	*version = PYVER(3, minor);
	if (free_threaded)
		*free_threaded = ft;
	if (*version > PYVER_MAX) {
		snprintf(err, errlen,
			 "%s is Python %s, newer than 3.%u, the newest "
			 "pyprof-bpf supports (CPython %s)",
			 path, vstr, PYVER_MAX & 0xff, SUPPORTED_STR(sup));
		return -ENOTSUP;
	}
	if (*version < PYVER_MIN) {
		snprintf(err, errlen,
			 "%s is Python %s: pyprof-bpf supports CPython %s",
			 path, vstr, SUPPORTED_STR(sup));
		return -ENOTSUP;
	}
	return 0;
}

/*
 * What one ELF file says: whether it holds a CPython, which, and where its
 * _PyRuntime is.  Kept per file (device, inode, size, mtime), with the file
 * open for the load bias: a host running many Pythons (-a) shares a handful
 * of interpreter files, and reading their symbol tables is the expensive
 * part of attaching.
 */
struct elf_verdict {
	uint64_t dev, ino, size, mtime_ns;
	struct elf_file *f;
	int rc; /* python__elf_version's, or -EINVAL: no _PyRuntime */
	unsigned version;
	bool ft; /* a free-threaded build */
	bool noted; /* its layout note was printed (once per file) */
	char vstr[32];
	char why[256];
	uint64_t runtime_vaddr;
	uint64_t code_type_vaddr; /* PyCode_Type, 0 if not exported */
	uint64_t code_gen_vaddr; /* 3.12's _Py_next_func_version, 0 if the
				    file has no symbol table (code_gen) */
	uint32_t code_gen_off; /* 3.13's func_state.next_version in
				  PyInterpreterState, PY_OFF_NONE if the
				  file has no DWARF for it (code_gen) */
	uint32_t pthread_size; /* a glibc's sizeof(struct pthread), 0 until
				  read (glibc_pthread_size) */
};

#define ELF_CACHE_SIZE 32
static struct elf_verdict elf_cache[ELF_CACHE_SIZE];
static unsigned elf_cache_next;
/* The agent samples in more than one thread (a control socket run has a
 * session of its own, src/serve/control.c): whoever holds a verdict of
 * the cache holds this lock, from python__attach and python__expect. */
static pthread_mutex_t elf_cache_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * 3.13 counts the code objects it makes in the interpreter's
 * func_state.next_version, which no _Py_DebugOffsets gives: its offset
 * from the file's own DWARF (a build with debug info), as the unit that
 * makes code objects declares it.  PY_OFF_NONE if not found.
 */
static uint32_t next_version_off(struct elf_file *f)
{
	static const char *const path[] = { "func_state", "next_version" };
	uint64_t off, size;

	if (elf_file__member(f, "Objects/codeobject.c", "_is", path, 2, &off,
			     &size) != 0 ||
	    size != 4 || off >= PY_OFF_NONE)
		return PY_OFF_NONE;
	return (uint32_t)off;
}

/* Opens a file of pid's, as pid sees it; falls back to the mapping itself
 * (map_files) when the path no longer opens (deleted or replaced). */
static struct elf_verdict *target_file(pid_t pid, const struct proc_map *m)
{
	char path[PATH_MAX + 64];
	struct elf_verdict *v;
	struct stat st;
	struct elf_file *f;
	uint64_t size = 0;

	proc__root_path(pid, m->path, path, sizeof(path));
	if (stat(path, &st) != 0 || st.st_ino != m->inode) {
		snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx",
			 pid, (unsigned long long)m->start,
			 (unsigned long long)m->end);
		if (stat(path, &st) != 0)
			return NULL;
	}
	for (unsigned i = 0; i < ELF_CACHE_SIZE; i++) {
		v = &elf_cache[i];
		if (v->f && v->dev == st.st_dev && v->ino == st.st_ino &&
		    v->size == (uint64_t)st.st_size &&
		    v->mtime_ns == (uint64_t)st.st_mtim.tv_sec * 1000000000ull +
					   (uint64_t)st.st_mtim.tv_nsec)
			return v;
	}
	f = elf_file__open(path);
	if (!f)
		return NULL;
	v = &elf_cache[elf_cache_next++ % ELF_CACHE_SIZE];
	elf_file__close(v->f);
	memset(v, 0, sizeof(*v));
	v->f = f;
	v->dev = st.st_dev;
	v->ino = st.st_ino;
	v->size = (uint64_t)st.st_size;
	v->mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull +
		      (uint64_t)st.st_mtim.tv_nsec;
	v->rc = python__elf_version(f, m->path, &v->version, v->vstr,
				    sizeof(v->vstr), &v->ft, v->why,
				    sizeof(v->why));
	if (v->rc == 0 &&
	    elf_file__sym(f, "_PyRuntime", &v->runtime_vaddr, NULL) != 0) {
		snprintf(v->why, sizeof(v->why),
			 "%s: cannot place _PyRuntime in memory", m->path);
		v->rc = -EINVAL;
	}
	if (v->rc == 0 &&
	    elf_file__sym(f, "PyCode_Type", &v->code_type_vaddr, NULL) != 0)
		v->code_type_vaddr = 0;
	if (v->rc == 0 && v->version == PYVER(3, 12) &&
	    (elf_file__sym(f, "_Py_next_func_version", &v->code_gen_vaddr,
			   &size) != 0 ||
	     size != 4))
		v->code_gen_vaddr = 0;
	v->code_gen_off = PY_OFF_NONE;
	if (v->rc == 0 && v->version == PYVER(3, 13) && !v->ft)
		v->code_gen_off = next_version_off(f);
	return v;
}

static bool is_candidate(const struct proc_map *m, const char *exe)
{
	const char *b = base_name(m->path);

	if (m->path[0] != '/' || m->pgoff != 0)
		return false;
	return strncmp(b, "libpython", 9) == 0 || strcmp(m->path, exe) == 0;
}

/*
 * Whether the process runs the file of mapping m rather than only reading
 * it: one of the file's mappings is executable.  pyprof-bpf itself maps
 * every libpython it looks at, to read its symbols (so do debuggers and
 * indexers); and while the dynamic loader loads libpython, it is mapped
 * whole, read-only, for a moment before its segments are.
 */
static bool runs_file(const struct proc_maps *maps, const struct proc_map *m)
{
	for (int i = 0; i < maps->n; i++)
		if (maps->v[i].perms[2] == 'x' &&
		    maps->v[i].inode == m->inode &&
		    strcmp(maps->v[i].path, m->path) == 0)
			return true;
	return false;
}

/*
 * Where the executable mappings of m's file come from in it, in the form
 * the sampler recognises a process by (struct interp_file_seg): for a
 * mapping of file offset off, the load bias is start - off - delta.
 */
static void exec_segs(struct py_target *t, const struct proc_maps *maps,
		      const struct proc_map *m, uint64_t bias)
{
	t->file_dev = m->dev;
	t->file_ino = m->inode;
	t->nsegs = 0;
	for (int i = 0; i < maps->n && t->nsegs < INTERP_FILE_SEGS; i++) {
		const struct proc_map *x = &maps->v[i];
		struct interp_file_seg *sg = &t->segs[t->nsegs];

		if (x->perms[2] != 'x' || x->inode != m->inode ||
		    strcmp(x->path, m->path) != 0)
			continue;
		sg->off = x->pgoff;
		sg->end = x->pgoff + (x->end - x->start);
		sg->delta = x->start - x->pgoff - bias;
		t->nsegs++;
	}
}

/* The executable file of pid (or path, in pid's root, if not NULL) as the
 * kernel names it, into t->exe_dev and t->exe_ino (0 if unknown). */
static void exe_id(pid_t pid, const char *path, struct py_target *t)
{
	char p[PATH_MAX + 64];
	struct stat st;

	if (path)
		proc__root_path(pid, path, p, sizeof(p));
	else
		snprintf(p, sizeof(p), "/proc/%d/exe", pid);
	t->exe_dev = t->exe_ino = 0;
	if (stat(p, &st) != 0)
		return;
	t->exe_dev = (uint64_t)major(st.st_dev) << 20 | minor(st.st_dev);
	t->exe_ino = st.st_ino;
}

/* Whether addr is in a writable mapping: _PyRuntime of a loaded
 * interpreter is in its .data or .bss. */
static bool writable_at(const struct proc_maps *maps, uint64_t addr)
{
	for (int i = 0; i < maps->n; i++)
		if (addr >= maps->v[i].start && addr < maps->v[i].end)
			return maps->v[i].perms[1] == 'w';
	return false;
}

/*
 * While the dynamic loader maps libpython, its whole span is first mapped
 * from the file's start and the segments then mapped over it: _PyRuntime
 * may read as other bytes for a moment.  A process this young whose
 * _Py_DebugOffsets does not read right is looked at again.
 */
#define LOADING_SECS 5.0

/* Whether version string vstr ("3.15.0b2", "3.14.1t") is an alpha, beta
 * or release candidate. */
static bool is_prerelease(const char *vstr)
{
	const char *p = vstr + strspn(vstr, "0123456789.");

	return *p == 'a' || *p == 'b' || (p[0] == 'r' && p[1] == 'c');
}

/* The patch level of "3.14.10", or 0 when vstr has none ("3.9"). */
static unsigned micro_of(const char *vstr)
{
	const char *p = strchr(vstr, '.');

	p = p ? strchr(p + 1, '.') : NULL;
	return p ? (unsigned)strtoul(p + 1, NULL, 10) : 0;
}

/*
 * 3.13+: take the layout from the target's own _Py_DebugOffsets.  0;
 * -EAGAIN when the process is too young for what it shows to be final;
 * -ENOTSUP (err set) for a pre-release whose offsets cannot be taken: the
 * built-in table is no description of it.  A note on how the target
 * differs from the table is printed once per interpreter file (v).
 */
static int use_debug_offsets(struct py_target *t, struct elf_verdict *v,
			     char *err, size_t errlen)
{
	struct py_layout builtin;
	uint8_t buf[2048];
	struct py_layout dl;
	char why[256], diff[256];
	double age;
	bool young = proc__age(t->pid, &age) == 0 && age < LOADING_SECS;
	bool pre = is_prerelease(t->version_str);
	int ndiff;

	if (t->version < PYVER(3, 13))
		return 0;
	if (rmem__read(&t->mem, t->runtime_addr, buf, sizeof(buf)) != 0) {
		if (young)
			return -EAGAIN;
		snprintf(why, sizeof(why), "cannot read its _Py_DebugOffsets");
		goto unusable;
	}
	if (py_layout__from_debug_offsets(buf, sizeof(buf), &dl, why,
					  sizeof(why)) != 0) {
		if (young)
			return -EAGAIN;
		goto unusable;
	}
	if (dl.version != t->version ||
	    dl.free_threaded != t->layout.free_threaded) {
		snprintf(why, sizeof(why),
			 "its _Py_DebugOffsets say %s, the binary %s", dl.name,
			 t->layout.name);
		goto unusable;
	}
	builtin = t->layout;
	ndiff = py_layout__diff(&dl, &builtin, diff, sizeof(diff));
	if (ndiff && !v->noted)
		fprintf(stderr,
			"pyprof-bpf: note: CPython %s (%s)%s lays out %d "
			"field%s unlike pyprof-bpf's %s table (first: %s, "
			"target != table): its own _Py_DebugOffsets are used\n",
			t->version_str, t->elf_path,
			pre ? ", a pre-release," : "", ndiff,
			ndiff == 1 ? "" : "s", builtin.name, diff);
	v->noted = true;
	t->layout = dl;
	t->debug_offsets = true;
	return 0;

unusable:
	if (pre) {
		/* Cut to fit err if need be: the start says what matters. */
		if (snprintf(err, errlen,
			     "CPython %s (%s) is a pre-release whose own layout "
			     "cannot be used (%s): profile a release (rc or "
			     "final) of 3.%u",
			     t->version_str, t->elf_path, why,
			     t->version & 0xff) < 0)
			err[0] = '\0';
		return -ENOTSUP;
	}
	if (!v->noted)
		fprintf(stderr,
			"pyprof-bpf: warning: pid %d: %s; using pyprof-bpf's "
			"table for %s\n",
			t->pid, why, t->layout.name);
	v->noted = true;
	return 0;
}

/*
 * Why pid has no memory map to read (proc__maps failed with rc), in err:
 * gone, a zombie, a kernel thread, or the kernel's refusal.  The -errno
 * python__attach returns.
 */
static int no_memory(pid_t pid, int rc, char *err, size_t errlen)
{
	char comm[64] = "?", caps[256], also[300] = "";
	pid_t ppid;

	proc__comm(pid, 0, comm, sizeof(comm));
	if (rc == -EACCES || rc == -EPERM) {
		if (proc__caps_lacked(pid, caps, sizeof(caps)))
			snprintf(also, sizeof(also),
				 " (it holds %s, which pyprof-bpf lacks)",
				 caps);
		snprintf(err, errlen,
			 "cannot read the memory of process %d (%s): %s%s: "
			 "the kernel refused even with CAP_SYS_PTRACE, so "
			 "pyprof-bpf is confined where the process is not (a "
			 "container, Landlock, SELinux, AppArmor, or "
			 "kernel.yama.ptrace_scope=3): run pyprof-bpf as root "
			 "on the host or in the process's own container",
			 pid, comm, strerror(-rc), also);
		return rc;
	}
	if (rc != -ESRCH) {
		snprintf(err, errlen, "cannot read /proc/%d/maps: %s", pid,
			 strerror(-rc));
		return rc;
	}
	switch (proc__kind(pid, &ppid)) {
	case PROC_ZOMBIE:
		snprintf(err, errlen,
			 "process %d (%s) has exited: it is a zombie its "
			 "parent (pid %d) has not reaped, with nothing left "
			 "to profile; give the pid of a running CPython "
			 "process",
			 pid, comm, ppid);
		return -ESRCH;
	case PROC_KTHREAD:
		snprintf(err, errlen,
			 "process %d (%s) is a kernel thread, not a Python "
			 "process: give the pid of a CPython 3.8-3.15 process "
			 "(ps -ef | grep python)",
			 pid, comm);
		return -ENOEXEC;
	default:
		snprintf(err, errlen,
			 "no process with pid %d: check the pid "
			 "(ps -ef | grep python)",
			 pid);
		return -ESRCH;
	}
}

/* A process older than this whose runtime has no interpreter does not run
 * one (start-up takes milliseconds, tens on a loaded machine). */
#define LIVE_SECS 2.0

/*
 * Whether pid runs the interpreter of file v, whose _PyRuntime is at
 * runtime: it has one (its list of interpreters is not empty), or it is
 * young enough to be starting it.  A process that loaded a libpython and
 * never ran it (a plugin host, a 3.11 that dlopen'd 3.12's) is not that
 * Python.
 */
static bool runs_interp(pid_t pid, const struct elf_verdict *v,
			uint64_t runtime)
{
	const struct py_layout *l = py_layout__builtin(v->version);
	struct rmem m;
	uint64_t interp = 0;
	double age;

	if (!l)
		return true; /* said later: no offsets */
	rmem__init_pid(&m, pid);
	if (rmem__read_u64(&m, runtime + l->walk.runtime_interp_head,
			   &interp) == 0 &&
	    interp)
		return true;
	return proc__age(pid, &age) != 0 || age < LIVE_SECS;
}

/* Why nothing of a process was found to be a CPython. */
struct attach_why {
	char why[PATH_MAX + 256]; /* the last file's reason */
	char idle[PATH_MAX + 64]; /* a libpython loaded, no interpreter run */
};

static int find_library(pid_t pid, struct elf_file *exe, const char *exe_path,
			const char *name, char *out, size_t len);

/*
 * What pthread_self(), which CPython keeps in PyThreadState.thread_id, is
 * below the thread pointer (py_proc_cfg.thread_ptr_off).  On x86-64 it is
 * the thread pointer itself.  On arm64 glibc keeps its struct pthread just
 * below the thread control block the thread pointer points to, and tells
 * libthread_db how large it is in _thread_db_sizeof_pthread.
 */
#ifdef __aarch64__
#define PTHREAD_BELOW_TP 1
#else
#define PTHREAD_BELOW_TP 0
#endif

/* _thread_db_sizeof_pthread of file m of pid's (glibc, or an executable
 * glibc is linked into), read once per file through the ELF cache: -a
 * attaches a host's processes by the thousand, over a libc or two.  0 or
 * -ENOENT, a reason in why. */
static int glibc_pthread_size(pid_t pid, const struct proc_map *m,
			      uint32_t *size, char *why, size_t whylen)
{
	struct elf_verdict *v = target_file(pid, m);
	uint64_t vaddr;
	uint32_t n = 0;

	/* struct pthread is a couple of KiB; anything else is not it. */
	if (v && !v->pthread_size &&
	    !elf_file__sym(v->f, "_thread_db_sizeof_pthread", &vaddr, NULL) &&
	    !elf_file__read(v->f, vaddr, &n, sizeof(n)) && n >= 256 &&
	    n <= 65536)
		v->pthread_size = n;
	if (!v || !v->pthread_size) {
		snprintf(why, whylen,
			 "%s is unreadable or has no _thread_db_sizeof_pthread "
			 "(not glibc?): its threads cannot be told apart on "
			 "this architecture",
			 m->path);
		return -ENOENT;
	}
	*size = v->pthread_size;
	return 0;
}

/* py_proc_cfg.thread_ptr_off of pid, whose interpreter file f is at path:
 * from the libc its maps show, else (a process just started, before the
 * loader mapped it) where the loader will find it, else from f itself (a
 * static executable).  0 or -errno, a reason in why. */
static int thread_ptr_off(pid_t pid, const struct proc_maps *maps,
			  struct elf_file *f, const char *path, uint32_t *off,
			  char *why, size_t whylen)
{
	char libc[PATH_MAX], root_path[PATH_MAX + 64];
	struct proc_map lm = { .path = libc };
	struct stat st;

	*off = 0;
	if (!PTHREAD_BELOW_TP)
		return 0;
	for (int i = 0; maps && i < maps->n; i++) {
		const struct proc_map *m = &maps->v[i];
		const char *base = strrchr(m->path, '/');

		if (m->path[0] == '/' && base &&
		    (!strncmp(base + 1, "libc.so", 7) ||
		     !strncmp(base + 1, "libc-", 5)))
			return glibc_pthread_size(pid, m, off, why, whylen);
	}
	if (find_library(pid, f, path, "libc.so.6", libc, sizeof(libc)))
		snprintf(libc, sizeof(libc), "%s", path);
	proc__root_path(pid, libc, root_path, sizeof(root_path));
	if (stat(root_path, &st) == 0)
		lm.inode = st.st_ino;
	return glibc_pthread_size(pid, &lm, off, why, whylen);
}

/*
 * Whether mapping m of pid's maps is its running interpreter: then
 * describes it into t, *found its file's verdict, and returns 0; else
 * -ENOEXEC (not this one: look on) or another -errno (what it is cannot
 * be profiled), the reason in w.
 */
static int try_mapping(pid_t pid, const struct proc_maps *maps,
		       const struct proc_map *m, struct py_target *t,
		       struct attach_why *w, struct elf_verdict **found)
{
	struct elf_verdict *v = target_file(pid, m);
	uint64_t bias;
	int rc;

	if (!v)
		return -ENOEXEC;
	rc = v->rc;
	snprintf(w->why, sizeof(w->why), "%s", v->why);
	if (rc)
		return rc;
	if (elf_file__bias(v->f, maps, m->path, &bias)) {
		snprintf(w->why, sizeof(w->why),
			 "%s: cannot place _PyRuntime in memory", m->path);
		return -EINVAL;
	}
	if (!writable_at(maps, bias + v->runtime_vaddr)) {
		snprintf(w->why, sizeof(w->why),
			 "%s is mapped but its _PyRuntime is not in writable "
			 "memory",
			 m->path);
		return -ENOEXEC;
	}
	if (!runs_interp(pid, v, bias + v->runtime_vaddr)) {
		snprintf(w->idle, sizeof(w->idle),
			 "%s is loaded but runs no interpreter", m->path);
		return -ENOEXEC;
	}
	t->version = v->version;
	snprintf(t->version_str, sizeof(t->version_str), "%s", v->vstr);
	snprintf(t->elf_path, sizeof(t->elf_path), "%s", m->path);
	t->runtime_addr = bias + v->runtime_vaddr;
	t->runtime_vaddr = v->runtime_vaddr;
	t->code_type = v->code_type_vaddr ? bias + v->code_type_vaddr : 0;
	rc = thread_ptr_off(pid, maps, v->f, m->path, &t->thread_ptr_off,
			    w->why, sizeof(w->why));
	if (rc)
		return rc;
	exec_segs(t, maps, m, bias);
	exe_id(pid, NULL, t);
	*found = v;
	return 0;
}

/*
 * A count that moves with every code object made lets the walk keep
 * fingerprints from sample to sample, as 3.14+'s count of those freed
 * does (bpf/pyprof_shared.h, PY_CFG_CODE_GEN_U32).  3.12 keeps it in the
 * global _Py_next_func_version, found by its symbol, local to the file;
 * 3.13 in the interpreter, found by the file's DWARF (next_version_off).
 * Both are uint32s that stop at 0.  A file without either walks without.
 */
static void code_gen(struct py_target *t, const struct elf_verdict *v)
{
	int64_t d = (int64_t)(v->code_gen_vaddr - v->runtime_vaddr);

	if (t->layout.free_threaded)
		return;
	if (t->version == PYVER(3, 13) && v->code_gen_off != PY_OFF_NONE &&
	    t->layout.walk.tstate_interp != PY_OFF_NONE) {
		t->layout.walk.interp_code_gen = v->code_gen_off;
		return;
	}
	if (t->version != PYVER(3, 12) || !v->code_gen_vaddr ||
	    d < INT32_MIN || d > INT32_MAX || (uint32_t)d == PY_OFF_NONE)
		return;
	t->layout.walk.interp_code_gen = (uint32_t)d;
	t->layout.code_gen_runtime = 1;
}

/* The layout of the interpreter t runs (file verdict v): the built-in
 * table, then its own _Py_DebugOffsets (3.13+).  0 or -errno, err set. */
static int take_layout(struct py_target *t, struct elf_verdict *v,
		       const char *comm, char *err, size_t errlen)
{
	char why[PATH_MAX + 256] = "";
	int rc;

	if (py_layout__lookup(t->version, micro_of(t->version_str), v->ft,
			      &t->layout)) {
		snprintf(err, errlen,
			 "process %d (%s) runs Python %s, which this "
			 "build has no offsets for",
			 t->pid, comm, t->version_str);
		return -ENOTSUP;
	}
	rc = use_debug_offsets(t, v, why, sizeof(why));
	if (rc == -EAGAIN)
		snprintf(err, errlen,
			 "process %d (%s): libpython is still being loaded",
			 t->pid, comm);
	else if (rc)
		snprintf(err, errlen, "process %d (%s): %s", t->pid, comm, why);
	if (rc)
		python__detach(t);
	else
		code_gen(t, v);
	return rc;
}

static int attach(pid_t pid, struct py_target *t, char *err, size_t errlen)
{
	char exe[PATH_MAX], exe_link[64], comm[64] = "?";
	struct attach_why w = { "", "" };
	struct proc_maps maps;
	struct elf_verdict *found = NULL;
	int rc = -ENOEXEC;
	ssize_t n;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	rmem__init_pid(&t->mem, pid);
	rc = proc__maps(pid, &maps);
	if (rc)
		return no_memory(pid, rc, err, errlen);
	proc__comm(pid, 0, comm, sizeof(comm));
	snprintf(exe_link, sizeof(exe_link), "/proc/%d/exe", pid);
	n = readlink(exe_link, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';

	/* libpython first: with a shared libpython the executable is a stub.
	 * The first file that is a CPython but cannot be profiled ends the
	 * search with its reason. */
	rc = -ENOEXEC;
	for (int pass = 0; pass < 2 && rc == -ENOEXEC; pass++) {
		for (int i = 0; i < maps.n && rc == -ENOEXEC; i++) {
			const struct proc_map *m = &maps.v[i];
			bool lib = strncmp(base_name(m->path), "libpython",
					   9) == 0;

			if (is_candidate(m, exe) && lib == (pass == 0) &&
			    runs_file(&maps, m))
				rc = try_mapping(pid, &maps, m, t, &w, &found);
		}
	}
	proc__maps_free(&maps);
	if (rc == 0)
		return take_layout(t, found, comm, err, errlen);
	if (rc == -ENOEXEC && w.idle[0])
		snprintf(err, errlen,
			 "process %d (%s) is not a Python process: %s; give "
			 "the pid of a CPython 3.%u-3.%u process",
			 pid, comm, w.idle, PYVER_MIN & 0xff, PYVER_MAX & 0xff);
	else if (rc == -ENOEXEC)
		snprintf(
			err, errlen,
			"process %d (%s) is not a Python process: no libpython is "
			"mapped and %s exports no _PyRuntime; give the pid of a "
			"CPython 3.%u-3.%u process",
			pid, comm, exe[0] ? exe : "its executable",
			PYVER_MIN & 0xff, PYVER_MAX & 0xff);
	else
		snprintf(err, errlen, "process %d (%s): %s", pid, comm, w.why);
	return rc;
}

/*
 * Describes the interpreter file path (as process pid names it) into *t,
 * as python__attach would for a process that had it mapped, with a load
 * bias of 0: runtime_addr is _PyRuntime's vaddr.  0 or -errno.
 */
static int describe_file(pid_t pid, const char *path, struct py_target *t)
{
	char root_path[PATH_MAX + 64];
	struct elf_seg segs[INTERP_FILE_SEGS];
	struct proc_map m = { .path = (char *)path };
	const struct elf_verdict *v;
	const struct py_layout *layout;
	struct py_layout dl;
	uint8_t buf[2048];
	struct stat st;
	char why[256];
	int n;

	proc__root_path(pid, path, root_path, sizeof(root_path));
	if (stat(root_path, &st) != 0)
		return -errno;
	m.inode = st.st_ino;
	v = target_file(pid, &m);
	if (!v)
		return -ENOENT;
	if (v->rc)
		return v->rc;
	layout = py_layout__builtin(v->version);
	if (!layout)
		return -ENOTSUP;
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	rmem__init_pid(&t->mem, pid);
	t->version = v->version;
	snprintf(t->version_str, sizeof(t->version_str), "%s", v->vstr);
	snprintf(t->elf_path, sizeof(t->elf_path), "%s", path);
	t->runtime_addr = t->runtime_vaddr = v->runtime_vaddr;
	t->code_type = v->code_type_vaddr;
	t->layout = *layout;
	/* 3.13+: _Py_DebugOffsets is _PyRuntime's initial value, in the
	 * file's .data; anything less certain and the process is looked at
	 * once it runs. */
	if (t->version >= PYVER(3, 13)) {
		if (elf_file__read(v->f, v->runtime_vaddr, buf, sizeof(buf)) ||
		    py_layout__from_debug_offsets(buf, sizeof(buf), &dl, why,
						  sizeof(why)) ||
		    dl.version != t->version)
			return -EAGAIN;
		t->layout = dl;
		t->debug_offsets = true;
	}
	code_gen(t, v);
	if (thread_ptr_off(pid, NULL, v->f, path, &t->thread_ptr_off, why,
			   sizeof(why)))
		return -EAGAIN;
	t->file_dev = (uint64_t)major(st.st_dev) << 20 | minor(st.st_dev);
	t->file_ino = st.st_ino;
	n = elf_file__exec_segs(v->f, segs, INTERP_FILE_SEGS);
	for (int i = 0; i < n; i++) {
		uint64_t off = segs[i].offset & ~4095ull;

		t->segs[i].off = off;
		t->segs[i].end = (segs[i].offset + segs[i].filesz + 4095) &
				 ~4095ull;
		t->segs[i].delta = elf_file__is_exec(v->f) ?
					   0 :
					   (segs[i].vaddr & ~4095ull) - off;
	}
	t->nsegs = (uint32_t)n;
	return n ? 0 : -ENOEXEC;
}

/* Whether path (in pid's root) is a file. */
static bool file_in(pid_t pid, const char *path)
{
	char root_path[PATH_MAX + 64];
	struct stat st;

	proc__root_path(pid, path, root_path, sizeof(root_path));
	return stat(root_path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * Where the dynamic loader of pid will find library name, as it searches
 * (ld.so(8)): DT_RPATH when there is no DT_RUNPATH, LD_LIBRARY_PATH,
 * DT_RUNPATH, then the default directories (its cache is not read: a
 * library only it knows is found once it is mapped).  0 or -ENOENT.
 */
static int find_library(pid_t pid, struct elf_file *exe, const char *exe_path,
			const char *name, char *out, size_t len)
{
	static const char *const defaults =
		"/lib/" PY_MULTIARCH ":/usr/lib/" PY_MULTIARCH ":/lib64:"
		"/usr/lib64:/lib:/usr/lib:/usr/local/lib";
	char env[8192] = "", origin[PATH_MAX], envpath[64], *ldlp = NULL;
	const char *rpath = NULL, *runpath = NULL, *lists[4];
	const char *slash = strrchr(exe_path, '/');
	size_t n;
	FILE *f;

	snprintf(origin, sizeof(origin), "%.*s",
		 slash ? (int)(slash - exe_path) : 0, exe_path);
	if (elf_file__dyn_strs(exe, DT_RUNPATH, &runpath, 1) != 1)
		elf_file__dyn_strs(exe, DT_RPATH, &rpath, 1);
	snprintf(envpath, sizeof(envpath), "/proc/%d/environ", pid);
	f = fopen(envpath, "re");
	if (f) {
		n = fread(env, 1, sizeof(env) - 1, f);
		fclose(f);
		env[n] = '\0';
		for (char *e = env; e < env + n; e += strlen(e) + 1)
			if (strncmp(e, "LD_LIBRARY_PATH=", 16) == 0)
				ldlp = e + 16;
	}
	lists[0] = rpath;
	lists[1] = ldlp;
	lists[2] = runpath;
	lists[3] = defaults;
	for (int l = 0; l < 4; l++) {
		const char *p = lists[l];

		while (p && *p) {
			size_t dl = strcspn(p, ":");
			char dir[PATH_MAX];
			int w;

			if (dl >= 7 && strncmp(p, "$ORIGIN", 7) == 0)
				w = snprintf(dir, sizeof(dir), "%s%.*s", origin,
					     (int)(dl - 7), p + 7);
			else if (dl >= 9 && strncmp(p, "${ORIGIN}", 9) == 0)
				w = snprintf(dir, sizeof(dir), "%s%.*s", origin,
					     (int)(dl - 9), p + 9);
			else
				w = snprintf(dir, sizeof(dir), "%.*s", (int)dl,
					     p);
			p += dl + (p[dl] == ':');
			if (w <= 0 || (size_t)w >= sizeof(dir))
				continue;
			w = snprintf(out, len, "%s/%s", dir, name);
			if (w <= 0 || (size_t)w >= len)
				continue;
			if (file_in(pid, out))
				return 0;
		}
	}
	return -ENOENT;
}

int python__attach(pid_t pid, struct py_target *t, char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&elf_cache_lock);
	rc = attach(pid, t, err, errlen);
	pthread_mutex_unlock(&elf_cache_lock);
	return rc;
}

static int expect(pid_t pid, const char *path, struct py_target *t)
{
	char exe[PATH_MAX], open_path[PATH_MAX + 64], lib[PATH_MAX];
	const char *needed[64];
	struct elf_file *f;
	uint64_t v;
	ssize_t n;
	int rc = -ENOEXEC, k;

	if (path) {
		snprintf(exe, sizeof(exe), "%s", path);
		proc__root_path(pid, path, open_path, sizeof(open_path));
	} else {
		snprintf(open_path, sizeof(open_path), "/proc/%d/exe", pid);
		n = readlink(open_path, exe, sizeof(exe) - 1);
		if (n <= 0)
			return -ESRCH;
		exe[n] = '\0';
	}
	f = elf_file__open(open_path);
	if (!f)
		return -ENOEXEC;
	if (elf_file__sym(f, "_PyRuntime", &v, NULL) == 0) {
		rc = describe_file(pid, exe, t);
		exe_id(pid, path, t);
		goto out;
	}
	k = elf_file__dyn_strs(f, DT_NEEDED, needed, 64);
	for (int i = 0; i < k; i++) {
		if (strncmp(needed[i], "libpython3", 10) != 0)
			continue;
		if (find_library(pid, f, exe, needed[i], lib, sizeof(lib)) == 0)
			rc = describe_file(pid, lib, t);
		if (rc == 0)
			exe_id(pid, path, t);
		break;
	}
out:
	elf_file__close(f);
	return rc;
}

static void code_free(struct py_code *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->filename);
	free(c->linetable);
	free(c);
}

static void code_cache_clear(struct py_target *t)
{
	for (size_t i = 0; i < t->codes.cap; i++)
		if (t->codes.keys[i])
			code_free(
				(struct py_code *)(uintptr_t)t->codes.vals[i]);
	hashmap__free(&t->codes);
}

void python__detach(struct py_target *t)
{
	code_cache_clear(t);
}

void python__clone(const struct py_target *from, pid_t pid,
		   struct py_target *to)
{
	*to = *from;
	to->pid = pid;
	memset(&to->codes, 0, sizeof(to->codes));
	to->code_errors = 0;
	to->code_stale = 0;
	rmem__init_pid(&to->mem, from->pid);
}

void python__from_file(const struct py_target *proto, pid_t pid,
		       uint64_t runtime_addr, struct py_target *to)
{
	uint64_t delta = runtime_addr - proto->runtime_addr;

	python__clone(proto, pid, to);
	rmem__init_pid(&to->mem, pid);
	to->runtime_addr = runtime_addr;
	if (to->code_type)
		to->code_type += delta;
}

static char *read_str_at(const struct py_target *t, uint64_t addr)
{
	char buf[PYOBJ_STR_MAX * 4 + 1];

	if (pyobj__read_str(&t->layout, &t->mem, addr, buf, sizeof(buf)) < 0)
		return NULL;
	return strdup(buf);
}

/* The offset of the name the profile shows: co_qualname from 3.11. */
static uint32_t name_offset(const struct py_layout *l)
{
	return l->code.qualname != PY_OFF_NONE ? l->code.qualname :
						 l->code.name;
}

uint32_t python__code_fp(const struct py_layout *l, const uint8_t *buf)
{
	return py_code_fp(rmem__ld64(buf + l->code.filename),
			  rmem__ld64(buf + l->code.name),
			  rmem__ld64(buf + l->code.linetable));
}

/*
 * Whether the object read into buf is a live code object.  A freed one
 * keeps most of its bytes (and so its fingerprint) until its memory is
 * used again, while the strings it held are freed at once: its name read
 * then is another object's bytes (3.12 once showed "\ufffd (functools.py)").
 * What freeing writes is the first word or two: pymalloc's free list
 * pointer over ob_refcnt, glibc's over ob_refcnt and ob_type.  A live
 * object's reference count fits in 32 bits, immortal ones included (3.12+;
 * 3.14 keeps flags above it, and ob_overflow, 0 here, below them).
 */
static bool code_alive(const struct py_target *t, const uint8_t *buf)
{
	uint64_t refcnt = rmem__ld64(buf);

	if (t->version >= PYVER(3, 14)) {
		if ((uint32_t)refcnt == 0 || ((refcnt >> 32) & 0xffff) != 0)
			return false;
	} else if (refcnt == 0 || refcnt > 0xffffffffull) {
		return false;
	}
	return !t->code_type ||
	       rmem__ld64(buf + t->layout.object.ob_type) == t->code_type;
}

static void code_stale(struct py_target *t, struct py_code *c)
{
	c->stale = true;
	c->stale_ns = clock__now_ns();
	t->code_stale++;
}

/* Reads code object addr into c; c->ok says whether it could, c->stale
 * whether the object sampled was gone. */
static void read_code(struct py_target *t, struct py_code *c)
{
	const struct py_layout *l = &t->layout;
	uint8_t buf[CODE_READ_MAX];
	uint32_t size = l->code.size;

	if (size > sizeof(buf) || l->code.firstlineno > size - 4 ||
	    l->code.filename > size - 8 || l->code.name > size - 8 ||
	    l->code.linetable > size - 8 ||
	    (l->code.qualname != PY_OFF_NONE && l->code.qualname > size - 8) ||
	    l->object.ob_type > size - 8)
		return;
	if (rmem__read(&t->mem, c->addr, buf, size) != 0) {
		return;
	}
	if (!code_alive(t, buf) || python__code_fp(l, buf) != c->fp) {
		/* Freed, or freed and reused, since the sample: not the code
		 * that was sampled. */
		code_stale(t, c);
		return;
	}
	c->firstlineno = rmem__ld32(buf + l->code.firstlineno);
	c->name_ptr = rmem__ld64(buf + name_offset(l));
	c->file_ptr = rmem__ld64(buf + l->code.filename);
	c->name = read_str_at(t, c->name_ptr);
	c->filename = read_str_at(t, c->file_ptr);
	if (!c->name || !c->filename) {
		return;
	}
	if (pyobj__read_bytes(l, &t->mem, rmem__ld64(buf + l->code.linetable),
			      PYOBJ_BYTES_MAX, &c->linetable,
			      &c->linetable_len) != 0) {
		c->linetable = NULL;
		c->linetable_len = 0;
	}
	/* Still the same live object after its strings were read (it may
	 * have been freed meanwhile, and they with it).  A process that
	 * exited since cannot tell: what was read while it ran stands. */
	if (rmem__read(&t->mem, c->addr, buf, size) == 0 &&
	    (!code_alive(t, buf) || python__code_fp(l, buf) != c->fp)) {
		code_stale(t, c);
		return;
	}
	/*
	 * 3.13+ push a frame of the runtime's own code object
	 * _Py_InitCleanup (Python/specialize.c) between a call of a class
	 * and its Python __init__, to check what __init__ returned: its
	 * name and its file name are both the one string "__init__".  No
	 * Python code runs in it (issue 16: "__init__ (__init__)").
	 */
	c->shim = t->version >= PYVER(3, 13) && c->name_ptr == c->file_ptr &&
		  strcmp(c->name, "__init__") == 0;
	c->ok = true;
}

/*
 * The cache key of code object addr with fingerprint fp: both, for a
 * profile may hold samples of an object and of another at the same
 * address, and each must keep its name.  Code objects are 8-aligned user
 * addresses (below 2^47): 44 bits for the address, 20 for the
 * fingerprint; entries whose full address and fingerprint differ from
 * the ones asked for are replaced.
 */
static uint64_t code_key(uint64_t addr, uint32_t fp)
{
	return ((addr >> 3) & ((1ull << 44) - 1)) | (uint64_t)fp << 44 |
	       1ull << 63;
}

const struct py_code *python__code(struct py_target *t, uint64_t addr,
				   uint32_t fp)
{
	struct py_code *c;
	uint64_t v, key;

	fp &= PY_FRAME_FP_MASK;
	key = code_key(addr, fp);
	if (hashmap__get(&t->codes, key, &v)) {
		c = (struct py_code *)(uintptr_t)v;
		/* A read stands.  One that failed is tried again; one that
		 * found the object gone, once PY_CODE_STALE_RETRY_NS have
		 * passed: with the target held up, or pyprof-bpf (a loaded
		 * host, a slow VM), a function's first samples may be read
		 * only after it ended, and a function made again from the
		 * same source most often has the same address and
		 * fingerprint, which would name none of its samples for the
		 * rest of the run. */
		if (c->addr == addr && c->fp == fp &&
		    (c->ok || (c->stale && clock__now_ns() - c->stale_ns <
						   PY_CODE_STALE_RETRY_NS)))
			return c;
		hashmap__del(&t->codes, key);
		code_free(c);
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->addr = addr;
	c->fp = fp;
	read_code(t, c);
	if (!c->ok) {
		t->code_errors++;
		free(c->name);
		free(c->filename);
		free(c->linetable);
		c->name = c->filename = NULL;
		c->linetable = NULL;
	}
	if (t->codes.len >= CODE_CACHE_MAX)
		code_cache_clear(t);
	if (hashmap__set(&t->codes, key, (uint64_t)(uintptr_t)c)) {
		code_free(c);
		return NULL;
	}
	return c;
}

int python__line(const struct py_target *t, const struct py_code *c,
		 int32_t lasti)
{
	int line;

	if (!c->ok)
		return -1;
	line = linetable__addr2line(t->layout.code.linetable_kind, c->linetable,
				    c->linetable_len, (int)c->firstlineno,
				    lasti);
	return line >= 0 ? line : -1;
}

int python__interp(const struct py_target *t, uint64_t *interp)
{
	return rmem__read_u64(
		&t->mem, t->runtime_addr + t->layout.walk.runtime_interp_head,
		interp);
}

int python__expect(pid_t pid, const char *path, struct py_target *t)
{
	int rc;

	pthread_mutex_lock(&elf_cache_lock);
	rc = expect(pid, path, t);
	pthread_mutex_unlock(&elf_cache_lock);
	return rc;
}
