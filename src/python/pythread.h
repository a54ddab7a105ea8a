/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Python thread names: threading.Thread(name=...) as the target's
 * threading._active dict has them, with each thread's two ids: its ident
 * (pthread_self(), the value of PyThreadState.thread_id) and its native id
 * (the kernel's tid).
 */
#ifndef PYPROF_PYTHREAD_H
#define PYPROF_PYTHREAD_H

#include <stdint.h>

#include "python/layout.h"
#include "python/pyobj.h"
#include "python/rmem.h"

#define PYTHREAD_NAME_MAX 128

struct pythread_name {
	uint64_t thread_id; /* threading.get_ident() == PyThreadState.thread_id */
	/* Thread._native_id, threading.get_native_id() of the thread: its
	 * tid, set as it starts (3.8+ on Linux); 0 when it has none.  A
	 * forked child's thread keeps its parent's until 3.13, whose
	 * _after_fork sets it again. */
	uint64_t native_id;
	char name[PYTHREAD_NAME_MAX];
};

/*
 * Reads threading._active of the interpreter at interp (a PyInterpreterState
 * address) into out, at most max entries.  Returns the number found (0 if the
 * threading module is not imported) or -errno.
 */
int pythread__names(const struct py_layout *l, const struct rmem *m,
		    uint64_t interp, struct pythread_name *out, int max);

/* Where the last pythread__names_memo found threading and its _active. */
struct pythread_memo {
	struct pyobj_dict_memo threading; /* in sys.modules */
	struct pyobj_dict_memo active; /* in threading's dict */
};

/* pythread__names, through memo (zeroed at first): a process read again
 * and again (names refreshed while its samples come) costs a few reads
 * each time, not a read of every key of sys.modules. */
int pythread__names_memo(const struct py_layout *l, const struct rmem *m,
			 uint64_t interp, struct pythread_memo *memo,
			 struct pythread_name *out, int max);

#endif /* PYPROF_PYTHREAD_H */
