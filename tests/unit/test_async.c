// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of --async (issue 23): reading asyncio's tasks (src/python/
 * pytask.c) from a fake target built in a buffer, hostile shapes included
 * (a task list that loops, an awaited-by set with dummies and more slots
 * than are read, an await chain that loops); the offsets from the real
 * Debian 3.14.10 and 3.15.2 files; task frames read back from folded stacks
 * and the live view's task filter.
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/profile.h"
#include "out/in_folded.h"
#include "python/pytask.h"
#include "python/python.h"
#include "ui/top_model.h"

/* ------------------------------------------------------- fake target -- */

#define BASE 0x20000000ull
#define SIZE (1u << 20)

struct fake {
	struct rmem m;
	uint8_t *mem;
	size_t used;
	int reads;
	struct py_layout l;
	struct pytask_offsets o;
	uint64_t coro_type, other_type, long_type, str_type;
};

static int fake_read(const struct rmem *m, uint64_t addr, void *buf, size_t len)
{
	struct fake *f = m->ctx;

	f->reads++;
	if (addr < BASE || addr - BASE > SIZE || len > SIZE - (addr - BASE))
		return -EFAULT;
	memcpy(buf, f->mem + (addr - BASE), len);
	return 0;
}

static uint64_t alloc(struct fake *f, size_t size)
{
	uint64_t a;

	f->used = (f->used + 15) & ~(size_t)15;
	if (f->used + size > SIZE)
		abort();
	a = BASE + f->used;
	f->used += size;
	return a;
}

static void put64(struct fake *f, uint64_t addr, uint64_t v)
{
	memcpy(f->mem + (addr - BASE), &v, 8);
}

static void put8(struct fake *f, uint64_t addr, uint8_t v)
{
	f->mem[addr - BASE] = v;
}

/*
 * A 3.14 layout, with the task offsets of Debian's 3.14.10 (checked
 * against the real files below) and generator, frame and set offsets as
 * that build's _Py_DebugOffsets has them.
 */
static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));

	f->mem = calloc(1, SIZE);
	f->m.read = fake_read;
	f->m.ctx = f;
	f->used = 4096;
	if (py_layout__lookup(PYVER(3, 14), 10, false, &f->l))
		abort();
	f->o = (struct pytask_offsets){
		.task_size = 168,
		.task_name = 136,
		.task_awaited_by = 96,
		.task_is_task = 108,
		.task_awaited_by_is_set = 109,
		.task_coro = 128,
		.task_node = 152,
		.interp_tasks_head = 10880,
		.ts_running_task = 872,
		.ts_tasks_head = 880,
		.ts_native_thread_id = 160,
		.gen_size = 168,
		.gi_iframe = 72,
		.gi_frame_state = 67,
		.frame_size = 80,
		.frame_stackpointer = 64,
		.set_size = 200,
		.set_used = 24,
		.set_mask = 32,
		.set_table = 40,
		.yield_from = { -1, -1 },
		.await_slot = 1,
		.stack_tag_bits = 2,
	};
	f->coro_type = alloc(f, 512);
	f->other_type = alloc(f, 512);
	f->long_type = alloc(f, 512);
	f->str_type = alloc(f, 512);
	put64(f, f->long_type + f->l.obj.type_flags, 1ull << 24);
	put64(f, f->str_type + f->l.obj.type_flags, 1ull << 28);
	return f;
}

static void fake_free(struct fake *f)
{
	free(f->mem);
	free(f);
}

/* An int object holding n (3.12+ tagged long). */
static uint64_t mk_long(struct fake *f, uint32_t n)
{
	uint64_t a = alloc(f, 64);

	put64(f, a, 1);
	put64(f, a + f->l.object.ob_type, f->long_type);
	put64(f, a + f->l.obj.long_size, (1ull << 3) | 0); /* 1 digit, + */
	memcpy(f->mem + (a - BASE) + f->l.obj.long_digits, &n, 4);
	return a;
}

/* A task (or a Future when coro is 0 and !is_task). */
static uint64_t mk_task(struct fake *f, uint64_t name, uint64_t coro,
			bool is_task)
{
	uint64_t t = alloc(f, f->o.task_size);

	put64(f, t, 2); /* a live reference count */
	put64(f, t + f->l.object.ob_type, f->other_type);
	put8(f, t + f->o.task_is_task, is_task);
	put64(f, t + f->o.task_name, name);
	put64(f, t + f->o.task_coro, coro);
	return t;
}

static void await_by(struct fake *f, uint64_t task, uint64_t waiter,
		     bool is_set)
{
	put64(f, task + f->o.task_awaited_by, waiter);
	put8(f, task + f->o.task_awaited_by_is_set, is_set);
}

/* The file name, name and line table pointers of mk_code(f, line). */
static void code_ptrs(uint32_t line, uint64_t p[3])
{
	for (int i = 0; i < 3; i++)
		p[i] = 0x7f0000000000ull + (uint64_t)line * 64 +
		       (uint64_t)i * 16;
}

/* Its fingerprint (py_code_fp), as the sampler would record it. */
static uint32_t code_fp_of(uint32_t line)
{
	uint64_t p[3];

	code_ptrs(line, p);
	return py_code_fp(p[0], p[1], p[2]);
}

/* A code object with co_firstlineno line, and a file name, name and line
 * table told apart by line. */
static uint64_t mk_code(struct fake *f, uint32_t line)
{
	uint64_t c = alloc(f, 512), p[3];

	code_ptrs(line, p);
	memcpy(f->mem + (c - BASE) + f->l.walk.code_firstlineno, &line, 4);
	memcpy(f->mem + (c - BASE) + f->l.code.filename, &p[0], 8);
	memcpy(f->mem + (c - BASE) + f->l.code.name, &p[1], 8);
	memcpy(f->mem + (c - BASE) + f->l.code.linetable, &p[2], 8);
	return c;
}

/*
 * A coroutine suspended at byte offset lasti of code, in state st (3.14:
 * -2 suspended, -1 in an await), awaiting awaited (0: none) on its stack.
 */
static uint64_t mk_coro(struct fake *f, uint64_t code, int32_t lasti, int8_t st,
			uint64_t awaited)
{
	uint64_t g = alloc(f, f->o.gen_size), fr = g + f->o.gi_iframe;
	uint64_t stack = alloc(f, 64);

	put64(f, g, 1);
	put64(f, g + f->l.object.ob_type, f->coro_type);
	put8(f, g + f->o.gi_frame_state, (uint8_t)st);
	put64(f, fr + f->l.walk.frame_code, code | 1); /* a tagged ref */
	put64(f, fr + f->l.walk.frame_instr,
	      code + f->l.walk.code_adaptive + (uint64_t)lasti);
	put8(f, fr + f->l.walk.frame_owner, 1); /* FRAME_OWNED_BY_GENERATOR */
	put64(f, stack, awaited ? awaited | 1 : 0);
	put64(f, fr + f->o.frame_stackpointer, stack + 8);
	return g;
}

/* ------------------------------------------------------------ tasks -- */

TEST(async_task_name_and_fingerprint)
{
	struct fake *f = fake_new();
	uint64_t coro = mk_coro(f, mk_code(f, 10), 6, -2, 0);
	uint64_t t = mk_task(f, mk_long(f, 7), coro, true);
	struct pytask pt;
	char name[64];
	bool numbered;

	REQUIRE(f->l.walk.frame_code + 8 <= f->o.frame_stackpointer ||
		f->l.walk.frame_code >= f->o.frame_stackpointer + 8);
	CHECK_INT(pytask__read(&f->o, &f->l, &f->m, t, &pt), 0);
	CHECK(pt.is_task);
	CHECK(pt.coro == coro);
	/* asyncio numbers an unnamed task: get_name() says "Task-7". */
	CHECK_INT(pytask__name(&f->l, &f->m, &pt, name, sizeof(name),
			       &numbered),
		  6);
	CHECK_STR(name, "Task-7");
	CHECK(numbered);
	CHECK(pytask__fp(coro) & PY_FRAME_F_TASK);
	CHECK(pytask__fp(coro) != pytask__fp(coro + 16));
	/* Freed: pymalloc's free-list link where the reference count was. */
	put64(f, t, 0x7f12c4561230ull);
	CHECK_INT(pytask__read(&f->o, &f->l, &f->m, t, &pt), -ESTALE);
	put64(f, t, 0x7f1200001230ull); /* a small low half: still a link */
	CHECK_INT(pytask__read(&f->o, &f->l, &f->m, t, &pt), -ESTALE);
	put64(f, t, 2);
	/* A name that is neither a str nor an int is no task's. */
	put64(f, t + f->o.task_name, t);
	CHECK_INT(pytask__read(&f->o, &f->l, &f->m, t, &pt), 0);
	CHECK_INT(pytask__name(&f->l, &f->m, &pt, name, sizeof(name),
			       &numbered),
		  -ESTALE);
	/* Unreadable memory. */
	CHECK_INT(pytask__read(&f->o, &f->l, &f->m, 0x10, &pt), -EFAULT);
	fake_free(f);
}

TEST(async_awaiters_single_and_set)
{
	struct fake *f = fake_new();
	uint64_t t = mk_task(f, mk_long(f, 1), 0, true), set, table;
	uint64_t w[3], out[4];
	struct pytask pt;
	int total;
	bool cut;

	for (int i = 0; i < 3; i++)
		w[i] = mk_task(f, mk_long(f, 10 + (uint32_t)i), 0, true);
	await_by(f, t, w[1], false);
	REQUIRE(pytask__read(&f->o, &f->l, &f->m, t, &pt) == 0);
	CHECK_INT(pytask__awaiters(&f->o, &f->l, &f->m, &pt, out, 4, &total,
				   &cut),
		  1);
	CHECK(out[0] == w[1]);
	CHECK_INT(total, 1);

	/* A set of 8 slots: two entries, a dummy (hash -1), empty slots. */
	set = alloc(f, f->o.set_size);
	table = alloc(f, 8 * 16);
	put64(f, set + f->o.set_used, 2);
	put64(f, set + f->o.set_mask, 7);
	put64(f, set + f->o.set_table, table);
	put64(f, table + 1 * 16, w[2]);
	put64(f, table + 1 * 16 + 8, 42);
	put64(f, table + 3 * 16, w[0]);
	put64(f, table + 3 * 16 + 8, (uint64_t)-1); /* dummy */
	put64(f, table + 6 * 16, w[0]);
	put64(f, table + 6 * 16 + 8, 43);
	await_by(f, t, set, true);
	REQUIRE(pytask__read(&f->o, &f->l, &f->m, t, &pt) == 0);
	CHECK_INT(pytask__awaiters(&f->o, &f->l, &f->m, &pt, out, 4, &total,
				   &cut),
		  2);
	CHECK_INT(total, 2);
	CHECK(!cut);
	/* Lowest address first: the one path shown is the same each time. */
	CHECK(out[0] == w[0] && out[1] == w[2]);
	/* Room for one: the lowest, and the rest counted. */
	CHECK_INT(pytask__awaiters(&f->o, &f->l, &f->m, &pt, out, 1, &total,
				   &cut),
		  1);
	CHECK(out[0] == w[0]);
	CHECK_INT(total, 2);
	CHECK(cut);
	/* A corrupt mask (not a power of two less one) is refused. */
	put64(f, set + f->o.set_mask, 6);
	CHECK_INT(pytask__awaiters(&f->o, &f->l, &f->m, &pt, out, 4, &total,
				   &cut),
		  -ESTALE);
	/* A huge table is read up to PYTASK_SET_SLOTS_MAX slots, and said. */
	put64(f, set + f->o.set_mask, (1ull << 40) - 1);
	put64(f, set + f->o.set_used, 1ull << 39);
	f->reads = 0;
	CHECK_INT(pytask__awaiters(&f->o, &f->l, &f->m, &pt, out, 4, &total,
				   &cut),
		  2);
	CHECK(cut);
	CHECK_INT(total, INT32_MAX);
	CHECK(f->reads <= 1 + PYTASK_SET_SLOTS_MAX / 256);
	fake_free(f);
}

TEST(async_coroutine_chain)
{
	struct fake *f = fake_new();
	uint64_t c1 = mk_code(f, 100), c2 = mk_code(f, 200),
		 c3 = mk_code(f, 300);
	uint64_t fut = mk_task(f, 0, 0, false), inner, mid, outer;
	struct py_frame fr[PYTASK_CORO_MAX];
	bool cut;

	/* outer awaits mid awaits inner, which awaits a Future (the chain
	 * ends there). */
	inner = mk_coro(f, c3, 30, -1, fut);
	mid = mk_coro(f, c2, 20, -1, inner);
	outer = mk_coro(f, c1, 10, -1, mid);
	CHECK_INT(pytask__coro_frames(&f->o, &f->l, &f->m, outer, fr,
				      PYTASK_CORO_MAX, &cut, NULL),
		  3);
	CHECK(!cut);
	CHECK(fr[0].code == c1 && fr[0].lasti == 10 &&
	      fr[0].fingerprint == code_fp_of(100));
	CHECK(fr[1].code == c2 && fr[1].lasti == 20);
	CHECK(fr[2].code == c3 && fr[2].lasti == 30 &&
	      fr[2].fingerprint == code_fp_of(300));
	/* Room for two: cut, and said. */
	CHECK_INT(pytask__coro_frames(&f->o, &f->l, &f->m, outer, fr, 2, &cut,
				      NULL),
		  2);
	CHECK(cut);
	/* A coroutine suspended outside an await ends the chain; one not
	 * started (FRAME_CREATED, -3) has no frame. */
	put8(f, mid + f->o.gi_frame_state, (uint8_t)-2);
	CHECK_INT(pytask__coro_frames(&f->o, &f->l, &f->m, outer, fr,
				      PYTASK_CORO_MAX, &cut, NULL),
		  2);
	put8(f, outer + f->o.gi_frame_state, (uint8_t)-3);
	CHECK_INT(pytask__coro_frames(&f->o, &f->l, &f->m, outer, fr,
				      PYTASK_CORO_MAX, &cut, NULL),
		  0);
	/* An await chain that loops (inner awaits outer): cut at the
	 * repeat, never walked on. */
	put8(f, outer + f->o.gi_frame_state, (uint8_t)-1);
	put8(f, mid + f->o.gi_frame_state, (uint8_t)-1);
	put64(f,
	      rmem__ld64(f->mem + (inner + f->o.gi_iframe +
				   f->o.frame_stackpointer - BASE)) -
		      8,
	      outer | 1);
	f->reads = 0;
	CHECK_INT(pytask__coro_frames(&f->o, &f->l, &f->m, outer, fr,
				      PYTASK_CORO_MAX, &cut, NULL),
		  3);
	CHECK(cut);
	CHECK(f->reads < 32);
	/* A frame its generator does not own is no coroutine's. */
	put8(f, outer + f->o.gi_iframe + f->l.walk.frame_owner, 0);
	CHECK_INT(pytask__coro_frames(&f->o, &f->l, &f->m, outer, fr,
				      PYTASK_CORO_MAX, &cut, NULL),
		  -ESTALE);
	fake_free(f);
}

struct seen_log {
	uint64_t tasks[16];
	bool running[16];
	uint32_t tid[16];
	int n;
};

static int log_task(const struct pytask_seen *s, void *arg)
{
	struct seen_log *log = arg;

	if (log->n < 16) {
		log->tasks[log->n] = s->t.addr;
		log->running[log->n] = s->running;
		log->tid[log->n] = s->tid;
		log->n++;
	}
	return 0;
}

/* Links tasks t[0..n) into the list at head (a struct llist_node). */
static void link_list(struct fake *f, uint64_t head, const uint64_t *t, int n)
{
	uint64_t prev = head;

	for (int i = 0; i < n; i++) {
		put64(f, prev, t[i] + f->o.task_node);
		prev = t[i] + f->o.task_node;
	}
	put64(f, prev, head);
}

TEST(async_task_lists_walked_bounded)
{
	struct fake *f = fake_new();
	uint64_t interp = alloc(f, 16384), ts = alloc(f, 2048), t[4];
	struct pytask_walk w = { .max_tasks = 100, .max_threads = 8 };
	struct seen_log log = { 0 };

	for (int i = 0; i < 4; i++)
		t[i] = mk_task(f, mk_long(f, (uint32_t)i), 0, true);
	put64(f, interp + f->l.walk.interp_threads_head, ts);
	put64(f, ts + f->l.walk.tstate_next, 0);
	put64(f, ts + f->o.ts_native_thread_id, 4242);
	put64(f, ts + f->o.ts_running_task, t[1]);
	link_list(f, ts + f->o.ts_tasks_head, t, 3);
	link_list(f, interp + f->o.interp_tasks_head, t + 3, 1);
	CHECK_INT(pytask__foreach(&f->o, &f->l, &f->m, interp, &w, log_task,
				  &log),
		  0);
	REQUIRE(log.n == 4);
	CHECK(log.tasks[0] == t[0] && log.tasks[2] == t[2]);
	CHECK(log.running[1] && !log.running[0] && !log.running[3]);
	CHECK_INT(log.tid[0], 4242);
	CHECK_INT(log.tid[3], 0); /* the interpreter's: no thread */
	CHECK(!w.cut && !w.loops && !w.unreadable);
	CHECK_INT(w.tasks, 4);

	/* A list that loops without coming back to its head: stopped. */
	put64(f, t[2] + f->o.task_node, t[1] + f->o.task_node);
	log.n = 0;
	f->reads = 0;
	CHECK_INT(pytask__foreach(&f->o, &f->l, &f->m, interp, &w, log_task,
				  &log),
		  0);
	CHECK(w.loops);
	CHECK(f->reads < 64);
	/* At most max_tasks, said. */
	w.max_tasks = 2;
	CHECK_INT(pytask__foreach(&f->o, &f->l, &f->m, interp, &w, log_task,
				  &log),
		  0);
	CHECK(w.cut);
	CHECK_INT(w.tasks, 2);
	/* A thread list that never ends: max_threads. */
	w.max_tasks = 100;
	put64(f, ts + f->l.walk.tstate_next, ts);
	put64(f, ts + f->o.ts_tasks_head, ts + f->o.ts_tasks_head); /* empty */
	CHECK_INT(pytask__foreach(&f->o, &f->l, &f->m, interp, &w, log_task,
				  &log),
		  0);
	CHECK(w.loops);
	fake_free(f);
}

/* ---------------------------------------------- the real interpreters -- */

/* Section name's contents of ELF file path into buf. Its size, or 0. */
static size_t read_section(const char *path, const char *name, void *buf,
			   size_t len)
{
	Elf_Scn *scn = NULL;
	size_t got = 0, shstrndx;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *e;

	if (fd < 0)
		return 0;
	if (elf_version(EV_CURRENT) == EV_NONE ||
	    !(e = elf_begin(fd, ELF_C_READ, NULL))) {
		close(fd);
		return 0;
	}
	if (elf_getshdrstrndx(e, &shstrndx) == 0)
		while (!got && (scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;
			Elf_Data *d;
			const char *n;

			if (!gelf_getshdr(scn, &sh) ||
			    !(n = elf_strptr(e, shstrndx, sh.sh_name)) ||
			    strcmp(n, name) != 0 ||
			    !(d = elf_getdata(scn, NULL)))
				continue;
			got = d->d_size < len ? d->d_size : len;
			memcpy(buf, d->d_buf, got);
		}
	elf_end(e);
	close(fd);
	return got;
}

/* _PyRuntime's initializer (its _Py_DebugOffsets first) from path. */
static size_t read_runtime(const char *path, void *buf, size_t len)
{
	Elf_Scn *scn = NULL;
	uint64_t addr = 0;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *e;

	if (fd < 0)
		return 0;
	if (elf_version(EV_CURRENT) == EV_NONE ||
	    !(e = elf_begin(fd, ELF_C_READ, NULL))) {
		close(fd);
		return 0;
	}
	while (!addr && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) ||
		    !sh.sh_entsize || !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *n;

			if (gelf_getsym(d, (int)i, &s) &&
			    (n = elf_strptr(e, sh.sh_link, s.st_name)) &&
			    strcmp(n, "_PyRuntime") == 0) {
				addr = s.st_value;
				break;
			}
		}
	}
	scn = NULL;
	while (addr && !got && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    addr < sh.sh_addr || addr >= sh.sh_addr + sh.sh_size ||
		    pread(fd, buf, len,
			  (off_t)(sh.sh_offset + addr - sh.sh_addr)) !=
			    (ssize_t)len)
			continue;
		got = len;
	}
	elf_end(e);
	close(fd);
	return got;
}

static void check_real(const char *minor, const char *asyncio_file)
{
	uint8_t dbg[1024], adbg[PYTASK_ASYNC_DEBUG_SIZE];
	char exe[512], mod[512], err[256];
	struct pytask_offsets o;
	struct py_layout l;

	snprintf(exe, sizeof(exe), "%s/usr/bin/python%s", unit__debian_root(),
		 minor);
	snprintf(mod, sizeof(mod), "%s%s", unit__debian_root(),
		 asyncio_file ? asyncio_file : "");
	if (access(exe, R_OK) != 0)
		SKIP("%s is not there: `make deps` makes Debian unstable's "
		     "root (scripts/debian-root)",
		     exe);
	REQUIRE(read_runtime(exe, dbg, sizeof(dbg)) == sizeof(dbg));
	REQUIRE(py_layout__from_debug_offsets(dbg, sizeof(dbg), &l, err,
					      sizeof(err)) == 0);
	REQUIRE(read_section(asyncio_file ? mod : exe, ".AsyncioDebug", adbg,
			     sizeof(adbg)) == sizeof(adbg));
	CHECK_INT(pytask__offsets(&l, dbg, sizeof(dbg), adbg, sizeof(adbg), &o,
				  err, sizeof(err)),
		  0);
	if (err[0])
		fprintf(stderr, "pytask__offsets: %s\n", err);
	/* Facts of TaskObj, the same in both. */
	CHECK_INT(o.task_size, 168);
	CHECK_INT(o.task_awaited_by, 96);
	CHECK_INT(o.task_is_task, 108);
	CHECK_INT(o.task_awaited_by_is_set, 109);
	CHECK_INT(o.task_coro, 128);
	CHECK_INT(o.task_name, 136);
	CHECK_INT(o.task_node, 152);
	CHECK_INT(o.stack_tag_bits, 2);
	/* A blob one byte short, or an offset outside its struct, is
	 * refused. */
	CHECK_INT(pytask__offsets(&l, dbg, sizeof(dbg), adbg, sizeof(adbg) - 1,
				  &o, err, sizeof(err)),
		  -EINVAL);
	adbg[8] = 200; /* task_name past sizeof(TaskObj) */
	CHECK_INT(pytask__offsets(&l, dbg, sizeof(dbg), adbg, sizeof(adbg), &o,
				  err, sizeof(err)),
		  -EINVAL);
}

TEST(async_offsets_debian_314)
{
	char path[512];
	uint8_t dbg[1024], adbg[PYTASK_ASYNC_DEBUG_SIZE];
	struct pytask_offsets o;
	struct py_layout l;
	char err[256];

	/* 3.14: _asyncio is an extension module. */
	check_real("3.14", "/usr/lib/python3.14/lib-dynload/"
			   "_asyncio.cpython-314-" PY_MULTIARCH ".so");
	snprintf(path, sizeof(path), "%s/usr/bin/python3.14",
		 unit__debian_root());
	if (access(path, R_OK) != 0)
		return;
	read_runtime(path, dbg, sizeof(dbg));
	py_layout__from_debug_offsets(dbg, sizeof(dbg), &l, err, sizeof(err));
	snprintf(path, sizeof(path),
		 "%s/usr/lib/python3.14/lib-dynload/"
		 "_asyncio.cpython-314-" PY_MULTIARCH ".so",
		 unit__debian_root());
	read_section(path, ".AsyncioDebug", adbg, sizeof(adbg));
	REQUIRE(pytask__offsets(&l, dbg, sizeof(dbg), adbg, sizeof(adbg), &o,
				err, sizeof(err)) == 0);
	CHECK_INT(o.ts_running_task, 872);
	CHECK_INT(o.ts_tasks_head, 880);
	/* The interpreter's state is laid out differently before the tasks'
	 * list on arm64: 16 bytes more, as Debian's arm64 build says. */
#if defined(__aarch64__)
	CHECK_INT(o.interp_tasks_head, 10896);
#else
	CHECK_INT(o.interp_tasks_head, 10880);
#endif
	CHECK_INT(o.yield_from[0], -1);
	CHECK_INT(o.await_slot, 1);
}

TEST(async_offsets_debian_315)
{
	char path[512];
	uint8_t dbg[1024], adbg[PYTASK_ASYNC_DEBUG_SIZE];
	struct pytask_offsets o;
	struct py_layout l;
	char err[256];

	/* 3.15: built into Debian's interpreter. */
	check_real("3.15", NULL);
	snprintf(path, sizeof(path), "%s/usr/bin/python3.15",
		 unit__debian_root());
	if (access(path, R_OK) != 0)
		return;
	read_runtime(path, dbg, sizeof(dbg));
	py_layout__from_debug_offsets(dbg, sizeof(dbg), &l, err, sizeof(err));
	read_section(path, ".AsyncioDebug", adbg, sizeof(adbg));
	REQUIRE(pytask__offsets(&l, dbg, sizeof(dbg), adbg, sizeof(adbg), &o,
				err, sizeof(err)) == 0);
	CHECK_INT(o.ts_running_task, 1032);
	CHECK_INT(o.ts_tasks_head, 1048);
	CHECK_INT(o.interp_tasks_head, 10856);
	CHECK_INT(o.yield_from[0], 2);
	CHECK_INT(o.yield_from[1], 3);
	CHECK_INT(o.await_slot, 2);
}

TEST(async_older_versions_refused)
{
	uint8_t adbg[PYTASK_ASYNC_DEBUG_SIZE] = { 0 };
	struct pytask_offsets o;
	struct py_layout l;
	char err[256];

	REQUIRE(py_layout__lookup(PYVER(3, 13), 0, false, &l) == 0);
	CHECK_INT(pytask__offsets(&l, NULL, 0, adbg, sizeof(adbg), &o, err,
				  sizeof(err)),
		  -ENOTSUP);
	CHECK(strstr(err, "3.14") != NULL);
}

/* ------------------------------------------- folded and the live view -- */

static const char tasks_folded[] =
	"py-1;MainThread;loop;Task-1;main (a.py:1);Task-parent-0;parent "
	"(a.py:2);Task-child-0;child (a.py:3);burn (a.py:4) 10\n"
	"py-1;MainThread;loop;Task-1;main (a.py:1);Task-parent-1;parent "
	"(a.py:2);Task-child-1;child (a.py:3);burn (a.py:4) 30\n"
	"py-1;MainThread;Task-1;main (a.py:1);Task-parent-1;parent "
	"(a.py:2);Task-child-1;child (a.py:3);sleep (b.py:9);"
	"[task waiting] 20\n"
	"py-1;MainThread;loop;select 40\n";

TEST(async_folded_task_frames_and_live_view_filter)
{
	struct profile *p = profile__new();
	struct top_model *m = top_model__new();
	char err[256] = "", label[128];
	const struct pframe *fr;
	uint64_t sum;
	double now;
	FILE *f;
	size_t nth;

	REQUIRE(p && m);
	f = fmemopen((void *)tasks_folded, strlen(tasks_folded), "r");
	REQUIRE(f);
	REQUIRE(in_folded__read(p, NULL, f, "t.folded", err, sizeof(err)) == 0);
	fclose(f);
	/* Task frames come back as tasks, not as native frames. */
	for (size_t i = 0; i < profile__nframes(p); i++) {
		fr = profile__frame_get(p, (uint32_t)i);
		if (strncmp(profile__string(p, fr->name), "Task-", 5) == 0)
			CHECK_INT(fr->kind, PF_TASK);
	}
	REQUIRE(top_model__update(m, p, 1.0) == 0);
	nth = top_model__nthreads(m);
	CHECK_INT(nth, 1);
	/* A stack is its innermost task's: child-0, child-1; the loop's
	 * own stack has none. */
	REQUIRE(top_model__ntasks(m) == 2);
	top_model__thread_label(m, nth + 0, label, sizeof(label));
	CHECK_STR(label, "Task-child-0");
	top_model__thread_label(m, nth + 1, label, sizeof(label));
	CHECK_STR(label, "Task-child-1");
	top_model__set_thread(m, (int)(nth + 1));
	CHECK_INT(top_model__thread(m), (int)(nth + 1));
	top_model__sums(m, &sum, &now);
	CHECK_INT(sum, 50); /* running 30 and waiting 20 */
	top_model__set_thread(m, (int)nth);
	top_model__sums(m, &sum, &now);
	CHECK_INT(sum, 10);
	/* Past the tasks: all threads again. */
	top_model__set_thread(m, (int)(nth + 2));
	CHECK_INT(top_model__thread(m), TOP_ALL_THREADS);
	top_model__sums(m, &sum, &now);
	CHECK_INT(sum, 100);
	top_model__free(m);
	profile__free(p);
}

/* ------------------------------------------------ batched reading -- */

TEST(async_coro_frames_many_match_one_by_one)
{
	struct fake *f = fake_new();
	struct pytask_batch *b = calloc(1, sizeof(*b));
	uint64_t c1 = mk_code(f, 100), c2 = mk_code(f, 200),
		 c3 = mk_code(f, 300);
	uint64_t fut = mk_task(f, 0, 0, false), coros[6], loop_a, loop_b;
	struct py_frame one[PYTASK_CORO_MAX], many[6][PYTASK_CORO_MAX];
	struct pytask_chain ch[6];
	struct hashmap lines = { 0 };

	REQUIRE(b);
	/* Three levels down to a Future; one suspended outside an await;
	 * one not started; an await chain that loops; one unreadable; one
	 * awaiting a coroutine at an unreadable address. */
	coros[0] = mk_coro(f, c1, 10, -1,
			   mk_coro(f, c2, 20, -1, mk_coro(f, c3, 30, -1, fut)));
	coros[1] = mk_coro(f, c2, 22, -2, 0);
	coros[2] = mk_coro(f, c3, 0, -3, 0);
	loop_a = mk_coro(f, c1, 12, -1, 0);
	loop_b = mk_coro(f, c2, 24, -1, loop_a);
	put64(f,
	      rmem__ld64(f->mem + (loop_a + f->o.gi_iframe +
				   f->o.frame_stackpointer - BASE)) -
		      8,
	      loop_b | 1);
	coros[3] = loop_a;
	coros[4] = 0x10;
	coros[5] = mk_coro(f, c1, 14, -1, BASE + SIZE - 8);
	for (int i = 0; i < 6; i++) {
		ch[i].coro = coros[i];
		ch[i].frames = many[i];
	}
	pytask__coro_frames_many(&f->o, &f->l, &f->m, ch, 6, PYTASK_CORO_MAX,
				 &lines, b);
	for (int i = 0; i < 6; i++) {
		bool cut;
		int n = pytask__coro_frames(&f->o, &f->l, &f->m, coros[i], one,
					    PYTASK_CORO_MAX, &cut, NULL);

		if (n != ch[i].n)
			fprintf(stderr, "chain %d: one by one %d, batched %d\n",
				i, n, ch[i].n);
		CHECK_INT(ch[i].n, n);
		CHECK_INT(ch[i].cut, cut);
		for (int j = 0; j < n && j < ch[i].n; j++)
			CHECK(memcmp(&one[j], &many[i][j], sizeof(one[j])) ==
			      0);
	}
	CHECK_INT(ch[0].n, 3);
	CHECK_INT(ch[2].n, 0);
	CHECK(ch[3].cut);
	CHECK_INT(ch[4].n, -EFAULT);
	CHECK_INT(ch[5].n, 1);
	/* Fingerprints were cached: a second batch reads none of them. */
	CHECK_INT(lines.len, 3);
	hashmap__free(&lines);
	free(b);
	fake_free(f);
}

TEST(async_rmem_readv_faults_one_range_at_a_time)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *buf = calloc(4, (size_t)page), out[5][64];
	struct rmem_iov v[5];
	struct rmem m;

	REQUIRE(buf);
	memset(buf, 0xab, 64);
	memset(buf + 2 * page, 0xcd, 64);
	/* Our own memory; NULL and the first page fault, and the ranges
	 * after each are read all the same. */
	rmem__init_pid(&m, getpid());
	v[0] = (struct rmem_iov){ (uintptr_t)buf, out[0], 64, 1 };
	v[1] = (struct rmem_iov){ 0, out[1], 64, 1 };
	v[2] = (struct rmem_iov){ (uintptr_t)buf + 2 * page, out[2], 64, 1 };
	v[3] = (struct rmem_iov){ 8, out[3], 64, 1 };
	v[4] = (struct rmem_iov){ (uintptr_t)buf, out[4], 64, 1 };
	rmem__readv(&m, v, 5);
	if (v[0].err == -EPERM)
		SKIP("process_vm_readv on ourselves is not permitted here");
	CHECK_INT(v[0].err, 0);
	CHECK_INT(v[1].err, -EFAULT);
	CHECK_INT(v[2].err, 0);
	CHECK_INT(v[3].err, -EFAULT);
	CHECK_INT(v[4].err, 0);
	CHECK(out[0][0] == 0xab && out[0][63] == 0xab);
	CHECK(out[2][0] == 0xcd && out[4][10] == 0xab);
	free(buf);
}
