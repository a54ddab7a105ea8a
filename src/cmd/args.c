// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "cmd/args.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/options.h"

void args__init(struct args *a, int argc, char **argv, const char *shortopts,
		const struct option *longopts, const char *help, char *err,
		size_t errlen)
{
	a->argc = argc;
	a->argv = argv;
	a->shortopts = shortopts;
	a->longopts = longopts;
	a->help = help;
	a->err = err;
	a->errlen = errlen;
	a->opt[0] = '\0';
	if (errlen)
		err[0] = '\0';
	/* 0, not 1: glibc then also forgets where it was inside a group of
	 * short options ("-hv") from an earlier call. */
	optind = 0;
	opterr = 0;
}

int args__fail(struct args *a, const char *fmt, ...)
{
	va_list ap;

	if (a->errlen) {
		va_start(ap, fmt);
		vsnprintf(a->err, a->errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool is_short(const struct args *a, int c)
{
	return c > 0 && c < 256 && c != ':' && c != '+' &&
	       strchr(a->shortopts, c);
}

static bool is_long_val(const struct args *a, int val)
{
	for (const struct option *o = a->longopts; o && o->name; o++)
		if (o->val == val)
			return true;
	return false;
}

/* getopt_long returned ':': optopt lacks its value. */
static int missing_value(struct args *a)
{
	/* A long option is the whole of argv[optind - 1]; a short one may
	 * end a group ("-vF"). */
	const char *arg = a->argv[optind - 1];

	if (strncmp(arg, "--", 2) == 0)
		return args__fail(a, "option %s needs a value; see %s", arg,
				  a->help);
	return args__fail(a, "option -%c needs a value; see %s", optopt,
			  a->help);
}

/*
 * getopt_long returned '?'.  glibc's optopt is the character of an unknown
 * short option, 0 for an unknown or ambiguous long one, and the option's
 * val for a long option given a value it does not take ("--help=3", whose
 * val 'h' is also a short option's).  Inside a group ("-xv") optind has
 * not moved past the group yet, so argv[optind - 1] is the argument before
 * it: a short option is named from optopt.
 */
static int bad_option(struct args *a)
{
	const char *arg = a->argv[optind - 1];

	if (optopt > 0 && optopt < 256 && !is_short(a, optopt))
		return args__fail(a, "unknown option '-%c'; see %s", optopt,
				  a->help);
	if (optopt && is_long_val(a, optopt) && strncmp(arg, "--", 2) == 0 &&
	    strchr(arg, '='))
		return args__fail(a, "option '%.*s' takes no value; see %s",
				  (int)strcspn(arg, "="), arg, a->help);
	return args__fail(a, "unknown option '%s'; see %s", arg, a->help);
}

int args__next(struct args *a)
{
	int c, li = -1;

	c = getopt_long(a->argc, a->argv, a->shortopts, a->longopts, &li);
	if (c == -1)
		return 0;
	if (c == ':')
		return missing_value(a);
	if (c == '?')
		return bad_option(a);
	if (li >= 0)
		snprintf(a->opt, sizeof(a->opt), "--%s", a->longopts[li].name);
	else
		snprintf(a->opt, sizeof(a->opt), "-%c", c);
	return c;
}

static int not_whole(struct args *a, const char *s, unsigned long long min,
		     unsigned long long max)
{
	return args__fail(a,
			  "%s '%s' is not a whole number: give one from "
			  "%llu to %llu",
			  a->opt, s, min, max);
}

int args__uint(struct args *a, const char *s, unsigned long long min,
	       unsigned long long max, unsigned long long *out)
{
	const char *p = s;
	unsigned long long v;
	bool negative;
	char *end;

	/* strtoull takes "-1" as 2^64 - 1, and "- 1" too: the sign is read
	 * here, and a digit must follow it. */
	while (isspace((unsigned char)*p))
		p++;
	negative = *p == '-';
	if (*p == '-' || *p == '+')
		p++;
	if (!isdigit((unsigned char)*p))
		return not_whole(a, s, min, max);
	errno = 0;
	v = strtoull(p, &end, 10);
	if (*end)
		return not_whole(a, s, min, max);
	if (negative || errno == ERANGE || v < min || v > max)
		return args__fail(a,
				  "%s '%s' is out of range: give a whole "
				  "number from %llu to %llu",
				  a->opt, s, min, max);
	*out = v;
	return 0;
}

int args__seconds(struct args *a, const char *s, double min, double max,
		  double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || isnan(v))
		return args__fail(a,
				  "%s '%s' is not a number of seconds: give "
				  "one from %.15g to %.15g",
				  a->opt, s, min, max);
	/* ERANGE: beyond a double, or too close to 0 to hold. */
	if (errno == ERANGE || v < min || v > max)
		return args__fail(a,
				  "%s '%s' is out of range: give seconds from "
				  "%.15g to %.15g",
				  a->opt, s, min, max);
	*out = v;
	return 0;
}

int args__freq(struct args *a, const char *s, unsigned *out)
{
	unsigned long long v;

	if (args__uint(a, s, 1, MAX_FREQ, &v))
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int args__percent(struct args *a, const char *s, double max, bool off,
		  double *out)
{
	const char *or_off = off ? ", or off" : "";
	char *end;
	double v;

	if (off && strcmp(s, "off") == 0) {
		*out = -1;
		return 0;
	}
	errno = 0;
	v = strtod(s, &end);
	if (end != s && *end == '%')
		end++;
	if (end == s || *end || isnan(v))
		return args__fail(a,
				  "%s '%s' is not a percentage: give one from "
				  "0 to %.15g (10 or 10%%)%s",
				  a->opt, s, max, or_off);
	if (errno == ERANGE || v < 0 || v > max)
		return args__fail(a,
				  "%s '%s' is out of range: give a percentage "
				  "from 0 to %.15g%s",
				  a->opt, s, max, or_off);
	*out = v;
	return 0;
}

int args__pids(struct args *a, const char *list, pid_t *pids, unsigned *n,
	       unsigned max)
{
	const char *s = list;
	char buf[32];

	for (;;) {
		size_t len = strcspn(s, ",");
		unsigned long long v;
		bool dup = false;

		if (len == 0 || len >= sizeof(buf))
			return args__fail(a,
					  "invalid pid list '%s': give pids "
					  "as %s 1,2,3",
					  list, a->opt);
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (args__uint(a, buf, 1, INT_MAX, &v))
			return -EINVAL;
		for (unsigned i = 0; i < *n; i++)
			dup |= pids[i] == (pid_t)v;
		if (!dup) {
			if (*n == max)
				return args__fail(a,
						  "more than %u pids: use -a "
						  "to profile every Python "
						  "process",
						  max);
			pids[(*n)++] = (pid_t)v;
		}
		if (!s[len])
			return 0;
		s += len + 1;
	}
}

int args__filter(struct args *a, const char **slot, const char *re)
{
	char msg[256];
	regex_t r;
	int rc;

	if (*slot)
		return args__fail(a,
				  "%s given twice: join the expressions with "
				  "'|', e.g. %s 'a|b'",
				  a->opt, a->opt);
	rc = regcomp(&r, re, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		regerror(rc, &r, msg, sizeof(msg));
		return args__fail(a,
				  "invalid %s '%s': %s: give a POSIX extended "
				  "regular expression",
				  a->opt, re, msg);
	}
	regfree(&r);
	*slot = re;
	return 0;
}
