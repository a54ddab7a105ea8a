// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Fuzzes what the agent's control socket parses from a client: the words
 * of a "start" request (control__parse_start), any bytes up to a line's
 * end, as the agent splits them.  Oracles: an error says why on one line; what is accepted is in
 * range (frequency 1 to 10000, a pid and a tid above 0, a known format,
 * no descendants with one thread).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/options.h"
#include "serve/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[CONTROL_LINE_MAX], err[512];
	struct control_req rq;

	if (size >= sizeof(line))
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	line[strcspn(line, "\n")] = '\0'; /* a request is one line */
	err[0] = '\0';
	if (control__parse_start(line, 4242, &rq, err, sizeof(err))) {
		if (!err[0] || strchr(err, '\n'))
			abort(); /* an error says why, on one line */
		return 0;
	}
	if (rq.freq < 1 || rq.freq > MAX_FREQ || rq.pid <= 0 || rq.tid < 0 ||
	    (unsigned)rq.fmt >= OUT__MAX || (rq.tid && rq.children))
		abort();
	return 0;
}
