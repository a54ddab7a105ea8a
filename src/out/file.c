// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "out/file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_stream(mode_t m)
{
	return S_ISCHR(m) || S_ISFIFO(m) || S_ISSOCK(m);
}

/*
 * Renaming over /dev/null would make it a file.  Any symlink other than
 * the system's own is replaced, never followed: one planted in /tmp
 * towards a disk is not written through.
 */
bool out_file__in_place(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return false;
	if (is_stream(st.st_mode))
		return true;
	if (!S_ISLNK(st.st_mode) || stat(path, &st) != 0 ||
	    !is_stream(st.st_mode))
		return false;
	return strncmp(path, "/dev/", 5) == 0 ||
	       strncmp(path, "/proc/", 6) == 0;
}

int out_file__open(struct out_file *o, const char *path)
{
	struct stat st;
	int fd, err;

	memset(o, 0, sizeof(*o));
	if (snprintf(o->tmp, sizeof(o->tmp), "%s.tmp.XXXXXX", path) >=
	    (int)sizeof(o->tmp))
		return -ENAMETOOLONG;
	/* Found now, not after the work: the rename at the end would fail. */
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return -EISDIR;
	if (out_file__in_place(path)) {
		o->f = fopen(path, "w");
		if (!o->f)
			return -errno;
		o->direct = true;
		o->final = path;
		return 0;
	}
	fd = mkstemp(o->tmp);
	if (fd < 0)
		return -errno;
	/* mkstemp makes it 0600; an output file is for others to read. */
	fchmod(fd, 0644);
	o->f = fdopen(fd, "w");
	if (!o->f) {
		err = -errno;
		close(fd);
		unlink(o->tmp);
		return err;
	}
	o->final = path;
	return 0;
}

int out_file__close(struct out_file *o, bool keep)
{
	int err = 0;

	if (!o->f)
		return 0;
	if (fclose(o->f) != 0)
		err = -errno;
	o->f = NULL;
	if (o->direct)
		return err;
	if (err || !keep) {
		unlink(o->tmp);
		return err;
	}
	if (rename(o->tmp, o->final) != 0) {
		o->kept = true;
		return -errno;
	}
	return 0;
}
