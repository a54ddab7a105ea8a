// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * src/native/merge.c: where Python frames go among native frames, on synthetic
 * stacks shaped like those of each CPython version.
 */
#include "unit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "native/merge.h"

#define E PY_FRAME_F_ENTRY

/* Renders slots as "N0 P1 C ..." (native index, Python index, cut). */
static const char *render(const struct merge_slot *s, uint32_t n)
{
	static char buf[512];
	size_t pos = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < n && pos + 16 < sizeof(buf); i++)
		pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "%s%c%u",
					i ? " " : "",
					s[i].kind == MERGE_NATIVE ? 'N' :
					s[i].kind == MERGE_PYTHON ? 'P' :
								    'C',
					s[i].kind == MERGE_CUT ? 0 : s[i].idx);
	return buf;
}

static struct py_frame pf(uint32_t flags)
{
	struct py_frame f = { .code = 0x1000,
			      .lasti = 0,
			      .fingerprint = 1 | flags };

	return f;
}

TEST(merge_per_frame_310)
{
	/* main, eval, call, eval, ctypes, a: two frames, two evals. */
	bool ev[] = { false, true, false, true, false, false };
	struct py_frame py[] = { pf(0), pf(0) };
	struct merge_slot out[16];
	uint32_t n;

	CHECK_INT(native__merge(ev, 6, py, 2, true, false, out, 16, &n),
		  MERGE_OK);
	CHECK_STR(render(out, n), "N0 P0 N2 P1 N4 N5");
}

TEST(merge_entry_groups_311)
{
	/* Three Python frames; the second was entered through C (the first
	 * carries F_ENTRY), so the first runs in eval 1, the others in
	 * eval 2. */
	bool ev[] = { false, true, false, true, false };
	struct py_frame py[] = { pf(E), pf(0), pf(0) };
	struct merge_slot out[16];
	uint32_t n;

	CHECK_INT(native__merge(ev, 5, py, 3, false, false, out, 16, &n),
		  MERGE_OK);
	CHECK_STR(render(out, n), "N0 P0 N2 P1 P2 N4");
	/* One eval running all three (no C call in between). */
	{
		bool ev1[] = { false, true, false };
		struct py_frame py1[] = { pf(0), pf(0), pf(0) };

		CHECK_INT(native__merge(ev1, 3, py1, 3, false, false, out, 16,
					&n),
			  MERGE_OK);
		CHECK_STR(render(out, n), "N0 P0 P1 P2 N2");
	}
}

TEST(merge_mismatch_keeps_everything)
{
	/* Three evals but one group, and the unwind was complete. */
	bool ev[] = { true, false, true, true };
	struct py_frame py[] = { pf(0), pf(0) };
	struct merge_slot out[16];
	uint32_t n;

	CHECK_INT(native__merge(ev, 4, py, 2, false, false, out, 16, &n),
		  MERGE_MISMATCH);
	CHECK_STR(render(out, n), "P0 P1 N0 N1 N2 N3");
	/* One frame per activation (3.8-3.10): two evals, two frames. */
	CHECK_INT(native__merge(ev, 3, py, 2, true, false, out, 16, &n),
		  MERGE_OK);
	{
		/* Fewer evals than activations, unwind complete. */
		bool ev1[] = { false, true };

		CHECK_INT(native__merge(ev1, 2, py, 2, true, false, out, 16,
					&n),
			  MERGE_MISMATCH);
	}
}

TEST(merge_eval_entering)
{
	/* Two evals, one group: the leaf-most eval-loop call has not made
	 * its frame the thread's yet (or has popped it).  The root-most
	 * runs the group; the other shows as itself. */
	bool ev[] = { true, false, true, false };
	struct py_frame py[] = { pf(0), pf(0) };
	struct merge_slot out[16];
	uint32_t n;

	CHECK_INT(native__merge(ev, 4, py, 2, false, false, out, 16, &n),
		  MERGE_OK);
	CHECK_STR(render(out, n), "P0 P1 N1 N2 N3");
	/* Not when the unwind stopped early: which evals it saw is not
	 * known. */
	CHECK_INT(native__merge(ev, 4, py, 2, false, true, out, 16, &n),
		  MERGE_MISMATCH);
}

TEST(merge_cut_unwind_keeps_root_groups_first)
{
	/* The unwind stopped early: only the leaf-most eval was seen, so the
	 * root-most Python frame goes above a cut marker. */
	bool ev[] = { false, true, false };
	struct py_frame py[] = { pf(0), pf(0) };
	struct merge_slot out[16];
	uint32_t n;

	CHECK_INT(native__merge(ev, 3, py, 2, true, true, out, 16, &n),
		  MERGE_OK);
	CHECK_STR(render(out, n), "P0 C0 N0 P1 N2");
}

TEST(merge_no_python_and_overflow)
{
	bool ev[] = { false, false };
	struct py_frame py[] = { pf(0) };
	struct merge_slot out[2];
	uint32_t n;

	CHECK_INT(native__merge(ev, 2, NULL, 0, false, false, out, 2, &n),
		  MERGE_NO_PYTHON);
	CHECK_STR(render(out, n), "N0 N1");
	/* Python frames and no eval frame at all, unwind complete. */
	CHECK_INT(native__merge(ev, 2, py, 1, false, false, out, 2, &n),
		  -ENOSPC);
	CHECK_INT(n, 2);
}

TEST(merge_entry_markers_by_version)
{
	struct py_proc_cfg c;

	memset(&c, 0, sizeof(c));
	c.frame_kind = PY_FRAME_OBJECT;
	c.version = 0x030a;
	native__entry_markers(&c);
	CHECK_INT(c.frame_is_entry, 0xffff);
	CHECK_INT(c.entry_owner_mask, 0);

	c.frame_kind = PY_FRAME_INTERP;
	c.version = 0x030b;
	c.off.frame_owner = 69;
	native__entry_markers(&c);
	CHECK_INT(c.frame_is_entry, 68);
	CHECK_INT(c.entry_owner_mask, 0);

	c.version = 0x030e;
	c.off.frame_owner = 74;
	native__entry_markers(&c);
	CHECK_INT(c.frame_is_entry, 0xffff);
	CHECK_INT(c.entry_owner_mask, 1 << 3);
	CHECK(native__is_eval("_PyEval_EvalFrameDefault"));
	CHECK(!native__is_eval("_PyEval_EvalFrame"));
	CHECK(!native__is_eval(NULL));
}

TEST(native_is_eval_split_parts)
{
	/* GCC's split-off parts keep the name and a suffix. */
	CHECK(native__is_eval("_PyEval_EvalFrameDefault"));
	CHECK(native__is_eval("_PyEval_EvalFrameDefault.cold"));
	CHECK(native__is_eval("_PyEval_EvalFrameDefault.part.0"));
	CHECK(!native__is_eval("_PyEval_EvalFrameDefaultX"));
	CHECK(!native__is_eval("_PyEval_EvalFrame"));
	CHECK(!native__is_eval(NULL));
}
