// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Python thread names (see src/python/pythread.h), read the way Python itself would
 * find them: sys.modules["threading"]._active, a dict {ident: Thread}, and
 * each Thread's _name.  threading keeps _active and Thread._name under these
 * names in 3.8 ... 3.14 (Lib/threading.py); sys.modules is
 * PyInterpreterState.modules (<= 3.11) or .imports.modules (3.12+), which the
 * layout says.  Everything goes through src/python/pyobj.c, so it is all bounded.
 */
#include "python/pythread.h"

#include <errno.h>
#include <string.h>

#include "python/pyobj.h"

/* Entries of _active looked at: far more threads than any real program. */
#define ACTIVE_SCAN_MAX (1 << 16)

struct names {
	const struct py_layout *l;
	const struct rmem *m;
	struct pythread_name *out;
	int max;
	int n;
	int err; /* first error of a thread we skipped */
};

/*
 * Thread._native_id of the Thread at thread, into *id; 0 when it has none
 * (None, or not set).  It is an int only if its type is the type of int
 * key, the Thread's ident in _active.
 */
static void native_id(const struct names *c, uint64_t thread, uint64_t key,
		      uint64_t *id)
{
	uint64_t v, vtype, ktype;

	*id = 0;
	if (pyobj__getattr(c->l, c->m, thread, "_native_id", &v) || !v ||
	    rmem__read_u64(c->m, v + c->l->object.ob_type, &vtype) ||
	    rmem__read_u64(c->m, key + c->l->object.ob_type, &ktype) ||
	    vtype != ktype || pyobj__read_ulong(c->l, c->m, v, id) ||
	    *id > INT32_MAX)
		*id = 0;
}

static int name_cb(uint64_t key, uint64_t value, void *arg)
{
	struct names *c = arg;
	struct pythread_name *t = &c->out[c->n];
	uint64_t ident, name;
	int err;

	/* A thread that vanishes while we read is skipped, not fatal. */
	err = pyobj__read_ulong(c->l, c->m, key, &ident);
	if (!err)
		err = pyobj__getattr(c->l, c->m, value, "_name", &name);
	if (!err && !name)
		err = -ENOENT;
	if (!err) {
		int r = pyobj__read_str(c->l, c->m, name, t->name,
					sizeof(t->name));

		err = r < 0 ? r : 0;
	}
	if (err) {
		if (!c->err)
			c->err = err;
		t->name[0] = '\0';
		return 0;
	}
	t->thread_id = ident;
	native_id(c, value, key, &t->native_id);
	return ++c->n >= c->max;
}

int pythread__names(const struct py_layout *l, const struct rmem *m,
		    uint64_t interp, struct pythread_name *out, int max)
{
	return pythread__names_memo(l, m, interp, NULL, out, max);
}

int pythread__names_memo(const struct py_layout *l, const struct rmem *m,
			 uint64_t interp, struct pythread_memo *memo,
			 struct pythread_name *out, int max)
{
	struct names c = { .l = l, .m = m, .out = out, .max = max };
	uint64_t modules, threading, md_dict, active;
	int err;

	if (!out || max < 0)
		return -EINVAL;
	if (!max)
		return 0;
	err = rmem__read_u64(m, interp + l->obj.interp_modules, &modules);
	if (err)
		return err;
	if (!modules)
		return 0; /* not initialised yet */
	err = pyobj__dict_get_memo(l, m, modules, "threading",
				   memo ? &memo->threading : NULL, &threading);
	if (err || !threading)
		return err; /* 0: threading not imported, no names */
	err = rmem__read_u64(m, threading + l->obj.module_dict, &md_dict);
	if (err)
		return err;
	if (!md_dict)
		return 0; /* not a module, or being torn down */
	err = pyobj__dict_get_memo(l, m, md_dict, "_active",
				   memo ? &memo->active : NULL, &active);
	if (err || !active)
		return err;
	err = pyobj__dict_foreach(l, m, active, ACTIVE_SCAN_MAX, name_cb, &c);
	if (err)
		return err;
	/* Nothing readable at all: say why rather than "no threads". */
	if (!c.n && c.err)
		return c.err;
	return c.n;
}
