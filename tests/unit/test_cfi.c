// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * src/native/cfi.c: a row found in the table (computed for another pc of
 * its range) steps exactly as the row libdw computes for this pc, over
 * every instruction boundary of real files' code, in either order (a row
 * after DW_CFA_restore_state, computed first, must not claim the pcs
 * before it); expressions (the PLT's) evaluate.
 */
#include "unit.h"

#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <unistd.h>

#include "native/cfi.h"

#define STACK_BASE 0x7ffd00000000ull
/* More than the largest frame (a cold part of Debian's 3.14: 68 KiB). */
#define STACK_LEN 0x100000ull

/* A stack that reads as a function of the address, and nothing outside
 * it: a rule that reads gives a value that depends on where it read, and
 * a CFA computed wrong reads outside. */
static bool fake_read(uint64_t addr, uint64_t *val, void *arg)
{
	(void)arg;
	if (addr < STACK_BASE || addr >= STACK_BASE + STACK_LEN - 8)
		return false;
	*val = addr * 0x9e3779b97f4a7c15ull + 1;
	return true;
}

/* Every register points into the stack (rbp-based CFAs read there). */
static void regs_init(uint64_t *r, uint64_t pc)
{
	for (int i = 0; i < CFI_NREGS; i++)
		r[i] = STACK_BASE + 0x100 + (uint64_t)i * 0x100;
	r[CFI_REG_SP] = STACK_BASE;
	r[CFI_REG_RA] = pc;
	r[CFI_REG_PC] = pc;
}

/* Steps at every pc of [lo, hi) (from hi down if down) with the shared
 * table, and with a fresh row; counts the pcs that have a row. */
static int compare_range(Dwarf_CFI *cfi, uint64_t lo, uint64_t hi, bool down,
			 int *mismatches)
{
	struct cfi_table *shared = cfi_table__new();
	int rows = 0;

	for (uint64_t i = 0; i < hi - lo; i++) {
		uint64_t pc = down ? hi - 1 - i : lo + i;
		struct cfi_table *fresh = cfi_table__new();
		const struct cfi_row *a, *b;
		uint64_t ra[CFI_NREGS], rb[CFI_NREGS];
		uint64_t va = CFI_ALL_VALID, vb = va;
		bool computed, sa, sb;
		enum cfi_step xa, xb;

		a = cfi_table__row(shared, cfi, 0, pc, &computed);
		b = cfi_table__row(fresh, cfi, 0, pc, &computed);
		if (!a || !b) {
			*mismatches += !a != !b;
			cfi_table__free(fresh);
			continue;
		}
		rows++;
		regs_init(ra, pc);
		regs_init(rb, pc);
		xa = cfi_row__step(a, ra, &va, fake_read, NULL, &sa);
		xb = cfi_row__step(b, rb, &vb, fake_read, NULL, &sb);
		/* An outermost frame's row (its return address undefined:
		 * arm64 glibc's __start_context) ends the walk. */
		if (xa == CFI_STEP_FAIL) {
			if (*mismatches < 5)
				printf("  no step at pc 0x%lx: %d\n",
				       (unsigned long)pc, xa);
			(*mismatches)++;
		}
		if (xa != xb || va != vb || memcmp(ra, rb, sizeof(ra)) != 0) {
			if (*mismatches < 5)
				printf("  mismatch at pc 0x%lx\n",
				       (unsigned long)pc);
			(*mismatches)++;
		}
		cfi_table__free(fresh);
	}
	cfi_table__free(shared);
	return rows;
}

static void check_file(const char *path, const char *section, uint64_t max,
		       bool down)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	Dwarf_CFI *cfi;
	int fd, mismatches = 0, rows = 0;
	Elf *elf;

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("  %s: not here, skipped\n", path);
		return;
	}
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	REQUIRE(elf);
	cfi = dwarf_getcfi_elf(elf);
	REQUIRE(cfi);
	REQUIRE(elf_getshdrstrndx(elf, &shstrndx) == 0);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, section) != 0)
			continue;
		rows = compare_range(
			cfi, sh.sh_addr,
			sh.sh_addr + (sh.sh_size < max ? sh.sh_size : max),
			down, &mismatches);
	}
	printf("  %s %s%s: %d pcs with a row, %d mismatches\n", path, section,
	       down ? " (down)" : "", rows, mismatches);
	CHECK(rows > 0);
	CHECK_INT(mismatches, 0);
	dwarf_cfi_end(cfi);
	elf_end(elf);
	close(fd);
}

#if defined(__aarch64__)
#define LIBC "/lib/aarch64-linux-gnu/libc.so.6"
#else
#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"
#endif

TEST(cfi_cached_rows_step_as_fresh_ones)
{
	check_file(LIBC, ".text", 256 * 1024, false);
#if defined(__aarch64__)
	/* No .plt here: GNU ld writes no CFI for arm64's (unwind.c steps
	 * through its stubs without). */
	/* Debian's arm64 build: return addresses signed (paciasp, CFI
	 * negate_ra_state), the rows of x0-x30 and sp. */
	check_file("/usr/bin/python3.14", ".text", 256 * 1024, false);
	check_file("/usr/bin/python3.14", ".text", 128 * 1024, true);
#else
	check_file(LIBC, ".plt", 4096, false);
#endif
	check_file("/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0",
		   ".plt", 64 * 1024, false);
	check_file("/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0",
		   ".text", 512 * 1024, false);
}

/*
 * GCC's epilogues in the middle of a function remember the CFI state
 * before their "ret" and restore it after; libdw then says the row after
 * the "ret" starts where the state was remembered.  Rows computed there
 * first (pcs visited downwards) must leave the "ret" its own row (rsp + 8,
 * not rbp + 16): a sample at a "ret" of Debian's 3.15 skipped its caller,
 * the eval loop, and came out [unmerged].
 */
TEST(cfi_rows_after_restore_state)
{
	char path[600];

	/* A window of each file: the mismatches were thousands per 100 KiB
	 * before the fix; every pc costs a fresh table, so the whole .text
	 * would take minutes under the sanitizers. */
	check_file(LIBC, ".text", 64 * 1024, true);
	for (int minor = 14; minor <= 15; minor++) {
		snprintf(path, sizeof(path), "%s/usr/bin/python3.%d",
			 unit__debian_root(), minor);
		if (access(path, R_OK) != 0)
			SKIP("%s is not there (`make deps` makes Debian "
			     "unstable's root)",
			     path);
		check_file(path, ".text", 128 * 1024, true);
	}
}
