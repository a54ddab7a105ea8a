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

/* Debian unstable's 3.14.10 and 3.15.2 (statically linked; they export
 * _PyRuntime all the same), in the root scripts/debian-root makes. */
static const char *debian_python(const char *minor, char *buf, size_t len)
{
	snprintf(buf, len, "%s/usr/bin/python%s", unit__debian_root(), minor);
	return buf;
}

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
	struct py_layout l, b10;
	unsigned char blob[4096];
	char path[512], why[256], err[256], diff[256];
	size_t n;
	int ret;

	debian_python("3.14", path, sizeof(path));
	if (access(path, R_OK) != 0)
		SKIP("%s is not there: `make deps` makes Debian unstable's root "
		     "(scripts/debian-root)",
		     path);
	n = read_runtime_init(path, blob, sizeof(blob), why, sizeof(why));
	if (n == 0)
		fprintf(stderr, "%s\n", why);
	REQUIRE(n > 0);
	REQUIRE(b);

	ret = py_layout__from_debug_offsets(blob, n, &l, err, sizeof(err));
	if (ret)
		fprintf(stderr, "from_debug_offsets: %s\n", err);
	REQUIRE(ret == 0);
	CHECK_INT(l.version, PYVER(3, 14));
	CHECK_INT(l.free_threaded, 0);
	CHECK_INT(l.walk.runtime_interp_head, 808);
	CHECK_INT(l.walk.interp_next, 7272);
	CHECK_INT(l.walk.tstate_frame, 72);
	CHECK_INT(l.walk.frame_owner, 74);
	CHECK_INT(l.walk.code_adaptive, 208);
	CHECK_INT(l.walk.frame_tlbc_index, PY_OFF_NONE);
	CHECK_INT(l.walk.code_tlbc, PY_OFF_NONE);
	/* The walk's fingerprint cache (bpf/pystack.bpf.h code_fingerprint):
	 * the count of code objects freed, after sys.modules and the GIL
	 * (7992 on x86-64; the GIL's mutexes are larger on arm64). */
	CHECK_INT(l.walk.tstate_interp, 16);
	CHECK(l.walk.interp_code_gen != PY_OFF_NONE &&
	      l.walk.interp_code_gen > l.obj.interp_modules &&
	      l.walk.interp_code_gen < 8192);
	CHECK_INT(l.code.size, 144);
	/*
	 * The table knows the patch releases: 3.14.5 went back to the
	 * generational GC, and sys.modules moved 24 bytes up.  3.14.10 is
	 * the table's 3.14 at patch level 10 exactly; v3.14.0's differs in
	 * that one field.
	 */
	REQUIRE(py_layout__lookup(PYVER(3, 14), 10, false, &b10) == 0);
	ret = py_layout__diff(&b10, &l, diff, sizeof(diff));
	if (ret)
		fprintf(stderr,
			"table 3.14.10 vs %s: %d differences, first %s\n", path,
			ret, diff);
	CHECK_INT(ret, 0);
	CHECK_INT(py_layout__diff(b, &l, diff, sizeof(diff)), 1);
	CHECK_STR(diff, "obj.interp_modules: 7664 != 7688");
	/* The whole 760 bytes are needed. */
	CHECK_INT(py_layout__from_debug_offsets(blob, 759, &l, err,
						sizeof(err)),
		  -EINVAL);
}

TEST(python_offsets_debug_offsets_315_file)
{
	const struct py_layout *b = py_layout__builtin(PYVER(3, 15));
	unsigned char blob[4096];
	struct py_layout l;
	char path[512], why[256], err[256], diff[256];
	size_t n;
	int ret;

	debian_python("3.15", path, sizeof(path));
	if (access(path, R_OK) != 0)
		SKIP("%s is not there: `make deps` makes Debian unstable's root "
		     "(scripts/debian-root)",
		     path);
	n = read_runtime_init(path, blob, sizeof(blob), why, sizeof(why));
	if (n == 0)
		fprintf(stderr, "%s\n", why);
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
			"built-in 3.15 vs %s: %d differences, first %s\n", path,
			ret, diff);
	CHECK_INT(ret, 0);
	/* A few by name, so a table and parser wrong alike still fail. */
	CHECK_INT(l.version, PYVER(3, 15));
	CHECK_INT(l.walk.runtime_interp_head, 936);
	CHECK_INT(l.walk.interp_next, 7264);
	CHECK_INT(l.walk.interp_threads_head, 7336);
	CHECK_INT(l.walk.tstate_frame, 72);
	CHECK_INT(l.walk.tstate_thread_id, 176);
	CHECK_INT(l.walk.frame_owner, 74);
	CHECK_INT(l.walk.frame_tlbc_index, PY_OFF_NONE);
	CHECK_INT(l.obj.interp_modules, 7592);
	/* New in 3.15's _Py_DebugOffsets, taken from there. */
	CHECK_INT(l.obj.type_basicsize, 32);
	CHECK_INT(l.obj.type_dictoffset, 288);
	CHECK_INT(l.obj.ht_cached_keys, 888);
	CHECK_INT(l.unicode.compact_size, 56);
	CHECK_INT(l.unicode.data_any, 56);
	CHECK_INT(l.owner_skip_mask, 1 << 3);
	/* The whole 888 bytes are needed. */
	CHECK_INT(py_layout__from_debug_offsets(blob, 887, &l, err,
						sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, "truncated") != NULL);
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
	{ 176, 16 }, /* .interp */
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
	/* 3.13 counts no code objects freed: no fingerprint is kept from
	 * one sample to the next (bpf/pystack.bpf.h code_fingerprint). */
	CHECK_INT(l.walk.tstate_interp, 16);
	CHECK_INT(l.walk.interp_code_gen, PY_OFF_NONE);
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
 * 3.15's _Py_DebugOffsets, every member in declaration order (each a
 * uint64_t after the 24-byte header), with the values of Debian's 3.15.2.
 * D315_* name the indexes the tests change.
 */
static const uint64_t
	vals315[] = {
		346568, 912,  936, /* runtime_state */
		226240, 7272, 7264, 7336, 7352, 7400, 7592, 7576, 7584,
		16,	7736, 0,    7752, 7744, 7944, 0, /* interpreter_state */
		888,	0,    8,    16,	  72,	80,   88,   96,	  176,
		184,	256,  32,   36,	  40,	136,  288, /* thread_state */
		0, /* err_stackitem */
		88,	8,    0,    56,	  80,	74,   64,   0, /* interpreter_frame */
		216,	112,  120,  128,  136,	68,   52,   96,	  104,
		208,	0, /* code_object */
		16,	8, /* pyobject */
		424,	24,   88,   168,  32,	288, /* type_object */
		944,	888, /* heap_type_object */
		40,	32,   16, /* tuple_object */
		40,	24,   16, /* list_object */
		200,	24,   40,   32, /* set_object */
		48,	32,   40, /* dict_object */
		24,	16, /* float_object */
		32,	16,   24, /* long_object */
		40,	16,   32, /* bytes_object */
		64,	32,   16,   40,	  56, /* unicode_object */
		176,	112,  120,  1120, 104, /* gc */
		160,	24,   72,   67, /* gen_object */
		0,	8, /* llist_node */
		24,	344,  8028, 0,	  4,	512, /* debugger_support */
	};

#define N315 (sizeof(vals315) / sizeof(vals315[0]))
_Static_assert(24 + 8 * N315 == 888, "3.15's _Py_DebugOffsets is 888 bytes");

enum {
	D315_TSTATE_LPF_SEQ = 26, /* thread_state.last_profiled_frame_seq */
	D315_FRAME_OWNER = 41,
	D315_FRAME_TLBC = 43,
	D315_CODE = 44, /* code_object.size, then its members */
	D315_CO_TLBC = 54,
	D315_PYOBJECT = 55,
};

/*
 * The free-threaded 3.15t's, as its headers (3.15.2's, Py_GIL_DISABLED)
 * lay it out: the default build's values but where the 32-byte object
 * header, tlbc_index and co_tlbc move them.  {index, value}.
 */
static const struct put ft315[] = {
	{ 14, 7736 }, /* interpreter_state.gil_runtime_state_enabled */
	{ 18, 17252 }, /* .tlbc_generation */
	{ 41, 78 }, /* interpreter_frame.owner */
	{ 43, 72 }, /* .tlbc_index */
	{ 44, 240 },   { 45, 128 }, { 46, 136 }, { 47, 144 }, { 48, 152 },
	{ 49, 84 },    { 50, 68 },  { 51, 112 }, { 52, 120 }, { 53, 232 },
	{ 54, 224 }, /* code_object: size ... co_tlbc */
	{ 55, 32 },    { 56, 24 }, /* pyobject */
	{ 57, 440 },   { 58, 40 },  { 59, 104 }, { 60, 184 }, { 61, 48 },
	{ 62, 304 }, /* type_object */
	{ 63, 968 },   { 64, 904 }, /* heap_type_object */
	{ 75, 64 },    { 76, 48 },  { 77, 56 }, /* dict_object */
	{ 80, 48 },    { 81, 32 },  { 82, 40 }, /* long_object */
	{ 83, 56 },    { 84, 32 },  { 85, 48 }, /* bytes_object */
	{ 86, 80 },    { 87, 48 },  { 88, 32 },	 { 89, 56 },  { 90, 72 },
};

#define BLOB315_LEN 888

/* A 3.15 blob of version hex, free-threaded or not, from vals315[] (with
 * ft315[] applied when free-threaded), skipping member index drop (~0u:
 * none, the rest moving up as in a build that lacks it). */
static void make315(unsigned char *buf, uint64_t hex, int ft, unsigned drop)
{
	uint64_t v[N315];
	unsigned n = 0;

	memcpy(v, vals315, sizeof(v));
	for (size_t i = 0; ft && i < sizeof(ft315) / sizeof(ft315[0]); i++)
		v[ft315[i].off] = ft315[i].val;
	memset(buf, 0, BLOB315_LEN);
	memcpy(buf, "xdebugpy", 8);
	put64(buf, 8, hex);
	put64(buf, 16, (uint64_t)ft);
	for (unsigned i = 0; i < N315; i++)
		if (i != drop)
			put64(buf, 24 + 8 * n++, v[i]);
}

TEST(python_offsets_debug_offsets_315_synthetic)
{
	unsigned char blob[BLOB315_LEN];
	struct py_layout l, b;
	char err[256], diff[256];
	int ret;

	make315(blob, 0x030f02f0, 0, ~0u);
	ret = py_layout__from_debug_offsets(blob, sizeof(blob), &l, err,
					    sizeof(err));
	if (ret)
		fprintf(stderr, "from_debug_offsets: %s\n", err);
	REQUIRE(ret == 0);
	REQUIRE(py_layout__lookup(PYVER(3, 15), 2, false, &b) == 0);
	ret = py_layout__diff(&b, &l, diff, sizeof(diff));
	if (ret)
		fprintf(stderr, "built-in 3.15 vs blob: %s\n", diff);
	CHECK_INT(ret, 0);
	CHECK_STR(l.name, "3.15");
	/* Default builds write 0 where free-threaded ones have tlbc: not
	 * taken (it would overlap f_executable). */
	CHECK_INT(l.walk.frame_tlbc_index, PY_OFF_NONE);
	CHECK_INT(l.walk.code_tlbc, PY_OFF_NONE);
}

/*
 * Free-threaded builds: no such interpreter could be installed here, so the
 * free-threaded rows are checked against _Py_DebugOffsets laid out as their
 * headers say (the unit tests of src/python/pyobj.c read objects laid out
 * so, and tests/test_e2e.py takes a real one from PYPROF_TEST_PYTHONS).
 */
TEST(python_offsets_debug_offsets_free_threaded)
{
	unsigned char blob[BLOB315_LEN], b314[BLOB314_LEN];
	struct py_layout l, b;
	struct py_proc_cfg cfg;
	char err[256], diff[256];
	int ret;

	make315(blob, 0x030f02f0, 1, ~0u);
	ret = py_layout__from_debug_offsets(blob, sizeof(blob), &l, err,
					    sizeof(err));
	if (ret)
		fprintf(stderr, "from_debug_offsets: %s\n", err);
	REQUIRE(ret == 0);
	REQUIRE(py_layout__lookup(PYVER(3, 15), 2, true, &b) == 0);
	ret = py_layout__diff(&b, &l, diff, sizeof(diff));
	if (ret)
		fprintf(stderr, "built-in 3.15t vs blob: %s\n", diff);
	CHECK_INT(ret, 0);
	CHECK_STR(l.name, "3.15t");
	CHECK_INT(l.free_threaded, 1);
	/* Not taken: no fingerprint cache without a GIL. */
	CHECK_INT(l.walk.interp_code_gen, PY_OFF_NONE);
	CHECK_INT(l.object.ob_type, 24);
	CHECK_INT(l.walk.frame_owner, 78);
	CHECK_INT(l.walk.frame_tlbc_index, 72);
	CHECK_INT(l.walk.code_tlbc, 224);
	CHECK_INT(l.walk.code_firstlineno, 84);
	CHECK_INT(l.walk.code_adaptive, 232);
	CHECK_INT(l.code.size, 160);
	CHECK_INT(l.unicode.kind_shift, 8);
	CHECK_INT(l.unicode.compact_bit, 11);
	CHECK_INT(l.unicode.ascii_bit, 12);
	CHECK_INT(l.unicode.data_any, 72);
	CHECK_INT(l.obj.managed_dict, PY_MD_313T);
	py_layout__to_cfg(&l, 1, &cfg);
	CHECK_INT(cfg.flags, PY_CFG_FREE_THREADED);
	CHECK_INT(cfg.off.frame_tlbc_index, 72);

	/* tlbc_index must lie within what BPF reads of a frame, apart from
	 * the other frame fields. */
	put64(blob, 24 + 8 * D315_FRAME_TLBC, 56);
	CHECK_INT(py_layout__from_debug_offsets(blob, sizeof(blob), &l, err,
						sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, "overlap") != NULL);
	put64(blob, 24 + 8 * D315_FRAME_TLBC, 86);
	CHECK_INT(py_layout__from_debug_offsets(blob, sizeof(blob), &l, err,
						sizeof(err)),
		  -EINVAL);

	/* 3.14t: the 3.14 blob with the free-threaded values. */
	MAKE314(b314);
	put64(b314, 16, 1); /* free_threaded */
	put64(b314, 288, 78); /* interpreter_frame.owner */
	put64(b314, 304, 72); /* .tlbc_index */
	put64(b314, 312, 240); /* code_object.size */
	put64(b314, 320, 128); /* .filename */
	put64(b314, 328, 136); /* .name */
	put64(b314, 336, 144); /* .qualname */
	put64(b314, 344, 152); /* .linetable */
	put64(b314, 352, 84); /* .firstlineno */
	put64(b314, 384, 232); /* .co_code_adaptive */
	put64(b314, 392, 224); /* .co_tlbc */
	put64(b314, 400, 32); /* pyobject.size */
	put64(b314, 408, 24); /* .ob_type */
	put64(b314, 416, 432); /* type_object.size */
	put64(b314, 440, 184); /* .tp_flags */
	put64(b314, 528, 64); /* dict_object.size */
	put64(b314, 536, 48); /* .ma_keys */
	put64(b314, 544, 56); /* .ma_values */
	put64(b314, 568, 48); /* long_object.size */
	put64(b314, 576, 32); /* .lv_tag */
	put64(b314, 584, 40); /* .ob_digit */
	put64(b314, 592, 56); /* bytes_object.size */
	put64(b314, 600, 32); /* .ob_size */
	put64(b314, 608, 48); /* .ob_sval */
	put64(b314, 616, 80); /* unicode_object.size */
	put64(b314, 624, 48); /* .state */
	put64(b314, 632, 32); /* .length */
	put64(b314, 640, 56); /* .asciiobject_size */
	put64(b314, 96, 7712); /* interpreter_state.imports_modules */
	ret = py_layout__from_debug_offsets(b314, sizeof(b314), &l, err,
					    sizeof(err));
	if (ret)
		fprintf(stderr, "from_debug_offsets: %s\n", err);
	REQUIRE(ret == 0);
	REQUIRE(py_layout__lookup(PYVER(3, 14), 0, true, &b) == 0);
	ret = py_layout__diff(&b, &l, diff, sizeof(diff));
	if (ret)
		fprintf(stderr, "built-in 3.14t vs blob: %s\n", diff);
	CHECK_INT(ret, 0);
	CHECK_STR(l.name, "3.14t");
	CHECK_INT(l.walk.frame_tlbc_index, 72);
	CHECK_INT(l.owner_skip_mask, (1 << 3) | (1 << 4));
	/* free_threaded is 0 or 1. */
	put64(b314, 16, 2);
	CHECK_INT(py_layout__from_debug_offsets(b314, sizeof(b314), &l, err,
						sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, "free_threaded") != NULL);
}

/*
 * Alphas and betas: read as their minor's final layout, taken when every
 * check passes, refused with the reason when their layout is another.
 */
TEST(python_offsets_debug_offsets_prerelease)
{
	unsigned char blob[BLOB315_LEN];
	struct py_layout l;
	char err[512];
	int ret;

	/* 3.15.0b1 laid out as the final release: taken. */
	make315(blob, 0x030f00b1, 0, ~0u);
	ret = py_layout__from_debug_offsets(blob, sizeof(blob), &l, err,
					    sizeof(err));
	CHECK_INT(ret, 0);
	CHECK_INT(l.version, PYVER(3, 15));

	/* With values of its own (a frame 8 bytes bigger): its own. */
	put64(blob, 24 + 8 * D315_FRAME_OWNER, 82);
	ret = py_layout__from_debug_offsets(blob, sizeof(blob), &l, err,
					    sizeof(err));
	CHECK_INT(ret, 0);
	CHECK_INT(l.walk.frame_owner, 82);

	/* Before 3.15.0b4 there was no last_profiled_frame_seq: every
	 * member after it sits 8 bytes lower, which the checks refuse,
	 * saying it is a pre-release. */
	make315(blob, 0x030f00b3, 0, D315_TSTATE_LPF_SEQ);
	ret = py_layout__from_debug_offsets(blob, sizeof(blob), &l, err,
					    sizeof(err));
	CHECK_INT(ret, -EINVAL);
	CHECK(strstr(err, "pre-release") != NULL);
	CHECK(strstr(err, "0x30f00b3") != NULL);
	/* A final release laid out so is refused too. */
	make315(blob, 0x030f00f0, 0, D315_TSTATE_LPF_SEQ);
	ret = py_layout__from_debug_offsets(blob, sizeof(blob), &l, err,
					    sizeof(err));
	CHECK_INT(ret, -EINVAL);
	CHECK(strstr(err, "pre-release") == NULL);
}

TEST(python_offsets_patch_releases)
{
	struct py_layout l;

	/* 3.14.5 went back to the generational GC (240 -> 264 bytes). */
	REQUIRE(py_layout__lookup(PYVER(3, 14), 4, false, &l) == 0);
	CHECK_INT(l.obj.interp_modules, 7664);
	REQUIRE(py_layout__lookup(PYVER(3, 14), 5, false, &l) == 0);
	CHECK_INT(l.obj.interp_modules, 7688);
	REQUIRE(py_layout__lookup(PYVER(3, 14), 10, false, &l) == 0);
	CHECK_INT(l.obj.interp_modules, 7688);
	/* Not the free-threaded row, which is 3.14.10's already. */
	REQUIRE(py_layout__lookup(PYVER(3, 14), 10, true, &l) == 0);
	CHECK_INT(l.obj.interp_modules, 7712);
	CHECK_INT(py_layout__lookup(PYVER(3, 12), 0, true, &l), -ENOENT);
	CHECK_INT(py_layout__lookup(PYVER(3, 16), 0, false, &l), -ENOENT);
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
	REFUSED("free_threaded neither 0 nor 1", 16, 7, BLOB314_LEN,
		"free_threaded");
	REFUSED("3.12", 8, 0x030c00f0, BLOB314_LEN, "unsupported version");
	REFUSED("3.16", 8, 0x031000f0, BLOB314_LEN, "unsupported version");
	REFUSED("3.15 length for a 3.15", 8, 0x030f00f0, BLOB314_LEN,
		"truncated");
	REFUSED("python 4", 8, 0x040e00f0, BLOB314_LEN, "unsupported version");
	REFUSED("garbage version", 8, 0xffffffff030e00f0ull, BLOB314_LEN,
		"unsupported version");
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
		if (py_layout__lookup(v, 0, true, &l))
			unit__fail(__FILE__, __LINE__,
				   "layout.c reads 3.%u's _Py_DebugOffsets but "
				   "has no free-threaded (3.%ut) row",
				   minor, minor);
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
	CHECK(py_layout__builtin(PYVER_MAX + 1) == NULL);
	CHECK(py_layout__builtin(0) == NULL);

	for (unsigned minor = 8; minor <= (PYVER_MAX & 0xff); minor++) {
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
		CHECK_INT(l->code_tag_bits, minor >= 14 ? 2 : 0);
		/* C-stack shims (3.12, 3.13), the interpreter's entry frames
		 * and C stack (3.14), entry and base frames (3.15). */
		CHECK_INT(l->owner_skip_mask, minor <= 11 ? 0 :
					      minor <= 13 ? 0x08 :
					      minor == 14 ? 0x18 :
							    0x08);
		CHECK_INT(l->free_threaded, 0);
		CHECK_INT(w->frame_tlbc_index, PY_OFF_NONE);
		CHECK_INT(w->code_tlbc, PY_OFF_NONE);
		if (minor >= 13)
			/* _Py_DebugOffsets (584, 760, 888 bytes) comes
			 * first. */
			CHECK(w->runtime_interp_head >= (minor == 13 ? 584u :
							 minor == 14 ? 760u :
								       888u));

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

/*
 * The free-threaded rows: each is its default build's row with the object
 * header 16 bytes longer (every object field 16 up), and the rest of what
 * Py_GIL_DISABLED changes.
 */
TEST(python_offsets_builtin_free_threaded)
{
	for (unsigned v = PYVER_FT_MIN; v <= PYVER_MAX; v++) {
		const struct py_layout *g = py_layout__builtin(v);
		struct py_layout t;
		char name[8];

		if (py_layout__lookup(v, 0, true, &t)) {
			unit__fail(__FILE__, __LINE__,
				   "3.%u has no free-threaded row", v & 0xff);
			continue;
		}
		REQUIRE(g);
		snprintf(name, sizeof(name), "3.%ut", v & 0xff);
		CHECK_STR(t.name, name);
		CHECK_INT(t.free_threaded, 1);
		CHECK_INT(t.version, v);
		CHECK_INT(t.object.ob_type, g->object.ob_type + 16);
		CHECK_INT(t.bytes.ob_size, g->bytes.ob_size + 16);
		CHECK_INT(t.bytes.ob_sval, g->bytes.ob_sval + 16);
		CHECK_INT(t.unicode.length, g->unicode.length + 16);
		CHECK_INT(t.unicode.state, g->unicode.state + 16);
		CHECK_INT(t.unicode.ascii_size, g->unicode.ascii_size + 16);
		CHECK_INT(t.unicode.compact_size, g->unicode.compact_size + 16);
		CHECK_INT(t.unicode.data_any, g->unicode.data_any + 16);
		CHECK_INT(t.code.name, g->code.name + 16);
		CHECK_INT(t.code.qualname, g->code.qualname + 16);
		CHECK_INT(t.code.filename, g->code.filename + 16);
		CHECK_INT(t.code.linetable, g->code.linetable + 16);
		CHECK_INT(t.code.firstlineno, g->code.firstlineno + 16);
		CHECK_INT(t.code.size, g->code.size + 16);
		CHECK_INT(t.walk.code_firstlineno, t.code.firstlineno);
		CHECK_INT(t.obj.module_dict, g->obj.module_dict + 16);
		CHECK_INT(t.obj.dict_keys, g->obj.dict_keys + 16);
		CHECK_INT(t.obj.dict_values, g->obj.dict_values + 16);
		CHECK_INT(t.obj.type_flags, g->obj.type_flags + 16);
		CHECK_INT(t.obj.type_basicsize, g->obj.type_basicsize + 16);
		CHECK_INT(t.obj.type_dictoffset, g->obj.type_dictoffset + 16);
		CHECK_INT(t.obj.ht_cached_keys, g->obj.ht_cached_keys + 16);
		CHECK_INT(t.obj.long_size, g->obj.long_size + 16);
		CHECK_INT(t.obj.long_digits, g->obj.long_digits + 16);
		CHECK_INT(t.obj.managed_dict, PY_MD_313T);
		/* Not objects: the same (the gc state aside). */
		CHECK_INT(t.walk.runtime_interp_head,
			  g->walk.runtime_interp_head);
		CHECK_INT(t.walk.interp_threads_head,
			  g->walk.interp_threads_head);
		CHECK_INT(t.walk.tstate_thread_id, g->walk.tstate_thread_id);
		CHECK_INT(t.walk.tstate_frame, g->walk.tstate_frame);
		CHECK_INT(t.walk.frame_previous, g->walk.frame_previous);
		CHECK_INT(t.walk.frame_instr, g->walk.frame_instr);
		CHECK_INT(t.owner_skip_mask, g->owner_skip_mask);
		/* 3.14+: thread-local bytecode, an int32 before owner. */
		if (v >= PYVER(3, 14)) {
			CHECK(fits_frame(t.walk.frame_tlbc_index, 4));
			CHECK_INT(t.walk.frame_owner,
				  t.walk.frame_tlbc_index + 6);
			CHECK_INT(t.walk.code_tlbc, t.walk.code_adaptive - 8);
			CHECK_INT(t.unicode.kind_shift, 8);
			CHECK_INT(t.unicode.compact_bit, 11);
			CHECK_INT(t.unicode.ascii_bit, 12);
		} else {
			CHECK_INT(t.walk.frame_tlbc_index, PY_OFF_NONE);
			CHECK_INT(t.walk.code_tlbc, PY_OFF_NONE);
			CHECK_INT(t.walk.frame_owner, g->walk.frame_owner);
			CHECK_INT(t.walk.code_adaptive,
				  g->walk.code_adaptive + 16);
			CHECK_INT(t.unicode.kind_shift, 2);
		}
	}
	CHECK_INT(py_layout__lookup(PYVER(3, 12), 0, true,
				    &(struct py_layout){ 0 }),
		  -ENOENT);
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
	CHECK_INT(cfg.flags, 0);
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
