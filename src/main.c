// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * pyprof-bpf: an eBPF sampling profiler for CPython.
 *
 * main checks what the run needs before touching the kernel (privileges,
 * BTF, the target), then samples until the duration ends, Ctrl-C, or the
 * target exits, and writes what it collected in every one of those cases.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "cmd_convert.h"
#include "collect.h"
#include "options.h"
#include "out_folded.h"
#include "proc.h"
#include "profile.h"
#include "profiler.h"
#include "python.h"

#define PYPROF_VERSION "0.1.0"
/* How often the main loop wakes to check signals and the target; sampler
 * events wake it sooner. */
#define TICK_MS 100

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("pyprof-bpf: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

/* Says which capabilities are missing. 0 when all are there. */
static int check_privileges(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2] = {};
	char missing[128] = "";
	bool admin;

	if (syscall(SYS_capget, &hdr, d) != 0)
		return 0; /* cannot tell: let the kernel decide */
	/* Before Linux 5.8, CAP_SYS_ADMIN stood for CAP_BPF and CAP_PERFMON. */
	admin = has_cap(d, CAP_SYS_ADMIN);
	if (!admin && !has_cap(d, CAP_BPF))
		strcat(missing, " CAP_BPF");
	if (!admin && !has_cap(d, CAP_PERFMON))
		strcat(missing, " CAP_PERFMON");
	if (!has_cap(d, CAP_SYS_PTRACE))
		strcat(missing, " CAP_SYS_PTRACE");
	if (!missing[0])
		return 0;
	fail("insufficient privileges (missing%s): run it as root (sudo "
	     "pyprof-bpf ...) or grant CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE",
	     missing);
	return -EPERM;
}

static int check_btf(void)
{
	struct stat st;

	if (stat("/sys/kernel/btf/vmlinux", &st) == 0)
		return 0;
	fail("this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): "
	     "pyprof-bpf needs Linux 5.17+ built with CONFIG_DEBUG_INFO_BTF=y "
	     "(most distributions' kernels are)");
	return -ENOTSUP;
}

/* Where the profile goes: stdout, or a temporary file renamed at the end so
 * that FILE is either complete or untouched. */
struct output {
	FILE *f;
	char *final;
	char tmp[PATH_MAX];
};

static int output_open(struct output *o, const char *path)
{
	int fd;

	memset(o, 0, sizeof(*o));
	if (!path) {
		o->f = stdout;
		return 0;
	}
	if (snprintf(o->tmp, sizeof(o->tmp), "%s.tmp.XXXXXX", path) >=
	    (int)sizeof(o->tmp)) {
		fail("output path too long: %s", path);
		return -ENAMETOOLONG;
	}
	fd = mkstemp(o->tmp);
	if (fd < 0) {
		int err = errno;

		fail("cannot write %s: %s: choose a writable path with -o",
		     path, strerror(err));
		return -err;
	}
	fchmod(fd, 0644);
	o->f = fdopen(fd, "w");
	if (!o->f) {
		int err = errno;

		close(fd);
		unlink(o->tmp);
		fail("cannot write %s: %s", path, strerror(err));
		return -err;
	}
	o->final = (char *)path;
	return 0;
}

static int output_close(struct output *o, bool keep)
{
	int err = 0;

	if (!o->final)
		return fflush(stdout) == 0 ? 0 : -errno;
	if (fclose(o->f) != 0)
		err = -errno;
	if (!keep || err) {
		unlink(o->tmp);
		return err;
	}
	if (rename(o->tmp, o->final) != 0) {
		err = -errno;
		unlink(o->tmp);
	}
	return err;
}

static void print_summary(const struct options *opt, const struct py_target *t,
			  struct profiler *bpf, const struct collector *c,
			  const struct profile *prof, double elapsed,
			  double cpu_secs, bool exited)
{
	uint64_t s[STAT__MAX] = {};
	uint64_t lost;
	char comm[64] = "?";

	profiler__stats(bpf, s);
	lost = s[STAT_LOST_COUNTS] + s[STAT_LOST_STACKS] + c->unresolved;
	proc__comm(t->pid, 0, comm, sizeof(comm));
	fprintf(stderr,
		"pyprof-bpf: pid %d, CPython %s (%s%s): %.1f s at %u Hz on %d CPUs%s\n",
		t->pid, t->version_str, t->elf_path,
		t->debug_offsets ? ", offsets from _Py_DebugOffsets" : "",
		elapsed, opt->freq, profiler__ncpus(bpf),
		c->execed   ? "; the process exec'd another program" :
		exited	    ? "; the process exited" :
		stop_signal ? "; interrupted" :
			      "");
	fprintf(stderr, "pyprof-bpf: samples %" PRIu64 " taken",
		s[STAT_SAMPLES]);
	if (cpu_secs >= 0)
		fprintf(stderr, " (expected ~%.0f from %.2f s of CPU time)",
			cpu_secs * opt->freq, cpu_secs);
	fprintf(stderr, ", %" PRIu64 " written, %" PRIu64 " lost",
		profile__total(prof), lost);
	if (lost)
		fprintf(stderr,
			" (counts map full %" PRIu64
			", stacks map full %" PRIu64
			", stack unresolvable %" PRIu64 ")",
			s[STAT_LOST_COUNTS], s[STAT_LOST_STACKS],
			c->unresolved);
	fputc('\n', stderr);
	fprintf(stderr,
		"pyprof-bpf: python stacks %" PRIu64 " complete, %" PRIu64
		" truncated (--max-depth %u), %" PRIu64 " partial; unresolved: "
		"no thread state %" PRIu64 ", no frame %" PRIu64
		", interpreter unreadable %" PRIu64 ", bad config %" PRIu64
		"; unknown code objects %" PRIu64 " (stale %" PRIu64 ")\n",
		s[STAT_PY_FULL], s[STAT_TRUNCATED], opt->max_depth,
		s[STAT_PARTIAL], s[STAT_NO_TSTATE], s[STAT_NO_FRAME],
		s[STAT_ERR_RUNTIME], s[STAT_ERR_CONFIG], t->code_errors,
		t->code_stale);
	if (opt->verbose) {
		static const char *names[] = STAT_NAMES;
		uint64_t run_ns = 0, runs = 0;

		if (profiler__prog_stats(bpf, &run_ns, &runs) == 0 && runs)
			fprintf(stderr,
				"pyprof-bpf: sampler runs %" PRIu64
				" (all CPUs, all processes), %.3f us each on average "
				"(kernel.bpf_stats_enabled)\n",
				runs, (double)run_ns / (double)runs / 1000.0);

		for (int i = 0; i < STAT__MAX; i++)
			fprintf(stderr, "pyprof-bpf:   %-16s %" PRIu64 "\n",
				names[i], s[i]);
	}
}

static int exit_for_attach(int rc)
{
	switch (rc) {
	case -ESRCH:
		return EXIT_NOPROC;
	case -ENOEXEC:
		return EXIT_NOTPY;
	case -ENOTSUP:
	case -EINVAL:
		return EXIT_PYVER;
	case -EPERM:
	case -EACCES:
		return EXIT_PERM;
	default:
		return EXIT_FAILURE_;
	}
}

/*
 * Subcommands: `pyprof-bpf NAME ARGS...` runs fn(argc - 1, argv + 1), whose
 * return value is the exit code.  Profiling a process is the default, with
 * no subcommand name.
 */
static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "convert", cmd_convert },
	{ NULL, NULL }, /* keeps the table non-empty */
};

static int profile_main(int argc, char **argv);

int main(int argc, char **argv)
{
	if (argc > 1) {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]);
		     i++)
			if (commands[i].name &&
			    strcmp(argv[1], commands[i].name) == 0)
				return commands[i].fn(argc - 1, argv + 1);
	}
	return profile_main(argc, argv);
}

static int profile_main(int argc, char **argv)
{
	struct profiler_opts popts = {};
	struct py_proc_cfg cfg;
	struct options opt;
	struct py_target target;
	struct collector coll;
	struct profiler *bpf;
	struct profile *prof;
	struct output out;
	struct sigaction sa = { .sa_handler = on_signal };
	char err[PATH_MAX + 512];
	double start, next_drain, cpu0 = -1, cpu1 = -1, cpu_secs = -1;
	bool exited = false;
	int rc, why, code = EXIT_OK;
	pid_t tgid;

	if (options__parse(argc, argv, &opt, err, sizeof(err))) {
		fail("%s", err);
		return EXIT_USAGE;
	}
	if (opt.help) {
		fputs(options__usage, stdout);
		return EXIT_OK;
	}
	if (opt.version) {
		printf("pyprof-bpf %s\n", PYPROF_VERSION);
		return EXIT_OK;
	}

	/* From here on, Ctrl-C ends the run with what was collected. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (check_privileges())
		return EXIT_PERM;
	if (check_btf())
		return EXIT_KERNEL;
	if (proc__tgid(opt.pid, &tgid) == 0 && tgid != opt.pid) {
		fprintf(stderr,
			"pyprof-bpf: %d is a thread of process %d: "
			"profiling process %d\n",
			opt.pid, tgid, tgid);
		opt.pid = tgid;
	}

	rc = python__attach(opt.pid, &target, err, sizeof(err));
	if (rc) {
		fail("%s", err);
		return exit_for_attach(rc);
	}
	if (!opt.output && !opt.folded && isatty(STDOUT_FILENO))
		fail("writing folded stacks to the terminal; use -o FILE or "
		     "redirect stdout to keep them");

	if (output_open(&out, opt.output)) {
		code = EXIT_USAGE;
		goto out_detach;
	}
	prof = profile__new();
	if (!prof) {
		fail("out of memory");
		code = EXIT_FAILURE_;
		goto out_close_output;
	}

	if (collect__init(&coll, prof, &target, opt.thread_ids,
			  opt.no_threads)) {
		fail("out of memory");
		code = EXIT_FAILURE_;
		goto out_fini;
	}
	popts.freq = opt.freq;
	popts.max_depth = opt.max_depth;
	popts.verbose = opt.verbose;
	popts.events.new_seg = collect__on_new_seg;
	popts.events.new_thread = collect__on_new_thread;
	popts.events.exec = collect__on_exec;
	popts.events.arg = &coll;
	bpf = profiler__open(&popts, &why, err, sizeof(err));
	if (!bpf) {
		fail("%s", err);
		code = why == PROFILER_EPERM   ? EXIT_PERM :
		       why == PROFILER_EKERNEL ? EXIT_KERNEL :
						 EXIT_FAILURE_;
		goto out_fini;
	}
	coll.bpf = bpf;

	py_layout__to_cfg(&target.layout, target.runtime_addr, &cfg);
	proc__cpu_time(opt.pid, &cpu0);
	rc = profiler__add_target(bpf, opt.pid, &cfg);
	if (rc) {
		fail("cannot add pid %d to the sampler: %s", opt.pid,
		     strerror(-rc));
		code = EXIT_FAILURE_;
		goto out_close_bpf;
	}
	start = clock__now();
	next_drain = start + opt.interval;

	while (!stop_signal) {
		double now;

		profiler__poll(bpf, TICK_MS);
		now = clock__now();
		if (!proc__alive(opt.pid) || coll.execed) {
			exited = true;
			break;
		}
		proc__cpu_time(opt.pid, &cpu1);
		if (opt.duration && now - start >= opt.duration)
			break;
		if (now >= next_drain) {
			collect__new_drain(&coll);
			rc = profiler__drain(bpf, collect__sample, &coll);
			if (rc) {
				fail("collecting samples failed: %s",
				     strerror(-rc));
				code = EXIT_FAILURE_;
				break;
			}
			next_drain += opt.interval;
			if (next_drain < now)
				next_drain = now + opt.interval;
		}
	}
	profiler__remove_target(bpf, opt.pid);
	collect__new_drain(&coll);
	rc = profiler__drain(bpf, collect__sample, &coll);
	if (rc && !code) {
		fail("collecting samples failed: %s", strerror(-rc));
		code = EXIT_FAILURE_;
	}
	if (cpu0 >= 0 && cpu1 >= 0)
		cpu_secs = cpu1 - cpu0;
	print_summary(&opt, &target, bpf, &coll, prof, clock__now() - start,
		      cpu_secs, exited);

	rc = out_folded__write(prof, out.f);
	if (rc) {
		fail("writing %s failed: %s",
		     opt.output ? opt.output : "stdout", strerror(-rc));
		code = EXIT_FAILURE_;
	}
out_close_bpf:
	profiler__close(bpf);
out_fini:
	collect__fini(&coll);
	profile__free(prof);
out_close_output:
	rc = output_close(&out, code == EXIT_OK);
	if (rc && code == EXIT_OK) {
		fail("writing %s failed: %s",
		     opt.output ? opt.output : "stdout", strerror(-rc));
		code = EXIT_FAILURE_;
	}
out_detach:
	python__detach(&target);
	return code;
}
