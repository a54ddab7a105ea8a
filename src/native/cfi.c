// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "native/cfi.h"

#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

/* Operations kept per expression rule, and the evaluator's stack. */
#define EXPR_OPS_MAX 32
#define EXPR_STACK_MAX 16

enum rule_kind {
	R_SAME, /* the caller's value is this frame's */
	R_UNDEF, /* call-clobbered: unknown in the caller */
	R_AT_CFA, /* saved at CFA + off */
	R_VAL_CFA, /* the value CFA + off */
	R_REG, /* in register reg */
	R_EXPR, /* saved at the address ops compute */
	R_VAL_EXPR, /* the value ops compute */
};

struct rule {
	uint8_t kind;
	uint8_t reg;
	uint16_t nops;
	uint32_t ops; /* index into the row's ops */
	int64_t off;
};

struct cfi_row {
	uint64_t start, end; /* [start, end), in the file's address space */
	bool cfa_expr; /* the CFA is ops[cfa_ops..] (else reg + off) */
	bool signal; /* the caller is an interrupted context */
	uint8_t cfa_reg;
	uint16_t cfa_nops;
	uint32_t cfa_ops;
	int64_t cfa_off;
	struct rule r[CFI_NRULES]; /* a rule per DWARF register */
	Dwarf_Op *ops; /* the expressions' operations, or NULL */
};

struct cfi_table {
	struct cfi_row **v; /* sorted by start */
	size_t n, cap;
};

struct cfi_table *cfi_table__new(void)
{
	return calloc(1, sizeof(struct cfi_table));
}

void cfi_table__free(struct cfi_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i]->ops);
		free(t->v[i]);
	}
	free(t->v);
	free(t);
}

uint64_t cfi_table__rows(const struct cfi_table *t)
{
	return t ? t->n : 0;
}

/* The index of the last row starting at or below rel, or -1. */
static long find(const struct cfi_table *t, uint64_t rel)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid]->start <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (long)lo - 1;
}

/* Appends ops to the row's operations; the index, or -1. */
static long keep_ops(struct cfi_row *row, uint32_t *nkept, const Dwarf_Op *ops,
		     size_t nops)
{
	Dwarf_Op *nv;
	long at = *nkept;

	if (nops > EXPR_OPS_MAX)
		return -1;
	nv = realloc(row->ops, (*nkept + nops) * sizeof(*nv));
	if (!nv)
		return -1;
	row->ops = nv;
	memcpy(row->ops + *nkept, ops, nops * sizeof(*ops));
	*nkept += (uint32_t)nops;
	return at;
}

/* Turns libdw's description of one register into a rule (see
 * dwarf_frame_register in libdw.h for the forms it uses). */
static int make_rule(struct cfi_row *row, uint32_t *nkept, struct rule *r,
		     const Dwarf_Op *ops, size_t nops)
{
	long at;

	memset(r, 0, sizeof(*r));
	if (nops == 0) {
		r->kind = ops ? R_UNDEF : R_SAME;
		return 0;
	}
	if (ops[0].atom == DW_OP_call_frame_cfa) {
		bool val = ops[nops - 1].atom == DW_OP_stack_value;
		size_t body = nops - val;

		if (body == 1 ||
		    (body == 2 && ops[1].atom == DW_OP_plus_uconst)) {
			r->kind = val ? R_VAL_CFA : R_AT_CFA;
			r->off = body == 2 ? (int64_t)ops[1].number : 0;
			return 0;
		}
	}
	if (nops == 1 && ops[0].atom == DW_OP_regx) {
		if (ops[0].number >= CFI_NRULES)
			return -1;
		r->kind = R_REG;
		r->reg = (uint8_t)ops[0].number;
		return 0;
	}
	if (nops == 1 && ops[0].atom >= DW_OP_reg0 &&
	    ops[0].atom <= DW_OP_reg31) {
		if (ops[0].atom - DW_OP_reg0 >= CFI_NRULES)
			return -1;
		r->kind = R_REG;
		r->reg = (uint8_t)(ops[0].atom - DW_OP_reg0);
		return 0;
	}
	at = keep_ops(row, nkept, ops, nops);
	if (at < 0)
		return -1;
	r->kind = ops[nops - 1].atom == DW_OP_stack_value ? R_VAL_EXPR : R_EXPR;
	r->ops = (uint32_t)at;
	r->nops = (uint16_t)nops;
	return 0;
}

/*
 * Where the row covering addr, which libdw says starts at start, really
 * starts.  After DW_CFA_restore_state libdw reports the start of the row
 * in which the state was remembered, not the location of the restore
 * (elfutils 0.188): GCC's epilogues remember the state before their
 * "ret" and restore it after, so the row after a "ret" would claim the
 * "ret" too, with the body's CFA (rbp + 16 where the "ret" has rsp + 8),
 * and a sample at the "ret" would skip its caller.  The row libdw gives
 * at start then ends elsewhere; the real start is not known, but addr is
 * in the row, so the row is kept from addr on.
 */
static Dwarf_Addr row_start(Dwarf_CFI *cfi, uint64_t addr, Dwarf_Addr start,
			    Dwarf_Addr end)
{
	Dwarf_Frame *at = NULL;
	Dwarf_Addr s, e;
	bool signal;

	if (start >= addr)
		return start;
	if (dwarf_cfi_addrframe(cfi, start, &at) != 0 ||
	    dwarf_frame_info(at, &s, &e, &signal) != CFI_REG_RA || e != end)
		start = addr;
	free(at);
	return start;
}

/* A row from libdw's frame state at addr (in cfi's address space). */
static struct cfi_row *compute(Dwarf_CFI *cfi, int64_t delta, uint64_t addr)
{
	Dwarf_Op ops_mem[3], *ops;
	Dwarf_Frame *frame = NULL;
	struct cfi_row *row;
	Dwarf_Addr start, end;
	uint32_t nkept = 0;
	size_t nops;
	bool signal = false;

	if (dwarf_cfi_addrframe(cfi, addr, &frame) != 0)
		return NULL;
	row = calloc(1, sizeof(*row));
	if (!row)
		goto fail;
	if (dwarf_frame_info(frame, &start, &end, &signal) != CFI_REG_RA ||
	    end <= start)
		goto fail;
	start = row_start(cfi, addr, start, end);
	row->start = start + (uint64_t)delta;
	row->end = end + (uint64_t)delta;
	row->signal = signal;
	if (dwarf_frame_cfa(frame, &ops, &nops) != 0 || nops == 0)
		goto fail;
	if (nops == 1 && ops[0].atom == DW_OP_bregx &&
	    ops[0].number < CFI_NRULES) {
		row->cfa_reg = (uint8_t)ops[0].number;
		row->cfa_off = (int64_t)ops[0].number2;
	} else if (nops == 1 && ops[0].atom >= DW_OP_breg0 &&
		   ops[0].atom - DW_OP_breg0 < CFI_NRULES) {
		row->cfa_reg = (uint8_t)(ops[0].atom - DW_OP_breg0);
		row->cfa_off = (int64_t)ops[0].number;
	} else {
		long at = keep_ops(row, &nkept, ops, nops);

		if (at < 0)
			goto fail;
		row->cfa_expr = true;
		row->cfa_ops = (uint32_t)at;
		row->cfa_nops = (uint16_t)nops;
	}
	for (int reg = 0; reg < CFI_NRULES; reg++) {
		if (dwarf_frame_register(frame, reg, ops_mem, &ops, &nops) !=
			    0 ||
		    make_rule(row, &nkept, &row->r[reg], ops, nops))
			goto fail;
	}
	free(frame);
	return row;
fail:
	if (row)
		free(row->ops);
	free(row);
	free(frame);
	return NULL;
}

static int insert(struct cfi_table *t, struct cfi_row *row)
{
	long at = find(t, row->start) + 1;

	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		struct cfi_row **nv = realloc(t->v, ncap * sizeof(*nv));

		if (!nv)
			return -1;
		t->v = nv;
		t->cap = ncap;
	}
	memmove(t->v + at + 1, t->v + at, (t->n - (size_t)at) * sizeof(*t->v));
	t->v[at] = row;
	t->n++;
	return 0;
}

const struct cfi_row *cfi_table__row(struct cfi_table *t, Dwarf_CFI *cfi,
				     int64_t cfi_delta, uint64_t rel,
				     bool *computed)
{
	long i = find(t, rel);
	struct cfi_row *row;

	*computed = false;
	if (i >= 0 && rel < t->v[i]->end)
		return t->v[i];
	if (!cfi)
		return NULL;
	*computed = true;
	row = compute(cfi, cfi_delta, rel - (uint64_t)cfi_delta);
	if (!row)
		return NULL;
	/* A row that does not cover rel (it never should) is not kept. */
	if (rel < row->start || rel >= row->end || insert(t, row)) {
		free(row->ops);
		free(row);
		return NULL;
	}
	return row;
}

/* --- applying a row --- */

struct eval {
	const uint64_t *regs;
	uint64_t valid;
	uint64_t cfa;
	bool have_cfa;
	cfi_read_fn read;
	void *arg;
};

/* DWARF's binary operator at applied as b op a, into *r; false for an
 * operator CFI expressions do not use. */
static bool binary_op(uint8_t at, uint64_t b, uint64_t a, uint64_t *r)
{
	switch (at) {
	case DW_OP_plus:
		*r = b + a;
		return true;
	case DW_OP_minus:
		*r = b - a;
		return true;
	case DW_OP_mul:
		*r = b * a;
		return true;
	case DW_OP_and:
		*r = b & a;
		return true;
	case DW_OP_or:
		*r = b | a;
		return true;
	case DW_OP_xor:
		*r = b ^ a;
		return true;
	case DW_OP_shl:
		*r = a < 64 ? b << a : 0;
		return true;
	case DW_OP_shr:
		*r = a < 64 ? b >> a : 0;
		return true;
	case DW_OP_ge:
		*r = (int64_t)b >= (int64_t)a;
		return true;
	case DW_OP_gt:
		*r = (int64_t)b > (int64_t)a;
		return true;
	case DW_OP_le:
		*r = (int64_t)b <= (int64_t)a;
		return true;
	case DW_OP_lt:
		*r = (int64_t)b < (int64_t)a;
		return true;
	case DW_OP_eq:
		*r = b == a;
		return true;
	case DW_OP_ne:
		*r = b != a;
		return true;
	default:
		return false;
	}
}

/*
 * Evaluates a DWARF expression of the forms CFI uses (register plus
 * offset, constants, arithmetic, comparisons, dereferences: the PLT's
 * and the stack-realigning prologue's).  A register's location (no final
 * DW_OP_stack_value; location) is dereferenced; the CFA's expression is
 * its value.  False if it cannot be evaluated.
 */
static bool eval_expr(const struct eval *e, const Dwarf_Op *ops, size_t nops,
		      bool location, uint64_t *out)
{
	uint64_t st[EXPR_STACK_MAX], a, b;
	size_t sp = 0;
	bool value = false;

#define PUSH(x)                           \
	do {                              \
		if (sp >= EXPR_STACK_MAX) \
			return false;     \
		st[sp++] = (x);           \
	} while (0)
#define POP(x)                        \
	do {                          \
		if (!sp)              \
			return false; \
		(x) = st[--sp];       \
	} while (0)

	for (size_t i = 0; i < nops; i++) {
		const Dwarf_Op *op = &ops[i];
		uint8_t at = op->atom;

		if (at >= DW_OP_lit0 && at <= DW_OP_lit31) {
			PUSH((uint64_t)(at - DW_OP_lit0));
			continue;
		}
		if ((at >= DW_OP_breg0 && at <= DW_OP_breg31) ||
		    at == DW_OP_bregx) {
			uint64_t reg = at == DW_OP_bregx ?
					       op->number :
					       (uint64_t)(at - DW_OP_breg0);
			uint64_t off = at == DW_OP_bregx ? op->number2 :
							   op->number;

			if (reg >= CFI_NRULES || !(e->valid & CFI_BIT(reg)))
				return false;
			PUSH(e->regs[reg] + off);
			continue;
		}
		switch (at) {
		case DW_OP_call_frame_cfa:
			if (!e->have_cfa)
				return false;
			PUSH(e->cfa);
			break;
		case DW_OP_const1u:
		case DW_OP_const1s:
		case DW_OP_const2u:
		case DW_OP_const2s:
		case DW_OP_const4u:
		case DW_OP_const4s:
		case DW_OP_const8u:
		case DW_OP_const8s:
		case DW_OP_constu:
		case DW_OP_consts:
			PUSH(op->number);
			break;
		case DW_OP_plus_uconst:
			POP(a);
			PUSH(a + op->number);
			break;
		case DW_OP_dup:
			POP(a);
			PUSH(a);
			PUSH(a);
			break;
		case DW_OP_drop:
			POP(a);
			break;
		case DW_OP_swap:
			POP(a);
			POP(b);
			PUSH(a);
			PUSH(b);
			break;
		case DW_OP_deref:
			POP(a);
			if (!e->read(a, &b, e->arg))
				return false;
			PUSH(b);
			break;
		case DW_OP_stack_value:
			value = true;
			break;
		case DW_OP_neg:
			POP(a);
			PUSH(-a);
			break;
		case DW_OP_not:
			POP(a);
			PUSH(~a);
			break;
		default:
			/* The binary operators: b op a. */
			POP(a);
			POP(b);
			if (!binary_op(at, b, a, &b))
				return false;
			PUSH(b);
		}
	}
#undef PUSH
#undef POP
	if (!sp)
		return false;
	if (value || !location) {
		*out = st[sp - 1];
		return true;
	}
	return e->read(st[sp - 1], out, e->arg);
}

enum cfi_step cfi_row__step(const struct cfi_row *row, uint64_t *regs,
			    uint64_t *valid, cfi_read_fn read, void *arg,
			    bool *signal)
{
	struct eval e = {
		.regs = regs, .valid = *valid, .read = read, .arg = arg
	};
	uint64_t out[CFI_NREGS];
	uint64_t ovalid = 0;

	*signal = row->signal;
	if (row->cfa_expr) {
		if (!eval_expr(&e, row->ops + row->cfa_ops, row->cfa_nops,
			       false, &e.cfa)) {
			return CFI_STEP_FAIL;
		}
	} else {
		if (!(*valid & CFI_BIT(row->cfa_reg)))
			return CFI_STEP_FAIL;
		e.cfa = regs[row->cfa_reg] + (uint64_t)row->cfa_off;
	}
	e.have_cfa = true;
	if (row->r[CFI_REG_RA].kind == R_UNDEF)
		return CFI_STEP_END;
	for (int reg = 0; reg < CFI_NRULES; reg++) {
		const struct rule *r = &row->r[reg];
		uint64_t v;

		switch (r->kind) {
		case R_SAME:
			if (!(*valid & CFI_BIT(reg)))
				continue;
			v = regs[reg];
			break;
		case R_UNDEF:
			continue;
		case R_AT_CFA:
			if (!read(e.cfa + (uint64_t)r->off, &v, arg)) {
				if (reg == CFI_REG_RA) {
					return CFI_STEP_FAIL;
				}
				continue;
			}
			break;
		case R_VAL_CFA:
			v = e.cfa + (uint64_t)r->off;
			break;
		case R_REG:
			if (!(*valid & CFI_BIT(r->reg)))
				continue;
			v = regs[r->reg];
			break;
		default:
			if (!eval_expr(&e, row->ops + r->ops, r->nops, true,
				       &v)) {
				if (reg == CFI_REG_RA) {
					return CFI_STEP_FAIL;
				}
				continue;
			}
			break;
		}
		out[reg] = v;
		ovalid |= CFI_BIT(reg);
	}
	/* The caller's stack pointer is the CFA, whatever the ABI's rule
	 * for it said. */
	out[CFI_REG_SP] = e.cfa;
	ovalid |= CFI_BIT(CFI_REG_SP);
	if (!(ovalid & CFI_BIT(CFI_REG_RA))) {
		return CFI_STEP_FAIL;
	}
	/* The caller's pc is the return address (on x86-64 the same slot),
	 * without the code that signed it (arm64). */
	out[CFI_REG_RA] = arch__code_addr(out[CFI_REG_RA]);
	out[CFI_REG_PC] = out[CFI_REG_RA];
	ovalid |= CFI_BIT(CFI_REG_PC);
	for (int reg = 0; reg < CFI_NREGS; reg++)
		if (ovalid & CFI_BIT(reg))
			regs[reg] = out[reg];
	*valid = ovalid;
	return CFI_STEP_OK;
}
