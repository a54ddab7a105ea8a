/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* `pyprof-bpf view FILE`: a saved profile in the live view's table. */
#ifndef PYPROF_CMD_VIEW_H
#define PYPROF_CMD_VIEW_H

/* argv[0] is "view"; returns the exit code. */
int cmd_view(int argc, char **argv);

#endif /* PYPROF_CMD_VIEW_H */
