// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Tests of src/cmd/options.c: the command line. */
#include "unit.h"

#include "cmd/options.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>

#include "bpf/pyprof_shared.h"

/*
 * Puts glibc's getopt back in its initial state.  options__parse sets
 * optind = 1, which does not clear the position inside a group of short
 * options ("-hv") that an early return leaves behind; optind = 0 does.
 * Every test parses through parse_args(), which calls this first, so one
 * test's leftovers cannot leak into the next; options_reparse_* check what
 * options__parse does on its own.
 */
static void getopt_reset(void)
{
	static char prog[] = "reset";
	char *argv[] = { prog, NULL };

	optind = 0;
	opterr = 0;
	getopt(1, argv, "");
}

/* Parses "pyprof-bpf args...", args ending with NULL. */
static int parse_args(struct options *o, char *err, size_t errlen,
		      const char *const *args)
{
	static char *argv[64]; /* o->cmd points into it */
	int argc = 0;

	argv[argc++] = (char *)"pyprof-bpf";
	while (*args && argc < 63)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	getopt_reset();
	return options__parse(argc, argv, o, err, errlen);
}

#define PARSE(o, err, ...)              \
	parse_args(o, err, sizeof(err), \
		   (const char *const[]){ __VA_ARGS__, NULL })

/* err is one non-empty line holding needle. */
#define CHECK_ERR(err, needle)                                                 \
	do {                                                                   \
		const char *_e = (err), *_n = (needle);                        \
		if (!_e[0] || strchr(_e, '\n') || !strstr(_e, _n))             \
			unit__fail(__FILE__, __LINE__,                         \
				   "err \"%s\" is not one line naming \"%s\"", \
				   _e, _n);                                    \
	} while (0)

TEST(options_defaults)
{
	struct options o;
	char err[256] = "junk";

	CHECK_INT(PARSE(&o, err, "-p", "42"), 0);
	CHECK_STR(err, "");
	CHECK_INT(o.pids[0], 42);
	CHECK_INT(o.freq, 99);
	CHECK_INT(o.freq, DEFAULT_FREQ);
	CHECK_INT(o.max_depth, 1024);
	CHECK_INT(o.max_depth, PY_DEFAULT_MAX_DEPTH);
	CHECK(o.interval == 1.0);
	CHECK(o.duration == 0.0);
	CHECK(o.output == NULL);
	CHECK(!o.folded && !o.thread_ids && !o.no_threads && !o.verbose);
	CHECK(!o.help && !o.version);
}

TEST(options_each_long_and_short)
{
	struct options o;
	char err[256];

	CHECK_INT(PARSE(&o, err, "--pid", "7"), 0);
	CHECK_INT(o.pids[0], 7);
	CHECK_INT(PARSE(&o, err, "--pid=8"), 0);
	CHECK_INT(o.pids[0], 8);
	CHECK_INT(PARSE(&o, err, "-p9"), 0);
	CHECK_INT(o.pids[0], 9);
	CHECK_INT(PARSE(&o, err, "-p", "1", "-p", "2"), 0); /* both */
	CHECK_INT(o.npids, 2);
	CHECK_INT(o.pids[0], 1);
	CHECK_INT(o.pids[1], 2);

	CHECK_INT(PARSE(&o, err, "-p", "1", "-F", "500"), 0);
	CHECK_INT(o.freq, 500);
	CHECK_INT(PARSE(&o, err, "-p", "1", "--frequency", "250"), 0);
	CHECK_INT(o.freq, 250);
	CHECK_INT(PARSE(&o, err, "-p", "1", "--frequency=1"), 0);
	CHECK_INT(o.freq, 1);
	CHECK_INT(PARSE(&o, err, "-p", "1", "--freq", "3"), 0); /* a prefix */
	CHECK_INT(o.freq, 3);

	CHECK_INT(PARSE(&o, err, "-p", "1", "-d", "2.5"), 0);
	CHECK(o.duration == 2.5);
	CHECK_INT(PARSE(&o, err, "-p", "1", "--duration", "10"), 0);
	CHECK(o.duration == 10.0);

	CHECK_INT(PARSE(&o, err, "-p", "1", "-o", "out.folded"), 0);
	CHECK_STR(o.output, "out.folded");
	CHECK_INT(PARSE(&o, err, "-p", "1", "--output", "x y.folded"), 0);
	CHECK_STR(o.output, "x y.folded");

	CHECK_INT(PARSE(&o, err, "-p", "1", "-f"), 0);
	CHECK(o.folded);
	CHECK_INT(PARSE(&o, err, "-p", "1", "--folded"), 0);
	CHECK(o.folded);

	CHECK_INT(PARSE(&o, err, "-p", "1", "--max-depth", "64"), 0);
	CHECK_INT(o.max_depth, 64);
	CHECK_INT(PARSE(&o, err, "-p", "1", "--max-depth=8192"), 0);
	CHECK_INT(o.max_depth, 8192);

	CHECK_INT(PARSE(&o, err, "-p", "1", "--interval", "0.25"), 0);
	CHECK(o.interval == 0.25);

	CHECK_INT(PARSE(&o, err, "-p", "1", "--tid"), 0);
	CHECK(o.thread_ids && !o.no_threads);
	CHECK_INT(PARSE(&o, err, "-p", "1", "--no-threads"), 0);
	CHECK(o.no_threads && !o.thread_ids);

	CHECK_INT(PARSE(&o, err, "-p", "1", "-v"), 0);
	CHECK(o.verbose);
	CHECK_INT(PARSE(&o, err, "-p", "1", "--verbose"), 0);
	CHECK(o.verbose);
	CHECK_INT(PARSE(&o, err, "-fvp", "5"), 0); /* grouped short options */
	CHECK(o.folded && o.verbose);
	CHECK_INT(o.pids[0], 5);

	/* -h and -V need no pid and end the parse. */
	CHECK_INT(PARSE(&o, err, "-h"), 0);
	CHECK(o.help && !o.version);
	CHECK_INT(PARSE(&o, err, "--help"), 0);
	CHECK(o.help);
	CHECK_INT(PARSE(&o, err, "-V"), 0);
	CHECK(o.version && !o.help);
	CHECK_INT(PARSE(&o, err, "--version"), 0);
	CHECK(o.version);

	/* Options after the positional-free end, in any order. */
	CHECK_INT(PARSE(&o, err, "--tid", "-F", "42", "-v", "-p", "3",
			"--interval", "5", "-o", "f", "-d", "1"),
		  0);
	CHECK(o.thread_ids && o.verbose);
	CHECK_INT(o.pids[0], 3);
	CHECK_INT(o.freq, 42);
	CHECK(o.interval == 5.0 && o.duration == 1.0);
	CHECK_STR(o.output, "f");
}

TEST(options_range_limits_accepted)
{
	struct options o;
	char err[256];

	CHECK_INT(PARSE(&o, err, "-p", "1"), 0);
	CHECK_INT(PARSE(&o, err, "-p", "2147483647"), 0);
	CHECK_INT(o.pids[0], 2147483647);
	CHECK_INT(PARSE(&o, err, "-p", "1", "-F", "1"), 0);
	CHECK_INT(PARSE(&o, err, "-p", "1", "-F", "10000"), 0);
	CHECK_INT(o.freq, MAX_FREQ);
	CHECK_INT(PARSE(&o, err, "-p", "1", "--max-depth", "1"), 0);
	CHECK_INT(PARSE(&o, err, "-p", "1", "--max-depth", "8192"), 0);
	CHECK_INT(o.max_depth, PY_MAX_DEPTH_CAP);
	CHECK_INT(PARSE(&o, err, "-p", "1", "-d", "0.001"), 0);
	CHECK_INT(PARSE(&o, err, "-p", "1", "-d", "1e7"), 0);
	CHECK_INT(PARSE(&o, err, "-p", "1", "--interval", "0.05"), 0);
	CHECK_INT(PARSE(&o, err, "-p", "1", "--interval", "3600"), 0);
	CHECK(o.interval == 3600.0);
}

struct bad_value {
	const char *opt, *what; /* option, and the name err must use */
	const char *values[16];
};

static const struct bad_value bad_values[] = {
	{ "-p",
	  "pid",
	  { "0", "-1", "-0", "99999999999999999999", "2147483648", "12x", "",
	    "x", "1.5", "0x10", NULL } },
	{ "--pid",
	  "pid",
	  { "0", "-5", "99999999999999999999", "12x", "", NULL } },
	{ "-F",
	  "frequency",
	  { "0", "-1", "10001", "99999999999999999999", "12x", "", "1e3",
	    NULL } },
	{ "--frequency", "frequency", { "0", "-1", "10001", "12x", "", NULL } },
	{ "--max-depth",
	  "max-depth",
	  { "0", "-1", "8193", "99999999999999999999", "12x", "", NULL } },
	{ "-d",
	  "duration",
	  { "0", "-1", "0.0009", "10000001", "99999999999999999999", "12x", "",
	    "nan", "inf", "1e400", NULL } },
	{ "--duration", "duration", { "0", "-1", "12x", "", NULL } },
	{ "--interval",
	  "interval",
	  { "0", "-1", "0.04", "3601", "99999999999999999999", "12x", "", "nan",
	    "-inf", NULL } },
};

TEST(options_invalid_values)
{
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]);
	     i++) {
		const struct bad_value *b = &bad_values[i];

		for (const char *const *v = b->values; *v; v++) {
			struct options o;
			char err[256], quoted[64];
			int rc;

			rc = PARSE(&o, err, "-p", "1", b->opt, *v);
			if (rc != -EINVAL) {
				unit__fail(__FILE__, __LINE__,
					   "%s '%s' gave %d, not -EINVAL",
					   b->opt, *v, rc);
				continue;
			}
			snprintf(quoted, sizeof(quoted), "'%s'", *v);
			CHECK_ERR(err, quoted);
			CHECK_ERR(err, b->what);
		}
	}
}

TEST(options_empty_output)
{
	struct options o;
	char err[256];

	CHECK_INT(PARSE(&o, err, "-p", "1", "-o", ""), -EINVAL);
	CHECK_ERR(err, "-o");
	CHECK_INT(PARSE(&o, err, "-p", "1", "--output="), -EINVAL);
	CHECK_ERR(err, "-o");
}

TEST(options_missing_pid)
{
	struct options o;
	char err[256];

	CHECK_INT(PARSE(&o, err, NULL), -EINVAL);
	CHECK_ERR(err, "-p");
	CHECK_INT(PARSE(&o, err, "-F", "10", "-v"), -EINVAL);
	CHECK_ERR(err, "-p");
}

TEST(options_tid_with_no_threads)
{
	struct options o;
	char err[256];

	CHECK_INT(PARSE(&o, err, "-p", "1", "--tid", "--no-threads"), -EINVAL);
	CHECK_ERR(err, "--tid");
	CHECK_ERR(err, "--no-threads");
	CHECK_INT(PARSE(&o, err, "--no-threads", "-p", "1", "--tid"), -EINVAL);
	CHECK_ERR(err, "--tid");
}

TEST(options_missing_value)
{
	static const char *const opts[] = {
		"-p",	      "--pid", "-F",	   "--frequency", "-d",
		"--duration", "-o",    "--output", "--max-depth", "--interval"
	};

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		struct options o;
		char err[256];

		CHECK_INT(PARSE(&o, err, "-p", "1", opts[i]), -EINVAL);
		CHECK_ERR(err, opts[i]);
	}
}

TEST(options_unknown_option)
{
	struct options o;
	char err[256];

	CHECK_INT(PARSE(&o, err, "-p", "1", "--bogus"), -EINVAL);
	CHECK_ERR(err, "'--bogus'");
	CHECK_INT(PARSE(&o, err, "--bogus=3", "-p", "1"), -EINVAL);
	CHECK_ERR(err, "--bogus");
	CHECK_INT(PARSE(&o, err, "-p", "1", "-x"), -EINVAL);
	CHECK_ERR(err, "'-x'");
	CHECK_INT(PARSE(&o, err, "-x", "-p", "1"), -EINVAL);
	CHECK_ERR(err, "'-x'");
	CHECK_INT(PARSE(&o, err, "-p", "1", "-vx"),
		  -EINVAL); /* last in group */
	CHECK(strstr(err, "'-vx'") || strstr(err, "'-x'"));
	CHECK_INT(PARSE(&o, err, "-p", "1", "--ver"), -EINVAL); /* ambiguous */
	CHECK_ERR(err, "--ver");
	CHECK_INT(PARSE(&o, err, "-p", "1", "--tid=5"), -EINVAL); /* no value */
	CHECK_ERR(err, "--tid");
}

/*
 * An unknown option first in a group ("-xv"): getopt has not moved optind
 * past the group yet, so argv[optind - 1] is the argument before it.
 */
TEST(options_unknown_option_in_group)
{
	struct options o;
	char err[256];

	CHECK_INT(PARSE(&o, err, "-xv", "-p", "1"), -EINVAL);
	CHECK_ERR(err, "-x");
	CHECK_INT(PARSE(&o, err, "-p", "1", "-fxv"), -EINVAL);
	CHECK_ERR(err, "x");
	CHECK(strstr(err, "'1'") == NULL);
}

TEST(options_extra_argument)
{
	struct options o;
	char err[256];

	CHECK_INT(PARSE(&o, err, "-p", "1", "extra"), -EINVAL);
	CHECK_ERR(err, "'extra'");
	CHECK_INT(PARSE(&o, err, "extra", "-p", "1"), -EINVAL); /* permuted */
	CHECK_ERR(err, "'extra'");
	/* After "--" it is a command, which -p contradicts. */
	CHECK_INT(PARSE(&o, err, "-p", "1", "--", "-v"), -EINVAL);
	CHECK_ERR(err, "give only one");
	CHECK_INT(PARSE(&o, err, "-p", "1", "a", "b"), -EINVAL);
	CHECK_ERR(err, "'a'");
}

TEST(options_small_err_buffer)
{
	struct options o;
	char err[16];

	memset(err, 'Z', sizeof(err));
	/* errlen 8 of a 16-byte buffer: truncated, terminated, no overrun. */
	CHECK_INT(
		parse_args(&o, err, 8,
			   (const char *const[]){ "-F", "0", "-p", "1", NULL }),
		-EINVAL);
	CHECK_INT(strlen(err), 7);
	CHECK(err[8] == 'Z');
}

/* Each call starts from the defaults: nothing of the previous one stays. */
TEST(options_repeated_calls)
{
	struct options o;
	char err[256];

	CHECK_INT(PARSE(&o, err, "-p", "1", "-F", "500", "--tid", "-v", "-o",
			"x", "-d", "3", "--max-depth", "5", "--interval", "2"),
		  0);
	CHECK_INT(PARSE(&o, err, "-p", "1", "-F", "0"), -EINVAL);
	CHECK(err[0]);
	CHECK_INT(PARSE(&o, err, "-p", "2"), 0);
	CHECK_STR(err, "");
	CHECK_INT(o.pids[0], 2);
	CHECK_INT(o.freq, DEFAULT_FREQ);
	CHECK_INT(o.max_depth, PY_DEFAULT_MAX_DEPTH);
	CHECK(o.interval == 1.0 && o.duration == 0.0 && !o.output);
	CHECK(!o.thread_ids && !o.verbose);
}

/*
 * options__parse's own reset (optind = 1) after a call that returned in the
 * middle of a group of short options ("-hv": -h returns at once; "-xv": an
 * unknown -x).  glibc keeps its place inside the old group unless optind is
 * set to 0, so the next call resumes with the old "v".
 */
TEST(options_reparse_after_early_return)
{
	static const char *const firsts[] = { "-hv", "-xv" };

	for (size_t i = 0; i < 2; i++) {
		char a0[] = "pyprof-bpf", a1[8], b1[] = "-p", b2[] = "5";
		char *argv1[] = { a0, a1, NULL },
		     *argv2[] = { a0, b1, b2, NULL };
		struct options o;
		char err[256];
		int rc;

		snprintf(a1, sizeof(a1), "%s", firsts[i]);
		getopt_reset();
		options__parse(2, argv1, &o, err, sizeof(err));
		/* Straight after, as main() or a test would: no reset. */
		rc = options__parse(3, argv2, &o, err, sizeof(err));
		if (rc != 0 || o.pids[0] != 5 || o.verbose)
			unit__fail(__FILE__, __LINE__,
				   "after '%s', '-p 5' gave rc %d, pid %d, "
				   "verbose %d, err \"%s\"",
				   firsts[i], rc, o.pids[0], o.verbose, err);
	}
	getopt_reset();
}

TEST(options_usage_text)
{
	/* Every option the parser takes is in --help. */
	static const char *const names[] = {
		"--pid",	"--frequency", "--duration", "--output",
		"--folded",	"--max-depth", "--interval", "--tid",
		"--no-threads", "--verbose",   "--help",     "--version",
		"-p,",		"-F,",	       "-d,",	     "-o,",
		"-f,",		"-v,",	       "-h,",	     "-V,",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strstr(options__usage, names[i]))
			unit__fail(__FILE__, __LINE__, "--help lacks %s",
				   names[i]);
	CHECK(options__usage[strlen(options__usage) - 1] == '\n');
}

TEST(options_pid_lists_all_and_command)
{
	struct options o;
	char err[256];

	CHECK_INT(PARSE(&o, err, "-p", "3,1,3", "-p", "2,1"), 0);
	CHECK_INT(o.npids, 3); /* duplicates dropped, order kept */
	CHECK_INT(o.pids[0], 3);
	CHECK_INT(o.pids[1], 1);
	CHECK_INT(o.pids[2], 2);
	CHECK_INT(PARSE(&o, err, "-p", "1,,2"), -EINVAL);
	CHECK_STR(err, "invalid pid list ',2': give pids as -p 1,2,3");
	CHECK_INT(PARSE(&o, err, "-p", "1,x"), -EINVAL);
	CHECK_STR(err, "invalid pid 'x': give a whole number from 1 to "
		       "2147483647");
	CHECK_INT(PARSE(&o, err, "-p", "1,"), -EINVAL);

	CHECK_INT(PARSE(&o, err, "-a", "-F", "49"), 0);
	CHECK(o.all && o.npids == 0 && !o.cmd && o.freq == 49);

	CHECK_INT(PARSE(&o, err, "-F", "49", "--", "python3", "-c", "1", "-p",
			"5"),
		  0);
	REQUIRE(o.cmd);
	CHECK_STR(o.cmd[0], "python3");
	CHECK_STR(o.cmd[3], "-p"); /* the command's own options stay its */
	CHECK(o.cmd[5] == NULL);
	CHECK_INT(o.npids, 0);

	CHECK_INT(PARSE(&o, err, "python3", "x.py"), -EINVAL);
	CHECK_STR(err, "unexpected argument 'python3'; to run a command, put "
		       "it after \"--\" (see --help)");
	CHECK_INT(PARSE(&o, err, "-a", "-p", "1"), -EINVAL);
	CHECK_STR(err, "-p, -a and \"-- COMMAND\" each say what to profile: "
		       "give only one");
	CHECK_INT(PARSE(&o, err, "-a", "--", "true"), -EINVAL);
	CHECK_INT(PARSE(&o, err, "-a", "--children"), -EINVAL);
	CHECK_INT(PARSE(&o, err, "-p", "1", "--children", "--merge-processes"),
		  0);
	CHECK(o.children && o.merge_processes);
	CHECK_INT(PARSE(&o, err, "-F", "9"), -EINVAL);
	CHECK(strstr(err, "which process?") == err);
}
