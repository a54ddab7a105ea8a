// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "lib/msg.h"

#include <stdarg.h>
#include <stdio.h>

void msg__fail(const char *who, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", who);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
