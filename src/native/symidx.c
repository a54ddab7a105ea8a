// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "native/symidx.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"
#include "lib/hashmap.h"

/* Symbols that may hold one address, looked at before giving up (nested
 * or overlapping sized symbols are rare: aliases, local labels). */
#define CAND_MAX 32
/* DIE nesting followed inside a unit (lexical blocks, inlines). */
#define DEPTH_MAX 64

/* A sized symbol: [start, start + size) of the file's addresses. */
struct fsym {
	uint64_t start, size;
	uint32_t name; /* offset in the symbol pool */
	uint32_t ndx; /* its index in libdwfl's symbol table */
	uint8_t bind; /* binding_value() */
};

/* An inlined function instance: its name and the instance it is
 * inlined into (-1: the subprogram itself). */
struct inode {
	uint32_t name; /* offset in the unit's pool */
	int32_t parent;
};

/* Addresses [lo, hi) whose innermost inlined instance is node. */
struct seg {
	uint64_t lo, hi;
	uint32_t node;
};

struct unit {
	uint64_t name_hash; /* the unit's name: tells another file's unit
			       at the same offset (a debug file not found
			       by every process) */
	struct seg *segs;
	size_t nsegs;
	struct inode *nodes;
	size_t nnodes;
	char *pool;
};

struct sym_index {
	bool built;
	bool failed; /* out of memory while building: ask libdwfl */
	/* Symbols without a size (assembly labels): libdwfl may name an
	 * address no sized symbol holds with one.  Their addresses, sorted;
	 * the globals' apart. */
	uint64_t *labels, *glabels;
	size_t nlabels, nglabels;
	uint32_t first_global; /* libdwfl's index of the first global */
	struct fsym *syms; /* sorted by start */
	uint64_t *reach; /* reach[i]: the highest end of syms[0..i] */
	size_t nsyms;
	char *pool;
	struct hashmap units; /* unit DIE offset + 1 -> struct unit * */
	uint64_t nsegs;
};

struct sym_index *symidx__new(void)
{
	return calloc(1, sizeof(struct sym_index));
}

static void unit_free(struct unit *u)
{
	if (!u)
		return;
	free(u->segs);
	free(u->nodes);
	free(u->pool);
	free(u);
}

void symidx__free(struct sym_index *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->units.cap; i++)
		if (x->units.keys[i])
			unit_free((struct unit *)(uintptr_t)x->units.vals[i]);
	hashmap__free(&x->units);
	free(x->syms);
	free(x->reach);
	free(x->pool);
	free(x->labels);
	free(x->glabels);
	free(x);
}

void symidx__counts(const struct sym_index *x, uint64_t *syms, uint64_t *units,
		    uint64_t *segs)
{
	*syms = x ? x->nsyms : 0;
	*units = x ? x->units.len : 0;
	*segs = x ? x->nsegs : 0;
}

/* ---- Symbols ---- */

/* A growing block of NUL-terminated strings, referred to by offset. */
struct pool {
	char *v;
	size_t len, cap;
};

/* Appends s; its offset, or -1 when out of memory (or past 4 GiB). */
static int64_t pool_add(struct pool *p, const char *s)
{
	size_t n = strlen(s) + 1;
	int64_t off = (int64_t)p->len;

	if (p->len + n > UINT32_MAX ||
	    grow__reserve((void **)&p->v, &p->cap, p->len + n, 1))
		return -1;
	memcpy(p->v + p->len, s, n);
	p->len += n;
	return off;
}

/* GELF_ST_BIND as libdwfl ranks it (dwfl_module_addrsym.c). */
static uint8_t binding_value(const GElf_Sym *s)
{
	switch (GELF_ST_BIND(s->st_info)) {
	case STB_GLOBAL:
		return 3;
	case STB_WEAK:
		return 2;
	case STB_LOCAL:
		return 1;
	default:
		return 0;
	}
}

static int cmp_fsym(const void *a, const void *b)
{
	const struct fsym *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->ndx < y->ndx ? -1 : x->ndx > y->ndx;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int add_label(uint64_t **v, size_t *n, size_t *cap, uint64_t at)
{
	if (grow__reserve((void **)v, cap, *n + 1, sizeof(**v)))
		return -ENOMEM;
	(*v)[(*n)++] = at;
	return 0;
}

/* The index of the first of v[n] above at (n if none). */
static size_t upper(const uint64_t *v, size_t n, uint64_t at)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] <= at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* One pass over mod's symbols (what each dwfl_module_addrinfo call
 * would make), keeping those libdwfl would consider. */
static int build_syms(struct sym_index *x, Dwfl_Module *mod, uint64_t bias)
{
	struct pool pool = {};
	size_t cap = 0, lcap = 0, gcap = 0;
	int n = dwfl_module_getsymtab(mod);
	int fg = dwfl_module_getsymtab_first_global(mod);

	x->built = true;
	x->first_global = fg > 1 ? (uint32_t)fg : 1;
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr,
							   NULL, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		struct fsym *f;
		int64_t off;

		if (!name || !name[0] || sym.st_shndx == SHN_UNDEF ||
		    type == STT_SECTION || type == STT_FILE ||
		    type == STT_TLS || addr < bias)
			continue;
		if (!sym.st_size) {
			if (add_label(&x->labels, &x->nlabels, &lcap,
				      addr - bias) ||
			    ((uint32_t)i >= x->first_global &&
			     add_label(&x->glabels, &x->nglabels, &gcap,
				       addr - bias)))
				goto fail;
			continue;
		}
		if (grow__reserve((void **)&x->syms, &cap, x->nsyms + 1,
				  sizeof(*x->syms)))
			goto fail;
		off = pool_add(&pool, name);
		if (off < 0)
			goto fail;
		f = &x->syms[x->nsyms++];
		f->start = addr - bias;
		f->size = sym.st_size;
		f->name = (uint32_t)off;
		f->ndx = (uint32_t)i;
		f->bind = binding_value(&sym);
	}
	if (x->nsyms)
		qsort(x->syms, x->nsyms, sizeof(*x->syms), cmp_fsym);
	if (x->nlabels)
		qsort(x->labels, x->nlabels, sizeof(*x->labels), cmp_u64);
	if (x->nglabels)
		qsort(x->glabels, x->nglabels, sizeof(*x->glabels), cmp_u64);
	x->reach = malloc((x->nsyms ? x->nsyms : 1) * sizeof(*x->reach));
	if (!x->reach)
		goto fail;
	for (size_t i = 0; i < x->nsyms; i++) {
		uint64_t end = x->syms[i].start + x->syms[i].size;

		x->reach[i] = i && x->reach[i - 1] > end ? x->reach[i - 1] :
							   end;
	}
	x->pool = pool.v;
	return 0;
fail:
	/* Nothing indexed: every address is asked of libdwfl. */
	free(pool.v);
	free(x->syms);
	x->syms = NULL;
	x->nsyms = 0;
	x->failed = true;
	return -ENOMEM;
}

/*
 * libdwfl's choice among sized symbols that all hold the address, in
 * its table's order (try_sym_value of dwfl_module_addrsym.c): the
 * nearest start, a stronger binding, at one start the smaller one.
 */
static const struct fsym *choose(const struct fsym **c, size_t n)
{
	const struct fsym *best = NULL;

	/* In table order. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && c[j - 1]->ndx > c[j]->ndx; j--) {
			const struct fsym *t = c[j];

			c[j] = c[j - 1];
			c[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		const struct fsym *s = c[i];

		if (!best || best->start < s->start || best->bind < s->bind)
			best = s;
		else if (best->start == s->start &&
			 ((best->size > s->size && best->bind <= s->bind) ||
			  (best->size >= s->size && best->bind < s->bind)))
			best = s;
	}
	return best;
}

enum symidx_found symidx__func(struct sym_index *x, Dwfl_Module *mod,
			       uint64_t bias, uint64_t rel, const char **name)
{
	const struct fsym *glob[CAND_MAX], *loc[CAND_MAX];
	size_t lo = 0, hi, ng = 0, nl = 0, l;

	if (!x->built)
		build_syms(x, mod, bias);
	if (x->failed)
		return SYMIDX_ASK;
	hi = x->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x->syms[mid].start <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Every symbol starting at or below rel whose end may pass it. */
	for (size_t i = lo; i-- > 0 && x->reach[i] > rel;) {
		const struct fsym *s = &x->syms[i];

		if (rel - s->start >= s->size)
			continue;
		if (ng == CAND_MAX || nl == CAND_MAX)
			return SYMIDX_ASK;
		if (s->ndx >= x->first_global)
			glob[ng++] = s;
		else
			loc[nl++] = s;
	}
	/* libdwfl searches the globals, then the locals unless a global
	 * label sits exactly at rel; a label is its last resort. */
	if (ng) {
		*name = x->pool + choose(glob, ng)->name;
		return SYMIDX_NAME;
	}
	l = upper(x->glabels, x->nglabels, rel);
	if (l && x->glabels[l - 1] == rel)
		return SYMIDX_ASK;
	if (nl) {
		*name = x->pool + choose(loc, nl)->name;
		return SYMIDX_NAME;
	}
	/* A label names rel only if no symbol below it reaches past it. */
	l = upper(x->labels, x->nlabels, rel);
	if (l && (!lo || x->labels[l - 1] >= x->reach[lo - 1]))
		return SYMIDX_ASK;
	return SYMIDX_NONE;
}

/* ---- Inlined functions ---- */

/* The ranges of one inlined instance, before flattening. */
struct iv {
	uint64_t lo, hi;
	uint32_t node, depth;
};

struct ubuild {
	struct unit *u;
	struct iv *ivs;
	size_t nivs, ivs_cap, nodes_cap;
	struct pool pool;
	struct hashmap names; /* libdw's name pointer -> pool offset + 1 */
	bool (*skip)(const char *);
	int err;
};

static int64_t unit_name(struct ubuild *b, const char *name)
{
	uint64_t v;
	int64_t off;

	if (!name)
		name = "[inlined]";
	if (hashmap__get(&b->names, (uint64_t)(uintptr_t)name, &v))
		return (int64_t)v - 1;
	off = pool_add(&b->pool, name);
	if (off >= 0 && hashmap__set(&b->names, (uint64_t)(uintptr_t)name,
				     (uint64_t)off + 1))
		off = -1;
	return off;
}

/* Records an inlined instance: a node, and its ranges. */
static int32_t add_inline(struct ubuild *b, Dwarf_Die *die, int32_t parent,
			  uint32_t depth)
{
	struct unit *u = b->u;
	Dwarf_Addr base, start, end;
	ptrdiff_t off = 0;
	int64_t name = unit_name(b, dwarf_diename(die));

	if (name < 0 || u->nnodes >= INT32_MAX ||
	    grow__reserve((void **)&u->nodes, &b->nodes_cap, u->nnodes + 1,
			  sizeof(*u->nodes))) {
		b->err = -ENOMEM;
		return -1;
	}
	u->nodes[u->nnodes].name = (uint32_t)name;
	u->nodes[u->nnodes].parent = parent;
	while ((off = dwarf_ranges(die, off, &base, &start, &end)) > 0) {
		if (end <= start)
			continue;
		if (grow__reserve((void **)&b->ivs, &b->ivs_cap, b->nivs + 1,
				  sizeof(*b->ivs))) {
			b->err = -ENOMEM;
			return -1;
		}
		b->ivs[b->nivs++] = (struct iv){ .lo = start,
						 .hi = end,
						 .node = (uint32_t)u->nnodes,
						 .depth = depth };
	}
	return (int32_t)u->nnodes++;
}

static bool has_code(Dwarf_Die *die)
{
	return dwarf_hasattr(die, DW_AT_low_pc) ||
	       dwarf_hasattr(die, DW_AT_ranges);
}

/*
 * The inlined instances under parent: inside subprograms with code (at
 * the unit's level or in a namespace), their lexical blocks and the
 * instances themselves; types, variables and declarations are stepped
 * over.
 */
static void walk(struct ubuild *b, Dwarf_Die *parent, bool top, int32_t node,
		 uint32_t depth, int level)
{
	Dwarf_Die child;
	const char *name;

	if (level > DEPTH_MAX || dwarf_child(parent, &child) != 0)
		return;
	do {
		switch (dwarf_tag(&child)) {
		case DW_TAG_subprogram:
			if (!top || !has_code(&child))
				break;
			name = dwarf_diename(&child);
			if (name && b->skip && b->skip(name))
				break;
			walk(b, &child, false, -1, 0, level + 1);
			break;
		case DW_TAG_namespace:
		case DW_TAG_module:
			if (top)
				walk(b, &child, true, -1, 0, level + 1);
			break;
		case DW_TAG_lexical_block:
			if (!top)
				walk(b, &child, false, node, depth, level + 1);
			break;
		case DW_TAG_inlined_subroutine: {
			int32_t n;

			if (top)
				break;
			n = add_inline(b, &child, node, depth + 1);
			if (n >= 0)
				walk(b, &child, false, n, depth + 1, level + 1);
			break;
		}
		default:
			break;
		}
	} while (!b->err && dwarf_siblingof(&child, &child) == 0);
}

static int cmp_iv(const void *a, const void *b)
{
	const struct iv *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->depth != y->depth) /* the outer first */
		return x->depth < y->depth ? -1 : 1;
	return x->hi > y->hi ? -1 : x->hi < y->hi;
}

static int emit(struct unit *u, size_t *cap, uint64_t lo, uint64_t hi,
		uint32_t node)
{
	if (lo >= hi)
		return 0;
	if (u->nsegs && u->segs[u->nsegs - 1].hi == lo &&
	    u->segs[u->nsegs - 1].node == node) {
		u->segs[u->nsegs - 1].hi = hi;
		return 0;
	}
	if (grow__reserve((void **)&u->segs, cap, u->nsegs + 1,
			  sizeof(*u->segs)))
		return -ENOMEM;
	u->segs[u->nsegs++] = (struct seg){ .lo = lo, .hi = hi, .node = node };
	return 0;
}

/*
 * The instances' ranges (nested: an inner instance lies inside its
 * outer one) as sorted segments, each naming the innermost instance
 * that holds it: a sweep with a stack of the instances open.
 */
static int flatten(struct ubuild *b)
{
	struct unit *u = b->u;
	size_t top = 0, cap = 0;
	uint64_t pos = 0;
	struct iv *st;
	int rc = 0;

	if (!b->nivs)
		return 0;
	qsort(b->ivs, b->nivs, sizeof(*b->ivs), cmp_iv);
	st = malloc(b->nivs * sizeof(*st));
	if (!st)
		return -ENOMEM;
	for (size_t i = 0; i <= b->nivs && !rc; i++) {
		uint64_t at = i < b->nivs ? b->ivs[i].lo : UINT64_MAX;

		/* Close what ends before the next one starts. */
		while (top && st[top - 1].hi <= at && !rc) {
			const struct iv *o = &st[--top];

			if (o->hi > pos) {
				rc = emit(u, &cap, pos, o->hi, o->node);
				pos = o->hi;
			}
		}
		if (i == b->nivs || rc)
			break;
		if (top)
			rc = emit(u, &cap, pos > at ? at : pos, at,
				  st[top - 1].node);
		pos = at;
		st[top++] = b->ivs[i];
	}
	free(st);
	return rc;
}

static struct unit *build_unit(Dwarf_Die *cu, uint64_t name_hash,
			       bool (*skip)(const char *))
{
	struct ubuild b = { .skip = skip };
	struct unit *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->name_hash = name_hash;
	b.u = u;
	walk(&b, cu, true, -1, 0, 0);
	if (!b.err)
		b.err = flatten(&b);
	free(b.ivs);
	hashmap__free(&b.names);
	u->pool = b.pool.v;
	if (b.err) {
		unit_free(u);
		errno = -b.err;
		return NULL;
	}
	return u;
}

static uint64_t unit_hash(Dwarf_Die *cu)
{
	const char *name = dwarf_diename(cu);

	return hash_bytes(name ? name : "", name ? strlen(name) : 0, 0) | 1;
}

int symidx__inlines(struct sym_index *x, Dwarf_Die *cu, uint64_t pc,
		    const char **names, int max, bool (*skip)(const char *))
{
	uint64_t key = dwarf_dieoffset(cu) + 1, h = unit_hash(cu), v;
	struct unit *u = NULL;
	size_t lo = 0, hi;
	int n = 0;

	if (hashmap__get(&x->units, key, &v)) {
		u = (struct unit *)(uintptr_t)v;
		if (u->name_hash != h) {
			x->nsegs -= u->nsegs;
			unit_free(u);
			hashmap__del(&x->units, key);
			u = NULL;
		}
	}
	if (!u) {
		u = build_unit(cu, h, skip);
		if (!u)
			return -errno;
		if (hashmap__set(&x->units, key, (uint64_t)(uintptr_t)u)) {
			unit_free(u);
			return -ENOMEM;
		}
		x->nsegs += u->nsegs;
	}
	hi = u->nsegs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (u->segs[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || pc >= u->segs[lo - 1].hi)
		return 0;
	for (int32_t i = (int32_t)u->segs[lo - 1].node; i >= 0 && n < max;
	     i = u->nodes[i].parent)
		names[n++] = u->pool + u->nodes[i].name;
	return n;
}
