// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Tests of src/cmd/options.c: the command line. */
#include "unit.h"

#include "cmd/options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>

#include "bpf/pyprof_shared.h"
#include "cmd/args.h"

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

/* Values each option refuses: not a number at all, or out of its range. */
struct bad_value {
	const char *opt, *range; /* the range err must give */
	const char *garbage[12], *out_of_range[12];
};

static const struct bad_value bad_values[] = {
	{ "-p",
	  "from 1 to 2147483647",
	  { "12x", "x", "1.5", "0x10", " ", "- 1", "+-1", NULL },
	  { "0", "-1", "-0", "99999999999999999999", "2147483648",
	    "18446744073709551615", "18446744073709551616", NULL } },
	{ "--pid",
	  "from 1 to 2147483647",
	  { "12x", NULL },
	  { "0", "-5", "99999999999999999999", NULL } },
	{ "-F",
	  "from 1 to 10000",
	  { "12x", "", "1e3", "ten", NULL },
	  { "0", "-1", "10001", "99999999999999999999", "18446744073709551615",
	    NULL } },
	{ "--frequency",
	  "from 1 to 10000",
	  { "12x", "", NULL },
	  { "0", "-1", "10001", NULL } },
	{ "--max-depth",
	  "from 1 to 8192",
	  { "12x", "", NULL },
	  { "0", "-1", "8193", "99999999999999999999", NULL } },
	{ "-d",
	  "from 0.001 to 10000000",
	  { "12x", "", "nan", "1s", NULL },
	  { "0", "-1", "0.0009", "10000001", "99999999999999999999", "inf",
	    "1e400", NULL } },
	{ "--duration",
	  "from 0.001 to 10000000",
	  { "12x", "", NULL },
	  { "0", "-1", NULL } },
	{ "--interval",
	  "from 0.05 to 3600",
	  { "12x", "", "nan", NULL },
	  { "0", "-1", "0.04", "3601", "99999999999999999999", "-inf", NULL } },
};

/* PARSE with opt v fails with one line naming opt, 'v', why and range. */
static void check_bad_value(const struct bad_value *b, const char *v,
			    const char *why)
{
	struct options o;
	char err[256], want[64];
	int rc;

	rc = PARSE(&o, err, "-p", "1", b->opt, v);
	if (rc != -EINVAL) {
		unit__fail(__FILE__, __LINE__, "%s '%s' gave %d, not -EINVAL",
			   b->opt, v, rc);
		return;
	}
	snprintf(want, sizeof(want), "%s '%s' %s", b->opt, v, why);
	CHECK_ERR(err, want);
	CHECK_ERR(err, b->range);
}

TEST(options_invalid_values)
{
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]);
	     i++) {
		const struct bad_value *b = &bad_values[i];
		bool secs = strcmp(b->opt, "-d") == 0 ||
			    strcmp(b->opt, "--duration") == 0 ||
			    strcmp(b->opt, "--interval") == 0;

		for (const char *const *v = b->garbage; *v; v++)
			check_bad_value(b, *v,
					secs ? "is not a number of seconds" :
					       "is not a whole number");
		for (const char *const *v = b->out_of_range; *v; v++)
			check_bad_value(b, *v, "is out of range");
	}
}

/* The option as given names the error: short, long, or the long name of
 * an abbreviation. */
TEST(options_invalid_value_names_the_option)
{
	struct options o;
	char err[256];

	CHECK_INT(PARSE(&o, err, "-p", "1", "-F", "0"), -EINVAL);
	CHECK_STR(err, "-F '0' is out of range: give a whole number from 1 to "
		       "10000");
	CHECK_INT(PARSE(&o, err, "-p", "1", "--frequency=0"), -EINVAL);
	CHECK_STR(err, "--frequency '0' is out of range: give a whole number "
		       "from 1 to 10000");
	CHECK_INT(PARSE(&o, err, "-p", "1", "--freq", "x"), -EINVAL);
	CHECK_STR(err, "--frequency 'x' is not a whole number: give one from "
		       "1 to 10000");
	CHECK_INT(PARSE(&o, err, "-p", "1", "-F18446744073709551615"), -EINVAL);
	CHECK_STR(err, "-F '18446744073709551615' is out of range: give a "
		       "whole number from 1 to 10000");
	CHECK_INT(PARSE(&o, err, "-p", "1", "-vd", "0"), -EINVAL);
	CHECK_STR(err, "-d '0' is out of range: give seconds from 0.001 to "
		       "10000000");
}

/* Two modes that disagree: both named as given, first one first. */
TEST(options_mode_disagreement)
{
	struct options o;
	char err[256];

	CHECK_INT(PARSE(&o, err, "-p", "1", "--mode", "cpu", "--mode", "wall"),
		  -EINVAL);
	CHECK_STR(err, "--mode cpu and --mode wall disagree: choose one mode");
	CHECK_INT(PARSE(&o, err, "-p", "1", "--mode=wall", "--mode", "cpu"),
		  -EINVAL);
	CHECK_STR(err, "--mode wall and --mode cpu disagree: choose one mode");
	CHECK_INT(PARSE(&o, err, "-p", "1", "--mode", "cpu", "--idle"),
		  -EINVAL);
	CHECK_STR(err, "--mode cpu and --idle disagree: choose one mode");
	CHECK_INT(PARSE(&o, err, "--idle", "-p", "1", "--mode", "cpu"),
		  -EINVAL);
	CHECK_STR(err, "--idle and --mode cpu disagree: choose one mode");
	/* Agreeing is fine, in any order and as often as given. */
	CHECK_INT(PARSE(&o, err, "-p", "1", "--idle", "--mode", "wall",
			"--idle"),
		  0);
	CHECK(o.wall && o.mode_set);
	CHECK_INT(PARSE(&o, err, "-p", "1", "--mode", "cpu", "--mode", "cpu"),
		  0);
	CHECK(!o.wall && o.mode_set);
	CHECK_INT(PARSE(&o, err, "-p", "1", "--mode", "idle"), -EINVAL);
	CHECK_STR(err, "invalid mode 'idle': give --mode cpu or --mode wall");
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

/* The option named as given: the short one at the end of a group, a long
 * one as typed. */
TEST(options_missing_value_named)
{
	struct options o;
	char err[256];

	CHECK_INT(PARSE(&o, err, "-p", "1", "-vF"), -EINVAL);
	CHECK_STR(err, "option -F needs a value; see --help");
	CHECK_INT(PARSE(&o, err, "-p", "1", "--freq"), -EINVAL);
	CHECK_STR(err, "option --freq needs a value; see --help");
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
	CHECK_STR(err, "option '--tid' takes no value; see --help");
	/* --help's val is 'h', also a short option's: still --help. */
	CHECK_INT(PARSE(&o, err, "--help=3"), -EINVAL);
	CHECK_STR(err, "option '--help' takes no value; see --help");
	CHECK_INT(PARSE(&o, err, "--bogus=3", "-p", "1"), -EINVAL);
	CHECK_STR(err, "unknown option '--bogus=3'; see --help");
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
	CHECK_STR(err, "invalid pid list '1,,2': give pids as -p 1,2,3");
	CHECK_INT(PARSE(&o, err, "-p", "1,x"), -EINVAL);
	CHECK_STR(err, "-p 'x' is not a whole number: give one from 1 to "
		       "2147483647");
	CHECK_INT(PARSE(&o, err, "--pid=1,0"), -EINVAL);
	CHECK_STR(err, "--pid '0' is out of range: give a whole number from 1 "
		       "to 2147483647");
	CHECK_INT(PARSE(&o, err, "-p", "1,"), -EINVAL);
	CHECK_INT(PARSE(&o, err, "-p", ""), -EINVAL);
	CHECK_STR(err, "invalid pid list '': give pids as -p 1,2,3");

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

/* --- src/cmd/args.c: the number parsers, without getopt ------------------ */

/* An args for option opt whose failures land in err. */
static void args_for(struct args *a, const char *opt, char *err, size_t errlen)
{
	args__init(a, 0, NULL, ":", NULL, "--help", err, errlen);
	snprintf(a->opt, sizeof(a->opt), "%s", opt);
}

TEST(args_uint_edges)
{
	static const char *const garbage[] = { "",    " ",   "x",    "12x",
					       "1.5", "1e3", "0x10", "- 1",
					       "+-1", "--1", "1 ",   "١",
					       "1,2", NULL };
	static const char *const out_of_range[] = { "0",
						    "-1",
						    "-0",
						    "101",
						    "18446744073709551615",
						    "18446744073709551616",
						    "99999999999999999999999999",
						    NULL };
	unsigned long long v = 7;
	struct args a;
	char err[256];

	args_for(&a, "--top", err, sizeof(err));
	CHECK_INT(args__uint(&a, "1", 1, 100, &v), 0);
	CHECK_INT(v, 1);
	CHECK_INT(args__uint(&a, "100", 1, 100, &v), 0);
	CHECK_INT(v, 100);
	CHECK_STR(err, "");
	/* What strtoull takes before the digits is taken, as before. */
	CHECK_INT(args__uint(&a, "+5", 1, 100, &v), 0);
	CHECK_INT(v, 5);
	CHECK_INT(args__uint(&a, " 6", 1, 100, &v), 0);
	CHECK_INT(v, 6);
	CHECK_INT(args__uint(&a, "007", 1, 100, &v), 0);
	CHECK_INT(v, 7);
	for (const char *const *s = garbage; *s; s++) {
		char want[64];

		v = 42;
		CHECK_INT(args__uint(&a, *s, 1, 100, &v), -EINVAL);
		CHECK_INT(v, 42); /* untouched */
		snprintf(want, sizeof(want),
			 "--top '%s' is not a whole number: give one from 1 "
			 "to 100",
			 *s);
		CHECK_STR(err, want);
	}
	for (const char *const *s = out_of_range; *s; s++) {
		char want[96];

		v = 42;
		CHECK_INT(args__uint(&a, *s, 1, 100, &v), -EINVAL);
		CHECK_INT(v, 42);
		snprintf(want, sizeof(want),
			 "--top '%s' is out of range: give a whole number "
			 "from 1 to 100",
			 *s);
		CHECK_STR(err, want);
	}
}

TEST(args_uint_full_range)
{
	unsigned long long v = 7;
	struct args a;
	char err[256];

	args_for(&a, "-n", err, sizeof(err));
	CHECK_INT(args__uint(&a, "0", 0, 5, &v), 0);
	CHECK_INT(v, 0);
	CHECK_INT(args__uint(&a, "18446744073709551615", 0, ULLONG_MAX, &v), 0);
	CHECK(v == ULLONG_MAX);
	CHECK_INT(args__uint(&a, "18446744073709551616", 0, ULLONG_MAX, &v),
		  -EINVAL);
	CHECK_STR(err, "-n '18446744073709551616' is out of range: give a "
		       "whole number from 0 to 18446744073709551615");
	/* 2^64 - 1 wraps to -1 in a 64-bit signed parse: not here. */
	CHECK_INT(args__uint(&a, "18446744073709551615", 0, UINT32_MAX, &v),
		  -EINVAL);
	CHECK_STR(err, "-n '18446744073709551615' is out of range: give a "
		       "whole number from 0 to 4294967295");
	CHECK_INT(args__uint(&a, "-18446744073709551615", 0, ULLONG_MAX, &v),
		  -EINVAL);
	CHECK(strstr(err, "is out of range") != NULL);
}

TEST(args_seconds_edges)
{
	static const char *const garbage[] = { "",     " ",    "x",
					       "1s",   "1 s",  "nan",
					       "-nan", "1..2", NULL };
	static const char *const out_of_range[] = {
		"0",	"-0",	 "0.0009", "-1",       "3600.001", "inf",
		"-inf", "1e400", "1e-400", "infinity", NULL
	};
	double v = 7;
	struct args a;
	char err[256];

	args_for(&a, "--interval", err, sizeof(err));
	CHECK_INT(args__seconds(&a, "0.001", 0.001, 3600, &v), 0);
	CHECK(v == 0.001);
	CHECK_INT(args__seconds(&a, "3600", 0.001, 3600, &v), 0);
	CHECK(v == 3600);
	CHECK_INT(args__seconds(&a, "2.5e1", 0.001, 3600, &v), 0);
	CHECK(v == 25);
	CHECK_INT(args__seconds(&a, " 0x10", 0.001, 3600, &v), 0); /* strtod */
	CHECK(v == 16);
	for (const char *const *s = garbage; *s; s++) {
		char want[96];

		v = 42;
		CHECK_INT(args__seconds(&a, *s, 0.001, 3600, &v), -EINVAL);
		CHECK(v == 42);
		snprintf(want, sizeof(want),
			 "--interval '%s' is not a number of seconds: give "
			 "one from 0.001 to 3600",
			 *s);
		CHECK_STR(err, want);
	}
	for (const char *const *s = out_of_range; *s; s++) {
		char want[96];

		v = 42;
		CHECK_INT(args__seconds(&a, *s, 0.001, 3600, &v), -EINVAL);
		CHECK(v == 42);
		snprintf(want, sizeof(want),
			 "--interval '%s' is out of range: give seconds from "
			 "0.001 to 3600",
			 *s);
		CHECK_STR(err, want);
	}
}

TEST(args_freq_edges)
{
	unsigned v = 7;
	struct args a;
	char err[256];

	args_for(&a, "-F", err, sizeof(err));
	CHECK_INT(args__freq(&a, "1", &v), 0);
	CHECK_INT(v, 1);
	CHECK_INT(args__freq(&a, "10000", &v), 0);
	CHECK_INT(v, MAX_FREQ);
	CHECK_INT(args__freq(&a, "0", &v), -EINVAL);
	CHECK_STR(err, "-F '0' is out of range: give a whole number from 1 to "
		       "10000");
	CHECK_INT(args__freq(&a, "10001", &v), -EINVAL);
	CHECK_INT(args__freq(&a, "4294967297", &v), -EINVAL); /* 2^32 + 1 */
	CHECK_INT(args__freq(&a, "18446744073709551615", &v), -EINVAL);
	CHECK(strstr(err, "is out of range") != NULL);
	CHECK_INT(args__freq(&a, "99Hz", &v), -EINVAL);
	CHECK_STR(err, "-F '99Hz' is not a whole number: give one from 1 to "
		       "10000");
	CHECK_INT(v, MAX_FREQ);
}

TEST(args_percent_edges)
{
	double v = 7;
	struct args a;
	char err[256];

	args_for(&a, "--fail-above", err, sizeof(err));
	CHECK_INT(args__percent(&a, "10", 1e6, true, &v), 0);
	CHECK(v == 10);
	CHECK_INT(args__percent(&a, "10%", 1e6, true, &v), 0);
	CHECK(v == 10);
	CHECK_INT(args__percent(&a, "12.5%", 1e6, true, &v), 0);
	CHECK(v == 12.5);
	CHECK_INT(args__percent(&a, "0", 1e6, true, &v), 0);
	CHECK(v == 0);
	CHECK_INT(args__percent(&a, "1e6%", 1e6, true, &v), 0);
	CHECK(v == 1e6);
	CHECK_INT(args__percent(&a, "off", 1e6, true, &v), 0);
	CHECK(v == -1);
	CHECK_STR(err, "");

	v = 42;
	CHECK_INT(args__percent(&a, "off", 1e6, false, &v), -EINVAL);
	CHECK_STR(err, "--fail-above 'off' is not a percentage: give one from "
		       "0 to 1000000 (10 or 10%)");
	for (const char *const *s =
		     (const char *const[]){ "", "%", "ten", "10%%", "10 %",
					    "% 10", "nan", "OFF", NULL };
	     *s; s++) {
		CHECK_INT(args__percent(&a, *s, 1e6, true, &v), -EINVAL);
		CHECK(strstr(err, "is not a percentage") != NULL);
	}
	for (const char *const *s =
		     (const char *const[]){ "-1", "-0.5%", "1000001", "inf",
					    "1e400%", NULL };
	     *s; s++) {
		char want[96];

		CHECK_INT(args__percent(&a, *s, 1e6, true, &v), -EINVAL);
		snprintf(want, sizeof(want),
			 "--fail-above '%s' is out of range: give a "
			 "percentage from 0 to 1000000, or off",
			 *s);
		CHECK_STR(err, want);
	}
	CHECK(v == 42);
}

/* args__next: the option's name as given, the end, and the one tail of
 * errors every command shares. */
TEST(args_next)
{
	static const struct option longopts[] = {
		{ "rows", required_argument, NULL, 'n' },
		{ "lines", no_argument, NULL, 'l' },
		{ "tree", no_argument, NULL, 256 },
		{ 0 },
	};
	static const struct {
		const char *argv[4];
		const char *err;
	} bad[] = {
		{ { "-x" }, "unknown option '-x'; see cmd --help" },
		{ { "-lx" }, "unknown option '-x'; see cmd --help" },
		{ { "-xl" }, "unknown option '-x'; see cmd --help" },
		{ { "-:" }, "unknown option '-:'; see cmd --help" },
		{ { "--bogus" }, "unknown option '--bogus'; see cmd --help" },
		{ { "-n" }, "option -n needs a value; see cmd --help" },
		{ { "-ln" }, "option -n needs a value; see cmd --help" },
		{ { "--rows" }, "option --rows needs a value; see cmd --help" },
		{ { "--ro" }, "option --ro needs a value; see cmd --help" },
		{ { "--lines=2" },
		  "option '--lines' takes no value; see cmd --help" },
		{ { "--tree=" },
		  "option '--tree' takes no value; see cmd --help" },
	};
	char err[256];
	struct args a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[5] = { (char *)"cmd" };
		int argc = 1, c;

		for (int j = 0; bad[i].argv[j] && j < 3; j++)
			argv[argc++] = (char *)bad[i].argv[j];
		getopt_reset();
		args__init(&a, argc, argv, ":ln:", longopts, "cmd --help", err,
			   sizeof(err));
		while ((c = args__next(&a)) > 0)
			;
		CHECK_INT(c, -EINVAL);
		CHECK_STR(err, bad[i].err);
	}
	{
		char *argv[] = { (char *)"cmd",	 (char *)"-l",
				 (char *)"--ro", (char *)"3",
				 (char *)"--tr", (char *)"-n4",
				 (char *)"FILE", NULL };
		static const char *const names[] = { "-l", "--rows", "--tree",
						     "-n" };

		getopt_reset();
		args__init(&a, 7, argv, ":ln:", longopts, "cmd --help", err,
			   sizeof(err));
		for (size_t i = 0; i < 4; i++) {
			CHECK(args__next(&a) > 0);
			CHECK_STR(a.opt, names[i]);
		}
		CHECK_INT(args__next(&a), 0);
		CHECK_INT(optind, 6);
		CHECK_STR(err, "");
	}
	getopt_reset();
}

TEST(options_dash_output_is_stdout)
{
	struct options o;
	char err[256] = "";

	/* As convert's: "-o -" is stdout, which is what --folded says. */
	CHECK_INT(PARSE(&o, err, "-p", "1", "-o", "-", "--format", "svg"), 0);
	CHECK(o.output == NULL);
	CHECK(o.folded);
	CHECK_INT(PARSE(&o, err, "-p", "1", "--stream", "-o", "-"), 0);
	CHECK(o.output == NULL && o.folded && o.stream);
	CHECK_INT(PARSE(&o, err, "-p", "1", "--folded", "-o", "-"), 0);
}

TEST(options_folded_with_an_output_file)
{
	struct options o;
	char err[256] = "";

	/* It was silently ignored. */
	CHECK_INT(PARSE(&o, err, "-p", "1", "--folded", "-o", "x.folded"),
		  -EINVAL);
	CHECK_ERR(err, "--format folded -o FILE");
	CHECK_INT(PARSE(&o, err, "-p", "1", "-o", "x.svg", "-f"), -EINVAL);
	CHECK_ERR(err, "give one");
}
