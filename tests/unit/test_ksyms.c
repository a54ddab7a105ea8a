// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* src/native/ksyms.c: parsing /proc/kallsyms text, and the address lookup. */
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "native/ksyms.h"

static struct ksyms *load(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct ksyms *ks;

	if (!f)
		return NULL;
	ks = ksyms__load(f);
	fclose(f);
	return ks;
}

TEST(ksyms_parse_and_find)
{
	/* Out of order, with data symbols, modules and junk lines. */
	static const char text[] = "ffffffff81200000 T vfs_read\n"
				   "ffffffff81000000 T _stext\n"
				   "ffffffff81100000 t do_syscall_64\n"
				   "ffffffff82000000 D some_data\n"
				   "ffffffff81300000 W weak_fn\n"
				   "not a line\n"
				   "ffffffffc0000000 t mod_fn\t[kvm]\n"
				   "ffffffff81400000 b bss_thing\n";
	struct ksyms *ks = load(text);
	uint64_t off = 0;

	REQUIRE(ks);
	CHECK_INT(ksyms__count(ks), 5);
	CHECK_STR(ksyms__find(ks, 0xffffffff81000000ull, &off), "_stext");
	CHECK_INT(off, 0);
	CHECK_STR(ksyms__find(ks, 0xffffffff81100010ull, &off),
		  "do_syscall_64");
	CHECK_INT(off, 0x10);
	CHECK_STR(ksyms__find(ks, 0xffffffff812fffffull, &off), "vfs_read");
	CHECK_STR(ksyms__find(ks, 0xffffffff81300001ull, &off), "weak_fn");
	/* A module symbol's name is kept without its [module]. */
	CHECK_STR(ksyms__find(ks, 0xffffffffc0000100ull, &off), "mod_fn");
	/* Below the first symbol: nothing. */
	CHECK(ksyms__find(ks, 0xffffffff80000000ull, &off) == NULL);
	ksyms__free(ks);
}

TEST(ksyms_hidden_addresses)
{
	/* kernel.kptr_restrict shows zeros to the unprivileged. */
	static const char text[] = "0000000000000000 T _stext\n"
				   "0000000000000000 t do_syscall_64\n";

	errno = 0;
	CHECK(load(text) == NULL);
	CHECK_INT(errno, EPERM);
	errno = 0;
	CHECK(load("") == NULL);
	CHECK_INT(errno, ENOENT);
}

TEST(ksyms_long_names_are_skipped)
{
	char text[2048];

	memset(text, 'x', sizeof(text));
	memcpy(text, "ffffffff81000000 T ", 19);
	memcpy(text + 1500, "\nffffffff81000100 T ok\n", 24);
	{
		struct ksyms *ks = load(text);
		uint64_t off;

		REQUIRE(ks);
		CHECK_STR(ksyms__find(ks, 0xffffffff81000100ull, &off), "ok");
		CHECK(ksyms__find(ks, 0xffffffff81000010ull, &off) == NULL);
		ksyms__free(ks);
	}
}
