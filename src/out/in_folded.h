/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Reading folded stacks ("root;...;leaf count\n") back into a profile, for
 * `view`, `convert` and `diff`.  The file is untrusted input: lines, frames
 * and counts are bounded, and a malformed line is an error that names the
 * file and the line number.
 */
#ifndef PYPROF_IN_FOLDED_H
#define PYPROF_IN_FOLDED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/profile.h"

#define IN_FOLDED_LINE_MAX (1u << 20) /* bytes in one line */
#define IN_FOLDED_FRAMES_MAX 65536 /* frames in one stack */

/*
 * Frame kinds come back from the text: "name (file:line)" is a Python frame,
 * "[...]" a marker, "name_[k]" a kernel frame, a root "comm-PID" the process
 * and the frame after it the thread; anything else is a native frame.
 */

/*
 * Reads every line of f into p.  When p2 is not NULL the file may be
 * differential ("stack N M", FlameGraph's difffolded form): N goes to p and
 * M to p2, and a one-count line adds its stack to p2 with count 0, so both
 * profiles hold every stack.  Returns 0, or -EINVAL / -ENOMEM / -EIO with
 * one line in err ("NAME:LINE: what is wrong").
 */
int in_folded__read(struct profile *p, struct profile *p2, FILE *f,
		    const char *name, char *err, size_t errlen);

/* The same for a file path ("-" is stdin); also -errno when it cannot be
 * opened, -EISDIR for a directory, -EBADF when stdin is closed. */
int in_folded__read_path(struct profile *p, struct profile *p2,
			 const char *path, char *err, size_t errlen);

#endif /* PYPROF_IN_FOLDED_H */
