// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* /metrics (metrics.h): names as Prometheus' conventions have them. */
#include "serve/metrics.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sampler/stats.h"

static const char *const status_codes[MS__MAX] = {
	"200", "304", "400", "401", "404", "405", "413", "500", "503", "other",
};

enum metrics_status metrics__status(unsigned code)
{
	switch (code) {
	case 200:
		return MS_200;
	case 304:
		return MS_304;
	case 400:
		return MS_400;
	case 401:
		return MS_401;
	case 404:
		return MS_404;
	case 405:
		return MS_405;
	case 413:
	case 414:
	case 431:
		return MS_413;
	case 500:
		return MS_500;
	case 503:
		return MS_503;
	default:
		return MS_OTHER;
	}
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void u64(FILE *f, const char *name, const char *type, const char *help,
		uint64_t v)
{
	head(f, name, type, help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

static void dbl(FILE *f, const char *name, const char *type, const char *help,
		double v)
{
	head(f, name, type, help);
	fprintf(f, "%s %.9g\n", name, v);
}

int metrics__write(FILE *f, const struct metrics *m)
{
	const struct window_stats *w = &m->win;
	const struct http_stats *h = &m->http;

	head(f, "pyprof_info", "gauge",
	     "The agent's version and sampling configuration.");
	fprintf(f,
		"pyprof_info{version=\"%s\",frequency_hz=\"%u\","
		"interval_seconds=\"%g\",window_seconds=\"%u\"} 1\n",
		m->version, m->freq, m->interval, m->window_secs);
	dbl(f, "process_start_time_seconds", "gauge",
	    "Start time of the agent since the Unix epoch in seconds.",
	    m->start_time);
	dbl(f, "pyprof_uptime_seconds", "gauge",
	    "Seconds since sampling began.", m->uptime);
	dbl(f, "process_cpu_seconds_total", "counter",
	    "User and system CPU time of the agent in seconds.", m->cpu);
	u64(f, "process_resident_memory_bytes", "gauge",
	    "Resident memory of the agent in bytes.", m->rss);
	u64(f, "pyprof_bpf_map_bytes", "gauge",
	    "Kernel memory held by the agent's BPF maps (memlock), in bytes.",
	    m->maps);

	u64(f, "pyprof_samples_taken_total", "counter",
	    "Timer samples that landed on a profiled thread.",
	    m->stats[STAT_SAMPLES]);
	u64(f, "pyprof_samples_written_total", "counter",
	    "Samples kept in the agent's profiles.", w->samples);
	u64(f, "pyprof_samples_lost_total", "counter",
	    "Samples taken but not kept (full BPF maps, unresolvable stacks, "
	    "processes gone).",
	    m->lost);
	u64(f, "pyprof_control_runs", "gauge",
	    "Regions being profiled for programs (the control socket).",
	    m->control_runs);
	u64(f, "pyprof_control_runs_total", "counter",
	    "Regions profiled for programs since the start.",
	    m->control_runs_total);
	u64(f, "pyprof_processes_profiled", "gauge",
	    "Python processes being profiled now.", m->processes);
	u64(f, "pyprof_processes_attached_total", "counter",
	    "Python processes the agent started profiling.", m->attached);
	head(f, "pyprof_processes_skipped_total", "counter",
	     "Processes looked at and not profiled, by reason.");
	fprintf(f,
		"pyprof_processes_skipped_total{reason=\"not_python\"} %" PRIu64
		"\n"
		"pyprof_processes_skipped_total{reason=\"unsupported\"} %" PRIu64
		"\n"
		"pyprof_processes_skipped_total{reason=\"failed\"} %" PRIu64
		"\n",
		m->not_python, m->unsupported, m->failed);

	head(f, "pyprof_bpf_ns_per_sample", "gauge",
	     "Mean run time of the BPF sampler per timer sample (every tick of "
	     "every CPU; it walks a stack only on a profiled thread's) since "
	     "the start, in nanoseconds; NaN without the kernel's BPF "
	     "statistics.");
	if (m->bpf_stats && m->bpf_runs)
		fprintf(f, "pyprof_bpf_ns_per_sample %.1f\n",
			(double)m->bpf_run_ns / (double)m->bpf_runs);
	else
		fputs("pyprof_bpf_ns_per_sample NaN\n", f);
	dbl(f, "pyprof_bpf_run_seconds_total", "counter",
	    "Run time of the BPF sampler program in seconds.",
	    (double)m->bpf_run_ns / 1e9);
	u64(f, "pyprof_bpf_runs_total", "counter",
	    "Runs of the BPF sampler program.", m->bpf_runs);
	head(f, "pyprof_sampler_events_total", "counter",
	     "The BPF sampler's counters, by name (README.md, Run summary).");
	for (int i = 0; i < STAT__MAX; i++)
		fprintf(f,
			"pyprof_sampler_events_total{counter=\"%s\"} %" PRIu64
			"\n",
			stats__name(i), m->stats[i]);

	dbl(f, "pyprof_window_seconds", "gauge",
	    "Seconds the rolling window holds.", w->seconds);
	u64(f, "pyprof_window_intervals", "gauge",
	    "Intervals the rolling window holds.", w->slots);
	u64(f, "pyprof_window_stacks", "gauge",
	    "Distinct stacks the agent keeps (window and totals).", w->stacks);
	u64(f, "pyprof_window_frames", "gauge",
	    "Distinct frames the agent keeps.", w->frames);
	u64(f, "pyprof_window_entries", "gauge",
	    "(stack, count) pairs over the window's intervals.", w->entries);
	u64(f, "pyprof_window_bytes", "gauge",
	    "Bytes of memory the agent's window holds: its stack dictionary, "
	    "counts and intervals.", w->bytes);
	u64(f, "pyprof_window_compactions_total", "counter",
	    "Rebuilds of the agent's stack dictionary.", w->compactions);
	u64(f, "pyprof_window_intervals_dropped_early_total", "counter",
	    "Intervals that left the window early (its memory bound).",
	    w->early);
	u64(f, "pyprof_window_over_limit_samples_total", "counter",
	    "Samples counted under \"[over the agent's stack limit]\".",
	    w->over_limit);

	head(f, "pyprof_http_requests_total", "counter",
	     "HTTP requests answered, by status.");
	for (int i = 0; i < MS__MAX; i++)
		fprintf(f,
			"pyprof_http_requests_total{code=\"%s\"} %" PRIu64 "\n",
			status_codes[i], h->answers[i]);
	u64(f, "pyprof_http_connections_total", "counter",
	    "HTTP connections accepted.", h->connections);
	u64(f, "pyprof_http_connections", "gauge", "HTTP connections open.",
	    h->open);
	u64(f, "pyprof_http_streams", "gauge", "Live stream readers.",
	    h->streams);
	u64(f, "pyprof_http_deadline_closed_total", "counter",
	    "Connections closed for taking too long (a slow or stalled "
	    "client).",
	    h->deadline);
	u64(f, "pyprof_http_busy_total", "counter",
	    "Requests turned away with 503 (too many streams or bytes "
	    "queued).",
	    h->busy);
	u64(f, "pyprof_http_queued_bytes", "gauge",
	    "Bytes of answers and stream blocks built and waiting for their "
	    "clients.",
	    h->queued);
	return ferror(f) ? -EIO : 0;
}

/* The memlock of the BPF map open as fd, or 0. */
static uint64_t map_memlock(const char *fd)
{
	char path[300], link[64], line[128];
	uint64_t v = 0;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fd/%s", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	if (strcmp(link, "anon_inode:bpf-map") != 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %" SCNu64, &v) == 1)
			break;
	fclose(f);
	return v;
}

void metrics__self(uint64_t *rss, double *cpu, uint64_t *maps)
{
	unsigned long long pages = 0, resident = 0, ut = 0, st = 0;
	char buf[1024], *p;
	struct dirent *e;
	FILE *f;
	DIR *d;

	*rss = 0;
	*cpu = 0;
	*maps = 0;
	f = fopen("/proc/self/statm", "re");
	if (f) {
		if (fscanf(f, "%llu %llu", &pages, &resident) == 2)
			*rss = (uint64_t)resident *
			       (uint64_t)sysconf(_SC_PAGESIZE);
		fclose(f);
	}
	f = fopen("/proc/self/stat", "re");
	if (f) {
		/* After the comm's closing parenthesis: field 3 onwards;
		 * utime and stime are fields 14 and 15. */
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
		    sscanf(p + 2,
			   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
			   "%llu",
			   &ut, &st) == 2)
			*cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
		fclose(f);
	}
	d = opendir("/proc/self/fd");
	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			*maps += map_memlock(e->d_name);
	closedir(d);
}
