// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/native/evalparts.c on real interpreters: Debian unstable's
 * stripped 3.14 and 3.15 (`make deps`), whose eval loop GCC partitioned, and
 * a pyenv build, whose _PyEval_EvalFrameDefault is whole.
 */
#include "unit.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "native/evalparts.h"

static const Dwfl_Callbacks offline = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

/* The parts of path's eval loop, or -1 with a SKIP reason in why. */
static int parts_of(const char *path, struct eval_parts *ep, char *why,
		    size_t whylen)
{
	Dwfl *dwfl;
	Dwfl_Module *mod;
	int rc;

	if (access(path, R_OK) != 0) {
		snprintf(why, whylen, "%s is not there", path);
		return -1;
	}
	dwfl = dwfl_begin(&offline);
	if (!dwfl)
		return -1;
	mod = dwfl_report_offline(dwfl, path, path, -1);
	dwfl_report_end(dwfl, NULL, NULL);
	rc = mod ? evalparts__find(mod, ep) : -1;
	dwfl_end(dwfl);
	if (rc)
		snprintf(why, whylen, "%s: cannot read it", path);
	return rc;
}

static void check_debian(const char *minor)
{
	char path[512], why[600];
	struct eval_parts ep;

	snprintf(path, sizeof(path), "%s/usr/bin/python%s", unit__debian_root(),
		 minor);
	if (parts_of(path, &ep, why, sizeof(why)))
		SKIP("%s (`make deps` makes Debian unstable's root)", why);
	/* One partition: the interpreter's 80 KiB, which the exported
	 * symbol (about 1 KiB) jumps into. */
	CHECK_INT(ep.n, 1);
	for (uint32_t i = 0; i < ep.n; i++) {
		CHECK(ep.r[i].hi - ep.r[i].lo >= 16384);
		CHECK(evalparts__contains(&ep, ep.r[i].lo));
		CHECK(evalparts__contains(&ep, ep.r[i].hi - 1));
		CHECK(!evalparts__contains(&ep, ep.r[i].hi));
	}
}

TEST(evalparts_debian_unstable_314)
{
	check_debian("3.14");
}

TEST(evalparts_debian_unstable_315)
{
	check_debian("3.15");
}

/* A whole eval loop, and a binary with none: no parts. */
TEST(evalparts_none)
{
	static const char lib[] =
		"/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0";
	struct eval_parts ep;
	char why[600];

	if (parts_of(lib, &ep, why, sizeof(why)) == 0)
		CHECK_INT(ep.n, 0);
	if (parts_of("/bin/ls", &ep, why, sizeof(why)) == 0)
		CHECK_INT(ep.n, 0);
	if (access(lib, R_OK) != 0)
		SKIP("%s", why);
}
