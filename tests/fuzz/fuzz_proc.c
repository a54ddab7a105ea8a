// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Fuzzes the /proc parsers (src/sampler/proc.c): lines of /proc/PID/maps (whose paths
 * a target chooses: any file name it maps), and the /proc/PID/status and
 * /proc/PID/stat readers (stat's comm is the target's to set, parentheses
 * and spaces included).
 * Input: [0] which file (b % 3: maps, status, stat), then its text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/proc.h"

static void fuzz_maps(char *text)
{
	char *line = text, *nl;

	/* As proc__maps does: one line at a time, newline included. */
	for (; *line; line = nl + 1) {
		struct proc_map m;
		char saved;

		nl = strchr(line, '\n');
		if (!nl)
			nl = line + strlen(line) - 1;
		saved = nl[1];
		nl[1] = '\0';
		memset(&m, 0, sizeof(m));
		if (proc__parse_map_line(line, &m) == 0) {
			if (m.end < m.start || strchr(m.path, '\n') ||
			    strlen(m.perms) > 4)
				abort();
			free(m.path);
		}
		nl[1] = saved;
		if (!saved)
			break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long long ut, st, start;
	char *text, state;
	pid_t v;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		fuzz_maps(text);
		break;
	case 1:
		if (proc__parse_status_number(text, "\nTgid:", &v) == 0 &&
		    v <= 0)
			abort();
		proc__parse_status_number(text, "\nNSpid:", &v);
		break;
	case 2:
		proc__parse_stat(text, &state, &ut, &st, &start);
		break;
	}
	free(text);
	return 0;
}
