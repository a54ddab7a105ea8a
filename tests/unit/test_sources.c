// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/lib/sources.c, the heatmap's source store: its bounds (files,
 * bytes per file, bytes in all), names that are no files, files that are
 * missing, not regular (a FIFO must not block, a device must not be
 * opened) or too big; and, as root, a process's own files: through its
 * root (a chroot, with an absolute symbolic link that must resolve inside
 * it), from its working directory, only what its user may read, and
 * whether a file changed after it started.
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "lib/sources.h"

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(text, 1, len, f) != len || fclose(f))
		unit__fail(__FILE__, __LINE__, "cannot write %s", path);
}

/* A fresh directory under /tmp, removed with rm -rf at the end. */
static void tmpdir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/pyprof-sources-XXXXXX");
	if (!mkdtemp(buf))
		buf[0] = '\0';
}

static void rmtree(const char *dir)
{
	char cmd[PATH_MAX + 16];

	if (!dir[0] || strncmp(dir, "/tmp/pyprof-sources-", 20) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		unit__fail(__FILE__, __LINE__, "cannot remove %s", dir);
}

TEST(sources_put_and_bounds)
{
	struct sources *s = sources__new();
	const struct source *src;
	char why[256];

	REQUIRE(s);
	sources__set_limits(s, 2, 10, 15);
	CHECK_INT(sources__put(s, "a.py", "x = 1\n", 6), 0);
	CHECK_INT(sources__put(s, "a.py", "other\n", 6), 0); /* first wins */
	src = sources__get(s, "a.py");
	REQUIRE(src);
	CHECK_INT(src->state, SOURCE_OK);
	CHECK_INT(src->len, 6);
	CHECK(!memcmp(src->text, "x = 1\n", 7)); /* NUL-terminated */
	/* Larger than a file may be: remembered, not kept. */
	CHECK_INT(sources__put(s, "big.py", "0123456789a", 11), 0);
	src = sources__get(s, "big.py");
	REQUIRE(src);
	CHECK_INT(src->state, SOURCE_TOO_BIG);
	CHECK_INT(src->size, 11);
	CHECK_STR(
		sources__why(s, src, why, sizeof(why)),
		"not kept: 11 bytes, larger than the 10 bytes a file may have");
	/* 6 + 10 > 15 bytes in all. */
	CHECK_INT(sources__put(s, "c.py", "0123456789", 10), 0);
	CHECK_INT(sources__get(s, "c.py")->state, SOURCE_LIMIT);
	CHECK_INT(sources__put(s, "d.py", "12345", 5), 0);
	CHECK_INT(sources__get(s, "d.py")->state, SOURCE_OK);
	/* Two files kept: the third is past the bound on files. */
	CHECK_INT(sources__put(s, "e.py", "1", 1), 0);
	src = sources__get(s, "e.py");
	CHECK_INT(src->state, SOURCE_LIMIT);
	CHECK_STR(sources__why(s, src, why, sizeof(why)),
		  "not kept: the heatmap keeps at most 2 files and 0 MiB of "
		  "source");
	CHECK_INT(sources__count(s), 5);
	CHECK(sources__get(s, "nope.py") == NULL);
	CHECK(!sources__has(s, "nope.py"));
	/* Many names: every one is found again. */
	for (int i = 0; i < 3000; i++) {
		char name[32];

		snprintf(name, sizeof(name), "f%d.py", i);
		CHECK_INT(sources__put(s, name, "", 0), 0);
	}
	for (int i = 0; i < 3000; i++) {
		char name[32];

		snprintf(name, sizeof(name), "f%d.py", i);
		src = sources__get(s, name);
		if (!src || strcmp(src->name, name) != 0) {
			unit__fail(__FILE__, __LINE__, "%s lost", name);
			break;
		}
	}
	/* Past SOURCES_NAMES_MAX names, nothing more is remembered. */
	for (int i = 0; i < SOURCES_NAMES_MAX; i++) {
		char name[32];

		snprintf(name, sizeof(name), "g%d.py", i);
		CHECK_INT(sources__put(s, name, "", 0), 0);
	}
	CHECK_INT(sources__count(s), SOURCES_NAMES_MAX);
	sources__free(s);
}

TEST(sources_names_that_are_no_files)
{
	struct sources *s = sources__new();
	char why[256];

	REQUIRE(s);
	CHECK(!sources__is_path("<string>"));
	CHECK(!sources__is_path("<frozen importlib._bootstrap>"));
	CHECK(!sources__is_path(""));
	CHECK(sources__is_path("/srv/<odd>/app.py"));
	CHECK(sources__is_path("app.py"));
	CHECK_INT(sources__read_local(s, "<stdin>"), 0);
	CHECK_INT(sources__get(s, "<stdin>")->state, SOURCE_NOT_FILE);
	CHECK_STR(sources__why(s, sources__get(s, "<stdin>"), why, sizeof(why)),
		  "not a file: code compiled from a string, or frozen into "
		  "the interpreter");
	CHECK_INT(sources__read_pid(s, getpid(), "<frozen zipimport>"), 0);
	CHECK_INT(sources__get(s, "<frozen zipimport>")->state,
		  SOURCE_NOT_FILE);
	sources__free(s);
}

TEST(sources_local_files)
{
	struct sources *s = sources__new();
	char dir[PATH_MAX], path[PATH_MAX + 32], fifo[PATH_MAX + 32],
		big[PATH_MAX + 32], why[256];
	const struct source *src;
	char *text;

	REQUIRE(s);
	tmpdir(dir, sizeof(dir));
	REQUIRE(dir[0]);
	snprintf(path, sizeof(path), "%s/app.py", dir);
	write_file(path, "caf\xe9\0x\n", 7);
	CHECK_INT(sources__read_local(s, path), 0);
	src = sources__get(s, path);
	REQUIRE(src);
	CHECK_INT(src->state, SOURCE_OK);
	CHECK(src->local);
	CHECK(!src->changed);
	CHECK_INT(src->len, 7);
	CHECK(!memcmp(src->text, "caf\xe9\0x\n", 8));
	/* Missing. */
	snprintf(path, sizeof(path), "%s/missing.py", dir);
	CHECK_INT(sources__read_local(s, path), 0);
	src = sources__get(s, path);
	CHECK_INT(src->state, SOURCE_MISSING);
	CHECK_STR(sources__why(s, src, why, sizeof(why)),
		  "not found (No such file or directory)");
	/* A directory, a FIFO (opening it to read would block), a device
	 * (opening one can do something): none is opened for reading. */
	CHECK_INT(sources__read_local(s, dir), 0);
	CHECK_INT(sources__get(s, dir)->state, SOURCE_NOT_FILE);
	snprintf(fifo, sizeof(fifo), "%s/fifo.py", dir);
	REQUIRE(mkfifo(fifo, 0644) == 0);
	CHECK_INT(sources__read_local(s, fifo), 0);
	CHECK_INT(sources__get(s, fifo)->state, SOURCE_NOT_FILE);
	CHECK_STR(sources__why(s, sources__get(s, fifo), why, sizeof(why)),
		  "not a regular file");
	CHECK_INT(sources__read_local(s, "/dev/zero"), 0);
	CHECK_INT(sources__get(s, "/dev/zero")->state, SOURCE_NOT_FILE);
	/* Larger than a file may be (1 MiB), by its size, unread. */
	snprintf(big, sizeof(big), "%s/big.py", dir);
	text = calloc(1, SOURCES_FILE_BYTES_MAX + 1);
	REQUIRE(text);
	write_file(big, text, SOURCES_FILE_BYTES_MAX + 1);
	free(text);
	CHECK_INT(sources__read_local(s, big), 0);
	src = sources__get(s, big);
	CHECK_INT(src->state, SOURCE_TOO_BIG);
	CHECK_INT(src->size, SOURCES_FILE_BYTES_MAX + 1);
	/* An empty file is a file of no lines. */
	snprintf(path, sizeof(path), "%s/empty.py", dir);
	write_file(path, "", 0);
	CHECK_INT(sources__read_local(s, path), 0);
	CHECK_INT(sources__get(s, path)->state, SOURCE_OK);
	CHECK_INT(sources__get(s, path)->len, 0);
	sources__free(s);
	rmtree(dir);
}

/* A child chrooted to root (if not NULL) with working directory cwd,
 * running as uid (if not 0), stopped in pause(); -1 on failure. */
static pid_t child(const char *root, const char *cwd, uid_t uid)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if ((root && chroot(root)) || chdir(cwd) ||
		    (uid && (setgid(uid) || setuid(uid))))
			_exit(1);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1) {
		close(p[0]);
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		return -1;
	}
	close(p[0]);
	return pid;
}

static void reap(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

TEST(sources_process_root_cwd_and_links)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], why[256];
	struct sources *s;
	const struct source *src;
	pid_t pid;

	if (geteuid() != 0)
		SKIP("chroot needs root");
	tmpdir(dir, sizeof(dir));
	REQUIRE(dir[0]);
	snprintf(path, sizeof(path), "%s/app", dir);
	REQUIRE(mkdir(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/app/main.py", dir);
	write_file(path, "inside = True\n", 14);
	/* An absolute link: inside the root it names /app/main.py; from
	 * ours it names nothing (or someone else's file). */
	snprintf(path, sizeof(path), "%s/app/link.py", dir);
	REQUIRE(symlink("/app/main.py", path) == 0);
	pid = child(dir, "/app", 0);
	REQUIRE(pid > 0);
	s = sources__new();
	REQUIRE(s);
	CHECK_INT(sources__read_pid(s, pid, "/app/main.py"), 0);
	CHECK_INT(sources__read_pid(s, pid, "/app/link.py"), 0);
	CHECK_INT(sources__read_pid(s, pid, "main.py"), 0); /* from its cwd */
	CHECK_INT(sources__read_pid(s, pid, "/app/none.py"), 0);
	CHECK_INT(sources__read_pid(s, pid, "/app/../../app/main.py"), 0);
	for (int i = 0; i < 3; i++) {
		const char *name = i == 0 ? "/app/main.py" :
				   i == 1 ? "/app/link.py" :
					    "main.py";

		src = sources__get(s, name);
		REQUIRE(src);
		CHECK_INT(src->state, SOURCE_OK);
		CHECK(!src->local);
		if (src->state == SOURCE_OK)
			CHECK_STR(src->text, "inside = True\n");
	}
	CHECK_INT(sources__get(s, "/app/none.py")->state, SOURCE_MISSING);
	/* ".." stops at the process's root, as it does for the process. */
	CHECK_INT(sources__get(s, "/app/../../app/main.py")->state, SOURCE_OK);
	reap(pid);
	/* Gone: the file is not read from anyone else's root. */
	CHECK_INT(sources__read_pid(s, pid, "/app/later.py"), 0);
	src = sources__get(s, "/app/later.py");
	CHECK_INT(src->state, SOURCE_GONE);
	CHECK_STR(sources__why(s, src, why, sizeof(why)),
		  "not read: the process had exited before its source could "
		  "be read");
	/* Another process that names it may still have it. */
	snprintf(path, sizeof(path), "%s/app/later.py", dir);
	write_file(path, "later = 1\n", 10);
	pid = child(dir, "/", 0);
	REQUIRE(pid > 0);
	CHECK_INT(sources__read_pid(s, pid, "/app/later.py"), 0);
	src = sources__get(s, "/app/later.py");
	CHECK_INT(src->state, SOURCE_OK);
	CHECK_STR(src->text, "later = 1\n");
	reap(pid);
	sources__free(s);
	rmtree(dir);
}

TEST(sources_only_what_the_target_may_read)
{
	char dir[PATH_MAX], secret[PATH_MAX + 32], open_[PATH_MAX + 32],
		why[256];
	struct sources *s;
	pid_t pid;

	if (geteuid() != 0)
		SKIP("a process of another user needs root");
	tmpdir(dir, sizeof(dir));
	REQUIRE(dir[0]);
	REQUIRE(chmod(dir, 0755) == 0);
	snprintf(secret, sizeof(secret), "%s/secret.py", dir);
	write_file(secret, "password = 1\n", 13);
	REQUIRE(chmod(secret, 0600) == 0);
	snprintf(open_, sizeof(open_), "%s/open.py", dir);
	write_file(open_, "x = 1\n", 6);
	REQUIRE(chmod(open_, 0644) == 0);
	pid = child(NULL, "/", 65534); /* nobody */
	REQUIRE(pid > 0);
	s = sources__new();
	REQUIRE(s);
	CHECK_INT(sources__read_pid(s, pid, secret), 0);
	CHECK_INT(sources__read_pid(s, pid, open_), 0);
	CHECK_INT(sources__get(s, secret)->state, SOURCE_DENIED);
	CHECK(sources__get(s, secret)->text == NULL);
	CHECK_STR(sources__why(s, sources__get(s, secret), why, sizeof(why)),
		  "not kept: the profiled process's user may not read it");
	CHECK_INT(sources__get(s, open_)->state, SOURCE_OK);
	reap(pid);
	sources__free(s);
	rmtree(dir);
}

TEST(sources_changed_after_the_process_started)
{
	char dir[PATH_MAX], old[PATH_MAX + 32], newer[PATH_MAX + 32];
	struct utimbuf t;
	struct sources *s;
	pid_t pid;

	tmpdir(dir, sizeof(dir));
	REQUIRE(dir[0]);
	snprintf(old, sizeof(old), "%s/old.py", dir);
	snprintf(newer, sizeof(newer), "%s/new.py", dir);
	write_file(old, "a = 1\n", 6);
	write_file(newer, "a = 2\n", 6);
	t.actime = t.modtime = time(NULL) - 3600;
	REQUIRE(utime(old, &t) == 0);
	pid = child(NULL, "/", 0);
	REQUIRE(pid > 0);
	t.actime = t.modtime = time(NULL) + 60;
	REQUIRE(utime(newer, &t) == 0);
	s = sources__new();
	REQUIRE(s);
	CHECK_INT(sources__read_pid(s, pid, old), 0);
	CHECK_INT(sources__read_pid(s, pid, newer), 0);
	CHECK_INT(sources__get(s, old)->state, SOURCE_OK);
	CHECK(!sources__get(s, old)->changed);
	CHECK_INT(sources__get(s, newer)->state, SOURCE_OK);
	CHECK(sources__get(s, newer)->changed);
	reap(pid);
	sources__free(s);
	rmtree(dir);
}
