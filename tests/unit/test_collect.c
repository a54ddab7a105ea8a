// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * src/sampler/collect.c: the stack builder both paths share.  The counted
 * path (collect__sample) and the --native path (collect__add with merged
 * native frames) give the same marker frames for the same flags, and a
 * sample that cannot be added is counted lost under its reason.
 *
 * The target's memory cannot be read, so each Python frame is the marker
 * "[unknown]": these tests are about where frames and markers go.
 */
#include "unit.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/profile.h"
#include "native/merge.h"
#include "native/unwind.h"
#include "sampler/collect.h"
#include "sampler/targets.h"

#define PID 4242

struct fixture {
	struct profile *prof;
	struct targets ts;
	struct target t;
	struct collector c;
	struct collect_native *nat;
	struct py_frame py[2]; /* leaf first */
};

static int no_read(const struct rmem *m, uint64_t addr, void *buf, size_t len)
{
	(void)m;
	(void)addr;
	(void)buf;
	(void)len;
	return -EFAULT;
}

/* Process "unit-4242", no thread frames, two Python frames. */
static bool setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->prof = profile__new();
	f->nat = calloc(1, sizeof(*f->nat));
	targets__init(&f->ts, false);
	f->t.pid = PID;
	strcpy(f->t.comm, "unit");
	f->t.py.mem.read = no_read;
	f->py[0] = (struct py_frame){ .code = 0x2000, .fingerprint = 20 };
	f->py[1] = (struct py_frame){ .code = 0x1000, .fingerprint = 10 };
	return f->prof && f->nat &&
	       hashmap__set(&f->ts.by_pid, PID, (uintptr_t)&f->t) == 0 &&
	       collect__init(&f->c, f->prof, &f->ts, false, true, false) == 0;
}

static void teardown(struct fixture *f)
{
	collect__fini(&f->c);
	python__detach(&f->t.py);
	hashmap__free(&f->t.names);
	targets__fini(&f->ts);
	profile__free(f->prof);
	free(f->nat);
}

static uint32_t native(struct fixture *f, const char *name)
{
	int64_t id = profile__frame(f->prof, PF_NATIVE,
				    profile__intern_str(f->prof, name),
				    profile__intern_str(f->prof, "libx.so"),
				    -1);

	return id < 0 ? 0 : (uint32_t)id;
}

/*
 * Fills f->nat as collect__on_native would for native frames names[n]
 * (root first) and the Python frames f->py[npy] (leaf first).
 */
static void merged(struct fixture *f, const char *const *names, uint32_t n,
		   uint32_t npy)
{
	struct collect_native *nat = f->nat;

	nat->nframes = n;
	for (uint32_t i = 0; i < n; i++) {
		nat->ids[i][0] = native(f, names[i]);
		nat->nids[i] = 1;
		nat->eval[i] = native__is_eval(names[i]);
	}
	for (uint32_t i = 0; i < npy; i++)
		nat->py[i] = f->py[npy - 1 - i];
	nat->merged = native__merge(nat->eval, n, nat->py, npy, false, false,
				    nat->slots,
				    sizeof(nat->slots) / sizeof(*nat->slots),
				    &nat->nslots);
}

/* The frames of stack i, "a;b;c", and its count in *count. */
static const char *stack(const struct profile *p, size_t i, uint64_t *count)
{
	static char buf[1024];
	const uint32_t *ids;
	size_t pos = 0;
	uint32_t n;

	buf[0] = '\0';
	if (i >= profile__nstacks(p))
		return "(none)";
	profile__stack(p, i, &ids, &n, count);
	for (uint32_t j = 0; j < n && pos + 64 < sizeof(buf); j++)
		pos += (size_t)snprintf(
			buf + pos, sizeof(buf) - pos, "%s%s", j ? ";" : "",
			profile__string(p,
					profile__frame_get(p, ids[j])->name));
	return buf;
}

static int counted(struct fixture *f, uint32_t flags, uint32_t npy,
		   uint64_t count)
{
	struct sample_key key = { .pid = PID,
				  .tid = PID,
				  .depth = npy,
				  .flags = flags,
				  .kstack = -1,
				  .ustack = -1 };

	return collect__sample(&key, count, npy ? f->py : NULL, npy, &f->c);
}

static int with_native(struct fixture *f, uint32_t flags, uint32_t npy,
		       uint64_t count)
{
	struct collect_sample s = { .t = &f->t,
				    .tid = PID,
				    .flags = flags,
				    .count = count,
				    .py = f->py,
				    .npy = npy,
				    .nat = f->nat };

	return collect__add(&f->c, &s);
}

static const char *const ctypes_call[] = { "main", "_PyEval_EvalFrameDefault",
					   "ffi_call", "leaf_c" };

TEST(collect_root_markers_same_with_native)
{
	static const struct {
		uint32_t flags;
		const char *marker; /* "" for none */
	} cases[] = {
		{ 0, "" },
		{ SAMPLE_F_TRUNCATED, "[truncated];" },
		{ SAMPLE_F_CYCLE, "[frame chain loops];" },
		{ SAMPLE_F_PARTIAL, "[partial stack];" },
		{ SAMPLE_F_TRUNCATED | SAMPLE_F_CYCLE, "[truncated];" },
		{ SAMPLE_F_CYCLE | SAMPLE_F_PARTIAL, "[frame chain loops];" },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(*cases); k++) {
		char want[256];
		struct fixture f;
		uint64_t n;

		if (!setup(&f)) {
			teardown(&f);
			REQUIRE(false);
		}
		merged(&f, ctypes_call, 4, 2);
		CHECK_INT(f.nat->merged, MERGE_OK);
		CHECK_INT(counted(&f, cases[k].flags, 2, 3), 0);
		CHECK_INT(with_native(&f, cases[k].flags, 2, 1), 0);

		snprintf(want, sizeof(want), "unit-%d;%s[unknown];[unknown]",
			 PID, cases[k].marker);
		CHECK_STR(stack(f.prof, 0, &n), want);
		CHECK_INT(n, 3);
		snprintf(want, sizeof(want),
			 "unit-%d;%smain;[unknown];[unknown];ffi_call;leaf_c",
			 PID, cases[k].marker);
		CHECK_STR(stack(f.prof, 1, &n), want);
		CHECK_INT(n, 1);
		CHECK_INT(collect__lost(&f.c), 0);
		CHECK_INT(f.c.native_samples, 1);
		teardown(&f);
	}
}

TEST(collect_no_python_markers_with_native)
{
	struct fixture f;
	uint64_t n;

	if (!setup(&f)) {
		teardown(&f);
		REQUIRE(false);
	}
	/* Counted: the marker says why there is no Python frame. */
	CHECK_INT(counted(&f, SAMPLE_F_NO_TSTATE, 0, 1), 0);
	CHECK_STR(stack(f.prof, 0, &n), "unit-4242;[no Python thread state]");
	/* Native frames say what the thread runs: no marker. */
	merged(&f, ctypes_call + 2, 2, 0);
	CHECK_INT(f.nat->merged, MERGE_NO_PYTHON);
	CHECK_INT(with_native(&f, SAMPLE_F_NO_TSTATE, 0, 1), 0);
	CHECK_STR(stack(f.prof, 1, &n), "unit-4242;ffi_call;leaf_c");
	/* Nor those (the unwind failed): the marker again, as counted. */
	merged(&f, NULL, 0, 0);
	CHECK_INT(with_native(&f, SAMPLE_F_NO_TSTATE, 0, 1), 0);
	CHECK_INT(profile__nstacks(f.prof), 2);
	CHECK_STR(stack(f.prof, 0, &n), "unit-4242;[no Python thread state]");
	CHECK_INT(n, 2);
	teardown(&f);
}

TEST(collect_unmerged_marker)
{
	/* Three eval frames for one group of Python frames. */
	static const char *const two_evals[] = { "main",
						 "_PyEval_EvalFrameDefault",
						 "_PyEval_EvalFrameDefault",
						 "_PyEval_EvalFrameDefault" };
	struct fixture f;
	uint64_t n;

	if (!setup(&f)) {
		teardown(&f);
		REQUIRE(false);
	}
	merged(&f, two_evals, 4, 2);
	CHECK_INT(f.nat->merged, MERGE_MISMATCH);
	CHECK_INT(with_native(&f, SAMPLE_F_CYCLE, 2, 1), 0);
	CHECK_STR(
		stack(f.prof, 0, &n),
		"unit-4242;[unmerged];[frame chain loops];[unknown];[unknown];"
		"main;_PyEval_EvalFrameDefault;_PyEval_EvalFrameDefault;"
		"_PyEval_EvalFrameDefault");
	CHECK_INT(f.c.native_unmerged, 1);
	teardown(&f);
}

TEST(collect_failed_add_counted)
{
	struct fixture f;
	uint64_t n;

	if (!setup(&f)) {
		teardown(&f);
		REQUIRE(false);
	}
	/* A profile that holds one stack: a second one cannot be added. */
	profile__set_stacks_max(f.prof, 1);
	CHECK_INT(counted(&f, 0, 2, 5), 0);
	CHECK_INT(counted(&f, SAMPLE_F_CYCLE, 2, 7), 0); /* lost, counted */
	CHECK_INT(counted(&f, 0, 2, 2), 0); /* the stack it has: added */
	CHECK_INT(f.c.lost[COLLECT_LOST_PROFILE_FULL], 7);

	merged(&f, ctypes_call, 4, 2);
	CHECK_INT(with_native(&f, 0, 2, 1), -ENOSPC);
	CHECK_INT(f.c.lost[COLLECT_LOST_PROFILE_FULL], 8);
	CHECK_INT(f.c.native_samples, 0);

	/* More frames than the stack holds. */
	f.c.stack_max = 2;
	CHECK_INT(counted(&f, 0, 2, 4), 0);
	CHECK_INT(f.c.lost[COLLECT_LOST_TOO_DEEP], 4);

	/* Taken = written + lost. */
	CHECK_INT(profile__total(f.prof), 7);
	CHECK_INT(collect__lost(&f.c), 12);
	CHECK_STR(stack(f.prof, 0, &n), "unit-4242;[unknown];[unknown]");
	teardown(&f);
}

TEST(collect_drops_counted)
{
	struct native_event *ev = calloc(1, sizeof(*ev));
	struct unwinder *unw = unwinder__new();
	struct sample_key key = { .pid = PID, .depth = 2, .kstack = -1 };
	struct fixture f;

	if (!setup(&f) || !ev || !unw) {
		teardown(&f);
		free(ev);
		unwinder__free(unw);
		REQUIRE(false);
	}
	/* Counted path: the stack's segments gone, the process gone. */
	CHECK_INT(collect__sample(&key, 3, NULL, 2, &f.c), 0);
	CHECK_INT(f.c.lost[COLLECT_LOST_UNRESOLVED], 3);
	key.pid = PID + 1;
	CHECK_INT(collect__sample(&key, 2, f.py, 2, &f.c), 0);
	CHECK_INT(f.c.lost[COLLECT_LOST_NO_TARGET], 2);

	/* --native: a record cut short, no unwinder, the process gone. */
	ev->key.pid = PID + 1;
	collect__on_native(ev, sizeof(ev->hdr) + 8, &f.c);
	CHECK_INT(f.c.lost[COLLECT_LOST_NATIVE_SHORT], 1);
	collect__on_native(ev, sizeof(*ev), &f.c);
	CHECK_INT(f.c.lost[COLLECT_LOST_NATIVE_OFF], 1);
	REQUIRE(collect__set_native(&f.c, unw, NULL) == 0);
	collect__on_native(ev, sizeof(*ev), &f.c);
	CHECK_INT(f.c.lost[COLLECT_LOST_NO_TARGET], 3);

	CHECK_INT(collect__lost(&f.c), 8);
	CHECK_INT(profile__total(f.prof), 0);
	teardown(&f);
	unwinder__free(unw);
	free(ev);
}

static void *note_tid(void *arg)
{
	*(pid_t *)arg = (pid_t)syscall(SYS_gettid);
	return NULL;
}

/* A thread's name goes at the second prune that finds the thread gone
 * (at least NAMES_PRUNE_PERIOD after it ended, so its late samples keep
 * it), and a live thread's stays. */
TEST(collect_names_of_gone_threads_dropped)
{
	pid_t me = getpid(), live = (pid_t)syscall(SYS_gettid), gone = 0;
	uint32_t a, b;
	uint64_t v;
	pthread_t th;
	struct fixture f;

	if (!setup(&f)) {
		teardown(&f);
		REQUIRE(false);
	}
	f.c.no_threads = false;
	f.t.pid = me;
	REQUIRE(hashmap__set(&f.ts.by_pid, (uint64_t)me, (uintptr_t)&f.t) == 0);
	REQUIRE(pthread_create(&th, NULL, note_tid, &gone) == 0);
	REQUIRE(pthread_join(th, NULL) == 0);
	REQUIRE(gone > 0 && gone != live);
	a = profile__intern_str(f.prof, "Alive");
	b = profile__intern_str(f.prof, "Thread-1 (gone)");
	REQUIRE(hashmap__set(&f.t.names, (uint64_t)live, a) == 0);
	REQUIRE(hashmap__set(&f.t.names, (uint64_t)gone, b) == 0);

	/* First prune: the gone thread is marked, and still named. */
	collect__on_new_thread((uint32_t)me, 1, 0, &f.c);
	CHECK_INT(f.t.names.len, 2);
	CHECK(hashmap__get(&f.t.names, (uint64_t)gone, &v) && (uint32_t)v == b);
	/* Within the period: nothing is pruned. */
	f.t.names_read_at = 0;
	collect__on_new_thread((uint32_t)me, 2, 0, &f.c);
	CHECK_INT(f.t.names.len, 2);
	/* Second prune: the gone thread's name is dropped, the live one's
	 * kept as it was. */
	f.t.names_read_at = 0;
	f.t.names_pruned_at = 0;
	collect__on_new_thread((uint32_t)me, 3, 0, &f.c);
	CHECK_INT(f.t.names.len, 1);
	CHECK(!hashmap__get(&f.t.names, (uint64_t)gone, NULL));
	CHECK(hashmap__get(&f.t.names, (uint64_t)live, &v) && v == a);
	teardown(&f);
}
