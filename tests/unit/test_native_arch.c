// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * src/native/arch.h, the machine code both machines' unwinding reads:
 * arm64's direct branches (the eval loop's parts), its frameless leaves
 * (the PLT and vDSO code without CFI), its signed return addresses; and
 * x86-64's jumps.  The instruction words are from Debian's arm64 libffi
 * 3.5 and the arm64 vDSO of Linux 7.2, the addresses theirs.
 */
#include "unit.h"

#include "native/arch.h"

static bool arm64_target(uint32_t w, uint64_t pc, uint64_t *target)
{
	uint8_t b[4];

	memcpy(b, &w, 4);
	return arm64__jump_target(b, 4, 0, pc, target);
}

static bool frameless(const uint32_t *w, size_t n)
{
	return arm64__frameless((const uint8_t *)w, n * 4);
}

TEST(arch_arm64_branch_targets)
{
	uint64_t t = 0;

	CHECK(arm64_target(0x17ffffc7, 0xa0f4, &t)); /* b 0xa010 */
	CHECK_INT(t, 0xa010);
	CHECK(arm64_target(0x17fffe06, 0xaa28, &t)); /* b 0xa240 */
	CHECK_INT(t, 0xa240);
	CHECK(arm64_target(0x54fffb81, 0xa158, &t)); /* b.ne 0xa0c8 */
	CHECK_INT(t, 0xa0c8);
	CHECK(arm64_target(0x54000668, 0x324, &t)); /* b.hi 0x3f0 */
	CHECK_INT(t, 0x3f0);
	CHECK(arm64_target(0xb500034b, 0xa098, &t)); /* cbnz x11, 0xa100 */
	CHECK_INT(t, 0xa100);
	CHECK(arm64_target(0xb4fffe6b, 0xa0fc, &t)); /* cbz x11, 0xa0c8 */
	CHECK_INT(t, 0xa0c8);
	CHECK(arm64_target(0x370005c7, 0x344, &t)); /* tbnz w7, #0, 0x3fc */
	CHECK_INT(t, 0x3fc);
	CHECK(!arm64_target(0x97ffff14, 0xa050, &t)); /* bl: a call */
	CHECK(!arm64_target(0xd65f03c0, 0x3dc, &t)); /* ret */
	CHECK(!arm64_target(0xd63f0060, 0x0, &t)); /* blr x3 */
}

TEST(arch_x86_jump_targets)
{
	const uint8_t jmp[] = { 0xe9, 0xfb, 0xff, 0xff, 0xff }; /* jmp . */
	const uint8_t je[] = { 0x0f, 0x84, 0x10, 0x00, 0x00, 0x00 };
	const uint8_t call[] = { 0xe8, 0x00, 0x00, 0x00, 0x00 };
	uint64_t t = 0;

	CHECK(x86__jump_target(jmp, sizeof(jmp), 0, 0x1000, &t));
	CHECK_INT(t, 0x1000);
	CHECK(x86__jump_target(je, sizeof(je), 0, 0x1000, &t));
	CHECK_INT(t, 0x1016);
	CHECK(!x86__jump_target(je, 5, 0, 0x1000, &t)); /* cut short */
	CHECK(!x86__jump_target(call, sizeof(call), 0, 0x1000, &t));
}

TEST(arch_arm64_frameless_leaves)
{
	/* __kernel_clock_gettime's kinds: reads sp, never writes it. */
	const uint32_t clock[] = {
		0x71005c1f, /* cmp w0, #23 */
		0x54000668, /* b.hi */
		0xd53be042, /* mrs x2, CNTVCT_EL0 */
		0x8b2463e4, /* add x4, sp, x4 */
		0xf940009f, /* ldr xzr, [x4] */
		0xa90153f3, /* stp x19, x20, [sp, #16]: no writeback */
		0x910003fd, /* mov x29, sp */
		0x9101e3e2, /* add x2, sp, #120 */
		0xd65f03c0, /* ret */
	};
	/* A PLT stub. */
	const uint32_t plt[] = { 0xf00036f0, 0xf9400611, 0x91002210,
				 0xd61f0220 };
	/* Each writes sp or calls. */
	const uint32_t framed[] = {
		0xa9b87bfd, /* stp x29, x30, [sp, #-128]! (vDSO getrandom) */
		0xa8c87bfd, /* ldp x29, x30, [sp], #128 */
		0xa9bf7bf0, /* stp x16, x30, [sp, #-16]! (the PLT's first) */
		0xf81f0ffe, /* str x30, [sp, #-16]! */
		0xf84107fe, /* ldr x30, [sp], #16 */
		0xd10103ff, /* sub sp, sp, #64 */
		0x910003bf, /* mov sp, x29 */
		0x94000033, /* bl */
		0xd63f0060, /* blr x3 */
	};

	CHECK(frameless(clock, sizeof(clock) / 4));
	CHECK(frameless(plt, sizeof(plt) / 4));
	for (size_t i = 0; i < sizeof(framed) / 4; i++) {
		uint32_t w[3] = { clock[0], framed[i], clock[8] };

		if (frameless(w, 3))
			printf("  0x%08x taken for frameless\n", framed[i]);
		CHECK(!frameless(w, 3));
	}
}

TEST(arch_arm64_signed_return_addresses)
{
	/* A PAC in bits 48-54 and 56-63 (TBI is off for instructions). */
	CHECK_INT(arm64__strip_pac(0x0031aaaa00412345ull), 0xaaaa00412345ull);
	CHECK_INT(arm64__strip_pac(0xff7fffff9d28c360ull), 0xffff9d28c360ull);
	CHECK_INT(arm64__strip_pac(0x0000ffff9d28c360ull), 0xffff9d28c360ull);
}
