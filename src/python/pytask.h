/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Reading asyncio's tasks out of a CPython 3.14+ target (issue 23): where
 * they are described (the _asyncio module's .AsyncioDebug section, struct
 * _Py_AsyncioModuleDebugOffsets, and the target's _Py_DebugOffsets), a
 * task's name, coroutine and awaiters, the chain of frames a suspended
 * coroutine waits in, and each thread's list of pending tasks.
 *
 * The target runs on while it is read: a task may finish, be freed or have
 * its memory reused between two reads.  Every read is bounded by us, every
 * pointer followed is checked (a task says it is one, a name is a str or
 * an int, a coroutine owns its frame), and a chain or list that loops or
 * runs on is cut at a bound and said to be: an error or a flag, never a
 * crash or a hang.
 */
#ifndef PYPROF_PYTASK_H
#define PYPROF_PYTASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>

#include "bpf/pyprof_shared.h"
#include "lib/hashmap.h"
#include "python/layout.h"
#include "python/rmem.h"

/* Bytes of struct _Py_AsyncioModuleDebugOffsets (3.14, 3.15): 13 members. */
#define PYTASK_ASYNC_DEBUG_SIZE (13 * 8)
/* Coroutines followed down one await chain. */
#define PYTASK_CORO_MAX 64
/* Awaiters of one task looked at (the entries of its awaited-by set). */
#define PYTASK_AWAITERS_MAX 256
/* Slots of an awaited-by set's table read, at most. */
#define PYTASK_SET_SLOTS_MAX 4096

/* Where things are, from the two debug sections (pytask__offsets). */
struct pytask_offsets {
	/* TaskObj (asyncio_task_object): a Future's head, then the task's
	 * fields; a Future has is_task 0 and the same awaited-by fields. */
	uint32_t task_size, task_name, task_awaited_by, task_is_task,
		task_awaited_by_is_set, task_coro, task_node;
	/* PyInterpreterState and _PyThreadStateImpl */
	uint32_t interp_tasks_head; /* tasks of threads that have ended */
	uint32_t ts_running_task, ts_tasks_head, ts_native_thread_id;
	/* PyGenObject: a coroutine, with its frame inside it */
	uint32_t gen_size, gi_iframe, gi_frame_state;
	/* _PyInterpreterFrame beyond what the walk reads */
	uint32_t frame_size, frame_stackpointer;
	/* PySetObject */
	uint32_t set_size, set_used, set_table, set_mask;
	/* PyFrameState values of a coroutine suspended in an await (3.14:
	 * FRAME_SUSPENDED_YIELD_FROM -1; 3.15: 2, and 3 when locked). */
	int8_t yield_from[2];
	/* Where the awaited object is: stackpointer[-await_slot] (3.14: 1;
	 * 3.15.0a8+: 2, _SEND_GEN_FRAME leaves a NULL above it). */
	uint8_t await_slot;
	uint8_t stack_tag_bits; /* _PyStackRef tag bits (Py_TAG_BITS) */
};

/*
 * Fills *o from the target's _Py_DebugOffsets (dbg, dbglen bytes from the
 * start of _PyRuntime), its .AsyncioDebug section (adbg, adblen bytes)
 * and its layout l (3.14+).  Every offset is checked to lie inside its
 * struct, every struct size to be sane.  0, or -EINVAL / -ENOTSUP with
 * the reason in err.
 */
int pytask__offsets(const struct py_layout *l, const void *dbg, size_t dbglen,
		    const void *adbg, size_t adblen, struct pytask_offsets *o,
		    char *err, size_t errlen);

/* The BPF side's part of it (struct py_async_cfg). */
void pytask__cfg(const struct pytask_offsets *o, struct py_async_cfg *cfg);

/* A task (or a Future awaiting one) as read in one go. */
struct pytask {
	uint64_t addr;
	bool is_task; /* a Task, not a plain Future */
	uint64_t name; /* the name object (str, or an int n: "Task-n") */
	uint64_t coro; /* its coroutine, 0 once done */
	uint64_t awaited_by; /* a waiter, or a set of them, or 0 */
	bool awaited_by_is_set;
};

/*
 * Reads the task or Future at addr.  -EFAULT when it cannot be read,
 * -ESTALE when what is there is no live Task or Future (freed, reused).
 */
int pytask__read(const struct pytask_offsets *o, const struct py_layout *l,
		 const struct rmem *m, uint64_t addr, struct pytask *t);

/* The fingerprint the sampler keeps of a task (SAMPLE_F_TASK). */
static inline uint32_t pytask__fp(uint64_t coro)
{
	return PY_FRAME_F_TASK | ((uint32_t)(coro >> 4) & PY_FRAME_FP_MASK);
}

/*
 * The task's name, as asyncio gives it (Task.get_name()): the str, or
 * "Task-n" for a task asyncio numbered; UTF-8 into out.  *numbered says
 * which.  The length or -errno (-ESTALE: not a str nor an int).
 */
int pytask__name(const struct py_layout *l, const struct rmem *m,
		 const struct pytask *t, char *out, size_t outlen,
		 bool *numbered);

/*
 * The awaiters of t (its awaited-by: one Future or Task, or a set of
 * them), at most max into out, lowest address first; *total gets how many
 * there are (which may be more than max, or more than could be read:
 * *cut is then true).  The number put into out, or -errno.
 */
int pytask__awaiters(const struct pytask_offsets *o, const struct py_layout *l,
		     const struct rmem *m, const struct pytask *t,
		     uint64_t *out, int max, int *total, bool *cut);

/*
 * The frames of the coroutine coro and of the coroutines it awaits, each
 * suspended in the next, root (coro's own frame) first, at most max into
 * out as the sampler's frames are (code, lasti, fingerprint).  A chain
 * longer than max, or that loops, sets *cut.  lines (may be NULL) caches
 * the code objects' fingerprints by address (value: fingerprint + 1)
 * across calls.  The
 * number of frames (0 for a coroutine that has not started or has
 * finished), or -errno.
 */
int pytask__coro_frames(const struct pytask_offsets *o,
			const struct py_layout *l, const struct rmem *m,
			uint64_t coro, struct py_frame *out, int max, bool *cut,
			struct hashmap *lines);

/*
 * pytask__coro_frames for many coroutines at once (wall mode's passes):
 * the same frames, read level by level, each level's reads of every chain
 * in a few system calls (rmem__readv).  c[i].coro in, c[i].frames (room
 * for max, root first), c[i].n (or -errno) and c[i].cut out; n at most
 * PYTASK_BATCH.  b is scratch, kept by the caller.
 */
#define PYTASK_BATCH 256

struct pytask_chain {
	uint64_t coro;
	struct py_frame *frames;
	int n;
	bool cut;
};

struct pytask_batch {
	struct {
		uint64_t cur, type, seen[PYTASK_CORO_MAX];
		int depth;
		bool done, fresh; /* fresh: a frame added at this level */
		uint8_t gen[1024] __attribute__((aligned(8)));
		uint8_t span[PY_CODE_FP_SPAN_MAX] __attribute__((aligned(8)));
		uint64_t slot;
	} st[PYTASK_BATCH];
	struct rmem_iov iov[PYTASK_BATCH];
	uint16_t idx[PYTASK_BATCH];
};

void pytask__coro_frames_many(const struct pytask_offsets *o,
			      const struct py_layout *l, const struct rmem *m,
			      struct pytask_chain *c, size_t n, int max,
			      struct hashmap *lines, struct pytask_batch *b);

/* What the walk of the task lists found of one pending task. */
struct pytask_seen {
	struct pytask t; /* as read (rc 0), else t.addr only */
	int rc; /* pytask__read's */
	uint64_t tstate; /* the thread state whose list holds it, 0 for the
			    interpreter's (of threads that have ended) */
	uint32_t tid; /* its native thread id, 0 if unknown */
	bool running; /* that thread's running task */
};

/* Limits and findings of one walk of the task lists. */
struct pytask_walk {
	size_t max_tasks; /* stop after this many tasks */
	size_t max_threads; /* thread states looked at */
	size_t tasks; /* tasks found */
	bool cut; /* stopped at max_tasks (or a list that loops) */
	bool loops; /* a list pointed back into itself */
	bool unreadable; /* a thread state or a link could not be read */
};

/*
 * Calls fn for each pending task of the interpreter interp: each thread's
 * list (_PyThreadStateImpl.asyncio_tasks_head) and the interpreter's,
 * within w's limits, each task read (pytask__read) in the one read that
 * also gives its link to the next.  fn returning non-zero stops the walk.
 * 0 or -errno (the interpreter unreadable).
 */
int pytask__foreach(const struct pytask_offsets *o, const struct py_layout *l,
		    const struct rmem *m, uint64_t interp,
		    struct pytask_walk *w,
		    int (*fn)(const struct pytask_seen *s, void *arg),
		    void *arg);

#endif /* PYPROF_PYTASK_H */
