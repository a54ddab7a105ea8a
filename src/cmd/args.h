/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Reading a command line, shared by every subcommand: getopt_long with the
 * unknown-option and missing-value errors written once, and the parsers of
 * the numbers a user gives (a whole number, seconds, a frequency, a
 * percentage).  A failure is one line in the caller's err buffer that names
 * the option as given, the value, and what to give instead; the command
 * prints it behind its own name ("pyprof-bpf view: ...").
 */
#ifndef PYPROF_ARGS_H
#define PYPROF_ARGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct args {
	int argc;
	char **argv;
	const char *shortopts; /* getopt's, starting with ':' or "+:" */
	const struct option *longopts;
	const char *help; /* where to read on: "--help", "view --help" */
	char *err; /* the one-line reason of the last failure */
	size_t errlen;
	/* The option args__next returned, as given: "-F", or "--frequency"
	 * (also for an abbreviation such as --freq). */
	char opt[32];
};

/* Starts reading argv, from argv[1]; err[0] becomes '\0'. */
void args__init(struct args *a, int argc, char **argv, const char *shortopts,
		const struct option *longopts, const char *help, char *err,
		size_t errlen);

/*
 * The next option: its val (> 0, with optarg set for one that takes a
 * value, and a->opt naming it), 0 after the last option (optind is then the
 * first operand), or -EINVAL with the reason in a->err: an unknown option,
 * a value missing, or a value given to an option that takes none.
 */
int args__next(struct args *a);

/* Formats the reason into a->err; returns -EINVAL. */
int args__fail(struct args *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * s as a whole number from min to max, for the option a->opt.  Decimal
 * digits, with the leading blanks and '+' strtoull takes; a minus sign is
 * out of range.  0, or -EINVAL: "-F '12x' is not a whole number: give one
 * from 1 to 10000", "-F '20000' is out of range: give a whole number from
 * 1 to 10000".
 */
int args__uint(struct args *a, const char *s, unsigned long long min,
	       unsigned long long max, unsigned long long *out);

/*
 * Adds the comma-separated pids of list ("1,2,3") to pids[*n], at most max
 * of them, leaving out repeats.  0, or -EINVAL: an empty or overlong item,
 * a pid that is not a whole number from 1 to INT_MAX, more than max.
 */
int args__pids(struct args *a, const char *list, pid_t *pids, unsigned *n,
	       unsigned max);

/* s as seconds from min to max (strtod: "2.5", "1e3"; not nan or inf).
 * 0, or -EINVAL as args__uint. */
int args__seconds(struct args *a, const char *s, double min, double max,
		  double *out);

/* s as a sampling frequency in Hz, from 1 to MAX_FREQ.  0, or -EINVAL. */
int args__freq(struct args *a, const char *s, unsigned *out);

/*
 * s as a percentage from 0 to max: "10", "10%" or "12.5%"; with off,
 * also "off", read as -1.  0, or -EINVAL.
 */
int args__percent(struct args *a, const char *s, double max, bool off,
		  double *out);

/*
 * --focus, --hide or --ignore (a->opt) REGEX into *slot: a POSIX extended
 * regular expression that compiles, given once.  0, or -EINVAL: "invalid
 * --focus 'a(': ...", "--focus given twice: join the expressions with
 * '|'".
 */
int args__filter(struct args *a, const char **slot, const char *re);

#endif /* PYPROF_ARGS_H */
