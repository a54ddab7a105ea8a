/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What native unwinding does differently on x86-64 and arm64, in one
 * place: the registers (their DWARF numbers, the order of
 * native_event.regs), the return address column, pointer authentication
 * codes in saved return addresses (arm64), the frame of CPython's -X perf
 * trampoline, code without CFI that can be stepped through (arm64), and
 * the direct jumps that find the eval loop's split-off parts.  The BPF
 * side of the registers is bpf/arch.bpf.h.
 *
 * The decoders of machine code are pure functions of bytes, built on both
 * machines (the unit tests check both); the ARCH_ section below picks the
 * machine's.
 */
#ifndef PYPROF_NATIVE_ARCH_H
#define PYPROF_NATIVE_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <linux/types.h>

#include "bpf/pyprof_shared.h"

/* --- x86-64 code --- */

/* The target of a direct jump at code[i] (at address pc), or false: jmp
 * rel32 and jcc rel32, the forms GCC jumps to a .cold part with.  A jump
 * can start at any byte. */
static inline bool x86__jump_target(const uint8_t *code, uint64_t size,
				    uint64_t i, uint64_t pc, uint64_t *target)
{
	int32_t rel;

	if (i + 5 <= size && code[i] == 0xe9) {
		memcpy(&rel, code + i + 1, 4);
		*target = pc + 5 + (uint64_t)(int64_t)rel;
		return true;
	}
	if (i + 6 <= size && code[i] == 0x0f && (code[i + 1] & 0xf0) == 0x80) {
		memcpy(&rel, code + i + 2, 4);
		*target = pc + 6 + (uint64_t)(int64_t)rel;
		return true;
	}
	return false;
}

/* --- arm64 code: 4-byte instructions, aligned, little-endian --- */

/* The target of a direct branch at code[i] (at address pc), or false: B,
 * B.cond, CBZ/CBNZ and TBZ/TBNZ (not BL: a call is not a part). */
static inline bool arm64__jump_target(const uint8_t *code, uint64_t size,
				      uint64_t i, uint64_t pc, uint64_t *target)
{
	uint32_t w;
	int64_t off;

	if (i + 4 > size)
		return false;
	memcpy(&w, code + i, 4);
	if ((w & 0xfc000000u) == 0x14000000u) /* B imm26 */
		off = (int64_t)((uint64_t)(w & 0x03ffffffu) << 38) >> 36;
	else if ((w & 0xff000010u) == 0x54000000u || /* B.cond imm19 */
		 (w & 0x7e000000u) == 0x34000000u) /* CBZ, CBNZ imm19 */
		off = (int64_t)((uint64_t)((w >> 5) & 0x7ffffu) << 45) >> 43;
	else if ((w & 0x7e000000u) == 0x36000000u) /* TBZ, TBNZ imm14 */
		off = (int64_t)((uint64_t)((w >> 5) & 0x3fffu) << 50) >> 48;
	else
		return false;
	*target = pc + (uint64_t)off;
	return true;
}

/*
 * True if no instruction of code[0, len) calls (BL, BLR) or writes sp (ADD
 * or SUB into sp, a load or store with writeback to its base sp): code that
 * leaves its return address in x30 and its caller's sp as it found it.
 */
static inline bool arm64__frameless(const uint8_t *code, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i += 4) {
		uint32_t w;
		bool rd_sp, rn_sp;

		memcpy(&w, code + i, 4);
		rd_sp = (w & 0x1f) == 31;
		rn_sp = ((w >> 5) & 0x1f) == 31;
		if ((w & 0xfc000000u) == 0x94000000u || /* BL */
		    (w & 0xfffffc1fu) == 0xd63f0000u) /* BLR */
			return false;
		/* ADD/SUB (immediate), (extended register); S clear */
		if (((w & 0x3f800000u) == 0x11000000u ||
		     (w & 0x3fe00000u) == 0x0b200000u) &&
		    rd_sp)
			return false;
		/* LDP/STP pre- or post-indexed (bit 23: writeback) */
		if ((w & 0x3a000000u) == 0x28000000u && (w & (1u << 23)) &&
		    rn_sp)
			return false;
		/* LDR/STR (immediate) pre- or post-indexed (bit 10) */
		if ((w & 0x3b200000u) == 0x38000000u && (w & (1u << 10)) &&
		    rn_sp)
			return false;
	}
	return true;
}

/*
 * Code built with -mbranch-protection (Debian's python3.14, libffi) signs
 * its return address before saving it (paciasp), and its CFI toggles
 * RA_SIGN_STATE (pseudo-register 34, DW_CFA_AARCH64_negate_ra_state) to
 * say so; libdw (0.188 and 0.196) takes the opcode but says nothing of the
 * state (register 34 reads "undefined" at every pc).  The code (PAC) is in
 * the bits above the virtual address, so the address is its low 48 bits,
 * signed or not.  (A process of a kernel with 52-bit user addresses that
 * asked mmap for addresses above 2^48 would need the kernel's mask,
 * NT_ARM_PAC_MASK, which only ptrace gives: such code is not unwound.)
 */
#define ARM64_VA_BITS 48
static inline uint64_t arm64__strip_pac(uint64_t ra)
{
	return ra & ((1ull << ARM64_VA_BITS) - 1);
}

/* --- this machine --- */

/* The register slots: DWARF registers 0 to ARCH_NRULES - 1, which CFI
 * rules restore, then (arm64) the pc, which has no DWARF number. */
#define ARCH_NREGS NATIVE_NREGS
#define ARCH_REG_SP NATIVE_REG_SP
#define ARCH_REG_PC NATIVE_REG_PC

#if defined(__x86_64__)

/* rax-r15 and the return address column, which is rip itself. */
#define ARCH_NRULES 17
#define ARCH_REG_RA 16
#define ARCH_REG_FP 6 /* rbp */

/*
 * CPython 3.12+'s -X perf trampoline (Python/asm_trampoline.S): "sub
 * $8,%rsp; call *%rcx; add $8,%rsp; ret", without CFI.  At its return
 * address the caller's return address is at sp + 8, the caller's sp is
 * sp + 16, and no other register was touched (no saved frame pointer:
 * ARCH_TRAMP_FP_OFF < 0).
 */
#define ARCH_TRAMP_RA_OFF 8
#define ARCH_TRAMP_FP_OFF (-1)
#define ARCH_TRAMP_FRAME 16

/* No code without CFI is stepped through (the PLT and the vDSO have CFI):
 * a frame without a row ends the unwind. */
#define ARCH_LEAF_RA_REG (-1)

/* A return address is the address itself. */
static inline uint64_t arch__code_addr(uint64_t ra)
{
	return ra;
}

#define ARCH_INSN_ALIGN 1
#define arch__jump_target x86__jump_target

#elif defined(__aarch64__)

/*
 * x0-x30 and sp.  The return address column is x30, the link register
 * (the CIEs of GCC and clang say so): the caller's pc is what the row
 * restores x30 to, into the pc slot.  Before a function's prologue (and
 * in a leaf that never saves it) the return address is still in x30, so
 * the sample's x30 matters, not only the callee-saved x19-x29.
 */
#define ARCH_NRULES 32
#define ARCH_REG_RA 30
#define ARCH_REG_FP 29

/*
 * The -X perf trampoline: "stp x29, x30, [sp, -16]!; mov x29, sp; blr
 * x3; ldp x29, x30, [sp], 16; ret", without CFI.  At its return address
 * the caller's x29 is at sp, its return address at sp + 8, its sp is
 * sp + 16.
 */
#define ARCH_TRAMP_RA_OFF 8
#define ARCH_TRAMP_FP_OFF 0
#define ARCH_TRAMP_FRAME 16

/*
 * GNU ld writes no CFI for arm64's PLT, nor does the kernel for its vDSO
 * (7.2's image has no .eh_frame).  A PLT stub and the vDSO's clock
 * functions are leaves without a frame (arm64__frameless): caught there,
 * the return address is in the link register and the caller's sp is the
 * sp.  (The PLT's first stub and the vDSO's getrandom push a frame: they
 * are not stepped through.)
 */
#define ARCH_LEAF_RA_REG 30
#define arch__frameless arm64__frameless

#define arch__code_addr arm64__strip_pac

#define ARCH_INSN_ALIGN 4
#define arch__jump_target arm64__jump_target

#else
/* As bpf/arch.bpf.h: the BPF programs are built for these two only. */
#error "pyprof-bpf unwinds native stacks of x86-64 and arm64 only"
#endif

_Static_assert(ARCH_NREGS <= 64, "a register mask is 64 bits");
_Static_assert(ARCH_NRULES <= ARCH_NREGS && ARCH_REG_RA < ARCH_NRULES &&
		       ARCH_REG_SP < ARCH_NRULES && ARCH_REG_PC < ARCH_NREGS,
	       "register slots");

#endif /* PYPROF_NATIVE_ARCH_H */
