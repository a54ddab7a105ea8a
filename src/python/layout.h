/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Where things are inside CPython's structs, per minor version and build
 * (default, or free-threaded: 3.13t+).  Facts from CPython's public headers
 * (Include/cpython/ and Include/internal/) of each release, checked against
 * the DWARF or the _Py_DebugOffsets of real builds; on 3.13+ the target's own
 * _Py_DebugOffsets (at the start of _PyRuntime) is authoritative and the table
 * supplies what it does not carry, and a cross-check.
 */
#ifndef PYPROF_PYTHON_LAYOUT_H
#define PYPROF_PYTHON_LAYOUT_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/pyprof_shared.h"

/* (major << 8) | minor */
#define PYVER(maj, min) (((maj) << 8) | (min))
#define PYVER_MIN PYVER(3, 8)
#define PYVER_MAX PYVER(3, 15)
/* The first version with free-threaded builds (PEP 703). */
#define PYVER_FT_MIN PYVER(3, 13)

/* Line table formats (src/python/linetable.c). */
enum py_linetable_kind {
	PY_LT_LNOTAB = 1, /* co_lnotab, 3.8 and 3.9 */
	PY_LT_LINETABLE310, /* co_linetable, 3.10 */
	PY_LT_LOCATIONS, /* co_linetable location table, 3.11+ */
};

/* How an instance's __dict__ (or its inline values) is found. */
enum py_managed_dict_kind {
	PY_MD_NONE = 0, /* 3.8-3.10: dict pointer at tp_dictoffset */
	PY_MD_311, /* values at obj-32, dict at obj-24 */
	PY_MD_312, /* tagged dict-or-values at obj-24 */
	PY_MD_313, /* inline values at obj+tp_basicsize, dict at obj-24 */
	PY_MD_313T, /* free-threaded 3.13+: as PY_MD_313, dict at obj-8 */
};

struct py_layout {
	unsigned version; /* PYVER(3, x) */
	const char *name; /* "3.11", "3.14t" */
	__u8 free_threaded; /* a Py_GIL_DISABLED build: no GIL */
	/* walk.interp_code_gen is _PyRuntime's distance to a global count
	 * (PY_CFG_CODE_GEN_RUNTIME): set per file (3.12), never in the table. */
	__u8 code_gen_runtime;

	/* What the BPF walk needs (copied into struct py_proc_cfg). */
	struct py_walk_offsets walk;
	__u8 frame_kind; /* enum py_frame_kind */
	__u8 lasti_units; /* f_lasti counts 2-byte code units (3.10) */
	__u8 owner_skip_mask; /* 1 << FRAME_OWNED_BY_CSTACK (3.12+), ... */
	__u8 code_tag_bits; /* _PyStackRef tag bits of f_executable (3.14) */

	/* Symbolising a code object. */
	struct {
		uint32_t size; /* bytes to read to cover every field below */
		uint32_t name; /* co_name */
		uint32_t qualname; /* co_qualname (3.11+), else PY_OFF_NONE */
		uint32_t filename; /* co_filename */
		uint32_t linetable; /* co_lnotab (<=3.9), co_linetable (3.10+) */
		uint32_t firstlineno; /* co_firstlineno (int) */
		enum py_linetable_kind linetable_kind;
	} code;

	struct {
		uint32_t ob_type;
	} object;

	struct {
		uint32_t ob_size; /* PyVarObject.ob_size */
		uint32_t ob_sval; /* start of the bytes */
	} bytes;

	struct {
		uint32_t length; /* PyASCIIObject.length (code points) */
		uint32_t state; /* PyASCIIObject.state (a bit field) */
		uint32_t ascii_size; /* sizeof(PyASCIIObject): compact ASCII data */
		uint32_t compact_size; /* sizeof(PyCompactUnicodeObject): compact
					  non-ASCII data */
		uint32_t data_any; /* PyUnicodeObject.data.any (legacy strings) */
		uint8_t kind_shift; /* bit position of state.kind (3 bits) */
		uint8_t compact_bit; /* bit position of state.compact */
		uint8_t ascii_bit; /* bit position of state.ascii */
	} unicode;

	/* Finding thread names: threading._active in sys.modules. */
	struct {
		uint32_t interp_modules; /* PyInterpreterState.modules (<=3.11),
					      .imports.modules (3.12+) */
		uint32_t module_dict; /* PyModuleObject.md_dict */
		uint32_t dict_keys; /* PyDictObject.ma_keys */
		uint32_t dict_values; /* PyDictObject.ma_values */
		uint32_t type_flags; /* PyTypeObject.tp_flags */
		uint32_t type_dictoffset; /* PyTypeObject.tp_dictoffset */
		uint32_t type_basicsize; /* PyTypeObject.tp_basicsize */
		uint32_t ht_cached_keys; /* PyHeapTypeObject.ht_cached_keys */
		uint32_t long_size; /* ob_size (<=3.11) / lv_tag (3.12+) */
		uint32_t long_digits; /* ob_digit */
		uint8_t long_tagged; /* 3.12+: lv_tag encodes size and sign */
		uint8_t dict_keys_new; /* 3.11+ PyDictKeysObject layout */
		uint8_t managed_dict; /* enum py_managed_dict_kind */
		uint8_t values_prefix; /* bytes before values[] in PyDictValues */
	} obj;
};

/* The built-in table entry for a version's default (GIL) build, as its
 * first release has it, or NULL if it has none. */
const struct py_layout *py_layout__builtin(unsigned version);

/*
 * The built-in layout of one release: version, micro (the patch level; 0
 * when unknown), free-threaded or not, with the changes later patch
 * releases made applied.  Returns 0, or -ENOENT when the table has no row.
 */
int py_layout__lookup(unsigned version, unsigned micro, bool free_threaded,
		      struct py_layout *out);

/*
 * Fills *out from a copy of the target's _Py_DebugOffsets (3.13+): buf holds
 * len bytes read from the start of _PyRuntime.  Fields the debug offsets do not
 * carry come from the built-in table for the same version, build and patch
 * level.  An alpha or beta of a known minor version is read as that minor's
 * final layout and taken only if every check passes.  Returns 0, or -EINVAL
 * with a reason in err when the cookie, version or sizes are wrong.
 */
int py_layout__from_debug_offsets(const void *buf, size_t len,
				  struct py_layout *out, char *err,
				  size_t errlen);

/*
 * One member of a copy of the target's _Py_DebugOffsets (buf, len bytes
 * from the start of _PyRuntime; 3.13+), by section and member name as
 * CPython's pycore_debug_offsets.h has them ("gen_object", "gi_iframe"),
 * unchecked: the caller bounds it.  0, -ENOENT when that version has no
 * such member, -EINVAL when buf is no _Py_DebugOffsets.
 */
int py_layout__debug_member(const void *buf, size_t len, const char *section,
			    const char *member, uint64_t *val);

/*
 * Compares the fields two layouts share; writes the first difference as
 * "field: a != b" into diff and returns the number of differences.
 */
int py_layout__diff(const struct py_layout *a, const struct py_layout *b,
		    char *diff, size_t difflen);

/* Copies what BPF needs into a per-process config. */
void py_layout__to_cfg(const struct py_layout *l, __u64 runtime_addr,
		       struct py_proc_cfg *cfg);

#endif /* PYPROF_PYTHON_LAYOUT_H */
