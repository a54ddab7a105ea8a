// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Tests of src/out/file.c: what is written in place and what replaced, that
 * a file has no name until it is complete, that a named temporary file (no
 * O_TMPFILE) goes with the signal that ends its writer, and that this
 * process's descriptors are written through.
 */
#include "unit.h"

#include "out/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Entries in dir, "." and ".." aside. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 &&
		     strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void remove_all(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static bool make_dir(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/pyprof-unit-file.XXXXXX");
	return mkdtemp(dir) != NULL;
}

TEST(out_file_in_place)
{
	char dir[64], link[PATH_MAX], fifo[PATH_MAX];

	REQUIRE(make_dir(dir, sizeof(dir)));
	CHECK(out_file__in_place("/dev/null"));
	CHECK(out_file__in_place("/dev/stdout"));
	CHECK(out_file__in_place("/dev/fd/2"));
	CHECK(out_file__in_place("/proc/self/fd/1"));
	CHECK(!out_file__in_place("/tmp/pyprof-unit-no-such-file.folded"));
	/* A symlink outside /dev and /proc is replaced, not followed. */
	snprintf(link, sizeof(link), "%s/p.folded", dir);
	REQUIRE(symlink("/dev/null", link) == 0);
	CHECK(!out_file__in_place(link));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	REQUIRE(mkfifo(fifo, 0600) == 0);
	CHECK(out_file__in_place(fifo));
	remove_all(dir);
}

TEST(out_file_check_finds_what_would_fail)
{
	char dir[64], path[PATH_MAX];

	REQUIRE(make_dir(dir, sizeof(dir)));
	CHECK_INT(out_file__check(dir), -EISDIR);
	snprintf(path, sizeof(path), "%s/no/such/dir.folded", dir);
	CHECK_INT(out_file__check(path), -ENOENT);
	snprintf(path, sizeof(path), "%s/p.folded", dir);
	CHECK_INT(out_file__check(path), 0);
	CHECK_INT(entries(dir), 0); /* nothing made to find out */
	CHECK_INT(out_file__check("/dev/fd/987"), -EBADF);
	CHECK_INT(out_file__check("/dev/null"), 0);
	remove_all(dir);
}

static void write_and_close(const char *path, unsigned flags, bool keep,
			    int *named_while_writing)
{
	struct out_file o;
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	REQUIRE(out_file__open_flags(&o, path, flags) == 0);
	fputs("a;b 1\n", o.f);
	*named_while_writing = entries(dir);
	CHECK_INT(out_file__close(&o, keep), 0);
}

TEST(out_file_is_named_only_when_complete)
{
	char dir[64], path[PATH_MAX], buf[64] = "";
	int named;
	FILE *f;

	REQUIRE(make_dir(dir, sizeof(dir)));
	snprintf(path, sizeof(path), "%s/p.folded", dir);
	write_and_close(path, 0, true, &named);
	CHECK_INT(named, 0);
	CHECK_INT(entries(dir), 1);
	f = fopen(path, "r");
	REQUIRE(f);
	CHECK(fgets(buf, sizeof(buf), f) != NULL);
	fclose(f);
	CHECK_STR(buf, "a;b 1\n");
	/* A failed write: nothing, and the old file untouched. */
	write_and_close(path, 0, false, &named);
	CHECK_INT(entries(dir), 1);
	/* Named from the start (no O_TMPFILE): removed when not kept. */
	unlink(path);
	write_and_close(path, OUT_FILE_NAMED, false, &named);
	CHECK_INT(named, 1);
	CHECK_INT(entries(dir), 0);
	write_and_close(path, OUT_FILE_NAMED, true, &named);
	CHECK_INT(entries(dir), 1);
	remove_all(dir);
}

/* A child writes path through a named temporary file and is killed by
 * sig midway: it dies of sig and leaves nothing. */
static void killed_while_writing(const char *dir, int sig)
{
	char path[PATH_MAX];
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/p.folded", dir);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct out_file o;

		out_file__remove_on_signals();
		if (out_file__open_flags(&o, path, OUT_FILE_NAMED) ||
		    entries(dir) != 1)
			_exit(3);
		fputs("a;b 1\n", o.f);
		fflush(o.f);
		kill(getpid(), sig);
		_exit(4); /* not reached: the signal ends it */
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status));
	if (WIFSIGNALED(status))
		CHECK_INT(WTERMSIG(status), sig);
	else
		CHECK_INT(WEXITSTATUS(status), 0);
	CHECK_INT(entries(dir), 0);
}

TEST(out_file_named_temp_goes_with_the_signal)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
	char dir[64];

	REQUIRE(make_dir(dir, sizeof(dir)));
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		killed_while_writing(dir, sigs[i]);
	remove_all(dir);
}

TEST(out_file_own_descriptor_is_written_through)
{
	char path[64], buf[64] = "";
	struct out_file o;
	int p[2], fd;
	ssize_t n;

	REQUIRE(pipe(p) == 0);
	fd = fcntl(p[1], F_DUPFD, 50);
	REQUIRE(fd >= 0);
	close(p[1]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	CHECK_INT(out_file__check(path), 0);
	REQUIRE(out_file__open(&o, path) == 0);
	CHECK(o.direct && o.own_fd);
	fputs("a;b 1\n", o.f);
	CHECK_INT(out_file__close(&o, true), 0);
	close(fd);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	REQUIRE(n > 0);
	buf[n] = '\0';
	CHECK_STR(buf, "a;b 1\n");
	/* Open, but only for reading: refused. */
	fd = open("/dev/null", O_RDONLY);
	REQUIRE(fd >= 0);
	snprintf(path, sizeof(path), "/dev/fd/%d", fd);
	CHECK_INT(out_file__check(path), -EBADF);
	CHECK_INT(out_file__open(&o, path), -EBADF);
	close(fd);
}
