// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of code object fingerprints (py_code_fp in bpf/pyprof_shared.h):
 * that the span the sampler reads (py_layout__to_cfg) gives what userspace
 * computes (python__code_fp) on every version, and that python__code names
 * a frame only when the object it reads is the one sampled -- alive, with
 * the same fingerprint -- and [unknown] otherwise (issue 16 item 4).
 */
#include "unit.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "python/python.h"

#define FAKE_BASE 0x10000000ull
#define FAKE_SIZE (1u << 16)
#define CODE_TYPE 0x7000ull /* PyCode_Type's address, as attach finds it */

struct fake {
	uint8_t mem[FAKE_SIZE];
	size_t used;
};

static int fake_read(const struct rmem *m, uint64_t addr, void *buf, size_t len)
{
	const struct fake *f = m->ctx;

	if (addr < FAKE_BASE || addr - FAKE_BASE > FAKE_SIZE ||
	    len > FAKE_SIZE - (addr - FAKE_BASE))
		return -EFAULT;
	memcpy(buf, f->mem + (addr - FAKE_BASE), len);
	return 0;
}

static uint64_t fake_alloc(struct fake *f, size_t size)
{
	uint64_t a;

	f->used = (f->used + 15) & ~(size_t)15;
	if (f->used + size > FAKE_SIZE)
		abort();
	a = FAKE_BASE + f->used;
	f->used += size;
	return a;
}

static void put64(struct fake *f, uint64_t addr, uint64_t v)
{
	memcpy(f->mem + (addr - FAKE_BASE), &v, 8);
}

static void put32(struct fake *f, uint64_t addr, uint32_t v)
{
	memcpy(f->mem + (addr - FAKE_BASE), &v, 4);
}

/* A compact ASCII str. */
static uint64_t mk_str(struct fake *f, const struct py_layout *l, const char *s)
{
	size_t n = strlen(s);
	uint64_t o = fake_alloc(f, l->unicode.ascii_size + n + 1);

	put64(f, o, 1);
	put64(f, o + l->unicode.length, n);
	put32(f, o + l->unicode.state,
	      1u << l->unicode.kind_shift | 1u << l->unicode.compact_bit |
		      1u << l->unicode.ascii_bit | 1u << 7);
	memcpy(f->mem + (o + l->unicode.ascii_size - FAKE_BASE), s, n + 1);
	return o;
}

/* Fills the code object at addr: alive, its name and file name objects
 * (the same object when name is file), and its first line. */
static void mk_code(struct fake *f, const struct py_layout *l, uint64_t addr,
		    const char *name, const char *file, uint32_t first)
{
	uint64_t n = mk_str(f, l, name);
	uint64_t fl = strcmp(name, file) == 0 ? n : mk_str(f, l, file);

	memset(f->mem + (addr - FAKE_BASE), 0, l->code.size);
	put64(f, addr, 1);
	put64(f, addr + l->object.ob_type, CODE_TYPE);
	put32(f, addr + l->code.firstlineno, first);
	put64(f, addr + l->code.name, n);
	if (l->code.qualname != PY_OFF_NONE)
		put64(f, addr + l->code.qualname, n);
	put64(f, addr + l->code.filename, fl);
}

static uint32_t fp_at(struct fake *f, const struct py_layout *l, uint64_t addr)
{
	return python__code_fp(l, f->mem + (addr - FAKE_BASE));
}

static void target(struct py_target *t, struct fake *f, unsigned version)
{
	memset(t, 0, sizeof(*t));
	t->version = version;
	t->layout = *py_layout__builtin(version);
	t->code_type = CODE_TYPE;
	t->mem.read = fake_read;
	t->mem.ctx = f;
}

TEST(code_fp_span_is_what_userspace_reads)
{
	for (unsigned minor = 8; minor <= 20; minor++) {
		const struct py_layout *l = py_layout__builtin(PYVER(3, minor));
		struct py_proc_cfg cfg;
		uint8_t buf[512];
		const uint8_t *s;
		uint32_t want;

		if (!l)
			continue;
		py_layout__to_cfg(l, 0, &cfg);
		REQUIRE(cfg.fp.len >= 8 && cfg.fp.len <= PY_CODE_FP_SPAN_MAX);
		REQUIRE(l->code.size <= sizeof(buf));
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)(i * 37 + minor);
		/* What the sampler computes from its read of the span. */
		s = buf + cfg.fp.base;
		want = py_code_fp(rmem__ld64(s + cfg.fp.filename),
				  rmem__ld64(s + cfg.fp.name),
				  rmem__ld64(s + cfg.fp.linetable));
		/* One read of a few bytes, in one or two cache lines. */
		CHECK(cfg.fp.len <= 32);
		CHECK_INT(python__code_fp(l, buf), want);
		CHECK(want <= PY_FRAME_FP_MASK);
		/* Each of the three fields counts; the reference count not. */
		buf[l->code.filename] ^= 8;
		CHECK(python__code_fp(l, buf) != want);
		buf[l->code.filename] ^= 8;
		buf[l->code.name + 2] ^= 4;
		CHECK(python__code_fp(l, buf) != want);
		buf[l->code.name + 2] ^= 4;
		buf[l->code.linetable + 1] ^= 1;
		CHECK(python__code_fp(l, buf) != want);
		buf[l->code.linetable + 1] ^= 1;
		buf[0] ^= 1;
		CHECK_INT(python__code_fp(l, buf), want);
	}
}

TEST(code_reused_address_is_never_another_name)
{
	static struct fake f;
	unsigned v = PYVER(3, 10);
	const struct py_layout *l = py_layout__builtin(v);
	struct py_target t, fresh;
	const struct py_code *c;
	uint8_t obj_a[512];
	uint64_t a;
	uint32_t fp_a, fp_b;

	memset(&f, 0, sizeof(f));
	f.used = 4096;
	a = fake_alloc(&f, 512);
	/* Module a's code object, sampled; freed, and module b's lands at
	 * its address: the same first line, 1. */
	mk_code(&f, l, a, "<module>", "/app/a.py", 1);
	fp_a = fp_at(&f, l, a);
	memcpy(obj_a, f.mem + (a - FAKE_BASE), sizeof(obj_a));
	target(&t, &f, v);
	c = python__code(&t, a, fp_a | PY_FRAME_F_ENTRY);
	REQUIRE(c && c->ok);
	CHECK(strcmp(c->filename, "/app/a.py") == 0);
	mk_code(&f, l, a, "<module>", "/app/b.py", 1);
	fp_b = fp_at(&f, l, a);
	REQUIRE(fp_a != fp_b);
	/* Each fingerprint keeps its own name in the cache. */
	c = python__code(&t, a, fp_b);
	REQUIRE(c && c->ok);
	CHECK(strcmp(c->filename, "/app/b.py") == 0);
	c = python__code(&t, a, fp_a);
	REQUIRE(c && c->ok);
	CHECK(strcmp(c->filename, "/app/a.py") == 0);
	/* Read only after the reuse: unknown... */
	target(&fresh, &f, v);
	c = python__code(&fresh, a, fp_a);
	REQUIRE(c);
	CHECK(!c->ok && c->stale && !c->name);
	/* ...and that verdict stands for PY_CODE_STALE_RETRY_NS, even with
	 * a made again at a, with the same strings and line table... */
	memcpy(f.mem + (a - FAKE_BASE), obj_a, sizeof(obj_a));
	REQUIRE(fp_at(&f, l, a) == fp_a);
	c = python__code(&fresh, a, fp_a);
	REQUIRE(c);
	CHECK(!c->ok && c->stale);
	/* ...after which the pair is read again, and names what it
	 * fingerprints (a function compiled round after round).  Not b,
	 * whose own pair stays gone while a is there. */
	usleep((useconds_t)(PY_CODE_STALE_RETRY_NS / 1000 + 20000));
	c = python__code(&fresh, a, fp_a);
	REQUIRE(c && c->ok);
	CHECK(strcmp(c->filename, "/app/a.py") == 0);
	c = python__code(&fresh, a, fp_b);
	REQUIRE(c);
	CHECK(!c->ok && c->stale && !c->name);
	python__detach(&t);
	python__detach(&fresh);
}

TEST(code_freed_is_unknown)
{
	static const struct {
		unsigned minor;
		uint64_t refcnt, type;
		bool ok;
	} cases[] = {
		{ 10, 1, CODE_TYPE, true },
		{ 10, 0, CODE_TYPE, false }, /* freed, end of a free list */
		{ 10, 0x7f0012345670ull, CODE_TYPE, false }, /* pymalloc's */
		{ 10, 1, 0x55aa55aa55aa55aaull, false }, /* glibc's key */
		{ 12, 0xffffffffull, CODE_TYPE, true }, /* immortal */
		{ 14, 3ull << 30 | 1ull << 63, CODE_TYPE, true }, /* flags */
		{ 14, 0x00007f0012345670ull, CODE_TYPE, false },
	};
	static struct fake f;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned v = PYVER(3, cases[i].minor);
		const struct py_layout *l = py_layout__builtin(v);
		const struct py_code *c;
		struct py_target t;
		uint64_t a;
		uint32_t fp;

		if (!l)
			continue;
		memset(&f, 0, sizeof(f));
		f.used = 4096;
		a = fake_alloc(&f, 512);
		mk_code(&f, l, a, "work", "/app/w.py", 7);
		fp = fp_at(&f, l, a);
		/* What freeing writes: the first words, nothing else. */
		put64(&f, a, cases[i].refcnt);
		put64(&f, a + l->object.ob_type, cases[i].type);
		target(&t, &f, v);
		c = python__code(&t, a, fp);
		REQUIRE(c);
		if (c->ok != cases[i].ok)
			unit__fail(__FILE__, __LINE__, "case %zu: ok %d", i,
				   c->ok);
		python__detach(&t);
	}
}

TEST(code_init_cleanup_is_a_shim)
{
	static struct fake f;

	for (unsigned minor = 12; minor <= 13; minor++) {
		unsigned v = PYVER(3, minor);
		const struct py_layout *l = py_layout__builtin(v);
		const struct py_code *c;
		struct py_target t;
		uint64_t a, b;

		memset(&f, 0, sizeof(f));
		f.used = 4096;
		a = fake_alloc(&f, 512);
		b = fake_alloc(&f, 512);
		/* _Py_InitCleanup: one "__init__" str for name and file. */
		mk_code(&f, l, a, "__init__", "__init__", 0);
		/* A class's own __init__ is not. */
		mk_code(&f, l, b, "__init__", "/app/thing.py", 3);
		target(&t, &f, v);
		c = python__code(&t, a, fp_at(&f, l, a));
		REQUIRE(c && c->ok);
		CHECK(c->shim == (minor >= 13));
		c = python__code(&t, b, fp_at(&f, l, b));
		REQUIRE(c && c->ok);
		CHECK(!c->shim);
		python__detach(&t);
	}
}
