/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * A Python target: finding its interpreter (libpython or an executable that
 * exports _PyRuntime), its exact version and layout, and turning the code
 * objects the sampler recorded into names, files and lines.
 */
#ifndef PYPROF_PYTHON_H
#define PYPROF_PYTHON_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/hashmap.h"
#include "native/elf_sym.h"
#include "python/layout.h"
#include "python/rmem.h"

/* Debian's and Ubuntu's library directories (and CPython's extension
 * modules' names) carry the machine's triplet. */
#ifdef __aarch64__
#define PY_MULTIARCH "aarch64-linux-gnu"
#else
#define PY_MULTIARCH "x86_64-linux-gnu"
#endif

struct py_target {
	pid_t pid;
	unsigned version; /* PYVER(3, x) */
	char version_str[32]; /* "3.11.7", or "3.9" when only the minor is known */
	char elf_path[PATH_MAX]; /* the file holding _PyRuntime, as the target
				    names it */
	uint64_t runtime_addr;
	uint64_t runtime_vaddr; /* _PyRuntime's address in the file */
	uint64_t code_type; /* PyCode_Type's address, 0 if unknown */
	/* pthread_self() is the thread pointer minus this (py_proc_cfg's
	 * thread_ptr_off): 0 on x86-64. */
	uint32_t thread_ptr_off;
	/* The interpreter file as the kernel names it, and its executable
	 * mappings (what the sampler recognises its processes by). */
	uint64_t file_dev, file_ino;
	uint64_t exe_dev, exe_ino; /* its executable (a stub, or the same) */
	uint32_t nsegs;
	struct interp_file_seg segs[INTERP_FILE_SEGS];
	struct py_layout layout;
	bool debug_offsets; /* layout taken from the target's _Py_DebugOffsets */
	struct rmem mem;
	struct hashmap codes; /* (code address, fingerprint) -> py_code * */
	uint64_t code_errors; /* code objects that could not be read */
	uint64_t code_stale; /* code address reused before we read it */
};

/* How soon a code object found gone is read again (struct py_code). */
#define PY_CODE_STALE_RETRY_NS 100000000ull

struct py_code {
	uint64_t addr;
	uint32_t fp; /* the fingerprint sampled (py_code_fp) */
	uint32_t firstlineno; /* co_firstlineno, as read */
	bool ok;
	/* The object sampled was gone when read: freed, or another at its
	 * address.  Read again, at most every PY_CODE_STALE_RETRY_NS (from
	 * stale_ns, CLOCK_MONOTONIC), for a code object made again from the
	 * same source is most often made at the same address with the same
	 * fingerprint: the pair then names it, whichever round was sampled. */
	bool stale;
	uint64_t stale_ns;
	bool shim; /* the runtime's own, not Python code: not shown */
	char *name; /* co_qualname (3.11+) or co_name, UTF-8 */
	char *filename; /* co_filename, UTF-8 */
	uint64_t name_ptr, file_ptr; /* the str objects they were read from */
	uint8_t *linetable;
	size_t linetable_len;
};

/*
 * Finds the interpreter of process pid and fills *t.  Returns 0, or:
 * -ESRCH no such process, -ENOEXEC not a Python process, -ENOTSUP an
 * unsupported Python, -EAGAIN a process so young that its libpython is
 * still being loaded (look again soon), other -errno; err then holds one
 * line saying what was found and what to do.
 */
int python__attach(pid_t pid, struct py_target *t, char *err, size_t errlen);
void python__detach(struct py_target *t);

/* *to describes process pid, a fork of from's process, read through from's
 * memory (pid itself is gone); its code cache starts empty. */
void python__clone(const struct py_target *from, pid_t pid,
		   struct py_target *to);

/*
 * What process pid, young, will run: the interpreter file its executable
 * (path, as pid names it; NULL: the one it runs now) is (a static
 * interpreter) or links (libpython3.X.so, found as the dynamic loader will
 * find it), described into *t as python__attach would once it is mapped,
 * with _PyRuntime at its file address (runtime_addr == runtime_vaddr).
 * 0, or -ENOEXEC (not Python), -EAGAIN (3.13+ whose offsets only the
 * process will tell), -errno.
 */
int python__expect(pid_t pid, const char *path, struct py_target *t);

/* *to describes process pid, which runs the interpreter file of proto's
 * process with _PyRuntime at runtime_addr (the sampler recognised it);
 * its code cache starts empty. */
void python__from_file(const struct py_target *proto, pid_t pid,
		       uint64_t runtime_addr, struct py_target *to);

/*
 * The version of the interpreter in ELF file f (named path, used only as a
 * cross-check): Py_Version on 3.11+, else the API symbols each release added;
 * on 3.13+ also whether it is a free-threaded build (its _Py_DebugOffsets'
 * free_threaded; vstr then ends in 't', as in python3.14t).  Returns 0 with
 * *version, vstr and *free_threaded (may be NULL) set, -ENOEXEC if f holds
 * no CPython, -ENOTSUP for a CPython we cannot profile (older than
 * PYVER_MIN, newer than PYVER_MAX), -EINVAL when file name and file
 * disagree; err says which.
 */
int python__elf_version(struct elf_file *f, const char *path, unsigned *version,
			char *vstr, size_t vlen, bool *free_threaded, char *err,
			size_t errlen);

/*
 * The code object at addr that had fingerprint fp (py_code_fp; bit 31, the
 * entry flag, is ignored) when sampled, read from the target and cached.
 * A code object that is no longer alive, or whose fingerprint differs (the
 * address was reused), is not that object: ->ok is false, as when it
 * could not be read, and the caller shows "[unknown]", never another
 * object's name.  Never NULL unless out of memory.
 */
const struct py_code *python__code(struct py_target *t, uint64_t addr,
				   uint32_t fp);

/* The fingerprint (py_code_fp) of the code object whose first
 * layout.code.size bytes are in buf. */
uint32_t python__code_fp(const struct py_layout *l, const uint8_t *buf);

/* The line of byte offset lasti in code c, or -1 if it has none (3.11+
 * module code starts with a RESUME on line 0, a real line). */
int python__line(const struct py_target *t, const struct py_code *c,
		 int32_t lasti);

/* The first interpreter's PyInterpreterState address. 0 or -errno. */
int python__interp(const struct py_target *t, uint64_t *interp);

#endif /* PYPROF_PYTHON_H */
