/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* `pyprof-bpf convert`: folded stacks into another output format. */
#ifndef PYPROF_CMD_CONVERT_H
#define PYPROF_CMD_CONVERT_H

/* argv[0] is "convert".  Returns the exit code. */
int cmd_convert(int argc, char **argv);

#endif /* PYPROF_CMD_CONVERT_H */
