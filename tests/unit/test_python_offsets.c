// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/python/layout.c: the built-in table against real
 * interpreters' _Py_DebugOffsets, the parser against hand-made and corrupted
 * blobs, and the tables' internal consistency.
 */
#include "unit.h"

#include "python/layout.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#ifndef LIBPY313
#define LIBPY313 "/root/.pyenv/versions/3.13.0/lib/libpython3.13.so.1.0"
#endif
/* Debian's 3.14 (statically linked; it exports _PyRuntime all the same). */
#ifndef PY314
#define PY314 "/work/sidroot/sid/usr/bin/python3.14"
#endif

/*
 * Reads the initializer of _PyRuntime from a libpython's file: the symbol in
 * .dynsym gives its address and section, and the section maps the address to
 * a file offset.  Returns the bytes read, or 0 with the reason in why.
 */
static size_t read_runtime_init(const char *path, unsigned char *buf,
				size_t len, char *why, size_t whylen)
{
	size_t got = 0;
	Elf_Scn *scn = NULL;
	Elf *e;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return 0;
	}
	if (elf_version(EV_CURRENT) == EV_NONE ||
	    !(e = elf_begin(fd, ELF_C_READ, NULL))) {
		snprintf(why, whylen, "%s: libelf: %s", path, elf_errmsg(-1));
		close(fd);
		return 0;
	}
	snprintf(why, whylen, "%s: no _PyRuntime in .dynsym", path);
	while ((scn = elf_nextscn(e, scn)) && !got) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM ||
		    !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize;
		     i++) {
			GElf_Shdr dsh;
			GElf_Sym sym;
			const char *name;
			Elf_Scn *dscn;
			size_t n;

			if (!gelf_getsym(data, (int)i, &sym))
				break;
			name = elf_strptr(e, sh.sh_link, sym.st_name);
			if (!name || strcmp(name, "_PyRuntime") != 0)
				continue;
			dscn = elf_getscn(e, sym.st_shndx);
			if (!dscn || !gelf_getshdr(dscn, &dsh) ||
			    dsh.sh_type != SHT_PROGBITS ||
			    sym.st_value < dsh.sh_addr) {
				snprintf(why, whylen,
					 "%s: _PyRuntime has no initializer "
					 "in the file",
					 path);
				break;
			}
			n = sym.st_size < len ? sym.st_size : len;
			if (pread(fd, buf, n,
				  (off_t)(dsh.sh_offset + sym.st_value -
					  dsh.sh_addr)) == (ssize_t)n)
				got = n;
			else
				snprintf(why, whylen, "%s: short read", path);
			break;
		}
	}
	elf_end(e);
	close(fd);
	return got;
}

TEST(python_offsets_debug_offsets_313_file)
{
	const struct py_layout *b = py_layout__builtin(PYVER(3, 13));
	unsigned char blob[4096];
	struct py_layout l;
	char why[256], err[256], diff[256];
	size_t n;
	int ret;

	if (access(LIBPY313, R_OK) != 0)
		SKIP("%s is not installed (a CPython 3.13.0 pyenv build)",
		     LIBPY313);
	n = read_runtime_init(LIBPY313, blob, sizeof(blob), why, sizeof(why));
	REQUIRE(n > 0);
	REQUIRE(b);

	ret = py_layout__from_debug_offsets(blob, n, &l, err, sizeof(err));
	if (ret)
		fprintf(stderr, "from_debug_offsets: %s\n", err);
	REQUIRE(ret == 0);
	CHECK_STR(err, "");
	ret = py_layout__diff(b, &l, diff, sizeof(diff));
	if (ret)
		fprintf(stderr,
			"built-in 3.13 vs %s: %d differences, first %s\n",
			LIBPY313, ret, diff);
	CHECK_INT(ret, 0);
	/* A few by name, so a table and parser wrong alike still fail. */
	CHECK_INT(l.version, PYVER(3, 13));
	CHECK_INT(l.walk.runtime_interp_head, 632);
	CHECK_INT(l.walk.interp_threads_head, 7344);
	CHECK_INT(l.walk.tstate_frame, 72);
	CHECK_INT(l.walk.frame_owner, 70);
	CHECK_INT(l.walk.code_adaptive, 200);
	CHECK_INT(l.obj.interp_modules, 7656);
	CHECK_INT(l.code.size, 144);
	/* The whole struct is needed: one byte short must be refused. */
	ret = py_layout__from_debug_offsets(blob, 583, &l, err, sizeof(err));
	CHECK_INT(ret, -EINVAL);
	CHECK(strstr(err, "truncated") != NULL);
}

TEST(python_offsets_debug_offsets_314_file)
{
	const struct py_layout *b = py_layout__builtin(PYVER(3, 14));
	unsigned char blob[4096];
	struct py_layout l;
	char why[256], err[256], diff[256];
	size_t n;
	int ret;

	if (access(PY314, R_OK) != 0)
		SKIP("%s is not installed (a CPython 3.14 with _PyRuntime in "
		     ".dynsym)",
		     PY314);
	n = read_runtime_init(PY314, blob, sizeof(blob), why, sizeof(why));
	if (n == 0)
		fprintf(stderr, "%s\n", why);
	REQUIRE(n > 0);
	REQUIRE(b);

	ret = py_layout__from_debug_offsets(blob, n, &l, err, sizeof(err));
	if (ret)
		fprintf(stderr, "from_debug_offsets: %s\n", err);
	REQUIRE(ret == 0);
	CHECK_INT(l.version, PYVER(3, 14));
	CHECK_INT(l.walk.runtime_interp_head, 808);
	CHECK_INT(l.walk.interp_next, 7272);
	CHECK_INT(l.walk.tstate_frame, 72);
	CHECK_INT(l.walk.frame_owner, 74);
	CHECK_INT(l.walk.code_adaptive, 208);
	CHECK_INT(l.code.size, 144);
	/*
	 * The one field where a later 3.14 parts from the built-in row (from
	 * v3.14.0's headers): Debian's 3.14.10 reports a 264-byte GC state
	 * (gc.size), not 240, and sys.modules 24 bytes further on.  The
	 * target's value is the one used (python.c).
	 */
	ret = py_layout__diff(b, &l, diff, sizeof(diff));
	if (ret > 1 || (ret == 1 && !strstr(diff, "obj.interp_modules")))
		fprintf(stderr,
			"built-in 3.14 vs %s: %d differences, first %s\n",
			PY314, ret, diff);
	CHECK(ret == 0 ||
	      (ret == 1 &&
	       strcmp(diff, "obj.interp_modules: 7664 != 7688") == 0));
	/* The whole 760 bytes are needed. */
	CHECK_INT(py_layout__from_debug_offsets(blob, 759, &l, err,
						sizeof(err)),
		  -EINVAL);
}

struct put {
	unsigned off;
	uint64_t val;
};

static void put64(unsigned char *buf, unsigned off, uint64_t v)
{
	memcpy(buf + off, &v, 8);
}

/*
 * A 3.14 _Py_DebugOffsets as a GIL build of v3.14.0 would have it.  The byte
 * offsets are written out by hand from pycore_debug_offsets.h (every member a
 * uint64_t), independently of the parser's struct mirror.
 */
static const struct put blob314[] = {
	{ 8, 0x030e00f0 }, /* version 3.14.0 final */
	{ 16, 0 }, /* free_threaded */
	{ 24, 316536 }, /* runtime_state.size */
	{ 32, 784 }, /* runtime_state.finalizing */
	{ 40, 808 }, /* runtime_state.interpreters_head */
	{ 48, 225808 }, /* interpreter_state.size */
	{ 56, 7280 }, /* .id */
	{ 64, 7272 }, /* .next */
	{ 72, 7344 }, /* .threads_head */
	{ 80, 7360 }, /* .threads_main */
	{ 88, 7408 }, /* .gc */
	{ 96, 7664 }, /* .imports_modules */
	{ 104, 7648 }, /* .sysdict */
	{ 112, 7656 }, /* .builtins */
	{ 160, 7968 }, /* .code_object_generation */
	{ 176, 824 }, /* thread_state.size */
	{ 184, 0 }, /* .prev */
	{ 192, 8 }, /* .next */
	{ 200, 16 }, /* .interp */
	{ 208, 72 }, /* .current_frame */
	{ 216, 152 }, /* .thread_id */
	{ 224, 160 }, /* .native_thread_id */
	{ 248, 88 }, /* interpreter_frame.size */
	{ 256, 8 }, /* .previous */
	{ 264, 0 }, /* .executable */
	{ 272, 56 }, /* .instr_ptr */
	{ 280, 80 }, /* .localsplus */
	{ 288, 74 }, /* .owner */
	{ 296, 64 }, /* .stackpointer */
	{ 312, 216 }, /* code_object.size */
	{ 320, 112 }, /* .filename */
	{ 328, 120 }, /* .name */
	{ 336, 128 }, /* .qualname */
	{ 344, 136 }, /* .linetable */
	{ 352, 68 }, /* .firstlineno */
	{ 360, 52 }, /* .argcount */
	{ 384, 208 }, /* .co_code_adaptive */
	{ 400, 16 }, /* pyobject.size */
	{ 408, 8 }, /* .ob_type */
	{ 416, 416 }, /* type_object.size */
	{ 424, 24 }, /* .tp_name */
	{ 432, 88 }, /* .tp_repr */
	{ 440, 168 }, /* .tp_flags */
	{ 496, 200 }, /* set_object.size */
	{ 528, 48 }, /* dict_object.size */
	{ 536, 32 }, /* .ma_keys */
	{ 544, 40 }, /* .ma_values */
	{ 568, 32 }, /* long_object.size */
	{ 576, 16 }, /* .lv_tag */
	{ 584, 24 }, /* .ob_digit */
	{ 592, 40 }, /* bytes_object.size */
	{ 600, 16 }, /* .ob_size */
	{ 608, 32 }, /* .ob_sval */
	{ 616, 64 }, /* unicode_object.size */
	{ 624, 32 }, /* .state */
	{ 632, 16 }, /* .length */
	{ 640, 40 }, /* .asciiobject_size */
	{ 648, 240 }, /* gc.size */
	{ 752, 512 }, /* debugger_support.debugger_script_path_size */
};

/* The same for 3.13.0, laid out per its pycore_runtime.h. */
static const struct put blob313[] = {
	{ 8, 0x030d00f0 }, /* version 3.13.0 final */
	{ 16, 0 }, /* free_threaded */
	{ 24, 283320 }, /* runtime_state.size */
	{ 40, 632 }, /* runtime_state.interpreters_head */
	{ 48, 194968 }, /* interpreter_state.size */
	{ 64, 7264 }, /* .next */
	{ 72, 7344 }, /* .threads_head */
	{ 80, 7400 }, /* .gc */
	{ 88, 7656 }, /* .imports_modules */
	{ 152, 304 }, /* thread_state.size */
	{ 168, 8 }, /* .next */
	{ 184, 72 }, /* .current_frame */
	{ 192, 152 }, /* .thread_id */
	{ 224, 80 }, /* interpreter_frame.size */
	{ 232, 8 }, /* .previous */
	{ 240, 0 }, /* .executable */
	{ 248, 56 }, /* .instr_ptr */
	{ 256, 72 }, /* .localsplus */
	{ 264, 70 }, /* .owner */
	{ 272, 208 }, /* code_object.size */
	{ 280, 112 }, /* .filename */
	{ 288, 120 }, /* .name */
	{ 296, 128 }, /* .qualname */
	{ 304, 136 }, /* .linetable */
	{ 312, 68 }, /* .firstlineno */
	{ 344, 200 }, /* .co_code_adaptive */
	{ 352, 16 }, /* pyobject.size */
	{ 360, 8 }, /* .ob_type */
	{ 368, 416 }, /* type_object.size */
	{ 392, 168 }, /* .tp_flags */
	{ 448, 48 }, /* dict_object.size */
	{ 456, 32 }, /* .ma_keys */
	{ 464, 40 }, /* .ma_values */
	{ 488, 32 }, /* long_object.size */
	{ 496, 16 }, /* .lv_tag */
	{ 504, 24 }, /* .ob_digit */
	{ 512, 40 }, /* bytes_object.size */
	{ 520, 16 }, /* .ob_size */
	{ 528, 32 }, /* .ob_sval */
	{ 536, 64 }, /* unicode_object.size */
	{ 544, 32 }, /* .state */
	{ 552, 16 }, /* .length */
	{ 560, 40 }, /* .asciiobject_size */
	{ 568, 240 }, /* gc.size */
};

#define BLOB314_LEN 760
#define BLOB313_LEN 584

static void make_blob(unsigned char *buf, size_t len, const struct put *p,
		      size_t np)
{
	memset(buf, 0, len);
	memcpy(buf, "xdebugpy", 8);
	for (size_t i = 0; i < np; i++)
		put64(buf, p[i].off, p[i].val);
}

#define MAKE314(buf)                         \
	make_blob(buf, sizeof(buf), blob314, \
		  sizeof(blob314) / sizeof(blob314[0]))
#define MAKE313(buf)                         \
	make_blob(buf, sizeof(buf), blob313, \
		  sizeof(blob313) / sizeof(blob313[0]))

TEST(python_offsets_debug_offsets_314_synthetic)
{
	const struct py_layout *b = py_layout__builtin(PYVER(3, 14));
	unsigned char blob[BLOB314_LEN];
	struct py_layout l;
	char err[256], diff[256];
	int ret;

	REQUIRE(b);
	MAKE314(blob);
	ret = py_layout__from_debug_offsets(blob, sizeof(blob), &l, err,
					    sizeof(err));
	if (ret)
		fprintf(stderr, "from_debug_offsets: %s\n", err);
	REQUIRE(ret == 0);
	ret = py_layout__diff(b, &l, diff, sizeof(diff));
	if (ret)
		fprintf(stderr, "built-in 3.14 vs blob: %s\n", diff);
	CHECK_INT(ret, 0);
	CHECK_INT(l.walk.frame_owner, 74);
	CHECK_INT(l.walk.interp_next, 7272);
	CHECK_INT(l.obj.interp_modules, 7664);
	CHECK_INT(l.code_tag_bits, 2);
	CHECK_INT(l.owner_skip_mask, (1 << 3) | (1 << 4));
	CHECK_STR(l.name, "3.14");

	/* What the debug offsets carry wins over the table. */
	put64(blob, 208, 96); /* thread_state.current_frame */
	ret = py_layout__from_debug_offsets(blob, sizeof(blob), &l, err,
					    sizeof(err));
	REQUIRE(ret == 0);
	CHECK_INT(l.walk.tstate_frame, 96);
	CHECK_INT(py_layout__diff(b, &l, diff, sizeof(diff)), 1);
	CHECK_STR(diff, "walk.tstate_frame: 72 != 96");

	/* Read as 3.13 (584 bytes, other section offsets), it must differ. */
	put64(blob, 8, 0x030d00f0);
	ret = py_layout__from_debug_offsets(blob, sizeof(blob), &l, err,
					    sizeof(err));
	CHECK(ret != 0 ||
	      py_layout__diff(py_layout__builtin(PYVER(3, 13)), &l, NULL, 0));
}

TEST(python_offsets_debug_offsets_313_synthetic)
{
	const struct py_layout *b = py_layout__builtin(PYVER(3, 13));
	unsigned char blob[BLOB313_LEN];
	struct py_layout l;
	char err[256], diff[256];
	int ret;

	REQUIRE(b);
	MAKE313(blob);
	ret = py_layout__from_debug_offsets(blob, sizeof(blob), &l, err,
					    sizeof(err));
	if (ret)
		fprintf(stderr, "from_debug_offsets: %s\n", err);
	REQUIRE(ret == 0);
	ret = py_layout__diff(b, &l, diff, sizeof(diff));
	if (ret)
		fprintf(stderr, "built-in 3.13 vs blob: %s\n", diff);
	CHECK_INT(ret, 0);
	/* A release candidate has the final layout and is accepted. */
	put64(blob, 8, 0x030d00c3);
	CHECK_INT(py_layout__from_debug_offsets(blob, sizeof(blob), &l, err,
						sizeof(err)),
		  0);
	/* A later patch release is accepted too. */
	put64(blob, 8, 0x030d07f0);
	CHECK_INT(py_layout__from_debug_offsets(blob, sizeof(blob), &l, err,
						sizeof(err)),
		  0);
}

/*
 * Applies one corruption to a good 3.14 blob and checks that it is refused
 * with -EINVAL, an error naming the problem, and *out left alone.
 */
static void refused(const char *what, unsigned off, uint64_t val, size_t len,
		    const char *want, int line)
{
	unsigned char blob[BLOB314_LEN];
	struct py_layout l, before;
	char err[256];
	int ret;

	MAKE314(blob);
	if (off != ~0u)
		put64(blob, off, val);
	memset(&l, 0x5a, sizeof(l));
	before = l;
	ret = py_layout__from_debug_offsets(blob, len, &l, err, sizeof(err));
	if (ret != -EINVAL)
		unit__fail(__FILE__, line, "%s: returned %d, want -EINVAL",
			   what, ret);
	else if (!strstr(err, want))
		unit__fail(__FILE__, line, "%s: error \"%s\" lacks \"%s\"",
			   what, err, want);
	if (memcmp(&l, &before, sizeof(l)) != 0)
		unit__fail(__FILE__, line, "%s: output written on failure",
			   what);
}

#define REFUSED(what, off, val, len, want) \
	refused(what, off, val, len, want, __LINE__)
#define NO_PUT ~0u /* no change */

TEST(python_offsets_debug_offsets_refuses_corrupt)
{
	unsigned char blob[BLOB314_LEN];
	struct py_layout l;
	char err[256];

	REFUSED("bad cookie", 0, 0x7970677562656478ull /* "xdebugpy" */ + 1,
		BLOB314_LEN, "bad cookie");
	REFUSED("empty", NO_PUT, 0, 0, "truncated");
	REFUSED("header only", NO_PUT, 0, 23, "truncated");
	REFUSED("one byte short", NO_PUT, 0, BLOB314_LEN - 1, "truncated");
	REFUSED("3.13 length for 3.14", NO_PUT, 0, BLOB313_LEN, "truncated");
	REFUSED("free-threaded", 16, 1, BLOB314_LEN, "free-threaded");
	REFUSED("3.12", 8, 0x030c00f0, BLOB314_LEN, "unsupported version");
	REFUSED("3.15", 8, 0x030f00f0, BLOB314_LEN, "unsupported version");
	REFUSED("python 4", 8, 0x040e00f0, BLOB314_LEN, "unsupported version");
	REFUSED("garbage version", 8, 0xffffffff030e00f0ull, BLOB314_LEN,
		"unsupported version");
	REFUSED("beta", 8, 0x030e00b4, BLOB314_LEN, "pre-release");
	REFUSED("huge offset", 208, 1ull << 40, BLOB314_LEN,
		"thread_state.current_frame");
	REFUSED("offset past struct", 216, 824, BLOB314_LEN,
		"thread_state.thread_id");
	REFUSED("field straddles the end", 216, 820, BLOB314_LEN,
		"thread_state.thread_id");
	REFUSED("zero struct size", 248, 0, BLOB314_LEN,
		"interpreter_frame.size");
	REFUSED("huge struct size", 312, 1u << 20, BLOB314_LEN,
		"code_object.size");
	REFUSED("huge runtime size", 24, 1ull << 62, BLOB314_LEN,
		"runtime_state.size");
	REFUSED("interpreters_head outside the runtime", 40, 316536,
		BLOB314_LEN, "runtime_state.interpreters_head");
	REFUSED("modules outside the interpreter", 96, 1ull << 33, BLOB314_LEN,
		"interpreter_state.imports_modules");
	REFUSED("overlapping frame fields", 264, 8, BLOB314_LEN, "overlap");
	REFUSED("overlapping thread fields", 216, 72, BLOB314_LEN, "overlap");
	REFUSED("ascii size past PyUnicodeObject", 640, 65, BLOB314_LEN,
		"unicode_object.asciiobject_size");

	/* A big frame is fine, but not an owner beyond what BPF reads. */
	MAKE314(blob);
	put64(blob, 248, 4096);
	put64(blob, 288, 1000);
	CHECK_INT(py_layout__from_debug_offsets(blob, sizeof(blob), &l, err,
						sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, "beyond") != NULL);

	/* No buffer, no error buffer: refused, no crash. */
	CHECK_INT(py_layout__from_debug_offsets(NULL, 760, &l, NULL, 0),
		  -EINVAL);
	MAKE314(blob);
	blob[0] = 'X';
	CHECK_INT(py_layout__from_debug_offsets(blob, sizeof(blob), &l, NULL,
						0),
		  -EINVAL);
	/* A one-byte error buffer still gets a terminated (empty) string. */
	err[0] = 'z';
	CHECK_INT(py_layout__from_debug_offsets(blob, sizeof(blob), &l, err, 1),
		  -EINVAL);
	CHECK_INT(err[0], 0);
}

/*
 * Every version a version check accepts has what it needs, so that adding a
 * version in one place and not the others fails here, loudly:
 *  - python.c accepts PYVER_MIN..PYVER_MAX: each needs a built-in row;
 *  - the _Py_DebugOffsets reader accepts the versions of its dbg_versions[]:
 *    each needs a built-in row, members[] that add up to its size (a blob
 *    of zeros must then fail on its first struct size, not on layout.c's
 *    own tables), and python.c must accept it too;
 *  - every version 3.13+ that python.c accepts needs the reader.
 */
TEST(python_offsets_every_accepted_version_has_rows)
{
	for (unsigned v = PYVER_MIN; v <= PYVER_MAX; v++)
		if (!py_layout__builtin(v))
			unit__fail(__FILE__, __LINE__,
				   "python.c accepts 3.%u (PYVER_MAX) but "
				   "layout.c has no built-in row for it",
				   v & 0xff);

	for (unsigned minor = 0; minor < 64; minor++) {
		unsigned v = PYVER(3, minor);
		unsigned char blob[4096];
		struct py_layout l;
		char err[256];
		int accepted;

		memset(blob, 0, sizeof(blob));
		memcpy(blob, "xdebugpy", 8);
		put64(blob, 8, 0x030000f0ull | (uint64_t)minor << 16);
		py_layout__from_debug_offsets(blob, sizeof(blob), &l, err,
					      sizeof(err));
		accepted = !strstr(err, "unsupported version");
		if (!accepted && v >= PYVER(3, 13) && v <= PYVER_MAX)
			unit__fail(__FILE__, __LINE__,
				   "python.c accepts 3.%u but layout.c cannot "
				   "read its _Py_DebugOffsets (dbg_versions[], "
				   "members[])",
				   minor);
		if (!accepted)
			continue;
		if (!py_layout__builtin(v))
			unit__fail(__FILE__, __LINE__,
				   "layout.c reads 3.%u's _Py_DebugOffsets but "
				   "has no built-in row for it",
				   minor);
		if (v < PYVER_MIN || v > PYVER_MAX)
			unit__fail(__FILE__, __LINE__,
				   "layout.c reads 3.%u's _Py_DebugOffsets but "
				   "python.c refuses 3.%u (PYVER_MAX)",
				   minor, minor);
		if (!strstr(err, "runtime_state.size 0 out of range"))
			unit__fail(__FILE__, __LINE__,
				   "3.%u, a blob of zeros: \"%s\", want "
				   "runtime_state.size refused",
				   minor, err);
	}
}

static int fits_frame(uint32_t off, uint32_t width)
{
	return off != PY_OFF_NONE && off + width <= PY_FRAME_READ_MAX;
}

TEST(python_offsets_builtin_sanity)
{
	unsigned prev_runtime = 0;

	CHECK(py_layout__builtin(PYVER(3, 7)) == NULL);
	CHECK(py_layout__builtin(PYVER(3, 15)) == NULL);
	CHECK(py_layout__builtin(0) == NULL);

	for (unsigned minor = 8; minor <= 14; minor++) {
		const struct py_layout *l = py_layout__builtin(PYVER(3, minor));
		const struct py_walk_offsets *w;
		char name[8];

		if (!l) {
			unit__fail(__FILE__, __LINE__, "no entry for 3.%u",
				   minor);
			continue;
		}
		w = &l->walk;
		snprintf(name, sizeof(name), "3.%u", minor);
		CHECK_STR(l->name, name);
		CHECK_INT(l->version, PYVER(3, minor));

		/* The frame fields fit the span BPF reads of a frame. */
		CHECK(fits_frame(w->frame_previous, 8));
		CHECK(fits_frame(w->frame_code, 8));
		CHECK(fits_frame(w->frame_instr, minor <= 10 ? 4 : 8));
		CHECK(w->frame_previous != w->frame_code);
		CHECK(w->frame_previous != w->frame_instr);
		CHECK(w->frame_code != w->frame_instr);

		/* prev, next, interp lead PyThreadState in every version. */
		CHECK_INT(w->tstate_next, 8);
		CHECK(w->tstate_frame > w->tstate_next);
		CHECK(w->tstate_thread_id > w->tstate_frame);
		CHECK(w->interp_threads_head > w->interp_next);
		CHECK(w->runtime_interp_head != PY_OFF_NONE);
		/* _PyRuntime only grows from version to version. */
		CHECK(w->runtime_interp_head >= prev_runtime);
		prev_runtime = w->runtime_interp_head;

		if (minor <= 10) {
			CHECK_INT(l->frame_kind, PY_FRAME_OBJECT);
			CHECK_INT(w->frame_owner, PY_OFF_NONE);
			CHECK_INT(w->code_adaptive, PY_OFF_NONE);
			CHECK_INT(l->code.qualname, PY_OFF_NONE);
		} else {
			CHECK_INT(l->frame_kind, PY_FRAME_INTERP);
			CHECK(fits_frame(w->frame_owner, 1));
			CHECK(w->frame_owner != w->frame_previous);
			CHECK(w->code_adaptive != PY_OFF_NONE &&
			      w->code_adaptive >= l->code.size);
			CHECK(l->code.qualname != PY_OFF_NONE);
		}
		CHECK_INT(w->cframe_current_frame != PY_OFF_NONE,
			  minor == 11 || minor == 12);
		CHECK_INT(l->lasti_units, minor == 10);
		CHECK_INT(l->code_tag_bits, minor == 14 ? 2 : 0);
		CHECK_INT(l->owner_skip_mask, minor <= 11 ? 0 :
					      minor <= 13 ? 0x08 :
							    0x18);
		if (minor >= 13)
			/* _Py_DebugOffsets (584, 760 bytes) comes first. */
			CHECK(w->runtime_interp_head >=
			      (minor == 13 ? 584u : 760u));

		/* code.size covers every code.* field. */
		CHECK_INT(w->code_firstlineno, l->code.firstlineno);
		CHECK(l->code.name + 8 <= l->code.size);
		CHECK(l->code.filename + 8 <= l->code.size);
		CHECK(l->code.linetable + 8 <= l->code.size);
		CHECK(l->code.firstlineno + 4 <= l->code.size);
		CHECK(minor <= 10 || l->code.qualname + 8 <= l->code.size);
		CHECK(l->code.size <= 256);
		CHECK_INT(l->code.linetable_kind,
			  minor <= 9  ? PY_LT_LNOTAB :
			  minor == 10 ? PY_LT_LINETABLE310 :
					PY_LT_LOCATIONS);

		CHECK_INT(l->object.ob_type, 8);
		CHECK(l->bytes.ob_size < l->bytes.ob_sval);
		CHECK(l->unicode.length < l->unicode.state);
		CHECK(l->unicode.state + 4 <= l->unicode.ascii_size);
		CHECK(l->unicode.ascii_size < l->unicode.compact_size);
		CHECK(l->unicode.compact_size <= l->unicode.data_any);
		CHECK_INT(l->unicode.ascii_size, minor <= 11 ? 48 : 40);
		CHECK(l->unicode.kind_shift + 3 <= l->unicode.compact_bit);
		CHECK(l->unicode.compact_bit < l->unicode.ascii_bit);

		CHECK(l->obj.dict_keys < l->obj.dict_values);
		CHECK(l->obj.long_size + 8 <= l->obj.long_digits);
		/* PyHeapTypeObject starts with a whole PyTypeObject. */
		CHECK(l->obj.ht_cached_keys >= 416);
		CHECK(l->obj.type_basicsize < l->obj.type_flags);
		CHECK(l->obj.type_flags < l->obj.type_dictoffset);
		CHECK_INT(l->obj.long_tagged, minor >= 12);
		CHECK_INT(l->obj.dict_keys_new, minor >= 11);
		CHECK_INT(l->obj.managed_dict, minor <= 10 ? PY_MD_NONE :
					       minor == 11 ? PY_MD_311 :
					       minor == 12 ? PY_MD_312 :
							     PY_MD_313);
		CHECK_INT(l->obj.values_prefix, minor >= 13 ? 8 : 0);
		CHECK(l->obj.interp_modules != PY_OFF_NONE);
	}
}

TEST(python_offsets_diff)
{
	const struct py_layout *b12 = py_layout__builtin(PYVER(3, 12));
	const struct py_layout *b13 = py_layout__builtin(PYVER(3, 13));
	const struct py_layout *b14 = py_layout__builtin(PYVER(3, 14));
	struct py_layout l;
	char diff[128];

	REQUIRE(b12 && b13 && b14);
	CHECK_INT(py_layout__diff(b12, b12, diff, sizeof(diff)), 0);
	CHECK_STR(diff, "");

	l = *b12;
	l.walk.tstate_frame = 80;
	l.obj.values_prefix = 3;
	l.name = "not compared";
	CHECK_INT(py_layout__diff(b12, &l, diff, sizeof(diff)), 2);
	CHECK_STR(diff, "walk.tstate_frame: 56 != 80");

	l = *b13;
	l.walk.cframe_current_frame = 0;
	CHECK_INT(py_layout__diff(b13, &l, diff, sizeof(diff)), 1);
	CHECK_STR(diff, "walk.cframe_current_frame: none != 0");

	l = *b13;
	l.unicode.ascii_bit = 7;
	CHECK_INT(py_layout__diff(b13, &l, diff, sizeof(diff)), 1);
	CHECK_STR(diff, "unicode.ascii_bit: 6 != 7");

	l = *b13;
	l.code.linetable_kind = PY_LT_LNOTAB;
	CHECK_INT(py_layout__diff(b13, &l, diff, sizeof(diff)), 1);
	CHECK_STR(diff, "code.linetable_kind: 3 != 1");

	/* Versions differ first in version, and in several offsets. */
	CHECK(py_layout__diff(b13, b14, diff, sizeof(diff)) > 5);
	CHECK_STR(diff, "version: 781 != 782");
	/* Small or absent buffers are fine. */
	CHECK(py_layout__diff(b13, b14, diff, 4) > 5);
	CHECK_STR(diff, "ver");
	CHECK(py_layout__diff(b13, b14, NULL, 0) > 5);
}

TEST(python_offsets_to_cfg)
{
	const struct py_layout *b = py_layout__builtin(PYVER(3, 14));
	struct py_proc_cfg cfg;

	REQUIRE(b);
	memset(&cfg, 0xff, sizeof(cfg));
	py_layout__to_cfg(b, 0x7f0012345678ull, &cfg);
	CHECK(cfg.runtime_addr == 0x7f0012345678ull);
	CHECK_INT(cfg.version, PYVER(3, 14));
	CHECK_INT(cfg.frame_kind, PY_FRAME_INTERP);
	CHECK_INT(cfg.lasti_units, 0);
	CHECK_INT(cfg.owner_skip_mask, 0x18);
	CHECK_INT(cfg.code_tag_bits, 2);
	/* Zeroed: native__entry_markers sets it. */
	CHECK_INT(cfg.entry_owner_mask, 0);
	CHECK(memcmp(&cfg.off, &b->walk, sizeof(cfg.off)) == 0);
	CHECK_INT(cfg.off.frame_owner, 74);

	b = py_layout__builtin(PYVER(3, 10));
	REQUIRE(b);
	py_layout__to_cfg(b, 1, &cfg);
	CHECK_INT(cfg.frame_kind, PY_FRAME_OBJECT);
	CHECK_INT(cfg.lasti_units, 1);
	CHECK_INT(cfg.off.frame_instr, 96);
	CHECK_INT(cfg.off.frame_owner, PY_OFF_NONE);
}
