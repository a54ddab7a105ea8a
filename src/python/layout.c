// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Where things are inside CPython's structs, per minor version (x86_64,
 * default build: GIL, no Py_DEBUG, no Py_STATS, no Py_TRACE_REFS).
 *
 * How each entry was established:
 *
 *  - 3.8 to 3.13: read from the DWARF of real builds (pyenv 3.8.18, 3.9.18,
 *    3.10.13, 3.11.7, 3.12.1, 3.13.0) with pahole and gdb's
 *    offsetof-by-expression, e.g. `p &((struct _ts *)0)->current_frame`.
 *    Internal layouts are meant to stay put within a minor series, so one
 *    patch release stands for all; that is a convention, not a promise
 *    (3.7.4 moved _PyRuntimeState fields, and py-spy keeps separate
 *    bindings for 3.14.5), which is one more reason to prefer the target's
 *    debug offsets where it has them.
 *
 *  - 3.14: no 3.14 build was at hand, so the entry is computed by hand from
 *    the struct definitions of the 3.14 branch, taking the #ifdefs of the
 *    default build.  The python/cpython copies that could be read were 3.15
 *    development snapshots (e.g. pycore_interpframe_structs.h at 111e70cb,
 *    which already has FRAME_OWNED_BY_THREAD_STATE), so the 3.14 text came
 *    from a fork of the 3.14 branch at "3.14.0b4+"
 *    (johndoe6345789/typthon: Include/cpython/pystate.h and
 *    Include/internal/pycore_interp_structs.h and pycore_stackref.h at
 *    3ce4b26b, Include/cpython/code.h at b198f511,
 *    Include/internal/pycore_interpframe_structs.h and
 *    Include/internal/pycore_moduleobject.h at e7bdfe6c,
 *    Include/internal/pycore_debug_offsets.h at 71cf7bf1), and every
 *    number was cross-checked against the bindgen structs py-spy generates
 *    from the v3.14.0 tag (benfred/py-spy src/python_bindings/v3_14_0.rs at
 *    2833d3e), compiled with gcc to get offsetof.  The same bindgen route
 *    reproduces this table's 3.13 entry exactly from py-spy's v3_13_0.rs.
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
		 * 3.14 (sources: see the top of this file).
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
};

const struct py_layout *py_layout__builtin(unsigned version)
{
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (builtin[i].version == version)
			return &builtin[i];
	return NULL;
}

/*
 * _Py_DebugOffsets as the target lays it out: every member after the cookie
 * is a uint64_t, so these mirrors have no padding and read the same on any
 * 64-bit little-endian host.  Field lists follow, member for member:
 *
 *  - 3.13: struct _Py_DebugOffsets in Include/internal/pycore_runtime.h of
 *    v3.13.0 (checked against the DWARF of the 3.13.0 build: 584 bytes,
 *    free_threaded at 16).
 *  - 3.14: Include/internal/pycore_debug_offsets.h of the 3.14 branch (see
 *    the top of this file): 760 bytes, with threads_main,
 *    code_object_generation and tlbc_generation in interpreter_state,
 *    stackpointer and tlbc_index in interpreter_frame, co_tlbc in
 *    code_object, and the set_object, gen_object, llist_node and
 *    debugger_support sections.
 */
struct dbg_head {
	char cookie[8];
	uint64_t version; /* PY_VERSION_HEX */
	uint64_t free_threaded;
};

struct dbg313 {
	struct dbg_head h;
	struct {
		uint64_t size, finalizing, interpreters_head;
	} runtime_state;
	struct {
		uint64_t size, id, next, threads_head, gc, imports_modules,
			sysdict, builtins, ceval_gil, gil_runtime_state,
			gil_runtime_state_enabled, gil_runtime_state_locked,
			gil_runtime_state_holder;
	} interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, thread_id,
			native_thread_id, datastack_chunk, status;
	} thread_state;
	struct {
		uint64_t size, previous, executable, instr_ptr, localsplus,
			owner;
	} interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable, firstlineno,
			argcount, localsplusnames, localspluskinds,
			co_code_adaptive;
	} code_object;
	struct {
		uint64_t size, ob_type;
	} pyobject;
	struct {
		uint64_t size, tp_name, tp_repr, tp_flags;
	} type_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} tuple_object, list_object;
	struct {
		uint64_t size, ma_keys, ma_values;
	} dict_object;
	struct {
		uint64_t size, ob_fval;
	} float_object;
	struct {
		uint64_t size, lv_tag, ob_digit;
	} long_object;
	struct {
		uint64_t size, ob_size, ob_sval;
	} bytes_object;
	struct {
		uint64_t size, state, length, asciiobject_size;
	} unicode_object;
	struct {
		uint64_t size, collecting;
	} gc;
};

struct dbg314 {
	struct dbg_head h;
	struct {
		uint64_t size, finalizing, interpreters_head;
	} runtime_state;
	struct {
		uint64_t size, id, next, threads_head, threads_main, gc,
			imports_modules, sysdict, builtins, ceval_gil,
			gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder,
			code_object_generation, tlbc_generation;
	} interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, thread_id,
			native_thread_id, datastack_chunk, status;
	} thread_state;
	struct {
		uint64_t size, previous, executable, instr_ptr, localsplus,
			owner, stackpointer, tlbc_index;
	} interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable, firstlineno,
			argcount, localsplusnames, localspluskinds,
			co_code_adaptive, co_tlbc;
	} code_object;
	struct {
		uint64_t size, ob_type;
	} pyobject;
	struct {
		uint64_t size, tp_name, tp_repr, tp_flags;
	} type_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} tuple_object, list_object;
	struct {
		uint64_t size, used, table, mask;
	} set_object;
	struct {
		uint64_t size, ma_keys, ma_values;
	} dict_object;
	struct {
		uint64_t size, ob_fval;
	} float_object;
	struct {
		uint64_t size, lv_tag, ob_digit;
	} long_object;
	struct {
		uint64_t size, ob_size, ob_sval;
	} bytes_object;
	struct {
		uint64_t size, state, length, asciiobject_size;
	} unicode_object;
	struct {
		uint64_t size, collecting;
	} gc;
	struct {
		uint64_t size, gi_name, gi_iframe, gi_frame_state;
	} gen_object;
	struct {
		uint64_t next, prev;
	} llist_node;
	struct {
		uint64_t eval_breaker, remote_debugger_support,
			remote_debugging_enabled, debugger_pending_call,
			debugger_script_path, debugger_script_path_size;
	} debugger_support;
};

_Static_assert(sizeof(struct dbg_head) == 24, "dbg_head");
_Static_assert(sizeof(struct dbg313) == 584, "3.13 _Py_DebugOffsets");
_Static_assert(sizeof(struct dbg314) == 760, "3.14 _Py_DebugOffsets");

/* What this file uses of either layout. */
struct dbg_used {
	struct {
		uint64_t size, interpreters_head;
	} runtime_state;
	struct {
		uint64_t size, next, threads_head, imports_modules;
	} interpreter_state;
	struct {
		uint64_t size, next, current_frame, thread_id;
	} thread_state;
	struct {
		uint64_t size, previous, executable, instr_ptr, owner;
	} interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable, firstlineno,
			co_code_adaptive;
	} code_object;
	struct {
		uint64_t size, ob_type;
	} pyobject;
	struct {
		uint64_t size, tp_flags;
	} type_object;
	struct {
		uint64_t size, ma_keys, ma_values;
	} dict_object;
	struct {
		uint64_t size, lv_tag, ob_digit;
	} long_object;
	struct {
		uint64_t size, ob_size, ob_sval;
	} bytes_object;
	struct {
		uint64_t size, state, length, asciiobject_size;
	} unicode_object;
};

/* The member names are the same in both layouts. */
#define DBG_PICK(u, d)                                                       \
	do {                                                                 \
		(u)->runtime_state.size = (d)->runtime_state.size;           \
		(u)->runtime_state.interpreters_head =                       \
			(d)->runtime_state.interpreters_head;                \
		(u)->interpreter_state.size = (d)->interpreter_state.size;   \
		(u)->interpreter_state.next = (d)->interpreter_state.next;   \
		(u)->interpreter_state.threads_head =                        \
			(d)->interpreter_state.threads_head;                 \
		(u)->interpreter_state.imports_modules =                     \
			(d)->interpreter_state.imports_modules;              \
		(u)->thread_state.size = (d)->thread_state.size;             \
		(u)->thread_state.next = (d)->thread_state.next;             \
		(u)->thread_state.current_frame =                            \
			(d)->thread_state.current_frame;                     \
		(u)->thread_state.thread_id = (d)->thread_state.thread_id;   \
		(u)->interpreter_frame.size = (d)->interpreter_frame.size;   \
		(u)->interpreter_frame.previous =                            \
			(d)->interpreter_frame.previous;                     \
		(u)->interpreter_frame.executable =                          \
			(d)->interpreter_frame.executable;                   \
		(u)->interpreter_frame.instr_ptr =                           \
			(d)->interpreter_frame.instr_ptr;                    \
		(u)->interpreter_frame.owner = (d)->interpreter_frame.owner; \
		(u)->code_object.size = (d)->code_object.size;               \
		(u)->code_object.filename = (d)->code_object.filename;       \
		(u)->code_object.name = (d)->code_object.name;               \
		(u)->code_object.qualname = (d)->code_object.qualname;       \
		(u)->code_object.linetable = (d)->code_object.linetable;     \
		(u)->code_object.firstlineno = (d)->code_object.firstlineno; \
		(u)->code_object.co_code_adaptive =                          \
			(d)->code_object.co_code_adaptive;                   \
		(u)->pyobject.size = (d)->pyobject.size;                     \
		(u)->pyobject.ob_type = (d)->pyobject.ob_type;               \
		(u)->type_object.size = (d)->type_object.size;               \
		(u)->type_object.tp_flags = (d)->type_object.tp_flags;       \
		(u)->dict_object.size = (d)->dict_object.size;               \
		(u)->dict_object.ma_keys = (d)->dict_object.ma_keys;         \
		(u)->dict_object.ma_values = (d)->dict_object.ma_values;     \
		(u)->long_object.size = (d)->long_object.size;               \
		(u)->long_object.lv_tag = (d)->long_object.lv_tag;           \
		(u)->long_object.ob_digit = (d)->long_object.ob_digit;       \
		(u)->bytes_object.size = (d)->bytes_object.size;             \
		(u)->bytes_object.ob_size = (d)->bytes_object.ob_size;       \
		(u)->bytes_object.ob_sval = (d)->bytes_object.ob_sval;       \
		(u)->unicode_object.size = (d)->unicode_object.size;         \
		(u)->unicode_object.state = (d)->unicode_object.state;       \
		(u)->unicode_object.length = (d)->unicode_object.length;     \
		(u)->unicode_object.asciiobject_size =                       \
			(d)->unicode_object.asciiobject_size;                \
	} while (0)

/*
 * Sanity bounds for the struct sizes the target reports.  _PyRuntimeState and
 * PyInterpreterState are large (3.13: 283 KB and 195 KB, mostly embedded
 * state), everything else is a few hundred bytes.
 */
#define DBG_STATE_SIZE_MAX (8u << 20)
#define DBG_OBJ_SIZE_MAX (64u << 10)

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

/* A struct size from the target: non-zero and at most max. */
static int check_size(const char *what, uint64_t size, uint64_t max, char *err,
		      size_t errlen)
{
	if (size == 0 || size > max) {
		seterr(err, errlen,
		       "debug offsets: %s.size %" PRIu64 " out of range", what,
		       size);
		return -EINVAL;
	}
	return 0;
}

/*
 * An offset from the target: the width-byte field it names must lie inside
 * the struct of the given size.  Written to *out only when it does.
 */
static int take(const char *what, uint64_t off, uint64_t width, uint64_t size,
		uint32_t *out, char *err, size_t errlen)
{
	if (off >= size || width > size - off) {
		seterr(err, errlen,
		       "debug offsets: %s = %" PRIu64
		       " out of range (struct size %" PRIu64 ")",
		       what, off, size);
		return -EINVAL;
	}
	*out = (uint32_t)off;
	return 0;
}

/* Fields [a, a+wa) and [b, b+wb) overlap: a sign of a corrupted blob. */
static int overlap(uint32_t a, uint32_t wa, uint32_t b, uint32_t wb)
{
	return a < b + wb && b < a + wa;
}

static int fill_from(const struct dbg_used *d, struct py_layout *l, char *err,
		     size_t errlen)
{
	struct py_walk_offsets *w = &l->walk;
	uint32_t v, end;
	int ret = 0;

	/* Struct sizes first: every offset below is checked against one. */
	ret = ret   ?:
		      check_size("runtime_state", d->runtime_state.size,
				 DBG_STATE_SIZE_MAX, err, errlen);
	ret = ret   ?:
		      check_size("interpreter_state", d->interpreter_state.size,
				 DBG_STATE_SIZE_MAX, err, errlen);
	ret = ret   ?:
		      check_size("thread_state", d->thread_state.size,
				 DBG_OBJ_SIZE_MAX, err, errlen);
	ret = ret   ?:
		      check_size("interpreter_frame", d->interpreter_frame.size,
				 DBG_OBJ_SIZE_MAX, err, errlen);
	ret = ret   ?:
		      check_size("code_object", d->code_object.size,
				 DBG_OBJ_SIZE_MAX, err, errlen);
	ret = ret   ?:
		      check_size("pyobject", d->pyobject.size, DBG_OBJ_SIZE_MAX,
				 err, errlen);
	ret = ret   ?:
		      check_size("type_object", d->type_object.size,
				 DBG_OBJ_SIZE_MAX, err, errlen);
	ret = ret   ?:
		      check_size("dict_object", d->dict_object.size,
				 DBG_OBJ_SIZE_MAX, err, errlen);
	ret = ret   ?:
		      check_size("long_object", d->long_object.size,
				 DBG_OBJ_SIZE_MAX, err, errlen);
	ret = ret   ?:
		      check_size("bytes_object", d->bytes_object.size,
				 DBG_OBJ_SIZE_MAX, err, errlen);
	ret = ret   ?:
		      check_size("unicode_object", d->unicode_object.size,
				 DBG_OBJ_SIZE_MAX, err, errlen);
	if (ret)
		return ret;

#define TAKE(what, off, width, size, dst) \
	ret = ret ?: take(what, off, width, size, dst, err, errlen)

	TAKE("runtime_state.interpreters_head",
	     d->runtime_state.interpreters_head, 8, d->runtime_state.size,
	     &w->runtime_interp_head);
	TAKE("interpreter_state.next", d->interpreter_state.next, 8,
	     d->interpreter_state.size, &w->interp_next);
	TAKE("interpreter_state.threads_head",
	     d->interpreter_state.threads_head, 8, d->interpreter_state.size,
	     &w->interp_threads_head);
	TAKE("interpreter_state.imports_modules",
	     d->interpreter_state.imports_modules, 8, d->interpreter_state.size,
	     &l->obj.interp_modules);
	TAKE("thread_state.next", d->thread_state.next, 8, d->thread_state.size,
	     &w->tstate_next);
	TAKE("thread_state.current_frame", d->thread_state.current_frame, 8,
	     d->thread_state.size, &w->tstate_frame);
	TAKE("thread_state.thread_id", d->thread_state.thread_id, 8,
	     d->thread_state.size, &w->tstate_thread_id);
	TAKE("interpreter_frame.previous", d->interpreter_frame.previous, 8,
	     d->interpreter_frame.size, &w->frame_previous);
	TAKE("interpreter_frame.executable", d->interpreter_frame.executable, 8,
	     d->interpreter_frame.size, &w->frame_code);
	TAKE("interpreter_frame.instr_ptr", d->interpreter_frame.instr_ptr, 8,
	     d->interpreter_frame.size, &w->frame_instr);
	TAKE("interpreter_frame.owner", d->interpreter_frame.owner, 1,
	     d->interpreter_frame.size, &w->frame_owner);
	TAKE("code_object.filename", d->code_object.filename, 8,
	     d->code_object.size, &l->code.filename);
	TAKE("code_object.name", d->code_object.name, 8, d->code_object.size,
	     &l->code.name);
	TAKE("code_object.qualname", d->code_object.qualname, 8,
	     d->code_object.size, &l->code.qualname);
	TAKE("code_object.linetable", d->code_object.linetable, 8,
	     d->code_object.size, &l->code.linetable);
	TAKE("code_object.firstlineno", d->code_object.firstlineno, 4,
	     d->code_object.size, &l->code.firstlineno);
	/* A flexible array member: its offset may equal the struct size. */
	TAKE("code_object.co_code_adaptive", d->code_object.co_code_adaptive, 0,
	     d->code_object.size + 1, &w->code_adaptive);
	TAKE("pyobject.ob_type", d->pyobject.ob_type, 8, d->pyobject.size,
	     &l->object.ob_type);
	TAKE("type_object.tp_flags", d->type_object.tp_flags, 8,
	     d->type_object.size, &l->obj.type_flags);
	TAKE("dict_object.ma_keys", d->dict_object.ma_keys, 8,
	     d->dict_object.size, &l->obj.dict_keys);
	TAKE("dict_object.ma_values", d->dict_object.ma_values, 8,
	     d->dict_object.size, &l->obj.dict_values);
	TAKE("long_object.lv_tag", d->long_object.lv_tag, 8,
	     d->long_object.size, &l->obj.long_size);
	TAKE("long_object.ob_digit", d->long_object.ob_digit, 4,
	     d->long_object.size, &l->obj.long_digits);
	TAKE("bytes_object.ob_size", d->bytes_object.ob_size, 8,
	     d->bytes_object.size, &l->bytes.ob_size);
	TAKE("bytes_object.ob_sval", d->bytes_object.ob_sval, 1,
	     d->bytes_object.size, &l->bytes.ob_sval);
	TAKE("unicode_object.state", d->unicode_object.state, 4,
	     d->unicode_object.size, &l->unicode.state);
	TAKE("unicode_object.length", d->unicode_object.length, 8,
	     d->unicode_object.size, &l->unicode.length);
	/* A size, not an offset: compact ASCII data starts right after. */
	TAKE("unicode_object.asciiobject_size",
	     d->unicode_object.asciiobject_size, 0, d->unicode_object.size + 1,
	     &l->unicode.ascii_size);
#undef TAKE
	if (ret)
		return ret;

	/* co_firstlineno is read both by the walk and by the symboliser. */
	w->code_firstlineno = l->code.firstlineno;
	w->cframe_current_frame = NONE;

	/* The BPF walk reads one PY_FRAME_READ_MAX span of each frame. */
	if (w->frame_previous + 8 > PY_FRAME_READ_MAX ||
	    w->frame_code + 8 > PY_FRAME_READ_MAX ||
	    w->frame_instr + 8 > PY_FRAME_READ_MAX ||
	    w->frame_owner + 1 > PY_FRAME_READ_MAX) {
		seterr(err, errlen,
		       "debug offsets: interpreter frame fields lie beyond "
		       "the %d bytes the sampler reads",
		       PY_FRAME_READ_MAX);
		return -EINVAL;
	}
	if (overlap(w->frame_previous, 8, w->frame_code, 8) ||
	    overlap(w->frame_previous, 8, w->frame_instr, 8) ||
	    overlap(w->frame_previous, 8, w->frame_owner, 1) ||
	    overlap(w->frame_code, 8, w->frame_instr, 8) ||
	    overlap(w->frame_code, 8, w->frame_owner, 1) ||
	    overlap(w->frame_instr, 8, w->frame_owner, 1)) {
		seterr(err, errlen,
		       "debug offsets: interpreter frame fields overlap");
		return -EINVAL;
	}
	if (overlap(w->tstate_next, 8, w->tstate_frame, 8) ||
	    overlap(w->tstate_next, 8, w->tstate_thread_id, 8) ||
	    overlap(w->tstate_frame, 8, w->tstate_thread_id, 8)) {
		seterr(err, errlen,
		       "debug offsets: thread state fields overlap");
		return -EINVAL;
	}
	if (overlap(w->interp_next, 8, w->interp_threads_head, 8)) {
		seterr(err, errlen,
		       "debug offsets: interpreter state fields overlap");
		return -EINVAL;
	}

	/* Bytes to read from a code object to see every code.* field. */
	end = 0;
	v = l->code.name + 8;
	end = v > end ? v : end;
	v = l->code.qualname + 8;
	end = v > end ? v : end;
	v = l->code.filename + 8;
	end = v > end ? v : end;
	v = l->code.linetable + 8;
	end = v > end ? v : end;
	v = l->code.firstlineno + 4;
	end = v > end ? v : end;
	l->code.size = end;
	return 0;
}

int py_layout__from_debug_offsets(const void *buf, size_t len,
				  struct py_layout *out, char *err,
				  size_t errlen)
{
	const struct py_layout *base;
	struct dbg_head h;
	struct dbg_used u;
	struct py_layout l;
	unsigned major, minor, level;
	size_t need;
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
	/* "xdebugpy", without a terminating NUL (_Py_Debug_Cookie). */
	if (memcmp(h.cookie, "xdebugpy", 8) != 0) {
		seterr(err, errlen,
		       "debug offsets: bad cookie (not a _Py_DebugOffsets)");
		return -EINVAL;
	}

	/* PY_VERSION_HEX: major, minor, micro bytes; level, serial nibbles. */
	major = (h.version >> 24) & 0xff;
	minor = (h.version >> 16) & 0xff;
	level = (h.version >> 4) & 0xf;
	if (h.version >> 32 || major != 3 || (minor != 13 && minor != 14)) {
		seterr(err, errlen,
		       "debug offsets: unsupported version 0x%" PRIx64,
		       h.version);
		return -EINVAL;
	}
	/*
	 * The layout is only promised stable within a minor series from the
	 * release candidates on (the ABI freeze); alphas and betas may lay it
	 * out differently (3.13's early alphas had no size members at all).
	 */
	if (level != 0xc && level != 0xf) {
		seterr(err, errlen,
		       "debug offsets: pre-release python 0x%" PRIx64
		       " (alpha/beta layouts are not supported)",
		       h.version);
		return -EINVAL;
	}
	if (h.free_threaded) {
		seterr(err, errlen,
		       "free-threaded python builds are not supported "
		       "(debug offsets free_threaded=%" PRIu64 ")",
		       h.free_threaded);
		return -EINVAL;
	}

	need = minor == 13 ? sizeof(struct dbg313) : sizeof(struct dbg314);
	if (len < need) {
		seterr(err, errlen,
		       "debug offsets truncated: %zu bytes, 3.%u needs %zu",
		       len, minor, need);
		return -EINVAL;
	}
	if (minor == 13) {
		struct dbg313 d;

		memcpy(&d, buf, sizeof(d));
		DBG_PICK(&u, &d);
	} else {
		struct dbg314 d;

		memcpy(&d, buf, sizeof(d));
		DBG_PICK(&u, &d);
	}

	base = py_layout__builtin(PYVER(3, minor));
	if (!base) {
		seterr(err, errlen, "no built-in layout for 3.%u", minor);
		return -EINVAL;
	}
	l = *base;
	ret = fill_from(&u, &l, err, errlen);
	if (ret)
		return ret;
	*out = l;
	return 0;
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
	cfg->off = l->walk;
}
