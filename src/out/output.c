// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "out/output.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "out/file.h"
#include "out/folded.h"
#include "out/formats.h"

static const char *const names[OUT__MAX] = {
	[OUT_FOLDED] = "folded",
	[OUT_SVG] = "svg",
	[OUT_SPEEDSCOPE] = "speedscope",
	[OUT_PPROF] = "pprof",
	[OUT_CALLGRIND] = "callgrind",
	[OUT_TRACE] = "trace",
	[OUT_HTML] = "html",
	[OUT_HEATMAP] = "heatmap",
	[OUT_PSTATS] = "pstats",
	[OUT_GECKO] = "gecko",
};

/* Longest suffixes first: ".speedscope.json" before any ".json". */
static const struct {
	const char *suffix;
	enum out_format f;
} exts[] = {
	{ ".speedscope.json", OUT_SPEEDSCOPE },
	{ ".heatmap.html", OUT_HEATMAP },
	{ ".trace.json", OUT_TRACE },
	{ ".gecko.json", OUT_GECKO },
	{ ".callgrind", OUT_CALLGRIND },
	{ ".folded", OUT_FOLDED },
	{ ".pb.gz", OUT_PPROF },
	{ ".html", OUT_HTML },
	{ ".pstats", OUT_PSTATS },
	{ ".prof", OUT_PSTATS },
	{ ".txt", OUT_FOLDED },
	{ ".svg", OUT_SVG },
};

#define FORMAT_NAMES                                                      \
	"folded, svg, speedscope, pprof, callgrind, trace, gecko, html, " \
	"heatmap, pstats"
#define EXTENSIONS                                                           \
	".folded, .txt, .svg, .speedscope.json, .pb.gz, .callgrind (or "     \
	"callgrind.out.*), .trace.json, .gecko.json, .html, .heatmap.html, " \
	".pstats, .prof"

bool output__timeline(enum out_format f)
{
	return f == OUT_TRACE || f == OUT_GECKO || f == OUT_HTML;
}

const char *output__name(enum out_format f)
{
	return f < OUT__MAX ? names[f] : "?";
}

int output__parse_name(const char *name, enum out_format *f, char *err,
		       size_t errlen)
{
	for (int i = 0; i < OUT__MAX; i++) {
		if (strcmp(name, names[i]) == 0) {
			*f = (enum out_format)i;
			return 0;
		}
	}
	snprintf(err, errlen, "unknown format '%s': give one of " FORMAT_NAMES,
		 name);
	return -EINVAL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcasecmp(s + n - m, suffix) == 0;
}

int output__format_for_path(const char *path, enum out_format *f, char *err,
			    size_t errlen)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		if (ends_with(base, exts[i].suffix)) {
			*f = exts[i].f;
			return 0;
		}
	}
	/* valgrind's own name: callgrind.out.PID */
	if (strncmp(base, "callgrind.out", 13) == 0) {
		*f = OUT_CALLGRIND;
		return 0;
	}
	/* /dev/null, /dev/stdout, a named pipe: the plain text format. */
	if (out_file__in_place(path)) {
		*f = OUT_FOLDED;
		return 0;
	}
	snprintf(
		err, errlen,
		"cannot tell the format of '%s' from its name: end it in " EXTENSIONS
		", or give --format NAME",
		path);
	return -EINVAL;
}

int output__write(const struct profile *p, enum out_format f,
		  const struct out_meta *m, FILE *out)
{
	switch (f) {
	case OUT_FOLDED:
		return out_folded__write(p, out);
	case OUT_SVG:
		return out_svg__write(p, m, out);
	case OUT_SPEEDSCOPE:
		return out_speedscope__write(p, m, out);
	case OUT_PPROF:
		return out_pprof__write(p, m, out);
	case OUT_CALLGRIND:
		return out_callgrind__write(p, m, out);
	case OUT_TRACE:
		return out_trace__write(p, m, out);
	case OUT_HTML:
		return out_html__write(p, m, out);
	case OUT_HEATMAP:
		return out_heatmap__write(p, m, out);
	case OUT_PSTATS:
		return out_pstats__write(p, m, out);
	case OUT_GECKO:
		return out_gecko__write(p, m, out);
	case OUT__MAX:
		break;
	}
	return -EINVAL;
}

const char *output__strerror(enum out_format f, int rc)
{
	if (f == OUT_TRACE && rc == -ENODATA)
		return "the trace format needs the time of every sample, which "
		       "a live run records and a folded file does not hold: "
		       "profile with -o FILE.trace.json instead";
	if (f == OUT_GECKO && rc == -ENODATA)
		return "the gecko format needs the time of every sample, which "
		       "a live run records and a folded file does not hold: "
		       "profile with -o FILE.gecko.json instead";
	if (rc == -EINVAL)
		return "unknown output format";
	return strerror(-rc);
}
