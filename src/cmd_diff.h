/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* `pyprof-bpf diff`: compares two profiles, gates on a regression. */
#ifndef PYPROF_CMD_DIFF_H
#define PYPROF_CMD_DIFF_H

/* argv[0] is "diff".  Returns the exit code: 0 no regression, 1 a
 * regression, 2 bad usage or input. */
int cmd_diff(int argc, char **argv);

#endif /* PYPROF_CMD_DIFF_H */
