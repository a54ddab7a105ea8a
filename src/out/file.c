// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "out/file.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Links followed from a path to one of our descriptors (/dev/stdout ->
 * /proc/self/fd/1 takes one). */
#define MAX_HOPS 8
/* ".tmp." and six characters after the final name. */
#define TMP_SUFFIX_LEN 11

/* The temporary name on disk, while there is one, for the signal handler
 * of out_file__remove_on_signals().  One file is written at a time. */
static char sig_tmp[PATH_MAX];
static volatile sig_atomic_t sig_tmp_set;

static bool is_stream(mode_t m)
{
	return S_ISCHR(m) || S_ISFIFO(m) || S_ISSOCK(m);
}

/* The directory path is in, "." for a bare name, in buf. */
static void dir_of(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash) {
		snprintf(buf, len, ".");
		return;
	}
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= len)
		n = len - 1;
	memcpy(buf, path, n);
	buf[n] = '\0';
}

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The real directory of path (symlinks and "..", resolved), in buf
 * (PATH_MAX).  false when it does not exist. */
static bool real_dir(const char *path, char *buf)
{
	char dir[PATH_MAX];

	dir_of(path, dir, sizeof(dir));
	return realpath(dir, buf) != NULL;
}

static bool starts_dir(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '/' || !path[n]);
}

/* /dev and /proc belong to the system: what is there is never replaced. */
static bool is_system_dir(const char *real)
{
	return starts_dir(real, "/dev") || starts_dir(real, "/proc");
}

/* Whether real (a resolved directory) is this process's fd directory:
 * /proc/PID/fd or /proc/PID/task/TID/fd, PID being /proc/self's. */
static bool is_own_fd_dir(const char *real)
{
	char self[PATH_MAX];
	const char *rest;
	size_t n;

	if (!realpath("/proc/self", self))
		return false;
	n = strlen(self);
	if (strncmp(real, self, n) != 0)
		return false;
	rest = real + n;
	if (strcmp(rest, "/fd") == 0)
		return true;
	if (strncmp(rest, "/task/", 6) != 0)
		return false;
	rest += 6;
	while (*rest >= '0' && *rest <= '9')
		rest++;
	return strcmp(rest, "/fd") == 0;
}

/* A descriptor number: digits only, no sign, at most INT_MAX; or -1. */
static int fd_number(const char *s)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return -1;
	}
	return (int)v;
}

/*
 * The descriptor of this process that path names (/proc/self/fd/1,
 * /dev/fd/1, /dev/stdout and the system's links to them), open or not; or
 * -1.  Written through that descriptor, `-o /dev/stdout > out.folded`
 * fills out.folded, `>> log` appends, and a socket works too.
 */
static int own_fd(const char *path)
{
	char cur[PATH_MAX], link[PATH_MAX], real[PATH_MAX], dir[PATH_MAX];
	ssize_t n;

	if (snprintf(cur, sizeof(cur), "%s", path) >= (int)sizeof(cur))
		return -1;
	for (int hop = 0; hop < MAX_HOPS; hop++) {
		if (!real_dir(cur, real))
			return -1;
		if (is_own_fd_dir(real))
			return fd_number(base_of(cur));
		/* Only the system's links lead to a descriptor: one planted
		 * elsewhere is replaced, not followed. */
		if (!is_system_dir(real))
			return -1;
		n = readlink(cur, link, sizeof(link) - 1);
		if (n < 0)
			return -1;
		link[n] = '\0';
		if (link[0] == '/') {
			memcpy(cur, link, (size_t)n + 1);
		} else {
			dir_of(cur, dir, sizeof(dir));
			if (snprintf(cur, sizeof(cur), "%s/%s", dir, link) >=
			    (int)sizeof(cur))
				return -1;
		}
	}
	return -1;
}

bool out_file__in_place(const char *path)
{
	char real[PATH_MAX];
	struct stat st;

	if (own_fd(path) >= 0)
		return true;
	if (lstat(path, &st) != 0)
		return false;
	/* Renaming over /dev/null, or over the /dev/stdout symlink, would
	 * leave a regular file there for every program. Any other symlink
	 * is replaced, never followed: one planted in /tmp towards a disk
	 * is not written through. */
	return is_stream(st.st_mode) ||
	       (real_dir(path, real) && is_system_dir(real));
}

static int check_name(const char *path)
{
	if (strlen(path) + TMP_SUFFIX_LEN >= PATH_MAX ||
	    strlen(base_of(path)) + TMP_SUFFIX_LEN > NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* A descriptor opened for writing, or -EBADF. */
static int writable_fd(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	return 0;
}

/* An unnamed file in dir, or -errno; -EOPNOTSUPP when the file system
 * (or the kernel) has no O_TMPFILE. */
static int open_unnamed(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);

	if (fd >= 0)
		return fd;
	/* Kernels without O_TMPFILE see O_DIRECTORY and fail with EISDIR. */
	if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
		return -EOPNOTSUPP;
	return -errno;
}

int out_file__check(const char *path)
{
	char dir[PATH_MAX];
	struct stat st;
	int fd;

	fd = own_fd(path);
	if (fd >= 0)
		return writable_fd(fd);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return -EISDIR;
	if (out_file__in_place(path)) {
		if (stat(path, &st) != 0)
			return -errno;
		if (S_ISSOCK(st.st_mode))
			return -EOPNOTSUPP;
		return access(path, W_OK) == 0 ? 0 : -errno;
	}
	if (check_name(path))
		return -ENAMETOOLONG;
	dir_of(path, dir, sizeof(dir));
	/* Made and gone at once: nothing is left if we are killed. */
	fd = open_unnamed(dir);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (fd != -EOPNOTSUPP)
		return fd;
	if (stat(dir, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return access(dir, W_OK | X_OK) == 0 ? 0 : -errno;
}

/* Blocks the signals out_file__remove_on_signals() handles, so that a
 * name is never on disk without the handler knowing it. */
static void block_signals(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &set, old);
}

static void remember_tmp(const char *tmp)
{
	snprintf(sig_tmp, sizeof(sig_tmp), "%s", tmp);
	sig_tmp_set = 1;
}

static void forget_tmp(void)
{
	sig_tmp_set = 0;
}

static int finish_open(struct out_file *o, int fd)
{
	int err;

	o->f = fdopen(fd, "w");
	if (o->f)
		return 0;
	err = -errno;
	close(fd);
	if (o->named) {
		unlink(o->tmp);
		forget_tmp();
	}
	return err;
}

/* In place: a device, a FIFO (maybe waiting for its reader), anything
 * under /dev or /proc. */
static int open_in_place(struct out_file *o, const char *path, unsigned flags)
{
	struct stat st;
	int fd;

	o->direct = true;
	if (stat(path, &st) != 0)
		return -errno;
	if (S_ISSOCK(st.st_mode))
		return -EOPNOTSUPP;
	if (S_ISFIFO(st.st_mode)) {
		/* Without a reader, a plain open would block: say so first
		 * (-ENXIO), wait only when asked. */
		fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 && errno == ENXIO && (flags & OUT_FILE_WAIT))
			fd = open(path, O_WRONLY | O_CLOEXEC);
		else if (fd >= 0)
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	} else {
		fd = open(path, O_WRONLY | O_TRUNC | O_NOCTTY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	return finish_open(o, fd);
}

/* A named temporary file, where O_TMPFILE is not to be had. */
static int open_named(struct out_file *o, const char *path)
{
	sigset_t old;
	int fd, err;

	snprintf(o->tmp, sizeof(o->tmp), "%s.tmp.XXXXXX", path);
	block_signals(&old);
	fd = mkostemp(o->tmp, O_CLOEXEC);
	err = -errno;
	if (fd >= 0) {
		o->named = true;
		remember_tmp(o->tmp);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (fd < 0)
		return err;
	/* mkstemp makes it 0600; an output file is for others to read. */
	fchmod(fd, 0644);
	return finish_open(o, fd);
}

int out_file__open_flags(struct out_file *o, const char *path, unsigned flags)
{
	char dir[PATH_MAX];
	struct stat st;
	int fd;

	memset(o, 0, sizeof(*o));
	o->final = path;
	fd = own_fd(path);
	if (fd >= 0) {
		o->direct = o->own_fd = true;
		if (writable_fd(fd))
			return -EBADF;
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return -errno;
		return finish_open(o, fd);
	}
	/* Found now, not after the work: the rename at the end would fail. */
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return -EISDIR;
	if (out_file__in_place(path))
		return open_in_place(o, path, flags);
	if (check_name(path))
		return -ENAMETOOLONG;
	dir_of(path, dir, sizeof(dir));
	fd = flags & OUT_FILE_NAMED ? -EOPNOTSUPP : open_unnamed(dir);
	if (fd == -EOPNOTSUPP)
		return open_named(o, path);
	if (fd < 0)
		return fd;
	/* Like mkstemp's file below: for others to read, whatever umask. */
	fchmod(fd, 0644);
	return finish_open(o, fd);
}

int out_file__open(struct out_file *o, const char *path)
{
	return out_file__open_flags(o, path, 0);
}

/* Six characters for a temporary name, different on each call. */
static void random_suffix(char *out)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	static uint64_t counter;
	uint64_t r = 0;
	struct timespec ts;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^
		    (uint64_t)getpid() << 16;
	}
	r += counter++ * 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 6; i++, r /= sizeof(chars) - 1)
		out[i] = chars[r % (sizeof(chars) - 1)];
	out[6] = '\0';
}

/* Gives the unnamed file fd a temporary name beside final, in o->tmp. */
static int name_unnamed(struct out_file *o, int fd)
{
	char proc[64], suffix[8];
	sigset_t old;
	int rc = -EEXIST;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	block_signals(&old);
	for (int tries = 0; tries < 100 && rc == -EEXIST; tries++) {
		random_suffix(suffix);
		snprintf(o->tmp, sizeof(o->tmp), "%s.tmp.%s", o->final, suffix);
		rc = linkat(AT_FDCWD, proc, AT_FDCWD, o->tmp,
			    AT_SYMLINK_FOLLOW);
		/* Without /proc: the same, with CAP_DAC_READ_SEARCH. */
		if (rc && errno == ENOENT)
			rc = linkat(fd, "", AT_FDCWD, o->tmp, AT_EMPTY_PATH);
		rc = rc ? -errno : 0;
	}
	if (!rc) {
		o->named = true;
		remember_tmp(o->tmp);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int out_file__close(struct out_file *o, bool keep)
{
	int err = 0;

	if (!o->f)
		return 0;
	if (fflush(o->f) != 0)
		err = -errno;
	/* Complete: now it may have a name. */
	if (!err && keep && !o->direct && !o->named)
		err = name_unnamed(o, fileno(o->f));
	if (fclose(o->f) != 0 && !err)
		err = -errno;
	o->f = NULL;
	if (o->direct)
		return err;
	if (err || !keep) {
		if (o->named)
			unlink(o->tmp);
		forget_tmp();
		return err;
	}
	if (rename(o->tmp, o->final) != 0) {
		o->kept = true;
		forget_tmp();
		return -errno;
	}
	forget_tmp();
	return 0;
}

static void remove_and_die(int sig)
{
	if (sig_tmp_set)
		unlink(sig_tmp);
	/* SA_RESETHAND put the default action back: die of sig. */
	raise(sig);
}

void out_file__remove_on_signals(void)
{
	struct sigaction sa = {
		.sa_handler = remove_and_die,
		.sa_flags = (int)(SA_RESETHAND | SA_NODEFER),
	};
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}
