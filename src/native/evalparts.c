// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The parts of _PyEval_EvalFrameDefault its symbol does not cover (see
 * src/native/evalparts.h).
 *
 * A compiler that partitions a function emits one FDE (.eh_frame entry) per
 * part, the cold one starting with the frame the hot one set up.  So a
 * direct jump from the function into the middle of another FDE, where the
 * canonical frame address (CFA) is computed as it is at the jump, is a jump
 * within the function: its target's FDE is a part of it.  A tail call lands
 * on a function's first instruction, with the CFA the caller's return leaves
 * (rsp + 8), and is never taken for one.  The jumps are found by reading the
 * function's bytes for the two direct rel32 forms (e9: jmp, 0f 8x: jcc); a
 * byte that only looks like one is kept out by the same two tests.
 */
#include "native/evalparts.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_SYM "_PyEval_EvalFrameDefault"
/* More than any real eval loop's hot part, so that a bogus symbol size
 * cannot make us read much. */
#define FN_MAX (1u << 20)

/* The section data holding ELF addresses [v, v + len), or NULL. */
static const uint8_t *elf_bytes(Elf *elf, uint64_t v, size_t len)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_ALLOC) || v < sh.sh_addr ||
		    v - sh.sh_addr > sh.sh_size || len > sh.sh_size ||
		    v - sh.sh_addr > sh.sh_size - len)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || d->d_size != sh.sh_size)
			return NULL;
		return (const uint8_t *)d->d_buf + (v - sh.sh_addr);
	}
	return NULL;
}

static int32_t ld32s(const uint8_t *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* .eh_frame_hdr's sorted table, as GNU ld writes it: udata4 count, then
 * (initial location, FDE address) pairs, datarel sdata4. */
struct fde_table {
	Elf *elf;
	uint64_t hdr; /* address of .eh_frame_hdr */
	const uint8_t *t; /* the pairs */
	uint32_t n;
};

static int fde_table(Elf *elf, struct fde_table *ft)
{
	size_t shstr;
	Elf_Scn *scn = NULL;
	const uint8_t *h;

	memset(ft, 0, sizeof(*ft));
	if (elf_getshdrstrndx(elf, &shstr))
		return -EINVAL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstr, sh.sh_name);
		if (!name || strcmp(name, ".eh_frame_hdr") != 0)
			continue;
		h = elf_bytes(elf, sh.sh_addr, 12);
		/* version 1; eh_frame_ptr pcrel sdata4 (0x1b); count udata4
		 * (0x03); table datarel sdata4 (0x3b) */
		if (!h || h[0] != 1 || h[2] != 0x03 || h[3] != 0x3b)
			return -EINVAL;
		memcpy(&ft->n, h + 8, 4);
		if (ft->n > sh.sh_size / 8)
			return -EINVAL;
		ft->t = elf_bytes(elf, sh.sh_addr + 12, (size_t)ft->n * 8);
		if (!ft->t)
			return -EINVAL;
		ft->elf = elf;
		ft->hdr = sh.sh_addr;
		return 0;
	}
	return -ENOENT;
}

/* The range [*lo, *hi) of the FDE covering ELF address v.  0 or -ENOENT. */
static int fde_range(const struct fde_table *ft, uint64_t v, uint64_t *lo,
		     uint64_t *hi)
{
	uint32_t a = 0, b = ft->n;
	uint64_t loc, fde;
	const uint8_t *f;

	/* The last entry whose initial location is <= v. */
	while (b - a > 1) {
		uint32_t m = a + (b - a) / 2;

		if (ft->hdr + (int64_t)ld32s(ft->t + 8 * m) <= v)
			a = m;
		else
			b = m;
	}
	if (!ft->n)
		return -ENOENT;
	loc = ft->hdr + (int64_t)ld32s(ft->t + 8 * a);
	fde = ft->hdr + (int64_t)ld32s(ft->t + 8 * a + 4);
	/* length, CIE pointer, pc_begin (pcrel sdata4), pc_range (sdata4):
	 * pc_begin must read back as the table's location, or the FDE is
	 * encoded otherwise and we know nothing. */
	f = elf_bytes(ft->elf, fde, 16);
	if (loc > v || !f || ld32s(f) == -1 ||
	    fde + 8 + (int64_t)ld32s(f + 8) != loc || ld32s(f + 12) <= 0)
		return -ENOENT;
	*lo = loc;
	*hi = loc + (uint64_t)ld32s(f + 12);
	return v < *hi ? 0 : -ENOENT;
}

/* The CFA rule at ELF address v: register and offset.  0 or -ENOENT. */
static int cfa_at(Dwarf_CFI *cfi, uint64_t v, uint64_t *reg, int64_t *off)
{
	Dwarf_Frame *fr;
	Dwarf_Op *ops;
	size_t nops;
	int rc = -ENOENT;

	if (dwarf_cfi_addrframe(cfi, v, &fr))
		return -ENOENT;
	if (dwarf_frame_cfa(fr, &ops, &nops) == 0 && nops == 1 &&
	    ops[0].atom == DW_OP_bregx) {
		*reg = ops[0].number;
		*off = (int64_t)ops[0].number2;
		rc = 0;
	}
	free(fr);
	return rc;
}

/* The function's address and size, if the module names it. */
static bool find_sym(Dwfl_Module *mod, uint64_t bias, uint64_t *v,
		     uint64_t *size)
{
	int n = dwfl_module_getsymtab(mod);

	for (int i = 0; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr,
							   NULL, NULL, NULL);

		if (name && GELF_ST_TYPE(sym.st_info) == STT_FUNC &&
		    strcmp(name, EVAL_SYM) == 0 && sym.st_size) {
			*v = addr - bias;
			*size = sym.st_size;
			return true;
		}
	}
	return false;
}

static void add_part(struct eval_parts *out, uint64_t lo, uint64_t hi)
{
	for (uint32_t i = 0; i < out->n; i++)
		if (out->r[i].lo == lo)
			return;
	if (out->n < EVAL_PARTS_MAX) {
		out->r[out->n].lo = lo;
		out->r[out->n].hi = hi;
		out->n++;
	}
}

int evalparts__find(Dwfl_Module *mod, struct eval_parts *out)
{
	uint64_t fn, size, bias, cbias, reg, treg, lo, hi;
	int64_t off, toff;
	struct fde_table ft;
	const uint8_t *b;
	Dwarf_CFI *cfi;
	Elf *elf;

	memset(out, 0, sizeof(*out));
	elf = dwfl_module_getelf(mod, &bias);
	cfi = elf ? dwfl_module_eh_cfi(mod, &cbias) : NULL;
	if (!elf || !cfi || cbias != bias || !find_sym(mod, bias, &fn, &size))
		return 0;
	if (size > FN_MAX || !(b = elf_bytes(elf, fn, size)) ||
	    fde_table(elf, &ft))
		return 0;
	for (uint64_t i = 0; i + 5 <= size; i++) {
		uint64_t at = fn + i, t;

		if (b[i] == 0xe9)
			t = at + 5 + (int64_t)ld32s(b + i + 1);
		else if (b[i] == 0x0f && (b[i + 1] & 0xf0) == 0x80 &&
			 i + 6 <= size)
			t = at + 6 + (int64_t)ld32s(b + i + 2);
		else
			continue;
		if (t >= fn && t < fn + size)
			continue; /* within the symbol */
		/* Into the middle of another FDE, with the jump's frame. */
		if (fde_range(&ft, t, &lo, &hi) || t == lo ||
		    (lo < fn + size && fn < hi))
			continue;
		if (cfa_at(cfi, at, &reg, &off) ||
		    cfa_at(cfi, t, &treg, &toff) || reg != treg ||
		    off != toff || (reg == 7 && off == 8))
			continue;
		add_part(out, lo, hi);
	}
	return 0;
}

bool evalparts__contains(const struct eval_parts *e, uint64_t v)
{
	for (uint32_t i = 0; i < e->n; i++)
		if (v >= e->r[i].lo && v < e->r[i].hi)
			return true;
	return false;
}
