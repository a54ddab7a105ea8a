/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * One unwind step without libdwfl in the hot path: the DWARF CFI rows
 * (how to find the caller's CFA, return address and callee-saved
 * registers at a range of pcs) of one module file, computed once by libdw
 * on a miss and kept in a sorted table, and applied to a register set.
 * Rows are in the file's own address space (a pc minus the module's load
 * bias), so processes sharing a file share its table.
 */
#ifndef PYPROF_CFI_H
#define PYPROF_CFI_H

#include <stdbool.h>
#include <stdint.h>

#include <elfutils/libdw.h>

#include "native/arch.h"

/* The register slots (native/arch.h): DWARF registers 0 to CFI_NRULES - 1,
 * then the pc where it is not one of them; a mask has a bit per slot. */
#define CFI_NREGS ARCH_NREGS
#define CFI_NRULES ARCH_NRULES
#define CFI_REG_SP ARCH_REG_SP
#define CFI_REG_PC ARCH_REG_PC
#define CFI_REG_RA ARCH_REG_RA /* the return address column */
#define CFI_BIT(reg) (1ull << (reg))
#define CFI_ALL_VALID (CFI_NREGS == 64 ? ~0ull : CFI_BIT(CFI_NREGS) - 1)

struct cfi_table;
struct cfi_row;

struct cfi_table *cfi_table__new(void);
void cfi_table__free(struct cfi_table *t);

/*
 * The row covering rel (a pc minus the module's main load bias).  On a
 * miss it is computed from cfi, whose addresses are a pc minus cfi_bias,
 * and kept.  NULL if cfi has no row for rel (or cfi is NULL).
 * *computed is set when libdw had to be asked.
 */
const struct cfi_row *cfi_table__row(struct cfi_table *t, Dwarf_CFI *cfi,
				     int64_t cfi_delta, uint64_t rel,
				     bool *computed);

/* Reads 8 bytes at addr of the sampled thread's memory; false if out of
 * reach.  arg is the caller's. */
typedef bool (*cfi_read_fn)(uint64_t addr, uint64_t *val, void *arg);

enum cfi_step {
	CFI_STEP_OK, /* regs now hold the caller's registers */
	CFI_STEP_END, /* the outermost frame: the return address is
			 undefined */
	CFI_STEP_FAIL, /* a rule that cannot be applied (an unknown
			  register, an unreadable address, an unsupported
			  expression) */
};

/*
 * Applies row to regs (valid: a bit per register known): regs become the
 * caller's, its pc (regs[CFI_REG_PC]) the return address, less any pointer
 * authentication code (arch__code_addr).  *signal is set when the caller
 * is an interrupted context (its pc exact, not a return address).
 */
enum cfi_step cfi_row__step(const struct cfi_row *row, uint64_t *regs,
			    uint64_t *valid, cfi_read_fn read, void *arg,
			    bool *signal);

/* Rows kept, in total over the table. */
uint64_t cfi_table__rows(const struct cfi_table *t);

#endif /* PYPROF_CFI_H */
