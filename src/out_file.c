// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "out_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
