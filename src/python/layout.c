// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Where things are inside CPython's structs, per minor version (x86_64,
 * default build: GIL, no Py_DEBUG, no Py_STATS, no Py_TRACE_REFS).
 *
 * Facts from each version's Include/cpython/ and Include/internal/ headers at
 * v3.8.18, v3.9.18, v3.10.13, v3.11.7, v3.12.1, v3.13.0 (checked against the
 * DWARF of those builds) and v3.14.0; how each was read is in git log.  One
 * patch release stands for its series: a convention, not a promise.
 *
 * On 3.13+ the target's own _Py_DebugOffsets (the first member of
 * _PyRuntime) is authoritative: py_layout__from_debug_offsets() takes what it
 * carries from there, and this table supplies the rest and a cross-check.
 */
#include "python/layout.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NONE PY_OFF_NONE

/*
 * PyASCIIObject.state bit field, the same in every version here:
 * interned:2, kind:3, compact:1, ascii:1, then ready:1 (<= 3.11) or
 * statically_allocated:1 (3.12+).  Include/cpython/unicodeobject.h.
 */
#define UNICODE_BITS .kind_shift = 2, .compact_bit = 5, .ascii_bit = 6
/* Free-threaded 3.14+: interned is a whole byte, the bit fields follow. */
#define UNICODE_BITS_FT .kind_shift = 8, .compact_bit = 11, .ascii_bit = 12

/* Thread-local bytecode: free-threaded 3.14+ only. */
#define NO_TLBC .frame_tlbc_index = NONE, .code_tlbc = NONE
/* The count of code objects freed (3.14+) is taken from the target's own
 * _Py_DebugOffsets only, which every such build carries: it follows the
 * GIL's pthread mutexes in PyInterpreterState, whose size differs from one
 * architecture to another (x86-64's 3.14.10: 7992), so no table row can
 * hold it for all.  The interpreter pointer opens PyThreadState. */
#define NO_CODE_GEN .tstate_interp = NONE, .interp_code_gen = NONE

/* offsetof(struct py_layout, f); does not compile unless f is 4 bytes. */
#define U32_AT(f)                        \
	(offsetof(struct py_layout, f) + \
	 0 * sizeof(char[sizeof(((struct py_layout *)0)->f) == 4 ? 1 : -1]))

/* Owner values of frames that are not Python frames (enum _frameowner). */
#define OWNER(v) (1u << (v))

static const struct py_layout builtin[] = {
	{
		/*
		 * 3.8: Include/cpython/pystate.h (struct _ts: frame),
		 * Include/frameobject.h (f_back, f_code, int f_lasti in bytes),
		 * Include/code.h (co_lnotab), Include/internal/pycore_pystate.h
		 * (PyInterpreterState: tstate_head, modules).
		 */
		.version = PYVER(3, 8),
		.name = "3.8",
		.walk = {
			.runtime_interp_head = 32,
			.interp_next = 0,
			.interp_threads_head = 8,	/* tstate_head */
			.tstate_next = 8,
			.tstate_thread_id = 176,
			.tstate_frame = 24,		/* frame */
			.cframe_current_frame = NONE,
			.frame_previous = 24,		/* f_back */
			.frame_code = 32,		/* f_code */
			.frame_instr = 104,		/* f_lasti */
			.frame_owner = NONE,
			.code_firstlineno = 40,
			.code_adaptive = NONE,
			NO_TLBC,
			NO_CODE_GEN,
		},
		.frame_kind = PY_FRAME_OBJECT,
		.code = {
			.size = 128,
			.name = 112,
			.qualname = NONE,
			.filename = 104,
			.linetable = 120,		/* co_lnotab */
			.firstlineno = 40,
			.linetable_kind = PY_LT_LNOTAB,
		},
		.object = { .ob_type = 8 },
		.bytes = { .ob_size = 16, .ob_sval = 32 },
		.unicode = {
			.length = 16,
			.state = 32,
			.ascii_size = 48,	/* still has wstr */
			.compact_size = 72,
			.data_any = 72,
			UNICODE_BITS,
		},
		.obj = {
			.interp_modules = 56,
			.module_dict = 16,
			.dict_keys = 32,
			.dict_values = 40,
			.type_flags = 168,
			.type_dictoffset = 288,
			.type_basicsize = 32,
			.ht_cached_keys = 872,
			.long_size = 16,		/* ob_size */
			.long_digits = 24,
			.managed_dict = PY_MD_NONE,
		},
	},
	{
		/*
		 * 3.9: as 3.8 (f_lasti still in bytes, co_lnotab); the
		 * interpreter state gained ceval and gc state before modules,
		 * and PyHeapTypeObject lost a slot (ht_cached_keys moves).
		 */
		.version = PYVER(3, 9),
		.name = "3.9",
		.walk = {
			.runtime_interp_head = 32,
			.interp_next = 0,
			.interp_threads_head = 8,
			.tstate_next = 8,
			.tstate_thread_id = 176,
			.tstate_frame = 24,
			.cframe_current_frame = NONE,
			.frame_previous = 24,
			.frame_code = 32,
			.frame_instr = 104,
			.frame_owner = NONE,
			.code_firstlineno = 40,
			.code_adaptive = NONE,
			NO_TLBC,
			NO_CODE_GEN,
		},
		.frame_kind = PY_FRAME_OBJECT,
		.code = {
			.size = 128,
			.name = 112,
			.qualname = NONE,
			.filename = 104,
			.linetable = 120,
			.firstlineno = 40,
			.linetable_kind = PY_LT_LNOTAB,
		},
		.object = { .ob_type = 8 },
		.bytes = { .ob_size = 16, .ob_sval = 32 },
		.unicode = {
			.length = 16,
			.state = 32,
			.ascii_size = 48,
			.compact_size = 72,
			.data_any = 72,
			UNICODE_BITS,
		},
		.obj = {
			.interp_modules = 856,
			.module_dict = 16,
			.dict_keys = 32,
			.dict_values = 40,
			.type_flags = 168,
			.type_dictoffset = 288,
			.type_basicsize = 32,
			.ht_cached_keys = 864,
			.long_size = 16,
			.long_digits = 24,
			.managed_dict = PY_MD_NONE,
		},
	},
	{
		/*
		 * 3.10: Include/cpython/frameobject.h moved f_lasti up (after
		 * f_gen was dropped) and it now counts 2-byte code units
		 * (bpo-27129); co_linetable replaces co_lnotab in the same slot
		 * (PEP 626).
		 */
		.version = PYVER(3, 10),
		.name = "3.10",
		.walk = {
			.runtime_interp_head = 32,
			.interp_next = 0,
			.interp_threads_head = 8,
			.tstate_next = 8,
			.tstate_thread_id = 176,
			.tstate_frame = 24,
			.cframe_current_frame = NONE,
			.frame_previous = 24,
			.frame_code = 32,
			.frame_instr = 96,
			.frame_owner = NONE,
			.code_firstlineno = 40,
			.code_adaptive = NONE,
			NO_TLBC,
			NO_CODE_GEN,
		},
		.frame_kind = PY_FRAME_OBJECT,
		.lasti_units = 1,
		.code = {
			.size = 128,
			.name = 112,
			.qualname = NONE,
			.filename = 104,
			.linetable = 120,		/* co_linetable */
			.firstlineno = 40,
			.linetable_kind = PY_LT_LINETABLE310,
		},
		.object = { .ob_type = 8 },
		.bytes = { .ob_size = 16, .ob_sval = 32 },
		.unicode = {
			.length = 16,
			.state = 32,
			.ascii_size = 48,
			.compact_size = 72,
			.data_any = 72,
			UNICODE_BITS,
		},
		.obj = {
			.interp_modules = 856,
			.module_dict = 16,
			.dict_keys = 32,
			.dict_values = 40,
			.type_flags = 168,
			.type_dictoffset = 288,
			.type_basicsize = 32,
			.ht_cached_keys = 872,
			.long_size = 16,
			.long_digits = 24,
			.managed_dict = PY_MD_NONE,
		},
	},
	{
		/*
		 * 3.11: frames are _PyInterpreterFrame
		 * (Include/internal/pycore_frame.h), reached through
		 * PyThreadState.cframe->current_frame
		 * (Include/cpython/pystate.h).
		 * The thread list is already PyInterpreterState.threads.head
		 * (struct pythreads in pycore_interp.h), not tstate_head.
		 * Owners are THREAD, GENERATOR, FRAME_OBJECT only: the entry
		 * frame is a real frame with is_entry set, so nothing is
		 * skipped.  PyDictKeysObject has dk_log2_size/dk_kind
		 * (pycore_dict.h); managed dicts keep values at obj-32 and the
		 * dict at obj-24 (pycore_object.h).
		 */
		.version = PYVER(3, 11),
		.name = "3.11",
		.walk = {
			.runtime_interp_head = 40,
			.interp_next = 0,
			.interp_threads_head = 16,	/* threads.head */
			.tstate_next = 8,
			.tstate_thread_id = 152,
			.tstate_frame = 56,		/* cframe */
			.cframe_current_frame = 8,
			.frame_previous = 48,
			.frame_code = 32,		/* f_code */
			.frame_instr = 56,		/* prev_instr */
			.frame_owner = 69,
			.code_firstlineno = 72,
			.code_adaptive = 184,
			NO_TLBC,
			NO_CODE_GEN,
		},
		.frame_kind = PY_FRAME_INTERP,
		.code = {
			.size = 144,
			.name = 120,
			.qualname = 128,
			.filename = 112,
			.linetable = 136,
			.firstlineno = 72,
			.linetable_kind = PY_LT_LOCATIONS,
		},
		.object = { .ob_type = 8 },
		.bytes = { .ob_size = 16, .ob_sval = 32 },
		.unicode = {
			.length = 16,
			.state = 32,
			.ascii_size = 48,
			.compact_size = 72,
			.data_any = 72,
			UNICODE_BITS,
		},
		.obj = {
			.interp_modules = 888,
			.module_dict = 16,
			.dict_keys = 32,
			.dict_values = 40,
			.type_flags = 168,
			.type_dictoffset = 288,
			.type_basicsize = 32,
			.ht_cached_keys = 872,
			.long_size = 16,
			.long_digits = 24,
			.dict_keys_new = 1,
			.managed_dict = PY_MD_311,
		},
	},
	{
		/*
		 * 3.12: _PyCFrame is down to {current_frame, previous}; the
		 * entry frame is owned by FRAME_OWNED_BY_CSTACK (3) and is a
		 * shim (pycore_frame.h).  wstr is gone from PyASCIIObject
		 * (PEP 623); sys.modules moved to PyInterpreterState.imports;
		 * PyLongObject became long_value.{lv_tag, ob_digit}
		 * (pycore_long.h); managed dicts are one tagged dict-or-values
		 * word at obj-24.
		 */
		.version = PYVER(3, 12),
		.name = "3.12",
		.walk = {
			.runtime_interp_head = 40,
			.interp_next = 0,
			.interp_threads_head = 72,
			.tstate_next = 8,
			.tstate_thread_id = 136,
			.tstate_frame = 56,		/* cframe */
			.cframe_current_frame = 0,
			.frame_previous = 8,
			.frame_code = 0,		/* f_code */
			.frame_instr = 56,		/* prev_instr */
			.frame_owner = 70,
			.code_firstlineno = 68,
			.code_adaptive = 192,
			NO_TLBC,
			NO_CODE_GEN,
		},
		.frame_kind = PY_FRAME_INTERP,
		.owner_skip_mask = OWNER(3),	/* FRAME_OWNED_BY_CSTACK */
		.code = {
			.size = 144,
			.name = 120,
			.qualname = 128,
			.filename = 112,
			.linetable = 136,
			.firstlineno = 68,
			.linetable_kind = PY_LT_LOCATIONS,
		},
		.object = { .ob_type = 8 },
		.bytes = { .ob_size = 16, .ob_sval = 32 },
		.unicode = {
			.length = 16,
			.state = 32,
			.ascii_size = 40,
			.compact_size = 56,
			.data_any = 56,
			UNICODE_BITS,
		},
		.obj = {
			.interp_modules = 944,		/* imports.modules */
			.module_dict = 16,
			.dict_keys = 32,
			.dict_values = 40,
			.type_flags = 168,
			.type_dictoffset = 288,
			.type_basicsize = 32,
			.ht_cached_keys = 880,
			.long_size = 16,		/* lv_tag */
			.long_digits = 24,
			.long_tagged = 1,
			.dict_keys_new = 1,
			.managed_dict = PY_MD_312,
		},
	},
	{
		/*
		 * 3.13: _PyCFrame is gone, PyThreadState.current_frame points
		 * at the frame; f_code became f_executable and prev_instr
		 * became instr_ptr (pycore_frame.h).  _PyRuntime starts with
		 * _Py_DebugOffsets (pycore_runtime.h), and PyInterpreterState
		 * starts with the ceval state, hence the large offsets.  Inline
		 * values live at obj + tp_basicsize behind a 4-byte header
		 * padded to 8 (struct _dictvalues, pycore_dict.h).
		 */
		.version = PYVER(3, 13),
		.name = "3.13",
		.walk = {
			.runtime_interp_head = 632,
			.interp_next = 7264,
			.interp_threads_head = 7344,
			.tstate_next = 8,
			.tstate_thread_id = 152,
			.tstate_frame = 72,		/* current_frame */
			.cframe_current_frame = NONE,
			.frame_previous = 8,
			.frame_code = 0,		/* f_executable */
			.frame_instr = 56,		/* instr_ptr */
			.frame_owner = 70,
			.code_firstlineno = 68,
			.code_adaptive = 200,
			NO_TLBC,
			.tstate_interp = 16,
			.interp_code_gen = NONE,
		},
		.frame_kind = PY_FRAME_INTERP,
		.owner_skip_mask = OWNER(3),	/* FRAME_OWNED_BY_CSTACK */
		.code = {
			.size = 144,
			.name = 120,
			.qualname = 128,
			.filename = 112,
			.linetable = 136,
			.firstlineno = 68,
			.linetable_kind = PY_LT_LOCATIONS,
		},
		.object = { .ob_type = 8 },
		.bytes = { .ob_size = 16, .ob_sval = 32 },
		.unicode = {
			.length = 16,
			.state = 32,
			.ascii_size = 40,
			.compact_size = 56,
			.data_any = 56,
			UNICODE_BITS,
		},
		.obj = {
			.interp_modules = 7656,
			.module_dict = 16,
			.dict_keys = 32,
			.dict_values = 40,
			.type_flags = 168,
			.type_dictoffset = 288,
			.type_basicsize = 32,
			.ht_cached_keys = 880,
			.long_size = 16,
			.long_digits = 24,
			.long_tagged = 1,
			.dict_keys_new = 1,
			.managed_dict = PY_MD_313,
			.values_prefix = 8,
		},
	},
	{
		/*
		 * 3.14: the headers named below, at tag v3.14.0.
		 *
		 * _PyRuntime: _Py_DebugOffsets grew to 760 bytes, so
		 * interpreters.head is at 760 + 5 ints + pad + _finalizing +
		 * _finalizing_id + PyMutex/pad = 808.
		 *
		 * PyInterpreterState (pycore_interp_structs.h): ceval (7264)
		 * then a new `void *_malloced`, so next is at 7272; threads
		 * gained preallocated/main but head stays at 7344; gc state
		 * (incremental: young, old[2], visited_space, phase) is 240
		 * bytes, so imports.modules is at 7664.
		 *
		 * _PyInterpreterFrame (pycore_interpframe_structs.h): a
		 * stackpointer was added before return_offset, so owner is at
		 * 74.  f_executable is a _PyStackRef: with the GIL,
		 * pycore_stackref.h has Py_TAG_BITS 3 (Py_TAG_REFCNT 1 marks
		 * deferred/immortal references, 3 marks tagged ints), so the
		 * low 2 bits must be cleared to get the code object.
		 *
		 * enum _frameowner: THREAD 0, GENERATOR 1, FRAME_OBJECT 2,
		 * INTERPRETER 3, CSTACK 4.  Python/ceval.c now pushes its entry
		 * frame with owner FRAME_OWNED_BY_INTERPRETER and f_executable
		 * None pointing at the trampoline instructions: it is the shim
		 * that 3.12/3.13 marked CSTACK, and CPython's own walkers (the
		 * GC, _PyFrame_IsIncomplete, the remote debugging module) skip
		 * every owner >= FRAME_OWNED_BY_INTERPRETER.  So both 3 and 4
		 * are skipped.
		 *
		 * PyCodeObject (cpython/code.h): same head as 3.13 up to
		 * co_linetable; co_code_adaptive moves to 208.  Managed dicts
		 * keep the 3.13 scheme (MANAGED_DICT_OFFSET -3 words,
		 * _PyObject_InlineValues at obj + tp_basicsize,
		 * pycore_object.h) and struct _dictvalues still has the
		 * 4-byte header.
		 */
		.version = PYVER(3, 14),
		.name = "3.14",
		.walk = {
			.runtime_interp_head = 808,
			.interp_next = 7272,
			.interp_threads_head = 7344,
			.tstate_next = 8,
			.tstate_thread_id = 152,
			.tstate_frame = 72,
			.cframe_current_frame = NONE,
			.frame_previous = 8,
			.frame_code = 0,
			.frame_instr = 56,
			.frame_owner = 74,
			.code_firstlineno = 68,
			.code_adaptive = 208,
			NO_TLBC,
			.tstate_interp = 16,
			.interp_code_gen = NONE,
		},
		.frame_kind = PY_FRAME_INTERP,
		/* FRAME_OWNED_BY_INTERPRETER, FRAME_OWNED_BY_CSTACK */
		.owner_skip_mask = OWNER(3) | OWNER(4),
		.code_tag_bits = 2,
		.code = {
			.size = 144,
			.name = 120,
			.qualname = 128,
			.filename = 112,
			.linetable = 136,
			.firstlineno = 68,
			.linetable_kind = PY_LT_LOCATIONS,
		},
		.object = { .ob_type = 8 },
		.bytes = { .ob_size = 16, .ob_sval = 32 },
		.unicode = {
			.length = 16,
			.state = 32,
			.ascii_size = 40,
			.compact_size = 56,
			.data_any = 56,
			UNICODE_BITS,
		},
		.obj = {
			.interp_modules = 7664,
			.module_dict = 16,
			.dict_keys = 32,
			.dict_values = 40,
			.type_flags = 168,
			.type_dictoffset = 288,
			.type_basicsize = 32,
			.ht_cached_keys = 880,
			.long_size = 16,
			.long_digits = 24,
			.long_tagged = 1,
			.dict_keys_new = 1,
			.managed_dict = PY_MD_313,
			.values_prefix = 8,
		},
	},
	{
		/*
		 * 3.15: the headers of 3.15.2 (pycore_debug_offsets.h,
		 * pycore_interp_structs.h, pycore_interpframe_structs.h,
		 * cpython/pystate.h, pycore_tstate.h), checked against Debian's
		 * 3.15.2 build.
		 *
		 * _Py_DebugOffsets is 888 bytes, so interpreters.head is at
		 * 936.  PyInterpreterState: next 7264, threads.head 7336,
		 * imports.modules 7592 (the gc state shrank).  PyThreadState
		 * gained holds_gil, gil_requested, base_frame,
		 * last_profiled_frame(_seq) before thread_id, now at 176.
		 *
		 * Frames: enum _frameowner lost FRAME_OWNED_BY_CSTACK; the
		 * eval loop's entry frame and every thread's base frame (a
		 * sentinel embedded in _PyThreadStateImpl, the last of each
		 * chain) are FRAME_OWNED_BY_INTERPRETER (3): skipped.  The
		 * frame and code layouts are 3.14's.  PyHeapTypeObject grew
		 * (ht_cached_keys 888).
		 */
		.version = PYVER(3, 15),
		.name = "3.15",
		.walk = {
			.runtime_interp_head = 936,
			.interp_next = 7264,
			.interp_threads_head = 7336,
			.tstate_next = 8,
			.tstate_thread_id = 176,
			.tstate_frame = 72,
			.cframe_current_frame = NONE,
			.frame_previous = 8,
			.frame_code = 0,
			.frame_instr = 56,
			.frame_owner = 74,
			.code_firstlineno = 68,
			.code_adaptive = 208,
			NO_TLBC,
			.tstate_interp = 16,
			.interp_code_gen = NONE,
		},
		.frame_kind = PY_FRAME_INTERP,
		.owner_skip_mask = OWNER(3),	/* FRAME_OWNED_BY_INTERPRETER */
		.code_tag_bits = 2,
		.code = {
			.size = 144,
			.name = 120,
			.qualname = 128,
			.filename = 112,
			.linetable = 136,
			.firstlineno = 68,
			.linetable_kind = PY_LT_LOCATIONS,
		},
		.object = { .ob_type = 8 },
		.bytes = { .ob_size = 16, .ob_sval = 32 },
		.unicode = {
			.length = 16,
			.state = 32,
			.ascii_size = 40,
			.compact_size = 56,
			.data_any = 56,
			UNICODE_BITS,
		},
		.obj = {
			.interp_modules = 7592,
			.module_dict = 16,
			.dict_keys = 32,
			.dict_values = 40,
			.type_flags = 168,
			.type_dictoffset = 288,
			.type_basicsize = 32,
			.ht_cached_keys = 888,
			.long_size = 16,
			.long_digits = 24,
			.long_tagged = 1,
			.dict_keys_new = 1,
			.managed_dict = PY_MD_313,
			.values_prefix = 8,
		},
	},

	/*
	 * Free-threaded builds (Py_GIL_DISABLED, PEP 703): the same headers
	 * with Py_GIL_DISABLED defined.  What changes (Include/object.h,
	 * cpython/unicodeobject.h, pycore_object.h, pycore_code.h,
	 * pycore_interpframe_structs.h):
	 *  - PyObject is 32 bytes, not 16 (ob_tid, ob_flags, ob_mutex,
	 *    ob_gc_bits, ob_ref_local, ob_ref_shared, then ob_type at 24), so
	 *    every field of every object moves 16 bytes up;
	 *  - 3.14+: PyASCIIObject.state.interned is a whole byte (it is read
	 *    atomically), so kind, compact and ascii are bits 8, 11 and 12;
	 *  - no GC pre-header: the managed dict is at obj - 1 word;
	 *  - 3.14+: each thread may run its own copy of the bytecode
	 *    (co_tlbc->entries[frame->tlbc_index]): an int32 tlbc_index
	 *    before return_offset moves owner to 78;
	 *  - no GIL.
	 * Thread and interpreter states are not objects and keep their
	 * layout but for the gc state.  Not yet checked against a real
	 * free-threaded build: none could be installed where this was
	 * written.  The target's _Py_DebugOffsets override all they carry.
	 */
	{
		/* 3.13t: v3.13.0's headers (no tlbc, the 3.13 unicode state). */
		.version = PYVER(3, 13),
		.name = "3.13t",
		.free_threaded = 1,
		.walk = {
			.runtime_interp_head = 632,
			.interp_next = 7264,
			.interp_threads_head = 7344,
			.tstate_next = 8,
			.tstate_thread_id = 152,
			.tstate_frame = 72,
			.cframe_current_frame = NONE,
			.frame_previous = 8,
			.frame_code = 0,
			.frame_instr = 56,
			.frame_owner = 70,
			.code_firstlineno = 84,
			.code_adaptive = 216,
			NO_TLBC,
			.tstate_interp = 16,
			.interp_code_gen = NONE,
		},
		.frame_kind = PY_FRAME_INTERP,
		.owner_skip_mask = OWNER(3),	/* FRAME_OWNED_BY_CSTACK */
		.code = {
			.size = 160,
			.name = 136,
			.qualname = 144,
			.filename = 128,
			.linetable = 152,
			.firstlineno = 84,
			.linetable_kind = PY_LT_LOCATIONS,
		},
		.object = { .ob_type = 24 },
		.bytes = { .ob_size = 32, .ob_sval = 48 },
		.unicode = {
			.length = 32,
			.state = 48,
			.ascii_size = 56,
			.compact_size = 72,
			.data_any = 72,
			UNICODE_BITS,
		},
		.obj = {
			.interp_modules = 7664,
			.module_dict = 32,
			.dict_keys = 48,
			.dict_values = 56,
			.type_flags = 184,
			.type_dictoffset = 304,
			.type_basicsize = 48,
			.ht_cached_keys = 896,
			.long_size = 32,
			.long_digits = 40,
			.long_tagged = 1,
			.dict_keys_new = 1,
			.managed_dict = PY_MD_313T,
			.values_prefix = 8,
		},
	},
	{
		/* 3.14t: the headers of 3.14.10. */
		.version = PYVER(3, 14),
		.name = "3.14t",
		.free_threaded = 1,
		.walk = {
			.runtime_interp_head = 808,
			.interp_next = 7272,
			.interp_threads_head = 7344,
			.tstate_next = 8,
			.tstate_thread_id = 152,
			.tstate_frame = 72,
			.cframe_current_frame = NONE,
			.frame_previous = 8,
			.frame_code = 0,
			.frame_instr = 56,
			.frame_owner = 78,
			.code_firstlineno = 84,
			.code_adaptive = 232,
			.frame_tlbc_index = 72,
			.code_tlbc = 224,
			.tstate_interp = 16,
			.interp_code_gen = NONE,
		},
		.frame_kind = PY_FRAME_INTERP,
		/* FRAME_OWNED_BY_INTERPRETER, FRAME_OWNED_BY_CSTACK */
		.owner_skip_mask = OWNER(3) | OWNER(4),
		/* Py_TAG_BITS is 1 here (Py_TAG_DEFERRED); clearing 2 bits of
		 * an object address is as right. */
		.code_tag_bits = 2,
		.code = {
			.size = 160,
			.name = 136,
			.qualname = 144,
			.filename = 128,
			.linetable = 152,
			.firstlineno = 84,
			.linetable_kind = PY_LT_LOCATIONS,
		},
		.object = { .ob_type = 24 },
		.bytes = { .ob_size = 32, .ob_sval = 48 },
		.unicode = {
			.length = 32,
			.state = 48,
			.ascii_size = 56,
			.compact_size = 72,
			.data_any = 72,
			UNICODE_BITS_FT,
		},
		.obj = {
			.interp_modules = 7712,
			.module_dict = 32,
			.dict_keys = 48,
			.dict_values = 56,
			.type_flags = 184,
			.type_dictoffset = 304,
			.type_basicsize = 48,
			.ht_cached_keys = 896,
			.long_size = 32,
			.long_digits = 40,
			.long_tagged = 1,
			.dict_keys_new = 1,
			.managed_dict = PY_MD_313T,
			.values_prefix = 8,
		},
	},
	{
		/* 3.15t: the headers of 3.15.2. */
		.version = PYVER(3, 15),
		.name = "3.15t",
		.free_threaded = 1,
		.walk = {
			.runtime_interp_head = 936,
			.interp_next = 7264,
			.interp_threads_head = 7336,
			.tstate_next = 8,
			.tstate_thread_id = 176,
			.tstate_frame = 72,
			.cframe_current_frame = NONE,
			.frame_previous = 8,
			.frame_code = 0,
			.frame_instr = 56,
			.frame_owner = 78,
			.code_firstlineno = 84,
			.code_adaptive = 232,
			.frame_tlbc_index = 72,
			.code_tlbc = 224,
			.tstate_interp = 16,
			.interp_code_gen = NONE,
		},
		.frame_kind = PY_FRAME_INTERP,
		.owner_skip_mask = OWNER(3),	/* FRAME_OWNED_BY_INTERPRETER */
		.code_tag_bits = 2,
		.code = {
			.size = 160,
			.name = 136,
			.qualname = 144,
			.filename = 128,
			.linetable = 152,
			.firstlineno = 84,
			.linetable_kind = PY_LT_LOCATIONS,
		},
		.object = { .ob_type = 24 },
		.bytes = { .ob_size = 32, .ob_sval = 48 },
		.unicode = {
			.length = 32,
			.state = 48,
			.ascii_size = 56,
			.compact_size = 72,
			.data_any = 72,
			UNICODE_BITS_FT,
		},
		.obj = {
			.interp_modules = 7592,
			.module_dict = 32,
			.dict_keys = 48,
			.dict_values = 56,
			.type_flags = 184,
			.type_dictoffset = 304,
			.type_basicsize = 48,
			.ht_cached_keys = 904,
			.long_size = 32,
			.long_digits = 40,
			.long_tagged = 1,
			.dict_keys_new = 1,
			.managed_dict = PY_MD_313T,
			.values_prefix = 8,
		},
	},
};

/*
 * What patch releases changed in a minor version's table row, from the
 * first patch level that has it.  A target's own _Py_DebugOffsets overrides
 * these too; they matter when it cannot be read, and they keep the
 * cross-check quiet for a release pyprof-bpf knows.
 */
static const struct py_patch {
	unsigned version, micro;
	bool free_threaded;
	size_t field; /* offsetof(struct py_layout, a uint32_t) */
	uint32_t value;
} patches[] = {
	/*
	 * 3.14.5 went back from the incremental to the generational
	 * collector: struct _gc_runtime_state grew from 240 to 264 bytes
	 * (pycore_interp_structs.h of 3.14.10 against v3.14.0), and what
	 * follows it in PyInterpreterState moved 24 bytes up.  The default
	 * build only: the free-threaded row is 3.14.10's already.
	 */
	{ PYVER(3, 14), 5, false, U32_AT(obj.interp_modules), 7688 },
};

static const struct py_layout *row(unsigned version, bool free_threaded)
{
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (builtin[i].version == version &&
		    builtin[i].free_threaded == free_threaded)
			return &builtin[i];
	return NULL;
}

const struct py_layout *py_layout__builtin(unsigned version)
{
	return row(version, false);
}

int py_layout__lookup(unsigned version, unsigned micro, bool free_threaded,
		      struct py_layout *out)
{
	const struct py_layout *r = row(version, free_threaded);

	if (!r)
		return -ENOENT;
	*out = *r;
	for (size_t i = 0; i < sizeof(patches) / sizeof(patches[0]); i++) {
		const struct py_patch *p = &patches[i];

		if (p->version == version && micro >= p->micro &&
		    p->free_threaded == free_threaded)
			memcpy((unsigned char *)out + p->field, &p->value,
			       sizeof(p->value));
	}
	return 0;
}

/*
 * Reading the target's _Py_DebugOffsets (3.13+).
 *
 * It starts with a header (cookie, PY_VERSION_HEX, free_threaded), then one
 * struct per section, and every member after the cookie is a uint64_t: a
 * member's byte offset is the header's size plus 8 for each member before
 * it in that version.  So members[] below lists them in declaration order,
 * each with the first version that has it, and says what this file does
 * with it.  CPython has so far only added members (inserted or appended).
 * A new version is its rows here (since = it), its dbg_versions[] row, its
 * built-in layout above and PYVER_MAX.
 */
struct dbg_head {
	char cookie[8]; /* "xdebugpy", no NUL (_Py_Debug_Cookie) */
	uint64_t version; /* PY_VERSION_HEX */
	uint64_t free_threaded;
};

_Static_assert(sizeof(struct dbg_head) == 24, "dbg_head");

/* The versions read, and sizeof(_Py_DebugOffsets) in each: a cross-check
 * that members[] has every member of that version. */
static const struct dbg_version {
	unsigned version;
	uint32_t size;
} dbg_versions[] = {
	{ PYVER(3, 13), 584 },
	{ PYVER(3, 14), 760 },
	{ PYVER(3, 15), 888 },
};

#define NR_DBG_VERSIONS (sizeof(dbg_versions) / sizeof(dbg_versions[0]))

enum dbg_use {
	DBG_SKIP, /* stepped over */
	DBG_SIZE, /* a struct size, checked before any offset inside it */
	DBG_TAKE, /* an offset, taken into a py_layout field */
};

/*
 * Offsets the sampler reads together, checked together once taken (a
 * corrupted blob shows as fields that overlap or fall outside a span).
 */
enum dbg_group {
	G_NONE,
	G_FRAME, /* BPF reads them from one PY_FRAME_READ_MAX span of a frame */
	G_TSTATE, /* the BPF thread walk */
	G_INTERP, /* the BPF interpreter walk */
	G_CODE, /* the symboliser reads them from code.size bytes */
	NR_GROUPS,
};

static const struct dbg_group_rule {
	const char *what;
	uint32_t span; /* every field ends within it; 0: no bound */
	int disjoint; /* no two fields overlap */
} dbg_groups[NR_GROUPS] = {
	[G_FRAME] = { "interpreter frame", PY_FRAME_READ_MAX, 1 },
	[G_TSTATE] = { "thread state", 0, 1 },
	[G_INTERP] = { "interpreter state", 0, 1 },
	[G_CODE] = { "code object", 0, 0 },
};

/*
 * Sanity bounds for the struct sizes the target reports.  _PyRuntimeState and
 * PyInterpreterState are large (3.13: 283 KB and 195 KB, mostly embedded
 * state), everything else is a few hundred bytes.
 */
#define DBG_STATE_SIZE_MAX (8u << 20)
#define DBG_OBJ_SIZE_MAX (64u << 10)

struct dbg_member {
	const char *section, *name;
	unsigned since; /* PYVER of the first version that has it */
	enum dbg_use use;
	uint32_t size_max; /* DBG_SIZE: at most this */
	size_t dst; /* DBG_TAKE: offsetof(struct py_layout, a uint32_t) */
	uint8_t width; /* DBG_TAKE: bytes that must fit inside the struct at
			  the offset; 0: a size or flexible array member,
			  which may equal the struct size */
	uint8_t group; /* DBG_TAKE: enum dbg_group */
	bool ft_only; /* DBG_TAKE only in free-threaded builds (default
			 builds write 0 there); a SKIP in others */
	bool gil_only; /* DBG_TAKE only in default builds; a SKIP in
			  free-threaded ones, where it is not used */
};

/* A members[] row: SKIP it, check a struct SIZE, or TAKE an offset. */
#define ROW(sec, mem, v, u, max, at, w, g, ft, gil)                            \
	{                                                                      \
		.section = #sec, .name = #mem, .since = PYVER(3, v), .use = u, \
		.size_max = max, .dst = at, .width = w, .group = g,            \
		.ft_only = ft, .gil_only = gil                                 \
	}
#define SKIP(sec, mem, v) \
	ROW(sec, mem, v, DBG_SKIP, 0, 0, 0, G_NONE, false, false)
#define SIZE(sec, v, max) \
	ROW(sec, size, v, DBG_SIZE, max, 0, 0, G_NONE, false, false)
#define TAKE(sec, mem, v, field, width, group) \
	ROW(sec, mem, v, DBG_TAKE, 0, U32_AT(field), width, group, false, false)
#define TAKE_FT(sec, mem, v, field, width, group) \
	ROW(sec, mem, v, DBG_TAKE, 0, U32_AT(field), width, group, true, false)
#define TAKE_GIL(sec, mem, v, field, width, group) \
	ROW(sec, mem, v, DBG_TAKE, 0, U32_AT(field), width, group, false, true)
#define STATE DBG_STATE_SIZE_MAX
#define OBJ DBG_OBJ_SIZE_MAX

/*
 * struct _Py_DebugOffsets: Include/internal/pycore_runtime.h at v3.13.0,
 * Include/internal/pycore_debug_offsets.h at v3.14.0 and of 3.15.2 (the unit
 * tests read real 3.13.0, 3.14.10 and 3.15.2 builds).
 * Columns: section, member, since (3.x), py_layout field, width, group.
 */
static const struct dbg_member members[] = {
	SIZE(runtime_state, 13, STATE),
	SKIP(runtime_state, finalizing, 13),
	TAKE(runtime_state, interpreters_head, 13, walk.runtime_interp_head, 8,
	     G_NONE),

	SIZE(interpreter_state, 13, STATE),
	SKIP(interpreter_state, id, 13),
	TAKE(interpreter_state, next, 13, walk.interp_next, 8, G_INTERP),
	TAKE(interpreter_state, threads_head, 13, walk.interp_threads_head, 8,
	     G_INTERP),
	SKIP(interpreter_state, threads_main, 14),
	SKIP(interpreter_state, gc, 13),
	TAKE(interpreter_state, imports_modules, 13, obj.interp_modules, 8,
	     G_NONE),
	SKIP(interpreter_state, sysdict, 13),
	SKIP(interpreter_state, builtins, 13),
	SKIP(interpreter_state, ceval_gil, 13),
	SKIP(interpreter_state, gil_runtime_state, 13),
	SKIP(interpreter_state, gil_runtime_state_enabled, 13),
	SKIP(interpreter_state, gil_runtime_state_locked, 13),
	SKIP(interpreter_state, gil_runtime_state_holder, 13),
	/* Free-threaded builds free code objects while a thread is read:
	 * the walk keeps no fingerprint there (bpf/pystack.bpf.h). */
	TAKE_GIL(interpreter_state, code_object_generation, 14,
		 walk.interp_code_gen, 8, G_INTERP),
	SKIP(interpreter_state, tlbc_generation, 14),

	SIZE(thread_state, 13, OBJ),
	SKIP(thread_state, prev, 13),
	TAKE(thread_state, next, 13, walk.tstate_next, 8, G_TSTATE),
	TAKE(thread_state, interp, 13, walk.tstate_interp, 8, G_TSTATE),
	TAKE(thread_state, current_frame, 13, walk.tstate_frame, 8, G_TSTATE),
	/* 3.15: every chain ends in this thread's sentinel frame. */
	SKIP(thread_state, base_frame, 15),
	SKIP(thread_state, last_profiled_frame, 15),
	SKIP(thread_state, last_profiled_frame_seq, 15),
	TAKE(thread_state, thread_id, 13, walk.tstate_thread_id, 8, G_TSTATE),
	SKIP(thread_state, native_thread_id, 13),
	SKIP(thread_state, datastack_chunk, 13),
	SKIP(thread_state, status, 13),
	SKIP(thread_state, holds_gil, 15),
	SKIP(thread_state, gil_requested, 15),
	SKIP(thread_state, current_exception, 15),
	SKIP(thread_state, exc_state, 15),

	/* No size: _PyErr_StackItem is not read. */
	SKIP(err_stackitem, exc_value, 15),

	SIZE(interpreter_frame, 13, OBJ),
	TAKE(interpreter_frame, previous, 13, walk.frame_previous, 8, G_FRAME),
	TAKE(interpreter_frame, executable, 13, walk.frame_code, 8, G_FRAME),
	TAKE(interpreter_frame, instr_ptr, 13, walk.frame_instr, 8, G_FRAME),
	SKIP(interpreter_frame, localsplus, 13),
	TAKE(interpreter_frame, owner, 13, walk.frame_owner, 1, G_FRAME),
	SKIP(interpreter_frame, stackpointer, 14),
	TAKE_FT(interpreter_frame, tlbc_index, 14, walk.frame_tlbc_index, 4,
		G_FRAME),

	SIZE(code_object, 13, OBJ),
	TAKE(code_object, filename, 13, code.filename, 8, G_CODE),
	TAKE(code_object, name, 13, code.name, 8, G_CODE),
	TAKE(code_object, qualname, 13, code.qualname, 8, G_CODE),
	TAKE(code_object, linetable, 13, code.linetable, 8, G_CODE),
	TAKE(code_object, firstlineno, 13, code.firstlineno, 4, G_CODE),
	SKIP(code_object, argcount, 13),
	SKIP(code_object, localsplusnames, 13),
	SKIP(code_object, localspluskinds, 13),
	TAKE(code_object, co_code_adaptive, 13, walk.code_adaptive, 0, G_NONE),
	TAKE_FT(code_object, co_tlbc, 14, walk.code_tlbc, 8, G_NONE),

	SIZE(pyobject, 13, OBJ),
	TAKE(pyobject, ob_type, 13, object.ob_type, 8, G_NONE),

	SIZE(type_object, 13, OBJ),
	SKIP(type_object, tp_name, 13),
	SKIP(type_object, tp_repr, 13),
	TAKE(type_object, tp_flags, 13, obj.type_flags, 8, G_NONE),
	TAKE(type_object, tp_basicsize, 15, obj.type_basicsize, 8, G_NONE),
	TAKE(type_object, tp_dictoffset, 15, obj.type_dictoffset, 8, G_NONE),

	SIZE(heap_type_object, 15, OBJ),
	TAKE(heap_type_object, ht_cached_keys, 15, obj.ht_cached_keys, 8,
	     G_NONE),

	SKIP(tuple_object, size, 13),
	SKIP(tuple_object, ob_item, 13),
	SKIP(tuple_object, ob_size, 13),

	SKIP(list_object, size, 13),
	SKIP(list_object, ob_item, 13),
	SKIP(list_object, ob_size, 13),

	SKIP(set_object, size, 14),
	SKIP(set_object, used, 14),
	SKIP(set_object, table, 14),
	SKIP(set_object, mask, 14),

	SIZE(dict_object, 13, OBJ),
	TAKE(dict_object, ma_keys, 13, obj.dict_keys, 8, G_NONE),
	TAKE(dict_object, ma_values, 13, obj.dict_values, 8, G_NONE),

	SKIP(float_object, size, 13),
	SKIP(float_object, ob_fval, 13),

	SIZE(long_object, 13, OBJ),
	TAKE(long_object, lv_tag, 13, obj.long_size, 8, G_NONE),
	TAKE(long_object, ob_digit, 13, obj.long_digits, 4, G_NONE),

	SIZE(bytes_object, 13, OBJ),
	TAKE(bytes_object, ob_size, 13, bytes.ob_size, 8, G_NONE),
	TAKE(bytes_object, ob_sval, 13, bytes.ob_sval, 1, G_NONE),

	SIZE(unicode_object, 13, OBJ),
	TAKE(unicode_object, state, 13, unicode.state, 4, G_NONE),
	TAKE(unicode_object, length, 13, unicode.length, 8, G_NONE),
	/* A size, not an offset: compact ASCII data starts right after. */
	TAKE(unicode_object, asciiobject_size, 13, unicode.ascii_size, 0,
	     G_NONE),
	/* A size too: non-ASCII compact data starts right after. */
	TAKE(unicode_object, compactunicodeobject_size, 15,
	     unicode.compact_size, 0, G_NONE),

	SKIP(gc, size, 13),
	SKIP(gc, collecting, 13),
	SKIP(gc, frame, 15),
	SKIP(gc, generation_stats_size, 15),
	SKIP(gc, generation_stats, 15),

	SKIP(gen_object, size, 14),
	SKIP(gen_object, gi_name, 14),
	SKIP(gen_object, gi_iframe, 14),
	SKIP(gen_object, gi_frame_state, 14),

	SKIP(llist_node, next, 14),
	SKIP(llist_node, prev, 14),

	SKIP(debugger_support, eval_breaker, 14),
	SKIP(debugger_support, remote_debugger_support, 14),
	SKIP(debugger_support, remote_debugging_enabled, 14),
	SKIP(debugger_support, debugger_pending_call, 14),
	SKIP(debugger_support, debugger_script_path, 14),
	SKIP(debugger_support, debugger_script_path_size, 14),
};

#undef ROW
#undef SKIP
#undef SIZE
#undef TAKE
#undef STATE
#undef OBJ

#define NR_MEMBERS (sizeof(members) / sizeof(members[0]))

static int dbg_has(const struct dbg_member *m, unsigned version)
{
	return version >= m->since;
}

/* A DBG_TAKE row that the version and build (ft: free-threaded) have. */
static int dbg_takes(const struct dbg_member *m, unsigned version, bool ft)
{
	return m->use == DBG_TAKE && dbg_has(m, version) &&
	       (ft || !m->ft_only) && (!ft || !m->gil_only);
}

/* A DBG_TAKE row of group g that the version and build have. */
static int dbg_in_group(const struct dbg_member *m, unsigned version, bool ft,
			int g)
{
	return m->group == g && dbg_takes(m, version, ft);
}

/* sizeof(_Py_DebugOffsets) in a version, as members[] lays it out. */
static size_t dbg_size(unsigned version)
{
	size_t n = sizeof(struct dbg_head);

	for (size_t i = 0; i < NR_MEMBERS; i++)
		n += dbg_has(&members[i], version) ? 8 : 0;
	return n;
}

/* Each member's value in a version's blob (val[i] for members[i]). */
static void dbg_values(const unsigned char *buf, unsigned version,
		       uint64_t *val)
{
	size_t pos = sizeof(struct dbg_head);

	for (size_t i = 0; i < NR_MEMBERS; i++) {
		val[i] = 0;
		if (!dbg_has(&members[i], version))
			continue;
		memcpy(&val[i], buf + pos, 8);
		pos += 8;
	}
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Every struct size the offsets are checked against: non-zero, bounded. */
static int check_sizes(unsigned version, const uint64_t *val, char *err,
		       size_t errlen)
{
	for (size_t i = 0; i < NR_MEMBERS; i++) {
		const struct dbg_member *m = &members[i];

		if (m->use != DBG_SIZE || !dbg_has(m, version))
			continue;
		if (val[i] == 0 || val[i] > m->size_max) {
			seterr(err, errlen,
			       "debug offsets: %s.size %" PRIu64
			       " out of range",
			       m->section, val[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Takes each DBG_TAKE offset into its py_layout field, once the width-byte
 * field it names is seen to lie inside its struct (the section's size,
 * which check_sizes has bounded).
 */
static int take_offsets(unsigned version, bool ft, const uint64_t *val,
			struct py_layout *l, char *err, size_t errlen)
{
	const struct dbg_member *sz = NULL;
	uint64_t size = 0;

	for (size_t i = 0; i < NR_MEMBERS; i++) {
		const struct dbg_member *m = &members[i];
		uint64_t off = val[i];
		uint32_t off32;

		if (!dbg_has(m, version))
			continue;
		if (m->use == DBG_SIZE)
			sz = m;
		if (!dbg_takes(m, version, ft))
			continue;
		if (!sz || strcmp(sz->section, m->section) != 0) {
			seterr(err, errlen,
			       "debug offsets: %s.%s has no checked struct size "
			       "(a bug in layout.c's members[])",
			       m->section, m->name);
			return -EINVAL;
		}
		/* A width of 0 may end right at the struct's end. */
		size = val[sz - members] + (m->width == 0);
		if (off >= size || m->width > size - off) {
			seterr(err, errlen,
			       "debug offsets: %s.%s = %" PRIu64
			       " out of range (struct size %" PRIu64 ")",
			       m->section, m->name, off, size);
			return -EINVAL;
		}
		off32 = (uint32_t)off;
		memcpy((unsigned char *)l + m->dst, &off32, sizeof(off32));
	}
	return 0;
}

/* The offset a DBG_TAKE row put into *l. */
static uint32_t taken(const struct py_layout *l, const struct dbg_member *m)
{
	uint32_t v;

	memcpy(&v, (const unsigned char *)l + m->dst, sizeof(v));
	return v;
}

/* Where the group's last field ends. */
static uint32_t group_end(const struct py_layout *l, unsigned version, bool ft,
			  int g)
{
	uint32_t end = 0;

	for (size_t i = 0; i < NR_MEMBERS; i++) {
		const struct dbg_member *m = &members[i];

		if (dbg_in_group(m, version, ft, g) &&
		    taken(l, m) + m->width > end)
			end = taken(l, m) + m->width;
	}
	return end;
}

/* Fields [a, a+wa) and [b, b+wb) overlap: a sign of a corrupted blob. */
static int overlap(uint32_t a, uint32_t wa, uint32_t b, uint32_t wb)
{
	return a < b + wb && b < a + wa;
}

/* Two fields of group g overlap. */
static int group_overlaps(const struct py_layout *l, unsigned version, bool ft,
			  int g)
{
	for (size_t i = 0; i < NR_MEMBERS; i++) {
		const struct dbg_member *a = &members[i];

		if (!dbg_in_group(a, version, ft, g))
			continue;
		for (size_t j = i + 1; j < NR_MEMBERS; j++) {
			const struct dbg_member *b = &members[j];

			if (dbg_in_group(b, version, ft, g) &&
			    overlap(taken(l, a), a->width, taken(l, b),
				    b->width))
				return 1;
		}
	}
	return 0;
}

/* Each group's fields keep to its rule (dbg_groups[]). */
static int check_groups(const struct py_layout *l, unsigned version, bool ft,
			char *err, size_t errlen)
{
	for (int g = 1; g < NR_GROUPS; g++) {
		const struct dbg_group_rule *r = &dbg_groups[g];

		if (r->span && group_end(l, version, ft, g) > r->span) {
			seterr(err, errlen,
			       "debug offsets: %s fields lie beyond the %u bytes "
			       "the sampler reads",
			       r->what, r->span);
			return -EINVAL;
		}
		if (r->disjoint && group_overlaps(l, version, ft, g)) {
			seterr(err, errlen, "debug offsets: %s fields overlap",
			       r->what);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Overrides *l with what a version's _Py_DebugOffsets (in buf) carries: the
 * struct sizes are checked first, then each offset against its struct, then
 * the groups.
 */
static int fill_from(const unsigned char *buf, unsigned version, bool ft,
		     struct py_layout *l, char *err, size_t errlen)
{
	uint64_t val[NR_MEMBERS];
	int ret;

	dbg_values(buf, version, val);
	ret = check_sizes(version, val, err, errlen);
	ret = ret ?: take_offsets(version, ft, val, l, err, errlen);
	ret = ret ?: check_groups(l, version, ft, err, errlen);
	if (ret)
		return ret;
	/* co_firstlineno is read both by the walk and by the symboliser. */
	l->walk.code_firstlineno = l->code.firstlineno;
	l->walk.cframe_current_frame = NONE;
	l->code.size = group_end(l, version, ft, G_CODE);
	/* PyUnicodeObject.data follows PyCompactUnicodeObject (3.12+). */
	l->unicode.data_any = l->unicode.compact_size;
	return 0;
}

/*
 * The dbg_versions[] row a header names, or NULL with the reason in err.
 * The layout is only promised stable within a minor series from the
 * release candidates on (the ABI freeze).  An alpha or beta is read as its
 * minor's final layout all the same: the checks that follow (every struct
 * size bounded, every offset inside its struct, the walk's fields apart)
 * refuse one laid out otherwise, and one that passes them is described by
 * its own offsets (3.13's early alphas had no size members at all: refused).
 */
static const struct dbg_version *dbg_version(const struct dbg_head *h,
					     char *err, size_t errlen)
{
	const struct dbg_version *dv = NULL;
	/* PY_VERSION_HEX: major, minor, micro bytes; level, serial nibbles. */
	unsigned major = (h->version >> 24) & 0xff,
		 minor = (h->version >> 16) & 0xff;

	for (size_t i = 0; i < NR_DBG_VERSIONS && !(h->version >> 32); i++)
		if (dbg_versions[i].version == PYVER(major, minor))
			dv = &dbg_versions[i];
	if (!dv) {
		seterr(err, errlen,
		       "debug offsets: unsupported version 0x%" PRIx64,
		       h->version);
		return NULL;
	}
	if (h->free_threaded > 1) {
		seterr(err, errlen,
		       "debug offsets: free_threaded is %" PRIu64
		       ", neither 0 nor 1",
		       h->free_threaded);
		return NULL;
	}
	if (dbg_size(dv->version) != dv->size) {
		seterr(err, errlen,
		       "debug offsets: layout.c's members[] make 3.%u's "
		       "_Py_DebugOffsets %zu bytes, not %u",
		       minor, dbg_size(dv->version), dv->size);
		return NULL;
	}
	return dv;
}

int py_layout__from_debug_offsets(const void *buf, size_t len,
				  struct py_layout *out, char *err,
				  size_t errlen)
{
	const struct dbg_version *dv;
	struct dbg_head h;
	struct py_layout l;
	unsigned micro;
	bool ft, pre;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!buf || !out) {
		seterr(err, errlen, "debug offsets: no buffer");
		return -EINVAL;
	}
	if (len < sizeof(h)) {
		seterr(err, errlen,
		       "debug offsets truncated: %zu bytes, need at least %zu",
		       len, sizeof(h));
		return -EINVAL;
	}
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.cookie, "xdebugpy", 8) != 0) {
		seterr(err, errlen,
		       "debug offsets: bad cookie (not a _Py_DebugOffsets)");
		return -EINVAL;
	}
	dv = dbg_version(&h, err, errlen);
	if (!dv)
		return -EINVAL;
	if (len < dv->size) {
		seterr(err, errlen,
		       "debug offsets truncated: %zu bytes, 3.%u needs %u", len,
		       dv->version & 0xff, dv->size);
		return -EINVAL;
	}
	ft = h.free_threaded == 1;
	micro = (h.version >> 8) & 0xff;
	/* A pre-release is laid out like no patch release: the first's. */
	pre = ((h.version >> 4) & 0xf) < 0xc;
	if (py_layout__lookup(dv->version, pre ? 0 : micro, ft, &l)) {
		seterr(err, errlen, "no built-in layout for 3.%u%s",
		       dv->version & 0xff, ft ? "t (free-threaded)" : "");
		return -EINVAL;
	}
	ret = fill_from(buf, dv->version, ft, &l, err, errlen);
	if (ret) {
		/* Say why an alpha or beta may be laid out otherwise. */
		if (pre && err && errlen) {
			char why[256];

			snprintf(why, sizeof(why), "%s", err);
			seterr(err, errlen,
			       "%s (a pre-release, 0x%" PRIx64
			       ", laid out unlike 3.%u's final release)",
			       why, h.version, dv->version & 0xff);
		}
		return ret;
	}
	*out = l;
	return 0;
}

int py_layout__debug_member(const void *buf, size_t len, const char *section,
			    const char *member, uint64_t *val)
{
	const struct dbg_version *dv;
	uint64_t vals[NR_MEMBERS];
	struct dbg_head h;

	if (!buf || len < sizeof(h))
		return -EINVAL;
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.cookie, "xdebugpy", 8) != 0)
		return -EINVAL;
	dv = dbg_version(&h, NULL, 0);
	if (!dv || len < dv->size)
		return -EINVAL;
	dbg_values(buf, dv->version, vals);
	for (size_t i = 0; i < NR_MEMBERS; i++) {
		if (strcmp(members[i].section, section) != 0 ||
		    strcmp(members[i].name, member) != 0)
			continue;
		if (!dbg_has(&members[i], dv->version))
			return -ENOENT;
		*val = vals[i];
		return 0;
	}
	return -ENOENT;
}

/* The fields py_layout__diff compares: all of them but the name. */
struct field {
	const char *name;
	size_t off;
	size_t width;
};

#define FLD(f)                                             \
	{                                                  \
#f, offsetof(struct py_layout, f),         \
			sizeof(((struct py_layout *)0)->f) \
	}

static const struct field fields[] = {
	FLD(version),
	FLD(free_threaded),
	FLD(walk.runtime_interp_head),
	FLD(walk.interp_next),
	FLD(walk.interp_threads_head),
	FLD(walk.tstate_next),
	FLD(walk.tstate_thread_id),
	FLD(walk.tstate_frame),
	FLD(walk.cframe_current_frame),
	FLD(walk.frame_previous),
	FLD(walk.frame_code),
	FLD(walk.frame_instr),
	FLD(walk.frame_owner),
	FLD(walk.code_firstlineno),
	FLD(walk.code_adaptive),
	FLD(walk.frame_tlbc_index),
	FLD(walk.code_tlbc),
	FLD(walk.tstate_interp),
	/* Not walk.interp_code_gen: never in the table (see NO_CODE_GEN). */
	FLD(frame_kind),
	FLD(lasti_units),
	FLD(owner_skip_mask),
	FLD(code_tag_bits),
	FLD(code.size),
	FLD(code.name),
	FLD(code.qualname),
	FLD(code.filename),
	FLD(code.linetable),
	FLD(code.firstlineno),
	FLD(code.linetable_kind),
	FLD(object.ob_type),
	FLD(bytes.ob_size),
	FLD(bytes.ob_sval),
	FLD(unicode.length),
	FLD(unicode.state),
	FLD(unicode.ascii_size),
	FLD(unicode.compact_size),
	FLD(unicode.data_any),
	FLD(unicode.kind_shift),
	FLD(unicode.compact_bit),
	FLD(unicode.ascii_bit),
	FLD(obj.interp_modules),
	FLD(obj.module_dict),
	FLD(obj.dict_keys),
	FLD(obj.dict_values),
	FLD(obj.type_flags),
	FLD(obj.type_dictoffset),
	FLD(obj.type_basicsize),
	FLD(obj.ht_cached_keys),
	FLD(obj.long_size),
	FLD(obj.long_digits),
	FLD(obj.long_tagged),
	FLD(obj.dict_keys_new),
	FLD(obj.managed_dict),
	FLD(obj.values_prefix),
};

static uint64_t field_get(const struct py_layout *l, const struct field *f)
{
	const unsigned char *p = (const unsigned char *)l + f->off;
	uint32_t v32;
	uint16_t v16;

	switch (f->width) {
	case 1:
		return *p;
	case 2:
		memcpy(&v16, p, 2);
		return v16;
	default:
		memcpy(&v32, p, 4);
		return v32;
	}
}

static void field_fmt(char *buf, size_t len, const struct field *f, uint64_t v)
{
	if (f->width == 4 && v == PY_OFF_NONE)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%" PRIu64, v);
}

int py_layout__diff(const struct py_layout *a, const struct py_layout *b,
		    char *diff, size_t difflen)
{
	char sa[24], sb[24];
	int n = 0;

	if (diff && difflen)
		diff[0] = '\0';
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field *f = &fields[i];
		uint64_t va = field_get(a, f), vb = field_get(b, f);

		if (va == vb)
			continue;
		if (n++ == 0 && diff && difflen) {
			field_fmt(sa, sizeof(sa), f, va);
			field_fmt(sb, sizeof(sb), f, vb);
			snprintf(diff, difflen, "%s: %s != %s", f->name, sa,
				 sb);
		}
	}
	return n;
}

/* The span of a code object that holds the fields of its fingerprint
 * (py_code_fp; python__code_fp reads the same ones).  A layout whose
 * fields are further apart than the sampler reads gets len 0, which the
 * sampler refuses as a bad config. */
static void fp_span(const struct py_layout *l, struct py_code_fp_span *fp)
{
	const uint32_t f[] = { l->code.filename, l->code.name,
			       l->code.linetable };
	uint32_t lo = f[0], hi = f[0] + 8;

	for (size_t i = 1; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i] < lo)
			lo = f[i];
		if (f[i] + 8 > hi)
			hi = f[i] + 8;
	}
	memset(fp, 0, sizeof(*fp));
	if (hi - lo > PY_CODE_FP_SPAN_MAX)
		return;
	fp->base = lo;
	fp->len = hi - lo;
	fp->filename = l->code.filename - lo;
	fp->name = l->code.name - lo;
	fp->linetable = l->code.linetable - lo;
}

void py_layout__to_cfg(const struct py_layout *l, __u64 runtime_addr,
		       struct py_proc_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->runtime_addr = runtime_addr;
	cfg->version = l->version;
	cfg->frame_kind = l->frame_kind;
	cfg->lasti_units = l->lasti_units;
	cfg->owner_skip_mask = l->owner_skip_mask;
	cfg->code_tag_bits = l->code_tag_bits;
	cfg->flags = (l->free_threaded ? PY_CFG_FREE_THREADED : 0) |
		     (l->code_gen_runtime ? PY_CFG_CODE_GEN_RUNTIME : 0);
	/* Before 3.14 the count is of code objects made, a uint32. */
	if (l->walk.interp_code_gen != PY_OFF_NONE && l->version < PYVER(3, 14))
		cfg->flags |= PY_CFG_CODE_GEN_U32;
	cfg->off = l->walk;
	fp_span(l, &cfg->fp);
}
