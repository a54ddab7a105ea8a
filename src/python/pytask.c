// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * asyncio's tasks in a CPython 3.14+ target (pytask.h).
 *
 * What the layout is, from CPython's own description of it:
 *  - Modules/_asynciomodule.c (3.14): FutureObj_HEAD ends with
 *    fut_awaited_by (a Future or Task, or a set of them when
 *    fut_awaited_by_is_set), fut_is_task; TaskObj adds task_coro,
 *    task_name (a str, or an int n that get_name() shows as "Task-n") and
 *    task_node, its link in the list of pending tasks of the thread that
 *    made it (_PyThreadStateImpl.asyncio_tasks_head; the interpreter's
 *    asyncio_tasks_head once that thread has ended).  Their offsets are the
 *    module's .AsyncioDebug section, struct _Py_AsyncioModuleDebugOffsets.
 *  - Include/internal/pycore_frame.h: a coroutine suspended in an await
 *    has gi_frame_state FRAME_SUSPENDED_YIELD_FROM (3.14: -1; 3.15: 2, or
 *    FRAME_SUSPENDED_YIELD_FROM_LOCKED 3), and what it awaits is on its
 *    frame's value stack: stackpointer[-1] on 3.14 (_PyFrame_StackPeek, as
 *    Modules/_remote_debugging reads it), stackpointer[-2] on 3.15, whose
 *    _SEND_GEN_FRAME leaves a NULL above it (3.15.0a8; genobject.c reads
 *    _PyFrame_StackPeek(&gen->gi_iframe, 2)).  A coroutine awaiting another
 *    coroutine (same type) goes on down; anything else (a Future's
 *    iterator, a Task) ends the chain.
 */
#include "python/pytask.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/pyobj.h"

/* Py_TPFLAGS_* (Include/object.h), the same bits in 3.14 and 3.15. */
#define TPF_LONG_SUBCLASS (1ull << 24)
#define TPF_UNICODE_SUBCLASS (1ull << 28)

/* enum _frameowner (pycore_interpframe_structs.h), 3.14 and 3.15. */
#define FRAME_OWNED_BY_GENERATOR 1

/* Sanity bounds on the sizes the sections report. */
#define OBJ_MAX (64u << 10)
#define STATE_MAX (8u << 20)
/* The reads below are done in one go into buffers this large. */
#define TASK_READ_MAX 1024
#define GEN_READ_MAX 1024
#define SET_READ_MAX 256
/* Set table entries read per chunk (16 bytes each). */
#define SET_CHUNK 256
/* A plausible reference count (3.14+ default builds: the low 32 bits of
 * the first word; a freed block has a free-list link there instead). */
#define REFCNT_MAX (1ull << 30)

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Field [off, off + width) lies inside a struct of size bytes. */
static bool inside(uint64_t off, uint64_t width, uint64_t size)
{
	return off < size && width <= size - off;
}

struct dbg_get {
	const void *buf;
	size_t len;
	int err;
	const char *what; /* the first member missing or out of range */
};

static uint64_t member(struct dbg_get *g, const char *sec, const char *mem)
{
	uint64_t v = 0;

	if (!g->err && py_layout__debug_member(g->buf, g->len, sec, mem, &v)) {
		g->err = -EINVAL;
		g->what = mem;
	}
	return v;
}

int pytask__offsets(const struct py_layout *l, const void *dbg, size_t dbglen,
		    const void *adbg, size_t adblen, struct pytask_offsets *o,
		    char *err, size_t errlen)
{
	struct dbg_get g = { .buf = dbg, .len = dbglen };
	uint64_t a[13];
	uint64_t ts_size, gen_size, frame_size, set_size, need;

	memset(o, 0, sizeof(*o));
	if (l->version < PYVER(3, 14) || l->frame_kind != PY_FRAME_INTERP) {
		seterr(err, errlen, "asyncio tasks are readable from 3.14 on");
		return -ENOTSUP;
	}
	if (!adbg || adblen < PYTASK_ASYNC_DEBUG_SIZE) {
		seterr(err, errlen, ".AsyncioDebug: %zu bytes, want %d", adblen,
		       PYTASK_ASYNC_DEBUG_SIZE);
		return -EINVAL;
	}
	memcpy(a, adbg, sizeof(a));
	/* asyncio_task_object: size, name, awaited_by, is_task,
	 * awaited_by_is_set, coro, node; asyncio_interpreter_state: size,
	 * tasks_head; asyncio_thread_state: size, running_loop,
	 * running_task, tasks_head. */
	if (a[0] < 32 || a[0] > TASK_READ_MAX || !inside(a[1], 8, a[0]) ||
	    !inside(a[2], 8, a[0]) || !inside(a[3], 1, a[0]) ||
	    !inside(a[4], 1, a[0]) || !inside(a[5], 8, a[0]) ||
	    !inside(a[6], 16, a[0]) || !a[7] || a[7] > STATE_MAX ||
	    !inside(a[8], 16, a[7]) || !a[9] || a[9] > OBJ_MAX ||
	    !inside(a[11], 8, a[9]) || !inside(a[12], 16, a[9])) {
		seterr(err, errlen,
		       ".AsyncioDebug: an offset lies outside its struct "
		       "(task size %" PRIu64 ")",
		       a[0]);
		return -EINVAL;
	}
	o->task_size = (uint32_t)a[0];
	o->task_name = (uint32_t)a[1];
	o->task_awaited_by = (uint32_t)a[2];
	o->task_is_task = (uint32_t)a[3];
	o->task_awaited_by_is_set = (uint32_t)a[4];
	o->task_coro = (uint32_t)a[5];
	o->task_node = (uint32_t)a[6];
	o->interp_tasks_head = (uint32_t)a[8];
	o->ts_running_task = (uint32_t)a[11];
	o->ts_tasks_head = (uint32_t)a[12];

	ts_size = member(&g, "thread_state", "size");
	o->ts_native_thread_id =
		(uint32_t)member(&g, "thread_state", "native_thread_id");
	gen_size = member(&g, "gen_object", "size");
	o->gi_iframe = (uint32_t)member(&g, "gen_object", "gi_iframe");
	o->gi_frame_state =
		(uint32_t)member(&g, "gen_object", "gi_frame_state");
	frame_size = member(&g, "interpreter_frame", "size");
	o->frame_stackpointer =
		(uint32_t)member(&g, "interpreter_frame", "stackpointer");
	set_size = member(&g, "set_object", "size");
	o->set_used = (uint32_t)member(&g, "set_object", "used");
	o->set_table = (uint32_t)member(&g, "set_object", "table");
	o->set_mask = (uint32_t)member(&g, "set_object", "mask");
	if (g.err) {
		seterr(err, errlen, "_Py_DebugOffsets: no %s", g.what);
		return g.err;
	}
	/* The frame's fields the chain reads, as one span from its start. */
	need = o->frame_stackpointer + 8;
	if (l->walk.frame_code + 8 > need)
		need = l->walk.frame_code + 8;
	if (l->walk.frame_instr + 8 > need)
		need = l->walk.frame_instr + 8;
	if (l->walk.frame_owner + 1 > need)
		need = l->walk.frame_owner + 1;
	if (!ts_size || ts_size > OBJ_MAX ||
	    !inside(o->ts_native_thread_id, 8, ts_size) || !frame_size ||
	    frame_size > OBJ_MAX || need > frame_size || !gen_size ||
	    gen_size > OBJ_MAX || !inside(o->gi_frame_state, 1, gen_size) ||
	    o->gi_iframe >= gen_size || o->gi_iframe + need > GEN_READ_MAX ||
	    !set_size || set_size > SET_READ_MAX ||
	    !inside(o->set_used, 8, set_size) ||
	    !inside(o->set_table, 8, set_size) ||
	    !inside(o->set_mask, 8, set_size)) {
		seterr(err, errlen,
		       "_Py_DebugOffsets: a generator, frame, set or thread "
		       "state offset lies outside its struct");
		return -EINVAL;
	}
	/* What the running-task fields are relative to: _PyThreadStateImpl
	 * starts with its PyThreadState, whose size the debug offsets give. */
	if (a[9] < ts_size) {
		seterr(err, errlen,
		       ".AsyncioDebug: thread state of %" PRIu64
		       " bytes, smaller than PyThreadState's %" PRIu64,
		       a[9], ts_size);
		return -EINVAL;
	}
	o->gen_size = (uint32_t)gen_size;
	o->frame_size = (uint32_t)frame_size;
	o->set_size = (uint32_t)set_size;
	o->stack_tag_bits = l->code_tag_bits;
	switch (l->version) {
	case PYVER(3, 14):
		o->yield_from[0] = o->yield_from[1] = -1;
		o->await_slot = 1;
		break;
	case PYVER(3, 15):
		o->yield_from[0] = 2;
		o->yield_from[1] = 3;
		o->await_slot = 2;
		break;
	default:
		seterr(err, errlen,
		       "no PyFrameState values known for 3.%u: a coroutine's "
		       "await cannot be told",
		       l->version & 0xff);
		return -ENOTSUP;
	}
	return 0;
}

void pytask__cfg(const struct pytask_offsets *o, struct py_async_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->running_task = o->ts_running_task;
	cfg->task_coro = o->task_coro;
	cfg->gi_iframe = o->gi_iframe;
}

static uint64_t untag(const struct pytask_offsets *o, uint64_t v)
{
	return v & ~((1ull << (o->stack_tag_bits & 7)) - 1);
}

/* Parses the task at t->addr from buf (o->task_size bytes of it). */
static int parse_task(const struct pytask_offsets *o, const struct py_layout *l,
		      const uint8_t *buf, struct pytask *t)
{
	uint8_t is_task, is_set;
	uint64_t type;

	type = rmem__ld64(buf + l->object.ob_type);
	is_task = buf[o->task_is_task];
	is_set = buf[o->task_awaited_by_is_set];
	/* A freed object's first word links pymalloc's free list; a live
	 * one's is ob_refcnt (low 32 bits), ob_overflow (16, zero below
	 * 2^32 references) and ob_flags (3.14+ default builds). */
	if (!l->free_threaded &&
	    ((rmem__ld64(buf) & 0xffffffffu) == 0 ||
	     (rmem__ld64(buf) & 0xffffffffu) >= REFCNT_MAX ||
	     ((rmem__ld64(buf) >> 32) & 0xffff)))
		return -ESTALE;
	if (!type || (type & 7) || is_task > 1 || is_set > 1)
		return -ESTALE;
	t->is_task = is_task;
	t->awaited_by = rmem__ld64(buf + o->task_awaited_by);
	t->awaited_by_is_set = is_set;
	if (is_task) {
		t->name = rmem__ld64(buf + o->task_name);
		t->coro = rmem__ld64(buf + o->task_coro);
	}
	if ((t->awaited_by & 7) || (t->coro & 7) || (t->name & 7))
		return -ESTALE;
	return 0;
}

int pytask__read(const struct pytask_offsets *o, const struct py_layout *l,
		 const struct rmem *m, uint64_t addr, struct pytask *t)
{
	uint8_t buf[TASK_READ_MAX] __attribute__((aligned(8)));
	int err;

	memset(t, 0, sizeof(*t));
	t->addr = addr;
	if (!addr || (addr & 7))
		return -EFAULT;
	err = rmem__read(m, addr, buf, o->task_size);
	return err ? err : parse_task(o, l, buf, t);
}

/* tp_flags of obj's type. */
static int obj_type_flags(const struct py_layout *l, const struct rmem *m,
			  uint64_t obj, uint64_t *flags)
{
	uint64_t type;
	int err = rmem__read_u64(m, obj + l->object.ob_type, &type);

	return err ?: rmem__read_u64(m, type + l->obj.type_flags, flags);
}

int pytask__name(const struct py_layout *l, const struct rmem *m,
		 const struct pytask *t, char *out, size_t outlen,
		 bool *numbered)
{
	uint64_t flags, n;
	int err;

	*numbered = false;
	if (!t->is_task || !t->name)
		return -ESTALE;
	err = obj_type_flags(l, m, t->name, &flags);
	if (err)
		return err;
	if (flags & TPF_UNICODE_SUBCLASS)
		return pyobj__read_str(l, m, t->name, out, outlen);
	if (!(flags & TPF_LONG_SUBCLASS))
		return -ESTALE;
	err = pyobj__read_ulong(l, m, t->name, &n);
	if (err)
		return err;
	*numbered = true;
	err = snprintf(out, outlen, "Task-%" PRIu64, n);
	return err < 0 ? -EINVAL : err;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Keeps the lowest max addresses of the set's entries in out. */
static void keep_lowest(uint64_t *out, int max, int *n, uint64_t v)
{
	int hi = 0;

	if (*n < max) {
		out[(*n)++] = v;
		return;
	}
	for (int i = 1; i < *n; i++)
		if (out[i] > out[hi])
			hi = i;
	if (v < out[hi])
		out[hi] = v;
}

int pytask__awaiters(const struct pytask_offsets *o, const struct py_layout *l,
		     const struct rmem *m, const struct pytask *t,
		     uint64_t *out, int max, int *total, bool *cut)
{
	uint8_t hdr[SET_READ_MAX] __attribute__((aligned(8)));
	uint64_t ent[SET_CHUNK * 2];
	uint64_t used, mask, table, slots;
	int n = 0, found = 0, err;

	*total = 0;
	*cut = false;
	if (!t->awaited_by || max <= 0)
		return 0;
	if (!t->awaited_by_is_set) {
		out[0] = t->awaited_by;
		*total = 1;
		return 1;
	}
	/* A set: its header, then its table in chunks. */
	(void)l;
	err = rmem__read(m, t->awaited_by, hdr, o->set_size);
	if (err)
		return err;
	used = rmem__ld64(hdr + o->set_used);
	mask = rmem__ld64(hdr + o->set_mask);
	table = rmem__ld64(hdr + o->set_table);
	slots = mask + 1;
	if (!table || (table & 7) || !slots || (slots & mask) || used > slots)
		return -ESTALE;
	if (slots > PYTASK_SET_SLOTS_MAX) {
		slots = PYTASK_SET_SLOTS_MAX;
		*cut = true;
	}
	for (uint64_t i = 0; i < slots; i += SET_CHUNK) {
		uint64_t k = slots - i < SET_CHUNK ? slots - i : SET_CHUNK;

		err = rmem__read(m, table + i * 16, ent, k * 16);
		if (err)
			return err;
		for (uint64_t j = 0; j < k; j++) {
			uint64_t key = ent[2 * j];
			int64_t hash = (int64_t)ent[2 * j + 1];

			/* Empty, or a dummy left by a discard (hash -1). */
			if (!key || hash == -1)
				continue;
			found++;
			keep_lowest(out, max, &n, key);
		}
	}
	qsort(out, (size_t)n, sizeof(*out), cmp_u64);
	*total = *cut ? (int)(used > INT32_MAX ? INT32_MAX : used) : found;
	if (found > max)
		*cut = true;
	return n;
}

/* Whether a coroutine in state st is suspended, and suspended in an
 * await (*yf). */
static bool suspended(const struct pytask_offsets *o, int8_t st, bool *yf)
{
	*yf = st == o->yield_from[0] || st == o->yield_from[1];
	if (o->yield_from[0] < 0) /* 3.14: SUSPENDED -2, YIELD_FROM -1 */
		return st == -2 || st == -1;
	/* 3.15: SUSPENDED 1, YIELD_FROM 2, YIELD_FROM_LOCKED 3 */
	return st >= 1 && st <= 3;
}

/*
 * Where a code object's fingerprint fields lie (py_code_fp: co_filename,
 * co_name, co_linetable): [*lo, *lo + *len).  -EINVAL if they are further
 * apart than PY_CODE_FP_SPAN_MAX.
 */
static int fp_span(const struct py_layout *l, uint32_t *lo, uint32_t *len)
{
	const uint32_t f[] = { l->code.filename, l->code.name,
			       l->code.linetable };
	uint32_t a = f[0], b = f[0] + 8;

	for (size_t i = 1; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i] < a)
			a = f[i];
		if (f[i] + 8 > b)
			b = f[i] + 8;
	}
	if (b - a > PY_CODE_FP_SPAN_MAX)
		return -EINVAL;
	*lo = a;
	*len = b - a;
	return 0;
}

/* The fingerprint of code from its span, read at code + lo into span. */
static uint32_t span_fp(const struct py_layout *l, const uint8_t *span,
			uint32_t lo)
{
	return py_code_fp(rmem__ld64(span + l->code.filename - lo),
			  rmem__ld64(span + l->code.name - lo),
			  rmem__ld64(span + l->code.linetable - lo));
}

/* The fingerprint of code (what the sampler records of its frames),
 * through the cache fps (code -> fingerprint + 1) when there is one. */
static int code_fp(const struct py_layout *l, const struct rmem *m,
		   struct hashmap *fps, uint64_t code, uint32_t *fp)
{
	uint8_t span[PY_CODE_FP_SPAN_MAX] __attribute__((aligned(8)));
	uint32_t lo, len;
	uint64_t v;
	int err;

	if (fps && hashmap__get(fps, code, &v)) {
		*fp = (uint32_t)(v - 1);
		return 0;
	}
	err = fp_span(l, &lo, &len);
	if (!err)
		err = rmem__read(m, code + lo, span, len);
	if (err)
		return err;
	*fp = span_fp(l, span, lo);
	if (fps)
		hashmap__set(fps, code, (uint64_t)*fp + 1);
	return 0;
}

int pytask__coro_frames(const struct pytask_offsets *o,
			const struct py_layout *l, const struct rmem *m,
			uint64_t coro, struct py_frame *out, int max, bool *cut,
			struct hashmap *lines)
{
	uint8_t gen[GEN_READ_MAX] __attribute__((aligned(8)));
	uint64_t seen[PYTASK_CORO_MAX];
	uint64_t type = 0, code, instr, sp, next;
	uint32_t need = o->gi_iframe + o->frame_stackpointer + 8, fp;
	const uint8_t *fr;
	int n = 0, err;
	int64_t lasti;
	bool yf;

	*cut = false;
	if (l->walk.frame_code + 8 > need - o->gi_iframe)
		need = o->gi_iframe + l->walk.frame_code + 8;
	if (l->walk.frame_instr + 8 > need - o->gi_iframe)
		need = o->gi_iframe + l->walk.frame_instr + 8;
	if (l->walk.frame_owner + 1 > need - o->gi_iframe)
		need = o->gi_iframe + l->walk.frame_owner + 1;
	if (need < o->gi_frame_state + 1)
		need = o->gi_frame_state + 1;
	if (need > GEN_READ_MAX)
		return -EINVAL;
	for (int depth = 0; coro; depth++) {
		if (depth >= PYTASK_CORO_MAX || n >= max) {
			*cut = true;
			break;
		}
		for (int i = 0; i < depth; i++)
			if (seen[i] == coro) {
				*cut = true; /* an await chain that loops */
				return n;
			}
		seen[depth] = coro;
		/* One read: what is awaited is read whole at once, its type
		 * checked after; an object smaller than a coroutine may end
		 * at an unmapped page: then its header alone says. */
		err = rmem__read(m, coro, gen, need);
		if (err && depth &&
		    !rmem__read(m, coro, gen, l->object.ob_type + 8) &&
		    rmem__ld64(gen + l->object.ob_type) != type)
			break;
		if (err)
			return n ? n : err;
		if (!type)
			type = rmem__ld64(gen + l->object.ob_type);
		/* Another coroutine goes on down; a Future, a Task or any
		 * other awaitable ends the chain. */
		if (rmem__ld64(gen + l->object.ob_type) != type)
			break;
		if (!suspended(o, (int8_t)gen[o->gi_frame_state], &yf))
			break; /* not started, running or done */
		fr = gen + o->gi_iframe;
		if (fr[l->walk.frame_owner] != FRAME_OWNED_BY_GENERATOR)
			return n ? n : -ESTALE;
		code = untag(o, rmem__ld64(fr + l->walk.frame_code));
		instr = rmem__ld64(fr + l->walk.frame_instr);
		err = code_fp(l, m, lines, code, &fp);
		if (err)
			return n ? n : err;
		lasti = (int64_t)(instr - (code + l->walk.code_adaptive));
		out[n].code = code;
		out[n].lasti =
			lasti >= 0 && lasti < (1 << 24) ? (int32_t)lasti : -1;
		out[n].fingerprint = fp;
		n++;
		if (!yf)
			break;
		sp = untag(o, rmem__ld64(fr + o->frame_stackpointer));
		if (!sp || rmem__read_u64(m, sp - 8 * o->await_slot, &next))
			break;
		coro = untag(o, next);
	}
	return n;
}

/* Bytes of a generator read to see its frame: through the frame fields
 * the chain reads. */
static uint32_t gen_need(const struct pytask_offsets *o,
			 const struct py_layout *l)
{
	uint32_t need = o->frame_stackpointer + 8;

	if (l->walk.frame_code + 8 > need)
		need = l->walk.frame_code + 8;
	if (l->walk.frame_instr + 8 > need)
		need = l->walk.frame_instr + 8;
	if (l->walk.frame_owner + 1u > need)
		need = l->walk.frame_owner + 1;
	need += o->gi_iframe;
	if (need < o->gi_frame_state + 1)
		need = o->gi_frame_state + 1;
	return need;
}

void pytask__coro_frames_many(const struct pytask_offsets *o,
			      const struct py_layout *l, const struct rmem *m,
			      struct pytask_chain *c, size_t n, int max,
			      struct hashmap *lines, struct pytask_batch *b)
{
	uint32_t need = gen_need(o, l), span_lo = 0, span_len = 0;
	bool no_span = fp_span(l, &span_lo, &span_len) != 0;
	size_t active = 0, k;
	uint64_t v;

	if (n > PYTASK_BATCH)
		n = PYTASK_BATCH;
	for (size_t i = 0; i < n; i++) {
		b->st[i].cur = c[i].coro;
		b->st[i].type = 0;
		b->st[i].depth = 0;
		b->st[i].done = !c[i].coro || need > sizeof(b->st[i].gen) ||
				no_span;
		c[i].n = 0;
		c[i].cut = false;
		active += !b->st[i].done;
	}
	while (active) {
		/* Each chain's next coroutine, read whole. */
		k = 0;
		for (size_t i = 0; i < n; i++) {
			typeof(b->st[0]) *s = &b->st[i];
			bool loops = false;

			s->fresh = false;
			if (s->done)
				continue;
			for (int d = 0; d < s->depth && !loops; d++)
				loops = s->seen[d] == s->cur;
			if (loops || s->depth >= PYTASK_CORO_MAX ||
			    c[i].n >= max) {
				c[i].cut = true;
				s->done = true;
				active--;
				continue;
			}
			s->seen[s->depth] = s->cur;
			b->iov[k] =
				(struct rmem_iov){ s->cur, s->gen, need, 0 };
			b->idx[k++] = (uint16_t)i;
		}
		rmem__readv(m, b->iov, k);
		for (size_t j = 0; j < k; j++) {
			size_t i = b->idx[j];
			typeof(b->st[0]) *s = &b->st[i];
			const uint8_t *fr = s->gen + o->gi_iframe;
			uint64_t type;
			int64_t lasti;
			bool yf, end = false;

			if (b->iov[j].err && s->depth &&
			    !rmem__read(m, s->cur, s->gen,
					l->object.ob_type + 8) &&
			    rmem__ld64(s->gen + l->object.ob_type) != s->type) {
				end = true; /* a short object, no coroutine */
			} else if (b->iov[j].err) {
				if (!c[i].n)
					c[i].n = b->iov[j].err;
				end = true;
			}
			type = rmem__ld64(s->gen + l->object.ob_type);
			if (!end && !s->depth)
				s->type = type;
			if (!end &&
			    (type != s->type ||
			     !suspended(o, (int8_t)s->gen[o->gi_frame_state],
					&yf)))
				end = true;
			if (!end && fr[l->walk.frame_owner] !=
					    FRAME_OWNED_BY_GENERATOR) {
				if (!c[i].n)
					c[i].n = -ESTALE;
				end = true;
			}
			if (end) {
				s->done = true;
				active--;
				continue;
			}
			c[i].frames[c[i].n].code =
				untag(o, rmem__ld64(fr + l->walk.frame_code));
			lasti = (int64_t)(rmem__ld64(fr + l->walk.frame_instr) -
					  (c[i].frames[c[i].n].code +
					   l->walk.code_adaptive));
			c[i].frames[c[i].n].lasti =
				lasti >= 0 && lasti < (1 << 24) ?
					(int32_t)lasti :
					-1;
			c[i].frames[c[i].n].fingerprint = 0;
			c[i].n++;
			s->fresh = true;
			s->slot = 0;
			if (yf)
				s->slot = untag(
					o,
					rmem__ld64(fr + o->frame_stackpointer));
			if (s->slot)
				s->slot -= 8 * o->await_slot;
		}
		/* Their first lines (from the cache, or read) and what each
		 * awaits. */
		k = 0;
		for (size_t i = 0; i < n; i++) {
			struct py_frame *f;

			if (!b->st[i].fresh)
				continue;
			f = &c[i].frames[c[i].n - 1];
			if (lines && hashmap__get(lines, f->code, &v)) {
				f->fingerprint = (uint32_t)(v - 1);
				continue;
			}
			b->iov[k] = (struct rmem_iov){ f->code + span_lo,
						       b->st[i].span, span_len,
						       0 };
			b->idx[k++] = (uint16_t)i;
		}
		rmem__readv(m, b->iov, k);
		for (size_t j = 0; j < k; j++) {
			size_t i = b->idx[j];
			struct py_frame *f = &c[i].frames[c[i].n - 1];

			if (b->iov[j].err) {
				/* No line, no frame: the chain ends before. */
				c[i].n--;
				if (!b->st[i].done) {
					b->st[i].done = true;
					active--;
				}
				continue;
			}
			f->fingerprint = span_fp(l, b->st[i].span, span_lo);
			if (lines)
				hashmap__set(lines, f->code,
					     (uint64_t)f->fingerprint + 1);
		}
		k = 0;
		for (size_t i = 0; i < n; i++) {
			typeof(b->st[0]) *s = &b->st[i];

			if (s->done)
				continue;
			s->depth++;
			if (!s->slot) {
				s->done = true;
				active--;
				continue;
			}
			b->iov[k] = (struct rmem_iov){ s->slot, &s->cur, 8, 0 };
			b->idx[k++] = (uint16_t)i;
		}
		rmem__readv(m, b->iov, k);
		for (size_t j = 0; j < k; j++) {
			typeof(b->st[0]) *s = &b->st[b->idx[j]];

			s->cur = b->iov[j].err ? 0 : untag(o, s->cur);
			if (!s->cur) {
				s->done = true;
				active--;
			}
		}
	}
}

/* One list of pending tasks, from its head (a struct llist_node, whose
 * first member is next).  Each task is read whole, its node with it.  1
 * to stop the whole walk, else 0. */
static int walk_list(const struct pytask_offsets *o, const struct py_layout *l,
		     const struct rmem *m, uint64_t head, uint64_t running,
		     struct pytask_seen *s, struct pytask_walk *w,
		     int (*fn)(const struct pytask_seen *s, void *arg),
		     void *arg)
{
	uint8_t buf[TASK_READ_MAX] __attribute__((aligned(8)));
	uint64_t node, saved;
	size_t steps = 0, limit = 2;

	if (rmem__read_u64(m, head, &node)) {
		w->unreadable = true;
		return 0;
	}
	saved = head;
	while (node != head) {
		if (!node || (node & 7)) {
			w->unreadable = true;
			return 0;
		}
		if (w->tasks >= w->max_tasks) {
			w->cut = true;
			return 1;
		}
		w->tasks++;
		memset(&s->t, 0, sizeof(s->t));
		s->t.addr = node - o->task_node;
		s->running = running && s->t.addr == running;
		if (rmem__read(m, s->t.addr, buf, o->task_size)) {
			w->unreadable = true;
			return 0;
		}
		s->rc = parse_task(o, l, buf, &s->t);
		if (fn(s, arg))
			return 1;
		node = rmem__ld64(buf + o->task_node);
		/* Brent: a list that loops without coming back to head. */
		if (node != head && node == saved) {
			w->loops = true;
			return 0;
		}
		if (++steps >= limit) {
			saved = node;
			steps = 0;
			limit *= 2;
		}
	}
	return 0;
}

int pytask__foreach(const struct pytask_offsets *o, const struct py_layout *l,
		    const struct rmem *m, uint64_t interp,
		    struct pytask_walk *w,
		    int (*fn)(const struct pytask_seen *s, void *arg),
		    void *arg)
{
	uint64_t tstate, running, tid;
	struct pytask_seen s;
	size_t i;
	int err;

	w->tasks = 0;
	w->cut = w->loops = w->unreadable = false;
	err = rmem__read_u64(m, interp + l->walk.interp_threads_head, &tstate);
	if (err)
		return err;
	for (i = 0; tstate && i < w->max_threads; i++) {
		if (rmem__read_u64(m, tstate + o->ts_running_task, &running) ||
		    rmem__read_u64(m, tstate + o->ts_native_thread_id, &tid)) {
			w->unreadable = true;
			break;
		}
		memset(&s, 0, sizeof(s));
		s.tstate = tstate;
		s.tid = tid <= INT32_MAX ? (uint32_t)tid : 0;
		if (walk_list(o, l, m, tstate + o->ts_tasks_head, running, &s,
			      w, fn, arg))
			return 0;
		if (rmem__read_u64(m, tstate + l->walk.tstate_next, &tstate)) {
			w->unreadable = true;
			break;
		}
	}
	if (tstate && i >= w->max_threads)
		w->loops = true;
	memset(&s, 0, sizeof(s));
	walk_list(o, l, m, interp + o->interp_tasks_head, 0, &s, w, fn, arg);
	return 0;
}
