/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * The subcommands, one file each under src/cmd/.  Each takes the command
 * line from its own name on (argv[0] is "view", "convert", ...; for record,
 * the program's name) and returns the process's exit code.
 */
#ifndef PYPROF_CMD_H
#define PYPROF_CMD_H

/* `pyprof-bpf [-p PID | -a | -- COMMAND]`: sample and write a profile. */
int cmd_record(int argc, char **argv);
/* `pyprof-bpf view FILE`: a saved profile in the live view's table. */
int cmd_view(int argc, char **argv);
/* `pyprof-bpf convert IN -o OUT`: folded stacks into another format. */
int cmd_convert(int argc, char **argv);
/* `pyprof-bpf serve`: the always-on agent, answering over HTTP. */
int cmd_serve(int argc, char **argv);
/* `pyprof-bpf diff BASE HEAD`: 0 no regression, 1 a regression, 2 bad
 * usage or input. */
int cmd_diff(int argc, char **argv);

#endif /* PYPROF_CMD_H */
