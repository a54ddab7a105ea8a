// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * bench-floor: attach an empty perf_event BPF program to a cpu-clock event
 * on every online CPU, at the sampler's rate, until -d SECS have passed or
 * SIGINT/SIGTERM; then print its kernel statistics:
 *
 *   ready                                  (on stdout, once attached)
 *   floor runs N run_time_ns T avg_ns A    (on stdout, at the end)
 *
 * With -p PID -a ADDR -l LEN, also what one bpf_probe_read_user costs
 * (read_prog in bench-floor.bpf.c): on PID's samples, 32 reads of 8, 64
 * and 512 bytes of its memory at [ADDR, ADDR + LEN), mapped and touched;
 * -r reads a new region each sample (cold caches).  At the end:
 *
 *   reads runs N errors E clock_ns C ns_per_read 8 X 64 Y 512 Z first F
 *
 * (F: the sample's first 8-byte read, timed alone before the others).
 *
 * The run time is only counted with sysctl kernel.bpf_stats_enabled=1
 * (the reads are timed by the program itself).  Used by scripts/bench;
 * built by `make bench`.
 */
#include <errno.h>
#include <stdbool.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench-util.h"
#include "bench-floor.skel.h"

/* The per-CPU sums of read_prog's blocks: the cost of one read of each
 * size, the clock's own cost taken off.  0 or -1. */
static int print_reads(struct bench_floor *skel, int ncpus)
{
	struct acc {
		__u64 ns[5];
		__u64 runs;
		__u64 errors;
		__u64 off;
		__u8 dst[512];
	} *v = calloc(ncpus, sizeof(*v));
	__u64 ns[5] = {}, runs = 0, errors = 0;
	__u32 zero = 0;

	if (!v || bpf_map__lookup_elem(skel->maps.accs, &zero, sizeof(zero), v,
				       ncpus * sizeof(*v), 0)) {
		fprintf(stderr, "bench-floor: cannot read the reads' times\n");
		free(v);
		return -1;
	}
	for (int c = 0; c < ncpus; c++) {
		for (int k = 0; k < 5; k++)
			ns[k] += v[c].ns[k];
		runs += v[c].runs;
		errors += v[c].errors;
	}
	free(v);
	printf("reads runs %llu errors %llu clock_ns %.1f ns_per_read",
	       (unsigned long long)runs, (unsigned long long)errors,
	       runs ? (double)ns[0] / runs : 0.0);
	for (int k = 1; k < 4; k++)
		printf(" %d %.1f",
		       k == 1 ? 8 :
		       k == 2 ? 64 :
				512,
		       runs ? ((double)ns[k] - (double)ns[0]) / runs / 32 :
			      0.0);
	printf(" first %.1f\n",
	       runs ? ((double)ns[4] - (double)ns[0]) / runs : 0.0);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-floor -F HZ [-d SECS] "
			"[-p PID -a ADDR -l LEN [-r]]\n");
}

int main(int argc, char **argv)
{
	struct bench_floor *skel = NULL;
	struct bpf_link **links = NULL, **rlinks = NULL;
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	unsigned long hz = 0, secs = 0, pid = 0, addr = 0, len = 0;
	struct timespec end, now;
	int *pfds = NULL, *rpfds = NULL;
	int ncpus, attached = 0, opt, err = 1;
	bool rotate = false;

	while ((opt = getopt(argc, argv, "F:d:p:a:l:r")) != -1) {
		if (opt == 'F' && !parse_ulong(optarg, 10000, &hz))
			continue;
		if (opt == 'd' && !parse_ulong(optarg, 86400, &secs))
			continue;
		if (opt == 'p' && !parse_ulong(optarg, 1ul << 22, &pid))
			continue;
		if (opt == 'a' && !parse_ulong(optarg, ~0ul, &addr))
			continue;
		if (opt == 'l' && !parse_ulong(optarg, 1ul << 40, &len))
			continue;
		if (opt == 'r') {
			rotate = true;
			continue;
		}
		usage();
		return 2;
	}
	if (!hz || optind != argc || !pid != !addr || !addr != !len) {
		usage();
		return 2;
	}

	libbpf_set_print(libbpf_quiet);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		fprintf(stderr, "bench-floor: cannot count the CPUs: %s\n",
			strerror(-ncpus));
		return 1;
	}
	links = calloc(ncpus, sizeof(*links));
	rlinks = calloc(ncpus, sizeof(*rlinks));
	pfds = malloc(ncpus * sizeof(*pfds));
	rpfds = malloc(ncpus * sizeof(*rpfds));
	if (!links || !rlinks || !pfds || !rpfds) {
		fprintf(stderr, "bench-floor: out of memory\n");
		goto out_free;
	}
	for (int c = 0; c < ncpus; c++)
		pfds[c] = rpfds[c] = -1;

	skel = bench_floor__open();
	if (skel) {
		skel->rodata->target_tgid = (__u32)pid;
		skel->rodata->buf_addr = addr;
		skel->rodata->buf_len = len;
		skel->rodata->rotate = rotate;
		bpf_program__set_autoload(skel->progs.read_prog, pid != 0);
		if (bench_floor__load(skel)) {
			bench_floor__destroy(skel);
			skel = NULL;
		}
	}
	if (!skel) {
		fprintf(stderr,
			"bench-floor: cannot load the empty program: %s; run as root\n",
			strerror(errno));
		goto out_free;
	}
	for (int c = 0; c < ncpus; c++) {
		pfds[c] = perf_open(c, hz);
		if (pfds[c] < 0) {
			if (errno == ENODEV) /* offline CPU */
				continue;
			fprintf(stderr,
				"bench-floor: cannot open a cpu-clock event on CPU %d: %s\n",
				c, strerror(errno));
			goto out_detach;
		}
		links[c] = bpf_program__attach_perf_event(
			skel->progs.floor_prog, pfds[c]);
		if (!links[c]) {
			fprintf(stderr,
				"bench-floor: cannot attach to CPU %d: %s\n", c,
				strerror(errno));
			goto out_detach;
		}
		attached++;
		if (!pid)
			continue;
		/* The reads on their own events: one program per event. */
		rpfds[c] = perf_open(c, hz);
		rlinks[c] = rpfds[c] < 0 ?
				    NULL :
				    bpf_program__attach_perf_event(
					    skel->progs.read_prog, rpfds[c]);
		if (!rlinks[c]) {
			fprintf(stderr,
				"bench-floor: cannot attach the reads to CPU "
				"%d: %s\n",
				c, strerror(errno));
			goto out_detach;
		}
	}
	if (!attached) {
		fprintf(stderr, "bench-floor: no online CPU to attach to\n");
		goto out_detach;
	}
	printf("ready\n");
	fflush(stdout);

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += secs ? (time_t)secs : 86400 * 365;
	while (!stop) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			break;
		usleep(20000);
	}

	if (bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.floor_prog),
				   &info, &info_len)) {
		fprintf(stderr,
			"bench-floor: cannot read the program's stats: %s\n",
			strerror(errno));
		goto out_detach;
	}
	printf("floor runs %llu run_time_ns %llu avg_ns %.1f\n",
	       (unsigned long long)info.run_cnt,
	       (unsigned long long)info.run_time_ns,
	       info.run_cnt ? (double)info.run_time_ns / info.run_cnt : 0.0);
	if (pid && print_reads(skel, ncpus))
		goto out_detach;
	err = 0;

out_detach:
	for (int c = 0; c < ncpus; c++) {
		bpf_link__destroy(links[c]);
		bpf_link__destroy(rlinks[c]);
		if (pfds[c] >= 0)
			close(pfds[c]);
		if (rpfds[c] >= 0)
			close(rpfds[c]);
	}
	bench_floor__destroy(skel);
out_free:
	free(pfds);
	free(rpfds);
	free(links);
	free(rlinks);
	return err;
}
