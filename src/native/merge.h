/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Merged stacks (--native): where the Python frames go among the native
 * frames of one sample.  Each eval-loop frame (_PyEval_EvalFrameDefault)
 * is replaced, in place, by the Python frames it was running.
 */
#ifndef PYPROF_NATIVE_H
#define PYPROF_NATIVE_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/types.h>

#include "bpf/pyprof_shared.h"

/* Kernel stack map entries per buffer with --kernel. */
#define NATIVE_KSTACKS_MAX 16384
/* Ring buffer with --native: about 950 native records of 17.6 KiB. */
#define NATIVE_RINGBUF_SIZE (16u << 20)

/*
 * Sets cfg's eval-loop entry markers from its version: 3.11's
 * _PyInterpreterFrame.is_entry (Include/internal/pycore_frame.h, after
 * stacktop), the owner of 3.12+'s eval-loop entry frames (3).
 */
void native__entry_markers(struct py_proc_cfg *cfg);

/* True if sym is the eval loop's function, the frame Python frames replace. */
bool native__is_eval(const char *sym);

enum merge_kind {
	MERGE_NATIVE, /* idx: a native frame */
	MERGE_PYTHON, /* idx: a Python frame */
	MERGE_CUT, /* "[native stack truncated]": root-side Python frames
		      above, their native frames were not unwound */
};

struct merge_slot {
	uint32_t kind; /* enum merge_kind */
	uint32_t idx;
};

enum merge_result {
	MERGE_OK, /* every eval frame matched a group of Python frames */
	MERGE_NO_PYTHON, /* no Python frame: native frames alone */
	MERGE_MISMATCH, /* eval frames and Python groups disagree: Python
			   frames, then the native frames unchanged */
};

/*
 * Merges one sample's stacks, both root first: eval[i] says whether native
 * frame i is an eval-loop frame; py[] are the Python frames (their
 * PY_FRAME_F_ENTRY bits tell the eval-loop activations apart, unless
 * per_frame: 3.8-3.10, one activation per frame).  native_cut: the native
 * unwind stopped before the root, so root-side Python activations may lack
 * their eval frames.  Writes at most max slots (root first) to out, sets
 * *n, and returns an enum merge_result; -ENOSPC if out is too small.
 */
int native__merge(const bool *eval, uint32_t nnat, const struct py_frame *py,
		  uint32_t npy, bool per_frame, bool native_cut,
		  struct merge_slot *out, uint32_t max, uint32_t *n);

#endif /* PYPROF_NATIVE_H */
