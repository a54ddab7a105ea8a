// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "native/merge.h"

#include <errno.h>
#include <string.h>

void native__entry_markers(struct py_proc_cfg *cfg)
{
	cfg->frame_is_entry = 0xffff;
	cfg->entry_owner_mask = 0;
	if (cfg->frame_kind != PY_FRAME_INTERP)
		return;
	if (cfg->version == 0x030b) {
		/* 3.11: stacktop (int) at 64, then bool is_entry, then the
		 * owner byte the table already has. */
		if (cfg->off.frame_owner != PY_OFF_NONE &&
		    cfg->off.frame_owner >= 1)
			cfg->frame_is_entry = (__u16)(cfg->off.frame_owner - 1);
	} else if (cfg->version >= 0x030c) {
		/* 3.12+: _PyEval_EvalFrameDefault links an entry frame below
		 * the frame it runs (Python/ceval.c), owned by
		 * FRAME_OWNED_BY_CSTACK (3) on 3.12 and 3.13, and on 3.14 by
		 * FRAME_OWNED_BY_INTERPRETER, renumbered to 3 (CSTACK moved
		 * to 4 and is no longer assigned). */
		cfg->entry_owner_mask = 1u << 3;
	}
}

bool native__is_eval(const char *sym)
{
	static const char eval[] = "_PyEval_EvalFrameDefault";

	/* GCC's split-off parts keep the name with a suffix (.cold,
	 * .part.N): .symtab names the bulk of Debian's PGO eval loop
	 * _PyEval_EvalFrameDefault.cold. */
	return sym && strncmp(sym, eval, sizeof(eval) - 1) == 0 &&
	       (sym[sizeof(eval) - 1] == '\0' || sym[sizeof(eval) - 1] == '.');
}

static int put(struct merge_slot *out, uint32_t max, uint32_t *n,
	       enum merge_kind kind, uint32_t idx)
{
	if (*n >= max)
		return -ENOSPC;
	out[*n].kind = kind;
	out[*n].idx = idx;
	(*n)++;
	return 0;
}

/* The index of the first Python frame of group g+1 (root first), given the
 * first of group g; npy when g is the last. */
static uint32_t group_end(const struct py_frame *py, uint32_t npy,
			  bool per_frame, uint32_t start)
{
	uint32_t i = start;

	if (per_frame)
		return start + 1;
	/* A frame with F_ENTRY is the last of its activation: the frame
	 * nearer the leaf was entered through a new eval-loop call. */
	while (i < npy && !(py[i].fingerprint & PY_FRAME_F_ENTRY))
		i++;
	return i < npy ? i + 1 : npy;
}

int native__merge(const bool *eval, uint32_t nnat, const struct py_frame *py,
		  uint32_t npy, bool per_frame, bool native_cut,
		  struct merge_slot *out, uint32_t max, uint32_t *n)
{
	uint32_t nev = 0, ngroups = 0, g, skip, p = 0, entering = UINT32_MAX;
	int rc = 0;

	*n = 0;
	for (uint32_t i = 0; i < nnat; i++) {
		if (eval[i])
			entering = i;
		nev += eval[i];
	}
	for (uint32_t i = 0; i < npy; i = group_end(py, npy, per_frame, i))
		ngroups++;
	/* One eval-loop call more than activations, and the unwind whole:
	 * the leaf-most call is entering (its frame not yet the thread's)
	 * or leaving (its frame popped).  It runs no Python frame; it shows
	 * as itself. */
	if (npy && nev == ngroups + 1 && !native_cut)
		nev--;
	else
		entering = UINT32_MAX;

	if (npy == 0) {
		for (uint32_t i = 0; i < nnat && !rc; i++)
			rc = put(out, max, n, MERGE_NATIVE, i);
		return rc ?: MERGE_NO_PYTHON;
	}
	if (nev > ngroups || (nev < ngroups && !native_cut)) {
		for (uint32_t i = 0; i < npy && !rc; i++)
			rc = put(out, max, n, MERGE_PYTHON, i);
		for (uint32_t i = 0; i < nnat && !rc; i++)
			rc = put(out, max, n, MERGE_NATIVE, i);
		return rc ?: MERGE_MISMATCH;
	}

	/* The root-most groups whose eval frames were not unwound come
	 * first, then a marker, then the native frames: the leaf-most
	 * activations are the ones the unwound eval frames ran. */
	skip = ngroups - nev;
	for (g = 0; g < skip; g++) {
		uint32_t end = group_end(py, npy, per_frame, p);

		for (; p < end && !rc; p++)
			rc = put(out, max, n, MERGE_PYTHON, p);
	}
	if (skip && !rc)
		rc = put(out, max, n, MERGE_CUT, 0);
	for (uint32_t i = 0; i < nnat && !rc; i++) {
		uint32_t end;

		if (!eval[i] || i == entering) {
			rc = put(out, max, n, MERGE_NATIVE, i);
			continue;
		}
		end = group_end(py, npy, per_frame, p);
		for (; p < end && !rc; p++)
			rc = put(out, max, n, MERGE_PYTHON, p);
	}
	return rc ?: MERGE_OK;
}
