// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * pyprof-bpf: an eBPF sampling profiler for CPython.
 *
 * main only picks the subcommand (src/cmd/, one file each); recording a
 * profile is the default, with no subcommand name.
 */
#include <string.h>

#include "cmd/cmd.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "view", cmd_view },
	{ "convert", cmd_convert },
	{ "diff", cmd_diff },
	{ "serve", cmd_serve },
};

int main(int argc, char **argv)
{
	if (argc > 1) {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]);
		     i++)
			if (strcmp(argv[1], commands[i].name) == 0)
				return commands[i].fn(argc - 1, argv + 1);
	}
	return cmd_record(argc, argv);
}
