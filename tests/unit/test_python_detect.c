// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of python__elf_version (src/python/python.c), src/native/elf_sym.c and
 * proc__parse_map_line (src/sampler/proc.c) on the real interpreters of this
 * machine (pyenv builds, Debian's /usr/bin/python3.11) and on maps lines.
 * A test whose file is missing says so with SKIP.
 */
#include "unit.h"

#include "native/elf_sym.h"
#include "python/layout.h"
#include "python/python.h"
#include "sampler/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define PYENV "/root/.pyenv/versions"
#define LIB(ver, so) PYENV "/" ver "/lib/" so

/* ---- helpers ---- */

struct load {
	uint64_t vaddr, offset, filesz, memsz;
	uint32_t flags;
};

/* The PT_LOAD headers of path, read with libelf directly (not through
 * elf_sym.c).  Returns how many, or -1. */
static int read_loads(const char *path, struct load *v, int max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), n = 0;
	size_t nph;
	Elf *e;

	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_getphdrnum(e, &nph) != 0) {
		if (e)
			elf_end(e);
		close(fd);
		return -1;
	}
	for (size_t i = 0; i < nph && n < max; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		v[n++] = (struct load){ ph.p_vaddr, ph.p_offset, ph.p_filesz,
					ph.p_memsz, ph.p_flags };
	}
	elf_end(e);
	close(fd);
	return n;
}

/* Copies src to dir/name; returns 0 or -errno. */
static int copy_as(const char *src, const char *dir, const char *name,
		   char *out, size_t outlen)
{
	int in, fd, err = 0;
	struct stat st;
	off_t off = 0;

	snprintf(out, outlen, "%s/%s", dir, name);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(in, &st) != 0) {
		err = -errno;
		goto out;
	}
	while (off < st.st_size) {
		ssize_t n = sendfile(fd, in, &off, (size_t)(st.st_size - off));

		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	close(in);
	return err;
}

struct version_case {
	const char *path;
	unsigned minor;
	const char *vstr; /* exact */
};

/* A supported interpreter: version, version string, _PyRuntime. */
static void check_supported(const struct version_case *c)
{
	char vstr[32] = "", err[512] = "";
	unsigned version = 0;
	uint64_t vaddr = 0, size = 0;
	struct load loads[16];
	struct elf_file *f;
	int rc, nl, inside = 0;

	if (access(c->path, R_OK) != 0)
		SKIP("%s: %s", c->path, strerror(errno));
	f = elf_file__open(c->path);
	REQUIRE(f);
	rc = python__elf_version(f, c->path, &version, vstr, sizeof(vstr), NULL,
				 err, sizeof(err));
	if (rc != 0)
		unit__fail(__FILE__, __LINE__, "%s: rc %d: %s", c->path, rc,
			   err);
	CHECK_INT(version, PYVER(3, c->minor));
	CHECK_STR(vstr, c->vstr);
	CHECK(!elf_file__is_exec(f));

	CHECK_INT(elf_file__sym(f, "_PyRuntime", &vaddr, &size), 0);
	CHECK(vaddr != 0);
	CHECK(size >=
	      256); /* a _PyRuntimeState (656 bytes on 3.9), not a pointer */
	/* It lies in a writable loadable segment. */
	nl = read_loads(c->path, loads, 16);
	for (int i = 0; i < nl; i++)
		if ((loads[i].flags & PF_W) && vaddr >= loads[i].vaddr &&
		    vaddr + size <= loads[i].vaddr + loads[i].memsz)
			inside = 1;
	CHECK(inside);
	/* An imported symbol is not a definition; an absent one is absent. */
	CHECK_INT(elf_file__sym(f, "malloc", &vaddr, NULL), -ENOENT);
	CHECK_INT(elf_file__sym(f, "no_such_symbol_pyprof", &vaddr, NULL),
		  -ENOENT);
	elf_file__close(f);
}

/* An interpreter (or not) that python__elf_version refuses. */
static void check_refused(const char *path, const char *as, int want_rc,
			  const char *needle1, const char *needle2)
{
	char vstr[32] = "", err[512] = "";
	unsigned version = 0;
	struct elf_file *f;
	int rc;

	f = elf_file__open(path);
	if (!f) {
		unit__fail(__FILE__, __LINE__, "%s: cannot open: %s", path,
			   strerror(errno));
		return;
	}
	rc = python__elf_version(f, as ? as : path, &version, vstr,
				 sizeof(vstr), NULL, err, sizeof(err));
	elf_file__close(f);
	if (rc != want_rc)
		unit__fail(__FILE__, __LINE__,
			   "%s: rc %d, want %d (err \"%s\")", as ? as : path,
			   rc, want_rc, err);
	if (!err[0] || strchr(err, '\n'))
		unit__fail(__FILE__, __LINE__, "%s: err \"%s\" is not one line",
			   path, err);
	/* The needles must appear outside the file's name (which may hold
	 * them too: ".../3.7.16/lib/libpython3.7m.so"). */
	{
		const char *name = as ? as : path, *hit;
		char rest[512];
		size_t nl = strlen(name), r = 0;

		for (const char *e = err; *e && r + 1 < sizeof(rest);) {
			if ((hit = strstr(e, name)) == e) {
				rest[r++] = '|';
				e += nl;
			} else {
				rest[r++] = *e++;
			}
		}
		rest[r] = '\0';
		if (needle1 && !strstr(rest, needle1))
			unit__fail(__FILE__, __LINE__,
				   "err \"%s\" lacks \"%s\" (besides the path)",
				   err, needle1);
		if (needle2 && !strstr(rest, needle2))
			unit__fail(__FILE__, __LINE__,
				   "err \"%s\" lacks \"%s\" (besides the path)",
				   err, needle2);
	}
}

/* elf_file__sym(path, name): 0, -ENOENT, or -errno if path won't open. */
static int sym_rc(const char *path, const char *name)
{
	struct elf_file *f = elf_file__open(path);
	uint64_t vaddr = 0;
	int rc;

	if (!f)
		return -errno;
	rc = elf_file__sym(f, name, &vaddr, NULL);
	elf_file__close(f);
	return rc == 0 && vaddr == 0 ? -EINVAL : rc;
}

#define SKIP_IF_MISSING(path)                                  \
	do {                                                   \
		if (access(path, R_OK) != 0)                   \
			SKIP("%s: %s", path, strerror(errno)); \
	} while (0)

/* ---- python__elf_version on each interpreter ---- */

TEST(python_detect_lib38)
{
	static const struct version_case c = {
		LIB("3.8.18", "libpython3.8.so.1.0"), 8, "3.8"
	};
	check_supported(&c);
}

TEST(python_detect_lib39)
{
	static const struct version_case c = {
		LIB("3.9.18", "libpython3.9.so.1.0"), 9, "3.9"
	};
	check_supported(&c);
}

TEST(python_detect_lib310)
{
	static const struct version_case c = {
		LIB("3.10.13", "libpython3.10.so.1.0"), 10, "3.10"
	};
	check_supported(&c);
}

TEST(python_detect_lib311)
{
	static const struct version_case c = {
		LIB("3.11.7", "libpython3.11.so.1.0"), 11, "3.11.7"
	};
	check_supported(&c);
}

TEST(python_detect_lib312)
{
	static const struct version_case c = {
		LIB("3.12.1", "libpython3.12.so.1.0"), 12, "3.12.1"
	};
	check_supported(&c);
}

TEST(python_detect_lib313)
{
	static const struct version_case c = {
		LIB("3.13.0", "libpython3.13.so.1.0"), 13, "3.13.0"
	};
	check_supported(&c);
}

/* elf_file__member: a struct's members from the file's DWARF.  The
 * threads head of 3.13's PyInterpreterState, a member of a member, where
 * the built-in table (from CPython's headers) has it; the count of code
 * objects made that the walk's fingerprint cache reads (python.c
 * next_version_off), a uint32 past it; what is not there, not found. */
TEST(elf_member_313)
{
	static const char *const head[] = { "threads", "head" };
	static const char *const next[] = { "func_state", "next_version" };
	static const char *const none[] = { "func_state", "no_such_field" };
	const char *path = LIB("3.13.0", "libpython3.13.so.1.0");
	struct py_layout l;
	uint64_t off = 0, size = 0, head_off;
	struct elf_file *f;

	SKIP_IF_MISSING(path);
	REQUIRE(py_layout__lookup(PYVER(3, 13), 0, false, &l) == 0);
	f = elf_file__open(path);
	REQUIRE(f);
	CHECK_INT(elf_file__member(f, "Objects/codeobject.c", "_is", head, 2,
				   &off, &size),
		  0);
	CHECK_INT(off, l.walk.interp_threads_head);
	CHECK_INT(size, 8);
	head_off = off;
	CHECK_INT(elf_file__member(f, "Objects/codeobject.c", "_is", next, 2,
				   &off, &size),
		  0);
	CHECK_INT(size, 4);
	CHECK(off > head_off && off < 1u << 20);
	CHECK_INT(elf_file__member(f, "Objects/codeobject.c", "_is", none, 2,
				   &off, &size),
		  -ENOENT);
	CHECK_INT(elf_file__member(f, "Objects/codeobject.c", "_no_such", next,
				   2, &off, &size),
		  -ENOENT);
	CHECK_INT(elf_file__member(f, "no/such/unit.c", "_is", next, 2, &off,
				   &size),
		  -ENOENT);
	elf_file__close(f);
}

/* A stripped file has no DWARF to look in. */
TEST(elf_member_stripped)
{
	static const char *const next[] = { "func_state", "next_version" };
	uint64_t off, size;
	struct elf_file *f;

	SKIP_IF_MISSING("/usr/bin/python3.11");
	f = elf_file__open("/usr/bin/python3.11");
	REQUIRE(f);
	CHECK_INT(elf_file__member(f, "Objects/codeobject.c", "_is", next, 2,
				   &off, &size),
		  -ENODATA);
	elf_file__close(f);
}

/* Debian's python3.11: libpython linked in, non-PIE, stripped (so only
 * .dynsym), version from Py_Version. */
TEST(python_detect_debian_static_exec)
{
	static const char path[] = "/usr/bin/python3.11";
	char vstr[32] = "", err[512] = "", tail[8] = "";
	unsigned version = 0, patch = 99;
	uint64_t vaddr = 0, bias = 1;
	struct proc_maps none = { 0 };
	struct elf_file *f;
	int rc;

	SKIP_IF_MISSING(path);
	f = elf_file__open(path);
	REQUIRE(f);
	CHECK(elf_file__is_exec(f));
	rc = python__elf_version(f, path, &version, vstr, sizeof(vstr), NULL,
				 err, sizeof(err));
	if (rc != 0)
		unit__fail(__FILE__, __LINE__, "rc %d: %s", rc, err);
	CHECK_INT(version, PYVER(3, 11));
	/* "3.11.N" and nothing else (a Debian final release). */
	CHECK_INT(sscanf(vstr, "3.11.%u%7s", &patch, tail), 1);
	CHECK(patch < 99);
	CHECK_INT(elf_file__sym(f, "_PyRuntime", &vaddr, NULL), 0);
	CHECK(vaddr >= 0x400000); /* an absolute address */
	CHECK_INT(elf_file__sym(f, "Py_Version", &vaddr, NULL), 0);
	/* Not relocated: bias 0, whatever the maps say. */
	CHECK_INT(elf_file__bias(f, &none, path, &bias), 0);
	CHECK_INT(bias, 0);
	elf_file__close(f);
}

TEST(python_detect_version_hex_read)
{
	/* Py_Version and the 3.13 _Py_DebugOffsets cookie, read from the
	 * files through elf_file__read. */
	static const char p311[] = LIB("3.11.7", "libpython3.11.so.1.0");
	static const char p313[] = LIB("3.13.0", "libpython3.13.so.1.0");
	struct elf_file *f;
	uint64_t vaddr, hex = 0;
	char cookie[9] = "";

	SKIP_IF_MISSING(p311);
	SKIP_IF_MISSING(p313);
	f = elf_file__open(p311);
	REQUIRE(f);
	REQUIRE(elf_file__sym(f, "Py_Version", &vaddr, NULL) == 0);
	CHECK_INT(elf_file__read(f, vaddr, &hex, 4), 0);
	CHECK_INT(hex, 0x030b07f0); /* 3.11.7 final */
	elf_file__close(f);

	f = elf_file__open(p313);
	REQUIRE(f);
	REQUIRE(elf_file__sym(f, "_PyRuntime", &vaddr, NULL) == 0);
	CHECK_INT(elf_file__read(f, vaddr, cookie, 8), 0);
	CHECK_STR(cookie, "xdebugpy");
	elf_file__close(f);
}

TEST(python_detect_37_unsupported)
{
	static const char path[] = LIB("3.7.16", "libpython3.7m.so.1.0");

	SKIP_IF_MISSING(path);
	check_refused(path, NULL, -ENOTSUP, "Python 3.7", "3.8");
	CHECK_INT(sym_rc(path, "_PyRuntime"), 0); /* new in 3.7 */
}

TEST(python_detect_36_older)
{
	static const char path[] = LIB("3.6.15", "libpython3.6m.so.1.0");

	SKIP_IF_MISSING(path);
	check_refused(path, NULL, -ENOTSUP, "older than 3.7", NULL);
	CHECK_INT(sym_rc(path, "_PyRuntime"), -ENOENT);
	CHECK_INT(sym_rc(path, "Py_GetVersion"), 0);
}

/* pyenv's bin/python2.7 is a 17 kB stub linked against libpython2.7.so:
 * the interpreter (and Py_GetVersion) is in the library. */
TEST(python_detect_27_older)
{
	static const char lib[] = LIB("2.7.18", "libpython2.7.so.1.0");
	static const char bin[] = PYENV "/2.7.18/bin/python2.7";

	SKIP_IF_MISSING(lib);
	check_refused(lib, NULL, -ENOTSUP, "older than 3.7", NULL);
	CHECK_INT(sym_rc(lib, "_PyRuntime"), -ENOENT);
	SKIP_IF_MISSING(bin);
	CHECK_INT(sym_rc(bin, "Py_GetVersion"), -ENOENT); /* none defined */
	check_refused(bin, NULL, -ENOEXEC, "no CPython", NULL);
}

TEST(python_detect_not_python)
{
	SKIP_IF_MISSING("/bin/ls");
	check_refused("/bin/ls", NULL, -ENOEXEC, "no CPython", NULL);
}

TEST(python_detect_name_only_hint)
{
	/* The path is only a cross-check: a name without a version is fine,
	 * and so is one that agrees. */
	static const char path[] = LIB("3.12.1", "libpython3.12.so.1.0");
	static const char *const names[] = {
		"/opt/app/bin/python",
		"/usr/lib/libpython3.so",
		"/x/python3.12",
		"/x/libpython3.12d.so.1.0",
		"/x/libpython3.12.so.1.0 (deleted)",
	};
	char vstr[32], err[512];
	unsigned version;
	struct elf_file *f;

	SKIP_IF_MISSING(path);
	f = elf_file__open(path);
	REQUIRE(f);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int rc = python__elf_version(f, names[i], &version, vstr,
					     sizeof(vstr), NULL, err,
					     sizeof(err));

		if (rc != 0 || version != PYVER(3, 12) ||
		    strcmp(vstr, "3.12.1"))
			unit__fail(__FILE__, __LINE__, "as %s: rc %d, %s (%s)",
				   names[i], rc, vstr, err);
	}
	elf_file__close(f);
}

TEST(python_detect_name_disagrees)
{
	static const char src312[] = LIB("3.12.1", "libpython3.12.so.1.0");
	static const char src313[] = LIB("3.13.0", "libpython3.13.so.1.0");
	char dir[] = "/tmp/pyprof-unit-XXXXXX", p1[PATH_MAX], p2[PATH_MAX];

	SKIP_IF_MISSING(src312);
	SKIP_IF_MISSING(src313);
	REQUIRE(mkdtemp(dir));
	/* A 3.12 library named as 3.9: the symbols win, the name is not
	 * ignored. */
	if (copy_as(src312, dir, "libpython3.9.so.1.0", p1, sizeof(p1)) == 0)
		check_refused(p1, NULL, -EINVAL, "3.9", "3.12");
	else
		unit__fail(__FILE__, __LINE__, "cannot copy %s", src312);
	/* A 3.13 default (GIL) library named as the free-threaded build:
	 * its _Py_DebugOffsets say which it is, and disagree. */
	if (copy_as(src313, dir, "libpython3.13t.so.1.0", p2, sizeof(p2)) == 0)
		check_refused(p2, NULL, -EINVAL, "free-threaded",
			      "default (GIL)");
	else
		unit__fail(__FILE__, __LINE__, "cannot copy %s", src313);
	unlink(p1);
	unlink(p2);
	rmdir(dir);
}

/* ---- Debian unstable's 3.14 and 3.15, and copies of them altered ---- */

/* The file offset of vaddr in path (a PT_LOAD's), or -1. */
static long file_offset(const char *path, uint64_t vaddr)
{
	struct load loads[16];
	int n = read_loads(path, loads, 16);

	for (int i = 0; i < n; i++)
		if (vaddr >= loads[i].vaddr &&
		    vaddr < loads[i].vaddr + loads[i].filesz)
			return (long)(vaddr - loads[i].vaddr + loads[i].offset);
	return -1;
}

/* Writes len bytes of p at symbol sym + off in the file path. */
static int patch_sym(const char *path, const char *sym, uint64_t off,
		     const void *p, size_t len)
{
	struct elf_file *f = elf_file__open(path);
	uint64_t vaddr;
	long at;
	int fd, ok;

	if (!f)
		return -1;
	ok = elf_file__sym(f, sym, &vaddr, NULL) == 0;
	elf_file__close(f);
	at = ok ? file_offset(path, vaddr + off) : -1;
	if (at < 0)
		return -1;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = pwrite(fd, p, len, at) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -1;
}

static void check_debian(const char *minor, unsigned want, const char *vstr)
{
	char path[512], got[32] = "", err[512] = "";
	unsigned version = 0;
	struct elf_file *f;
	bool ft = true;
	int rc;

	snprintf(path, sizeof(path), "%s/usr/bin/python%s", unit__debian_root(),
		 minor);
	if (access(path, R_OK) != 0)
		SKIP("%s is not there: `make deps` makes Debian unstable's root "
		     "(scripts/debian-root)",
		     path);
	f = elf_file__open(path);
	REQUIRE(f);
	CHECK(elf_file__is_exec(f));
	rc = python__elf_version(f, path, &version, got, sizeof(got), &ft, err,
				 sizeof(err));
	if (rc != 0)
		unit__fail(__FILE__, __LINE__, "rc %d: %s", rc, err);
	CHECK_INT(version, want);
	CHECK_STR(got, vstr);
	CHECK(!ft);
	elf_file__close(f);
}

/* Stripped, non-PIE, libpython linked in: version from Py_Version. */
TEST(python_detect_debian_unstable_314)
{
	check_debian("3.14", PYVER(3, 14), "3.14.10");
}

TEST(python_detect_debian_unstable_315)
{
	check_debian("3.15", PYVER(3, 15), "3.15.2");
}

/*
 * Versions and builds no interpreter here has, made from Debian's 3.15 by
 * changing the bytes that say which it is: Py_Version for a 3.16, and the
 * free_threaded member of _PyRuntime's _Py_DebugOffsets for a 3.15t.
 */
TEST(python_detect_newer_and_free_threaded)
{
	char src[512], dir[] = "/tmp/pyprof-unit-XXXXXX", p[PATH_MAX], vstr[32],
		       err[512];
	uint64_t hex = 0x031000f0, one = 1;
	unsigned version;
	struct elf_file *f;
	bool ft;
	int rc;

	snprintf(src, sizeof(src), "%s/usr/bin/python3.15",
		 unit__debian_root());
	if (access(src, R_OK) != 0)
		SKIP("%s is not there: `make deps` makes Debian unstable's root "
		     "(scripts/debian-root)",
		     src);
	REQUIRE(mkdtemp(dir));

	/* 3.16.0: one line naming the newest supported. */
	REQUIRE(copy_as(src, dir, "python3.16", p, sizeof(p)) == 0);
	REQUIRE(patch_sym(p, "Py_Version", 0, &hex, 8) == 0);
	check_refused(p, NULL, -ENOTSUP, "newer than 3.15", "3.8 to 3.15");
	unlink(p);

	/* 3.15t: free-threaded, by its _Py_DebugOffsets; 't' in vstr. */
	REQUIRE(copy_as(src, dir, "python3.15t", p, sizeof(p)) == 0);
	REQUIRE(patch_sym(p, "_PyRuntime", 16, &one, 8) == 0);
	f = elf_file__open(p);
	REQUIRE(f);
	ft = false;
	rc = python__elf_version(f, p, &version, vstr, sizeof(vstr), &ft, err,
				 sizeof(err));
	elf_file__close(f);
	CHECK_INT(rc, 0);
	CHECK(ft);
	CHECK_STR(vstr, "3.15.2t");
	/* The same file named without the 't': the file says which. */
	ft = false;
	f = elf_file__open(p);
	REQUIRE(f);
	rc = python__elf_version(f, "/usr/bin/python3.15", &version, vstr,
				 sizeof(vstr), &ft, err, sizeof(err));
	elf_file__close(f);
	CHECK_INT(rc, 0);
	CHECK(ft);
	unlink(p);

	/* A default build named python3.15t: refused, not guessed. */
	REQUIRE(copy_as(src, dir, "python3.15t", p, sizeof(p)) == 0);
	check_refused(p, NULL, -EINVAL, "free-threaded", "default (GIL)");
	unlink(p);
	rmdir(dir);
}

/* ---- elf_sym.c ---- */

TEST(elf_sym_open_errors)
{
	char dir[] = "/tmp/pyprof-unit-XXXXXX", path[PATH_MAX];
	struct elf_file *f;
	FILE *tf;

	errno = 0;
	f = elf_file__open("/nonexistent/pyprof/file");
	CHECK(f == NULL);
	CHECK_INT(errno, ENOENT);

	REQUIRE(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/empty", dir);
	tf = fopen(path, "w");
	REQUIRE(tf);
	fclose(tf);
	errno = 0;
	f = elf_file__open(path);
	CHECK(f == NULL);
	CHECK_INT(errno, ENOEXEC);
	elf_file__close(f);
	unlink(path);

	snprintf(path, sizeof(path), "%s/text", dir);
	tf = fopen(path, "w");
	REQUIRE(tf);
	fputs("#!/bin/sh\necho not an ELF file at all\n", tf);
	fclose(tf);
	errno = 0;
	f = elf_file__open(path);
	CHECK(f == NULL);
	CHECK_INT(errno, ENOEXEC);
	unlink(path);
	rmdir(dir);
	elf_file__close(NULL);
}

TEST(elf_sym_read_bounds)
{
	static const char path[] = LIB("3.12.1", "libpython3.12.so.1.0");
	struct load loads[16];
	struct elf_file *f;
	unsigned char buf[16];
	int nl, bss = 0;

	SKIP_IF_MISSING(path);
	nl = read_loads(path, loads, 16);
	REQUIRE(nl > 1);
	f = elf_file__open(path);
	REQUIRE(f);
	/* The first segment holds the ELF header. */
	REQUIRE(loads[0].offset == 0);
	CHECK_INT(elf_file__read(f, loads[0].vaddr, buf, 4), 0);
	CHECK(memcmp(buf, "\177ELF", 4) == 0);
	for (int i = 0; i < nl; i++) {
		const struct load *l = &loads[i];

		/* The last file-backed byte reads; one more does not. */
		CHECK_INT(elf_file__read(f, l->vaddr + l->filesz - 1, buf, 1),
			  0);
		CHECK_INT(elf_file__read(f, l->vaddr + l->filesz - 4, buf, 8),
			  -ENODATA);
		if (l->memsz > l->filesz) {
			bss++;
			CHECK_INT(elf_file__read(f, l->vaddr + l->filesz, buf,
						 1),
				  -ENODATA);
		}
	}
	CHECK(bss > 0);
	CHECK_INT(elf_file__read(f, 0xffffffff00000000ull, buf, 1), -ENODATA);
	elf_file__close(f);
}

static void map_line(char *buf, size_t len, uint64_t start, uint64_t end,
		     const char *perms, uint64_t pgoff, const char *path)
{
	snprintf(buf, len,
		 "%" PRIx64 "-%" PRIx64 " %s %08" PRIx64 " 08:01 1311 %*s%s\n",
		 start, end, perms, pgoff, 20, "", path);
}

/* Builds maps from lines through proc__parse_map_line. */
static int build_maps(struct proc_maps *m, char lines[][PATH_MAX + 128], int n)
{
	m->v = calloc((size_t)n, sizeof(*m->v));
	m->n = 0;
	if (!m->v)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		int rc = proc__parse_map_line(lines[i], &m->v[m->n]);

		if (rc)
			return rc;
		m->n++;
	}
	return 0;
}

TEST(elf_sym_bias_synthetic)
{
	static const char path[] = LIB("3.12.1", "libpython3.12.so.1.0");
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE),
		       mask = ~(page - 1);
	const uint64_t base = 0x7f1234500000ull;
	static char lines[8][PATH_MAX + 128];
	struct load loads[16];
	struct proc_maps maps;
	struct elf_file *f;
	uint64_t bias = 0;
	int nl, rw = -1, n = 0;

	SKIP_IF_MISSING(path);
	nl = read_loads(path, loads, 16);
	REQUIRE(nl >= 2 && nl <= 6);
	f = elf_file__open(path);
	REQUIRE(f);
	REQUIRE(!elf_file__is_exec(f));
	/* The segment whose page-aligned vaddr and offset differ (the data
	 * segment of most libraries): it tells bias = start - vaddr apart
	 * from start - pgoff. */
	for (int i = 0; i < nl; i++)
		if ((loads[i].vaddr & mask) != (loads[i].offset & mask))
			rw = i;
	if (rw < 0) {
		elf_file__close(f);
		SKIP("%s: every segment has vaddr == offset", path);
	}

	/* 1. Only the data segment's mapping is listed. */
	map_line(lines[0], sizeof(lines[0]), base + (loads[rw].vaddr & mask),
		 base + ((loads[rw].vaddr + loads[rw].memsz + page - 1) & mask),
		 "rw-p", loads[rw].offset & mask, path);
	REQUIRE(build_maps(&maps, lines, 1) == 0);
	CHECK_INT(elf_file__bias(f, &maps, path, &bias), 0);
	CHECK_INT(bias, base);
	proc__maps_free(&maps);

	/* 2. A whole realistic set: anonymous memory, another library of a
	 * similar name, then every segment. */
	map_line(lines[n++], sizeof(lines[0]), 0x7f0000000000ull,
		 0x7f0000021000ull, "rw-p", 0, "");
	map_line(lines[n++], sizeof(lines[0]), 0x7f0000100000ull,
		 0x7f0000200000ull, "r--p", 0, "/usr/lib/libpython3.12.so.1.0");
	for (int i = 0; i < nl && n < 8; i++)
		map_line(lines[n++], sizeof(lines[0]),
			 base + (loads[i].vaddr & mask),
			 base + ((loads[i].vaddr + loads[i].memsz + page - 1) &
				 mask),
			 loads[i].flags & PF_W ? "rw-p" :
			 loads[i].flags & PF_X ? "r-xp" :
						 "r--p",
			 loads[i].offset & mask, path);
	REQUIRE(build_maps(&maps, lines, n) == 0);
	bias = 0;
	CHECK_INT(elf_file__bias(f, &maps, path, &bias), 0);
	CHECK_INT(bias, base);
	/* 3. Mapped under another path only: not found. */
	CHECK_INT(elf_file__bias(f, &maps, "/nowhere/libpython3.12.so.1.0",
				 &bias),
		  -ENOENT);
	proc__maps_free(&maps);

	/* 4. The path, but at an offset no segment starts at. */
	map_line(lines[0], sizeof(lines[0]), base, base + page, "r--p",
		 (loads[nl - 1].offset & mask) + 64 * page, path);
	REQUIRE(build_maps(&maps, lines, 1) == 0);
	CHECK_INT(elf_file__bias(f, &maps, path, &bias), -ENOENT);
	proc__maps_free(&maps);

	/* 5. A deleted file keeps its suffix on both sides. */
	{
		char deleted[PATH_MAX + 16];

		snprintf(deleted, sizeof(deleted), "%s (deleted)", path);
		map_line(lines[0], sizeof(lines[0]), base + 0x10000000,
			 base + 0x10000000 + page, "r--p", 0, deleted);
		REQUIRE(build_maps(&maps, lines, 1) == 0);
		CHECK_INT(elf_file__bias(f, &maps, deleted, &bias), 0);
		CHECK_INT(bias, base + 0x10000000 - (loads[0].vaddr & mask));
		CHECK_INT(elf_file__bias(f, &maps, path, &bias), -ENOENT);
		proc__maps_free(&maps);
	}
	elf_file__close(f);
}

struct dl_want {
	const char *map_path; /* the path /proc/self/maps shows */
	uint64_t addr;
	int found;
};

static int dl_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct dl_want *w = arg;
	char real[PATH_MAX];
	const char *name = info->dlpi_name;

	(void)size;
	if (!name[0]) { /* the executable */
		ssize_t n = readlink("/proc/self/exe", real, sizeof(real) - 1);

		if (n <= 0)
			return 0;
		real[n] = '\0';
	} else if (!realpath(name, real)) {
		return 0;
	}
	if (strcmp(real, w->map_path) == 0) {
		w->addr = info->dlpi_addr;
		w->found = 1;
		return 1;
	}
	return 0;
}

/* Against the dynamic loader's own bias for this very process: its
 * executable and the libelf it runs on. */
TEST(elf_sym_bias_live_process)
{
	struct proc_maps maps = { 0 };
	const char *targets[2] = { NULL, NULL };
	char exe[PATH_MAX];
	ssize_t n;
	int checked = 0;

	REQUIRE(proc__maps(getpid(), &maps) == 0);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	REQUIRE(n > 0);
	exe[n] = '\0';
	for (int i = 0; i < maps.n; i++) {
		const char *b = strrchr(maps.v[i].path, '/');

		if (strcmp(maps.v[i].path, exe) == 0)
			targets[0] = maps.v[i].path;
		else if (b && strncmp(b + 1, "libelf", 6) == 0)
			targets[1] = maps.v[i].path;
	}
	for (int t = 0; t < 2; t++) {
		struct dl_want w = { .map_path = targets[t] };
		struct elf_file *f;
		uint64_t bias = 1;

		if (!targets[t])
			continue;
		dl_iterate_phdr(dl_cb, &w);
		if (!w.found)
			continue;
		f = elf_file__open(targets[t]);
		if (!f) {
			unit__fail(__FILE__, __LINE__, "cannot open %s",
				   targets[t]);
			continue;
		}
		CHECK_INT(elf_file__bias(f, &maps, targets[t], &bias), 0);
		if (bias != w.addr)
			unit__fail(__FILE__, __LINE__,
				   "%s: bias 0x%" PRIx64
				   ", the loader says 0x%" PRIx64,
				   targets[t], bias, w.addr);
		elf_file__close(f);
		checked++;
	}
	proc__maps_free(&maps);
	if (!checked)
		SKIP("found neither the executable nor libelf in /proc/self/maps");
}

/* ---- proc__parse_map_line ---- */

TEST(proc_parse_map_line_fields)
{
	struct proc_map m;

	memset(&m, 0, sizeof(m));
	CHECK_INT(
		proc__parse_map_line("55d0c0a00000-55d0c0a02000 r-xp 0001f000 "
				     "08:01 1234567                    "
				     "/usr/bin/python3.11\n",
				     &m),
		0);
	CHECK_INT(m.start, 0x55d0c0a00000ull);
	CHECK_INT(m.end, 0x55d0c0a02000ull);
	CHECK_INT(m.pgoff, 0x1f000);
	CHECK_INT(m.inode, 1234567);
	CHECK_STR(m.perms, "r-xp");
	CHECK_STR(m.path, "/usr/bin/python3.11");
	free(m.path);

	/* The top of the address space, and a pseudo-path. */
	CHECK_INT(proc__parse_map_line("ffffffffff600000-ffffffffff601000 --xp "
				       "00000000 00:00 0                  "
				       "[vsyscall]\n",
				       &m),
		  0);
	CHECK_INT(m.start, 0xffffffffff600000ull);
	CHECK_INT(m.end, 0xffffffffff601000ull);
	CHECK_STR(m.perms, "--xp");
	CHECK_STR(m.path, "[vsyscall]");
	free(m.path);

	/* No newline at the end. */
	CHECK_INT(proc__parse_map_line(
			  "1000-2000 rw-s 00000000 00:05 42 /dev/zero", &m),
		  0);
	CHECK_STR(m.path, "/dev/zero");
	CHECK_STR(m.perms, "rw-s");
	free(m.path);
}

TEST(proc_parse_map_line_anonymous)
{
	/* The kernel writes "... 0 \n" for anonymous memory. */
	static const char *const lines[] = {
		"7fd190c05000-7fd190cc9000 rw-p 00000000 00:00 0 \n",
		"7fd190c05000-7fd190cc9000 rw-p 00000000 00:00 0\n",
		"7fd190c05000-7fd190cc9000 rw-p 00000000 00:00 0",
		"7fd190c05000-7fd190cc9000 rw-p 00000000 00:00 0    ",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct proc_map m = { .path = NULL };
		int rc = proc__parse_map_line(lines[i], &m);

		if (rc != 0 || !m.path || m.path[0] ||
		    m.start != 0x7fd190c05000ull ||
		    m.end != 0x7fd190cc9000ull || m.inode != 0)
			unit__fail(__FILE__, __LINE__,
				   "line %zu: rc %d path \"%s\"", i, rc,
				   m.path ? m.path : "(null)");
		free(m.path);
	}
}

TEST(proc_parse_map_line_paths)
{
	static const struct {
		const char *line, *path;
	} cases[] = {
		{ "1000-2000 r--p 00000000 08:01 7                    "
		  "/tmp/my dir/lib python3.11.so\n",
		  "/tmp/my dir/lib python3.11.so" },
		{ "1000-2000 r--p 00000000 08:01 7 /a  b\n", "/a  b" },
		{ "1000-2000 r--p 00000000 08:01 7                    "
		  "/tmp/x/libpython3.11.so.1.0 (deleted)\n",
		  "/tmp/x/libpython3.11.so.1.0 (deleted)" },
		{ "1000-2000 rw-p 00000000 00:00 0                    [heap]\n",
		  "[heap]" },
		{ "1000-2000 rw-p 00000000 00:00 0  [anon:some name]\n",
		  "[anon:some name]" },
		{ "1000-2000 r--p 00000000 08:01 7 /日本語/ünï.so\n",
		  "/日本語/ünï.so" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proc_map m = { .path = NULL };
		int rc = proc__parse_map_line(cases[i].line, &m);

		if (rc != 0 || !m.path || strcmp(m.path, cases[i].path))
			unit__fail(__FILE__, __LINE__,
				   "case %zu: rc %d path \"%s\"", i, rc,
				   m.path ? m.path : "(null)");
		free(m.path);
	}
}

TEST(proc_parse_map_line_garbage)
{
	static const char *const lines[] = {
		"",
		"\n",
		"garbage",
		"zz-10 r-xp 00000000 00:00 0 /x\n",
		"1000-2000\n",
		"1000-2000 r-xp\n",
		"1000-2000 r-xp 00000000 08:01\n",
		"1000-2000 r-xp 00000000 08:01 x /x\n",
		"1000 2000 r-xp 00000000 08:01 0 /x\n",
		"2000-1000 r-xp 00000000 08:01 0 /x\n", /* end before start */
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct proc_map m = { .path = NULL };
		int rc = proc__parse_map_line(lines[i], &m);

		if (rc != -EINVAL)
			unit__fail(__FILE__, __LINE__, "line %zu \"%s\": rc %d",
				   i, lines[i], rc);
		if (rc == 0)
			free(m.path);
	}
}

TEST(proc_parse_map_line_self)
{
	/* Every line of this process's real maps parses, and the executable
	 * is among them. */
	FILE *f = fopen("/proc/self/maps", "re");
	char *line = NULL, exe[PATH_MAX];
	size_t cap = 0;
	int lines = 0, bad = 0, seen_exe = 0;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (!f)
		SKIP("/proc/self/maps: %s", strerror(errno));
	REQUIRE(n > 0);
	exe[n] = '\0';
	while (getline(&line, &cap, f) > 0) {
		struct proc_map m = { .path = NULL };

		lines++;
		if (proc__parse_map_line(line, &m) != 0) {
			if (bad++ < 3)
				unit__fail(__FILE__, __LINE__,
					   "cannot parse \"%s\"", line);
			continue;
		}
		if (strcmp(m.path, exe) == 0)
			seen_exe = 1;
		if (m.end <= m.start || strlen(m.perms) != 4)
			bad++;
		free(m.path);
	}
	free(line);
	fclose(f);
	CHECK(lines > 5);
	CHECK_INT(bad, 0);
	CHECK(seen_exe);
}
