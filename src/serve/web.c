// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The page's files, embedded with the assembler's .incbin: the sources stay
 * readable in src/serve/web/, no generator runs at build time, and the
 * Makefile rebuilds this object when one of them changes.  Paths are
 * relative to the top of the tree, where make runs the compiler.
 */
#include "serve/web.h"

#include <string.h>

#define WEB_FILE(sym, file)                                          \
	__asm__(".pushsection .rodata\n"                             \
		".balign 16\n"                                       \
		"pyprof_web_" #sym ":\n"                             \
		".incbin \"src/serve/web/" file "\"\n"               \
		"pyprof_web_" #sym "_end:\n"                         \
		".byte 0\n"                                          \
		".popsection\n");                                    \
	extern const unsigned char pyprof_web_##sym[] __asm__(       \
		"pyprof_web_" #sym);                                 \
	extern const unsigned char pyprof_web_##sym##_end[] __asm__( \
		"pyprof_web_" #sym "_end")

WEB_FILE(index, "index.html");
WEB_FILE(app, "app.js");
WEB_FILE(style, "style.css");

static const struct {
	const char *path, *type;
	const unsigned char *start, *end;
} files[] = {
	{ "/", "text/html; charset=utf-8", pyprof_web_index,
	  pyprof_web_index_end },
	{ "/app.js", "text/javascript; charset=utf-8", pyprof_web_app,
	  pyprof_web_app_end },
	{ "/style.css", "text/css; charset=utf-8", pyprof_web_style,
	  pyprof_web_style_end },
};

int web__find(const char *path)
{
	for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strcmp(path, files[i].path) == 0)
			return (int)i;
	return -1;
}

bool web__asset(unsigned i, struct web_asset *a)
{
	if (i >= sizeof(files) / sizeof(files[0]))
		return false;
	a->path = files[i].path;
	a->type = files[i].type;
	a->data = files[i].start;
	a->len = (size_t)(files[i].end - files[i].start);
	return true;
}
