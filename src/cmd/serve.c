// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * `pyprof-bpf serve`: the always-on agent.  One sampling session (the same
 * one the default command runs, src/sampler/session.c) that never ends; at
 * every interval its samples move into the rolling window
 * (src/serve/window.c), and the HTTP listener (src/serve/http.c) answers
 * from there in a thread of its own.
 *
 * The main loop is record.c's: poll the sampler, check the targets, drain
 * at each interval; plus the window, the figures for /metrics, waking the
 * live streams, and the listener's deadlines.  Whatever else comes to the
 * agent (the control socket of issue 20) is another listener: started
 * beside http__start in serve__open, woken in serve__interval, stopped in
 * serve__close; struct serve holds the state they share.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/args.h"
#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "cmd/launch.h"
#include "cmd/options.h"
#include "lib/clock.h"
#include "lib/msg.h"
#include "sampler/proc.h"
#include "sampler/session.h"
#include "serve/api.h"
#include "serve/client.h"
#include "serve/control.h"
#include "serve/http.h"
#include "serve/window.h"

#define PYPROF_VERSION "0.1.0"
#define WHO "pyprof-bpf serve"
#define TICK_MS 100
#define DEFAULT_LISTEN "127.0.0.1:6060"
#define DEFAULT_WINDOW 600
#define TOKEN_MAX 4096
/* After SIGTERM, how long a launched command may take to end. */
#define STOP_GRACE_SECS 10.0

#define fail(...) msg__fail(WHO, __VA_ARGS__)

static const char usage[] =
	"usage: pyprof-bpf serve [-a | -p PID[,PID...] [--children] | -- "
	"COMMAND [ARGS...]]\n"
	"                        [--listen ADDR:PORT] [--token-file FILE] "
	"[options]\n"
	"\n"
	"The always-on agent: samples every Python process on the host (or the\n"
	"ones given) until it is stopped, keeps the last --window seconds and\n"
	"the totals since it started, and serves them over HTTP:\n"
	"\n"
	"  /                     a live flame graph and table, in a browser\n"
	"  /debug/pprof/profile  ?seconds=N: the last N seconds as pprof (go tool\n"
	"                        pprof, Parca, Grafana Alloy / Pyroscope)\n"
	"  /profile              ?seconds=N|all&format=folded|svg|pprof|...\n"
	"  /stream               the live stream `pyprof-bpf view http://HOST:PORT`\n"
	"                        reads\n"
	"  /metrics              Prometheus text\n"
	"\n"
	"and on a unix control socket, where programs start and stop profiling\n"
	"of themselves (the Python module pyprof_bpf, the C header pyprof_bpf.h)\n"
	"without root: a caller may profile itself and its descendants.\n"
	"\n"
	"What to profile (one of; default -a):\n"
	"  -a, --all             every Python process on the host, present and\n"
	"                        future\n"
	"  -p, --pid PID[,PID..] these processes; with --children their\n"
	"                        descendants too\n"
	"  -- COMMAND [ARGS...]  run COMMAND and profile it and its descendants;\n"
	"                        the agent exits when it does, with its status\n"
	"\n"
	"  -l, --listen ADDR:PORT  where to answer (default " DEFAULT_LISTEN
	"); PORT\n"
	"                        alone is on 127.0.0.1; port 0 lets the kernel\n"
	"                        choose. Any address but loopback needs a token\n"
	"      --socket PATH     the control socket (default\n"
	"                        " CONTROL_DEFAULT_PATH "; clients look at\n"
	"                        $PYPROF_BPF_SOCKET, else there)\n"
	"      --socket-group GROUP  members of GROUP may use it (mode 0660);\n"
	"                        without, root only (0600)\n"
	"      --no-socket       no control socket\n"
	"      --token-file FILE clients must send \"Authorization: Bearer TOKEN\"\n"
	"                        (a browser: the token as the password); FILE\n"
	"                        holds the token, 16 to 256 printable characters\n"
	"  -w, --window SECS     seconds of history kept (default 600)\n"
	"      --interval SECS   how often samples are collected: the live\n"
	"                        views' step (default 1, 0.1 to 60)\n"
	"  -F, --frequency HZ    samples per second per CPU, on average (default 99)\n"
	"      --max-depth N     Python frames kept per stack (default 1024)\n"
	"      --max-stacks N    distinct stacks kept before the oldest merge\n"
	"                        (default 50000), and 40 frames per stack\n"
	"                        in all; stacks only in the totals since the\n"
	"                        start keep a quarter of that\n"
	"      --tid             thread frames \"NAME (tid N)\"\n"
	"      --mode cpu|wall   cpu (default) or wall time (see pyprof-bpf --help)\n"
	"      --kernel          kernel frames too\n"
	"      --native          native frames too\n"
	"      --no-bpf-stats    do not turn on the kernel's BPF run-time\n"
	"                        statistics (/metrics then has no BPF cost)\n"
	"  -v, --verbose         libbpf's and the listener's messages\n"
	"  -h, --help            show this help\n"
	"\n"
	"It runs until SIGTERM or Ctrl-C (with -- COMMAND, until the command\n"
	"exits). Needs root, as the default command does.\n"
	"\n"
	"Exit status: 0 stopped, 1 runtime failure, 2 bad usage (and a\n"
	"non-loopback --listen without --token-file), 3 insufficient\n"
	"privileges, 4 kernel lacks BTF or a BPF feature, 5-7 as the default\n"
	"command when none of the -p pids can be profiled.\n";

struct serve_opts {
	pid_t pids[MAX_PIDS];
	unsigned npids;
	bool all, children, no_bpf_stats;
	char **cmd;
	const char *listen;
	const char *token_file;
	const char *socket; /* NULL: none */
	bool socket_given; /* --socket: failing to make it is fatal */
	const char *socket_group;
	unsigned window;
	double interval;
	unsigned freq, max_depth;
	unsigned long long max_stacks;
	bool thread_ids, wall, kernel, native, verbose, help;
};

/* Everything the agent holds. */
struct serve {
	struct serve_opts o;
	struct session *s;
	struct api api;
	struct http_opts ho;
	struct http *http;
	struct control *control;
	gid_t socket_gid; /* --socket-group's */
	struct launch cmd;
	char token[TOKEN_MAX + 1];
	char what[64];
	int bpf_stats_fd; /* the kernel's BPF statistics on while open */
	double next_drain, last_push; /* clock__now() */
	uint64_t taken0, lost0; /* the counters at the last push */
	double drain_failed_at;
	double trimmed_at; /* clock__now() of the last malloc_trim */
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* ---- The command line ---- */

enum {
	OPT_CHILDREN = 256,
	OPT_TOKEN_FILE,
	OPT_INTERVAL,
	OPT_MAX_DEPTH,
	OPT_MAX_STACKS,
	OPT_TID,
	OPT_MODE,
	OPT_KERNEL,
	OPT_NATIVE,
	OPT_NO_BPF_STATS,
	OPT_SOCKET,
	OPT_SOCKET_GROUP,
	OPT_NO_SOCKET,
};

static int parse_option(struct args *a, struct serve_opts *o, int c,
			const char *arg)
{
	unsigned long long v;
	double d;

	switch (c) {
	case 'a':
		o->all = true;
		return 0;
	case 'p':
		return args__pids(a, arg, o->pids, &o->npids, MAX_PIDS);
	case OPT_CHILDREN:
		o->children = true;
		return 0;
	case 'l':
		o->listen = arg;
		return 0;
	case OPT_TOKEN_FILE:
		if (!arg[0])
			return args__fail(a, "%s needs a file name", a->opt);
		o->token_file = arg;
		return 0;
	case OPT_SOCKET:
		if (!arg[0])
			return args__fail(a, "%s needs a path", a->opt);
		o->socket = arg;
		o->socket_given = true;
		return 0;
	case OPT_SOCKET_GROUP:
		if (!arg[0])
			return args__fail(a, "%s needs a group", a->opt);
		o->socket_group = arg;
		return 0;
	case OPT_NO_SOCKET:
		o->socket = NULL;
		o->socket_given = false;
		return 0;
	case 'w':
		if (args__uint(a, arg, 10, 86400, &v))
			return -EINVAL;
		o->window = (unsigned)v;
		return 0;
	case OPT_INTERVAL:
		if (args__seconds(a, arg, 0.1, 60, &d))
			return -EINVAL;
		o->interval = d;
		return 0;
	case 'F':
		return args__freq(a, arg, &o->freq);
	case OPT_MAX_DEPTH:
		if (args__uint(a, arg, 1, PY_MAX_DEPTH_CAP, &v))
			return -EINVAL;
		o->max_depth = (unsigned)v;
		return 0;
	case OPT_MAX_STACKS:
		return args__uint(a, arg, 100, 10000000, &o->max_stacks);
	case OPT_TID:
		o->thread_ids = true;
		return 0;
	case OPT_MODE:
		if (strcmp(arg, "cpu") != 0 && strcmp(arg, "wall") != 0)
			return args__fail(a,
					  "invalid mode '%s': give --mode cpu "
					  "or --mode wall",
					  arg);
		o->wall = arg[0] == 'w';
		return 0;
	case OPT_KERNEL:
		o->kernel = true;
		return 0;
	case OPT_NATIVE:
		o->native = true;
		return 0;
	case OPT_NO_BPF_STATS:
		o->no_bpf_stats = true;
		return 0;
	case 'v':
		o->verbose = true;
		return 0;
	case 'h':
		o->help = true;
		return 0;
	}
	return args__fail(a, "option %s is not handled", a->opt);
}

static int parse(int argc, char **argv, struct serve_opts *o, char *err,
		 size_t errlen)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "pid", required_argument, NULL, 'p' },
		{ "children", no_argument, NULL, OPT_CHILDREN },
		{ "listen", required_argument, NULL, 'l' },
		{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
		{ "no-socket", no_argument, NULL, OPT_NO_SOCKET },
		{ "window", required_argument, NULL, 'w' },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "frequency", required_argument, NULL, 'F' },
		{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },
		{ "max-stacks", required_argument, NULL, OPT_MAX_STACKS },
		{ "tid", no_argument, NULL, OPT_TID },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "kernel", no_argument, NULL, OPT_KERNEL },
		{ "native", no_argument, NULL, OPT_NATIVE },
		{ "no-bpf-stats", no_argument, NULL, OPT_NO_BPF_STATS },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct args a;
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->listen = DEFAULT_LISTEN;
	o->socket = CONTROL_DEFAULT_PATH;
	o->window = DEFAULT_WINDOW;
	o->interval = 1.0;
	o->freq = DEFAULT_FREQ;
	o->max_depth = PY_DEFAULT_MAX_DEPTH;
	o->max_stacks = WINDOW_MAX_STACKS_DEFAULT;
	args__init(&a, argc, argv, "+:ap:l:w:F:vh", longopts, "serve --help",
		   err, errlen);
	while ((c = args__next(&a)) > 0) {
		rc = parse_option(&a, o, c, optarg);
		if (rc)
			return rc;
		if (o->help)
			return 0;
	}
	if (c < 0)
		return c;
	if (optind < argc) {
		if (optind == 0 || strcmp(argv[optind - 1], "--") != 0)
			return args__fail(&a,
					  "unexpected argument '%s'; to run a "
					  "command, put it after \"--\" (see "
					  "serve --help)",
					  argv[optind]);
		o->cmd = &argv[optind];
	}
	if ((o->npids > 0) + o->all + (o->cmd != NULL) > 1)
		return args__fail(&a, "-p, -a and \"-- COMMAND\" each say what "
				      "to profile: give only one");
	if (!o->npids && !o->cmd)
		o->all = true;
	if (o->children && !o->npids)
		return args__fail(&a, "--children goes with -p (-a and \"-- "
				      "COMMAND\" already include children)");
	if (o->socket_group && !o->socket)
		return args__fail(&a, "--socket-group goes with the control "
				      "socket, which --no-socket turns off");
	if (o->window < 10 * o->interval)
		return args__fail(&a,
				  "--window %u is shorter than 10 intervals "
				  "(--interval %g): give a longer window",
				  o->window, o->interval);
	return 0;
}

/* The token from --token-file.  0, or -EINVAL after one line. */
static int read_token(struct serve *sv)
{
	char err[PATH_MAX + 256];
	bool loose;

	if (client__read_token(sv->o.token_file, sv->token, sizeof(sv->token),
			       &loose, err, sizeof(err))) {
		fail("%s", err);
		return -EINVAL;
	}
	if (loose)
		fprintf(stderr,
			WHO ": warning: the token file %s can be read by "
			    "others than its owner: chmod 600 %s\n",
			sv->o.token_file, sv->o.token_file);
	return 0;
}

/* ---- The agent ---- */

static void session_opts(const struct serve_opts *o, struct session_opts *so)
{
	*so = (struct session_opts){
		.freq = o->freq,
		.max_depth = o->max_depth,
		.verbose = o->verbose,
		.all = o->all,
		.children = o->children,
		.launch = o->cmd != NULL,
		.wall = o->wall,
		.native = o->native,
		.kernel = o->kernel,
		.thread_ids = o->thread_ids,
	};
}

/* Attaches the -p pids: one that cannot be profiled is a warning, unless
 * none can.  0 or the exit code. */
static int attach_given(struct serve *sv)
{
	char err[PATH_MAX + 512];
	int rc, code = EXIT_OK;

	for (unsigned i = 0; i < sv->o.npids; i++) {
		pid_t pid = sv->o.pids[i], tgid;

		if (proc__tgid(pid, &tgid) == 0 && tgid != pid)
			pid = tgid;
		rc = session__attach(sv->s, pid, err, sizeof(err));
		if (!rc)
			continue;
		fprintf(stderr, WHO ": skipping pid %d: %s\n", pid, err);
		code = rc == -ESRCH   ? EXIT_NOPROC :
		       rc == -ENOEXEC ? EXIT_NOTPY :
		       rc == -EPERM   ? EXIT_PERM :
		       rc == -EACCES  ? EXIT_PERM :
		       rc == -ENOTSUP ? EXIT_PYVER :
		       rc == -EINVAL  ? EXIT_PYVER :
					EXIT_FAILURE_;
	}
	if (sv->o.npids && sv->s->ts.n == 0) {
		fail("none of the %u processes can be profiled", sv->o.npids);
		return code;
	}
	return EXIT_OK;
}

static void follow_command(pid_t pid, void *arg)
{
	if (session__follow(arg, pid))
		fail("cannot follow pid %d: its children will not be profiled",
		     pid);
}

/* The figures /metrics and /info give, into sv->api.m (lock held). */
static void gather(struct serve *sv, const uint64_t *stats)
{
	struct metrics *m = &sv->api.m;
	const struct targets *ts = &sv->s->ts;

	memcpy(m->stats, stats, sizeof(m->stats));
	m->uptime = session__elapsed(sv->s);
	m->lost = session__lost(sv->s, stats);
	m->processes = targets__live(ts, false);
	m->attached = ts->attached;
	m->not_python = ts->not_python;
	m->unsupported = ts->unsupported;
	m->failed = ts->failed;
	m->bpf_stats = sv->bpf_stats_fd >= 0;
	sampler__prog_stats(sv->s->bpf, &m->bpf_run_ns, &m->bpf_runs);
	metrics__self(&m->rss, &m->cpu, &m->maps);
	window__stats(sv->api.w, &m->win);
	if (sv->http)
		http__stats(sv->http, &m->http);
	control__runs(sv->control, &m->control_runs, &m->control_runs_total);
}

/*
 * Every interval frees a profile of small blocks, among which blocks that
 * live on (caches of processes, the window's entries) were placed: the
 * pages of the freed ones stay the agent's until given back.  Every 10 s
 * they are (22-77 us a time here, with a 4 MiB heap), not only at the
 * window's compaction.
 */
#define TRIM_EVERY_S 10.0

/*
 * One interval: the samples since the last one into the window, the
 * figures, the streams woken.  A failure leaves the samples in the
 * session's profile, for the next interval.
 */
static void serve__interval(struct serve *sv, double now)
{
	struct session *s = sv->s;
	struct window_interval info = {};
	uint64_t stats[STAT__MAX];
	struct profile *fresh, *delta;
	int rc;

	rc = session__drain(s);
	if (rc && now - sv->drain_failed_at > 60) {
		fail("collecting samples failed: %s (going on)", strerror(-rc));
		sv->drain_failed_at = now;
	}
	fresh = profile__new();
	delta = fresh ? session__swap_profile(s, fresh) : NULL;
	if (!delta) {
		profile__free(fresh);
		return;
	}
	session__stats(s, stats);
	info.t_end = s->wall_start + (now - s->start);
	info.duration = now - sv->last_push;
	info.taken = stats[STAT_SAMPLES] - sv->taken0;
	info.lost = session__lost(s, stats) - sv->lost0;
	info.processes = (uint32_t)targets__live(&s->ts, false);
	pthread_mutex_lock(&sv->api.lock);
	if (window__push(sv->api.w, delta, &info) == 0) {
		sv->taken0 = stats[STAT_SAMPLES];
		sv->lost0 = session__lost(s, stats);
		sv->last_push = now;
	}
	gather(sv, stats);
	pthread_mutex_unlock(&sv->api.lock);
	profile__free(delta);
	http__wake(sv->http);
	if (now - sv->trimmed_at >= TRIM_EVERY_S) {
		malloc_trim(0);
		sv->trimmed_at = now;
	}
}

/* --socket-group GROUP, a name or a number, into *gid.  0 or EXIT_USAGE
 * (told). */
static int socket_group(const char *name, gid_t *gid)
{
	struct group gr, *found = NULL;
	unsigned long long v;
	char buf[16384], *end;

	errno = 0;
	v = strtoull(name, &end, 10);
	if (name[0] >= '0' && name[0] <= '9' && !*end && !errno &&
	    v < (gid_t)-1) {
		*gid = (gid_t)v;
		return EXIT_OK;
	}
	if (getgrnam_r(name, &gr, buf, sizeof(buf), &found) || !found) {
		fail("--socket-group %s: no such group: give a group name or "
		     "number (getent group)",
		     name);
		return EXIT_USAGE;
	}
	*gid = gr.gr_gid;
	return EXIT_OK;
}

/*
 * Where to listen, and with which token: usage errors, found before
 * anything else is checked or loaded.  0 or EXIT_USAGE (told).
 */
static int serve__check_listen(struct serve *sv)
{
	char err[512];

	if (http__parse_listen(sv->o.listen, &sv->ho.addr, &sv->ho.addrlen, err,
			       sizeof(err))) {
		fail("%s", err);
		return EXIT_USAGE;
	}
	if (!sv->o.token_file &&
	    !http__loopback((struct sockaddr *)&sv->ho.addr)) {
		fail("refusing to listen on %s without a token: anyone who "
		     "can reach it could read what every profiled process "
		     "runs; give --token-file FILE, or listen on 127.0.0.1",
		     sv->o.listen);
		return EXIT_USAGE;
	}
	if (sv->o.token_file && read_token(sv))
		return EXIT_USAGE;
	if (sv->o.socket_group &&
	    socket_group(sv->o.socket_group, &sv->socket_gid))
		return EXIT_USAGE;
	sv->ho.token = sv->o.token_file ? sv->token : NULL;
	sv->ho.verbose = sv->o.verbose;
	return EXIT_OK;
}

/*
 * The control socket.  One at the default path that cannot be made (another
 * agent has it, no /run) is a warning; one given with --socket is not.
 * 0 or the exit code (told).
 */
static int serve__control(struct serve *sv)
{
	struct control_opts co = {
		.path = sv->o.socket,
		.max_clients = CONTROL_MAX_CLIENTS,
		.max_depth = sv->o.max_depth,
		.thread_ids = sv->o.thread_ids,
		.verbose = sv->o.verbose,
		.version = PYPROF_VERSION,
	};
	char err[PATH_MAX + 256];
	sigset_t block, old;

	if (!sv->o.socket)
		return EXIT_OK;
	co.group = sv->o.socket_group != NULL;
	co.gid = sv->socket_gid;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	sv->control = control__start(&co, err, sizeof(err));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (sv->control)
		return EXIT_OK;
	if (sv->o.socket_given || sv->o.socket_group) {
		fail("%s", err);
		return EXIT_FAILURE_;
	}
	fprintf(stderr, WHO ": warning: %s; going on without it\n", err);
	return EXIT_OK;
}

static int serve__listen(struct serve *sv)
{
	struct http_handlers hh = {
		.respond = api__respond,
		.stream_next = api__stream_next,
		.arg = &sv->api,
		.limits = { .window_secs = sv->o.window, .default_secs = 30 },
	};
	char err[512];

	sv->http = http__start(&sv->ho, &hh, err, sizeof(err));
	if (!sv->http) {
		fail("%s", err);
		return EXIT_FAILURE_;
	}
	return EXIT_OK;
}

/* Everything up to sampling and listening.  0 or the exit code (told). */
static int serve__open(struct serve *sv)
{
	struct window_opts wo = {
		.slots = (unsigned)(sv->o.window / sv->o.interval + 0.5),
		.max_stacks = sv->o.max_stacks,
		.max_entries = WINDOW_MAX_ENTRIES_DEFAULT,
		/* Short processes bring a few new stacks each (their start-up,
		 * at varying lines) for as long as they come: the totals'
		 * share of the dictionary levels off at a quarter, and the
		 * window keeps the rest. */
		.max_old_stacks = sv->o.max_stacks / 4,
	};
	struct session_opts so;
	char err[PATH_MAX + 512], url[128];
	sigset_t block, old;
	int code, rc;

	code = serve__check_listen(sv);
	if (code)
		return code;
	if (checks__privileges(WHO))
		return EXIT_PERM;
	if (checks__btf(WHO))
		return EXIT_KERNEL;
	sv->api.w = window__new(&wo);
	if (!sv->api.w) {
		fail("out of memory");
		return EXIT_FAILURE_;
	}
	pthread_mutex_init(&sv->api.lock, NULL);
	sv->api.max_stacks = API_MAX_STACKS;
	sv->api.max_frames = API_MAX_FRAMES;
	sv->api.max_bytes = API_MAX_BYTES;
	if (gethostname(sv->api.host, sizeof(sv->api.host) - 1))
		strcpy(sv->api.host, "localhost");
	if (sv->o.all)
		snprintf(sv->what, sizeof(sv->what), "every Python process");
	else if (sv->o.cmd)
		snprintf(sv->what, sizeof(sv->what), "%.40s", sv->o.cmd[0]);
	else if (sv->o.npids == 1)
		snprintf(sv->what, sizeof(sv->what), "pid %d", sv->o.pids[0]);
	else
		snprintf(sv->what, sizeof(sv->what), "%u processes",
			 sv->o.npids);
	sv->api.what = sv->what;
	sv->api.m.version = PYPROF_VERSION;
	sv->api.m.freq = sv->o.freq;
	sv->api.m.interval = sv->o.interval;
	sv->api.m.window_secs = sv->o.window;
	/* The port first: a taken one fails before anything is loaded.  The
	 * listener's thread starts with the stop signals blocked, so that
	 * they go to the main loop, which ends the agent. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	code = serve__listen(sv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (code)
		return code;
	session_opts(&sv->o, &so);
	sv->s = session__new(&so);
	if (!sv->s) {
		fail("out of memory");
		return EXIT_FAILURE_;
	}
	code = attach_given(sv);
	if (code)
		return code;
	rc = session__open(sv->s, err, sizeof(err));
	if (rc) {
		fail("%s", err);
		return rc == -EPERM   ? EXIT_PERM :
		       rc == -ENOTSUP ? EXIT_KERNEL :
					EXIT_FAILURE_;
	}
	/* Per-sample BPF cost for /metrics: statistics on while we run. */
	sv->bpf_stats_fd =
		sv->o.no_bpf_stats ? -1 : bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (sv->o.cmd &&
	    launch__start(&sv->cmd, sv->o.cmd, follow_command, sv->s))
		return sv->cmd.exited ? launch__exit_code(&sv->cmd) :
					EXIT_FAILURE_;
	code = serve__control(sv);
	if (code)
		return code;
	sv->last_push = sv->s->start;
	sv->next_drain = sv->s->start + sv->o.interval;
	pthread_mutex_lock(&sv->api.lock);
	sv->api.m.start_time = sv->s->wall_start;
	{
		uint64_t stats[STAT__MAX];

		session__stats(sv->s, stats);
		gather(sv, stats);
	}
	pthread_mutex_unlock(&sv->api.lock);
	http__url(sv->http, url, sizeof(url));
	if (sv->control)
		fprintf(stderr, WHO ": control socket %s (%s)\n", sv->o.socket,
			sv->o.socket_group ? "its group may use it" :
					     "root only");
	fprintf(stderr,
		WHO ": listening on %s (%s, %u Hz, window %u s, interval %g "
		    "s%s)\n",
		url, sv->what, sv->o.freq, sv->o.window, sv->o.interval,
		sv->o.token_file ? ", token required" : "");
	return EXIT_OK;
}

/* Samples until a signal (or the launched command's end).  An exit code. */
static int serve__loop(struct serve *sv)
{
	struct session *s = sv->s;
	bool gone_said = false;

	while (!stop_signal) {
		double now;

		session__poll(s, TICK_MS);
		now = clock__now();
		session__check(s);
		if (sv->cmd.pid && launch__reap(&sv->cmd))
			break;
		if (!gone_said && !sv->o.cmd && session__targets_gone(s)) {
			fprintf(stderr,
				WHO ": the processes profiled have exited; "
				    "still serving what was collected (stop "
				    "with Ctrl-C or SIGTERM)\n");
			gone_said = true;
		}
		if (now >= sv->next_drain) {
			serve__interval(sv, now);
			sv->next_drain += sv->o.interval;
			if (sv->next_drain < now)
				sv->next_drain = now + sv->o.interval;
		} else if (session__want_drain(s)) {
			/* A target went away: its last samples now, into
			 * the current interval. */
			session__drain(s);
		}
		http__tick(sv->http);
	}
	return EXIT_OK;
}

static void serve__close(struct serve *sv, int code)
{
	uint64_t stats[STAT__MAX];
	struct window_stats ws;

	/* Runs in progress write what they had. */
	control__stop(sv->control);
	sv->control = NULL;
	if (sv->s && sv->s->bpf) {
		/* The last samples, so that taken = kept + lost. */
		session__stop(sv->s);
		serve__interval(sv, clock__now());
	}
	http__stop(sv->http);
	sv->http = NULL;
	if (sv->s && sv->s->bpf) {
		session__stats(sv->s, stats);
		window__stats(sv->api.w, &ws);
		fprintf(stderr,
			WHO ": stopped after %.0f s: samples %" PRIu64
			    " taken, %" PRIu64 " kept, %" PRIu64
			    " lost; %" PRIu64 " processes profiled%s\n",
			session__elapsed(sv->s), stats[STAT_SAMPLES],
			ws.samples, session__lost(sv->s, stats),
			sv->s->ts.attached, code == EXIT_OK ? "" : " (failed)");
	}
	if (sv->bpf_stats_fd >= 0)
		close(sv->bpf_stats_fd);
	session__delete(sv->s);
	window__free(sv->api.w);
	if (sv->api.w)
		pthread_mutex_destroy(&sv->api.lock);
}

/* The agent was stopped: so is its command, with SIGTERM, then after
 * STOP_GRACE_SECS with SIGKILL. */
static void stop_command(struct launch *cmd)
{
	double end = clock__now() + STOP_GRACE_SECS;

	launch__kill(cmd, SIGTERM);
	while (!launch__reap(cmd) && clock__now() < end)
		usleep(50000);
	if (!cmd->exited) {
		launch__kill(cmd, SIGKILL);
		launch__wait(cmd);
	}
}

/*
 * An agent runs for weeks, answering with buffers of a few MiB now and
 * then.  glibc's default raises its mmap threshold to the largest block
 * freed, after which such buffers come from the heap and their pages stay
 * with the process; and each thread that allocates gets an arena of its
 * own.  Fixed thresholds give every large block back when it is freed.
 */
static void malloc_for_an_agent(void)
{
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	mallopt(M_TRIM_THRESHOLD, 256 << 10);
	mallopt(M_ARENA_MAX, 2);
}

int cmd_serve(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct serve *sv;
	char err[PATH_MAX + 512];
	int code;

	sv = calloc(1, sizeof(*sv));
	if (!sv) {
		fail("out of memory");
		return EXIT_FAILURE_;
	}
	sv->bpf_stats_fd = -1;
	sv->ho = (struct http_opts){ HTTP_DEFAULTS };
	if (parse(argc, argv, &sv->o, err, sizeof(err))) {
		fail("%s", err);
		free(sv);
		return EXIT_USAGE;
	}
	if (sv->o.help) {
		fputs(usage, stdout);
		free(sv);
		return EXIT_OK;
	}
	malloc_for_an_agent();
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	code = serve__open(sv);
	if (code == EXIT_OK)
		code = serve__loop(sv);
	serve__close(sv, code);
	if (sv->cmd.pid && !sv->cmd.exited)
		stop_command(&sv->cmd);
	if (code == EXIT_OK && sv->cmd.pid)
		code = stop_signal ? EXIT_OK : launch__exit_code(&sv->cmd);
	free(sv);
	return code;
}
