// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * bpfcost-read: the floor of scripts/bpfcost (see bpfcost-read.bpf.c).
 *
 *   bpfcost-read -t TGID -F HZ
 *
 * times one bpf_probe_read_user of 8, 64 and 512 bytes on the samples of
 * process TGID at HZ per CPU.  Prints "ready" once attached, then, at SIGINT
 * or SIGTERM, one line per histogram that has counts:
 *
 *   NAME n N mean_ns M p25_ns A median_ns B p75_ns C
 *
 * NAME is clock (two clock reads back to back: subtract it from the
 * others), read8, read64, read512.  Built by `make bench-tools`.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench-util.h"
#include "bpfcost-read.skel.h"

/* Keep in step with scripts/bpfcost-read.bpf.c. */
#define BUCKET_NS 2
#define BUCKETS 4096
static const char *const hist_names[] = { "clock", "read8", "read64",
					  "read512" };
#define NHIST (sizeof(hist_names) / sizeof(hist_names[0]))

static void usage(void)
{
	fprintf(stderr, "usage: bpfcost-read -t TGID -F HZ\n");
}

/* The value at fraction q of the sorted counts, a bucket's middle. */
static double quantile(const __u64 *h, __u64 n, double q)
{
	__u64 want = (__u64)(q * (double)(n - 1)), seen = 0;

	for (int b = 0; b < BUCKETS; b++) {
		seen += h[b];
		if (seen > want)
			return (b + 0.5) * BUCKET_NS;
	}
	return (BUCKETS - 0.5) * BUCKET_NS;
}

static int report(struct bpfcost_read *skel)
{
	int fd = bpf_map__fd(skel->maps.hist);
	static __u64 h[BUCKETS];

	for (unsigned int k = 0; k < NHIST; k++) {
		double sum = 0;
		__u64 n = 0;

		for (__u32 b = 0; b < BUCKETS; b++) {
			__u32 key = k * BUCKETS + b;

			if (bpf_map_lookup_elem(fd, &key, &h[b]))
				return -errno;
			n += h[b];
			sum += (b + 0.5) * BUCKET_NS * (double)h[b];
		}
		if (!n)
			continue;
		printf("%s n %llu mean_ns %.1f p25_ns %.1f median_ns %.1f p75_ns %.1f\n",
		       hist_names[k], (unsigned long long)n, sum / (double)n,
		       quantile(h, n, 0.25), quantile(h, n, 0.5),
		       quantile(h, n, 0.75));
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long tgid = 0, hz = 0;
	struct bpfcost_read *skel = NULL;
	struct bpf_link **links = NULL;
	int *pfds = NULL, ncpus, attached = 0, opt, err = 1;
	struct stat ns;

	while ((opt = getopt(argc, argv, "t:F:")) != -1) {
		if (opt == 't' && !parse_ulong(optarg, 1ul << 22, &tgid))
			continue;
		if (opt == 'F' && !parse_ulong(optarg, 10000, &hz))
			continue;
		usage();
		return 2;
	}
	if (!tgid || !hz || optind != argc) {
		usage();
		return 2;
	}
	libbpf_set_print(libbpf_quiet);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (stat("/proc/self/ns/pid", &ns)) {
		fprintf(stderr,
			"bpfcost-read: cannot stat /proc/self/ns/pid: %s\n",
			strerror(errno));
		return 1;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		fprintf(stderr, "bpfcost-read: cannot count the CPUs: %s\n",
			strerror(-ncpus));
		return 1;
	}
	links = calloc(ncpus, sizeof(*links));
	pfds = malloc(ncpus * sizeof(*pfds));
	if (!links || !pfds) {
		fprintf(stderr, "bpfcost-read: out of memory\n");
		goto out_free;
	}
	for (int c = 0; c < ncpus; c++)
		pfds[c] = -1;

	skel = bpfcost_read__open();
	if (!skel) {
		fprintf(stderr, "bpfcost-read: cannot open: %s\n",
			strerror(errno));
		goto out_free;
	}
	/* The target's pid as this process's namespace numbers it. */
	skel->rodata->pidns_dev = ns.st_dev;
	skel->rodata->pidns_ino = ns.st_ino;
	skel->rodata->target_tgid = (__u32)tgid;
	if (bpfcost_read__load(skel)) {
		fprintf(stderr, "bpfcost-read: cannot load: %s; run as root\n",
			strerror(errno));
		goto out_destroy;
	}
	for (int c = 0; c < ncpus; c++) {
		pfds[c] = perf_open(c, hz);
		if (pfds[c] < 0) {
			if (errno == ENODEV) /* offline CPU */
				continue;
			fprintf(stderr,
				"bpfcost-read: cannot open a cpu-clock event on CPU %d: %s\n",
				c, strerror(errno));
			goto out_detach;
		}
		links[c] = bpf_program__attach_perf_event(
			skel->progs.read_floor, pfds[c]);
		if (!links[c]) {
			fprintf(stderr,
				"bpfcost-read: cannot attach to CPU %d: %s\n",
				c, strerror(errno));
			goto out_detach;
		}
		attached++;
	}
	if (!attached) {
		fprintf(stderr, "bpfcost-read: no online CPU to attach to\n");
		goto out_detach;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		usleep(20000);
	err = report(skel) ? 1 : 0;

out_detach:
	for (int c = 0; c < ncpus; c++) {
		bpf_link__destroy(links[c]);
		if (pfds[c] >= 0)
			close(pfds[c]);
	}
out_destroy:
	bpfcost_read__destroy(skel);
out_free:
	free(pfds);
	free(links);
	return err;
}
