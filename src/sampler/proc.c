// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "sampler/proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Bounds on what a process's /proc files may make us hold. */
#define MAPS_MAX 1000000
#define PIDS_MAX (1 << 22) /* pid_max can be at most 2^22 */
#define TIDS_MAX 1000000
#define PIDS_MAX (1 << 22) /* the largest pid_max */

int proc__parse_map_line(const char *line, struct proc_map *m)
{
	unsigned long long start, end, pgoff, inode;
	unsigned major, minor;
	char perms[8], dev[32];
	int pos = 0;
	const char *path;
	size_t len;

	if (sscanf(line, "%llx-%llx %7s %llx %31s %llu %n", &start, &end, perms,
		   &pgoff, dev, &inode, &pos) < 6 ||
	    pos == 0)
		return -EINVAL;
	if (end < start)
		return -EINVAL;
	path = line + pos;
	while (*path == ' ')
		path++;
	len = strcspn(path, "\n");
	m->path = strndup(path, len);
	if (!m->path)
		return -ENOMEM;
	m->start = start;
	m->end = end;
	m->pgoff = pgoff;
	m->inode = inode;
	m->dev = 0;
	if (sscanf(dev, "%x:%x", &major, &minor) == 2)
		m->dev = (uint64_t)major << 20 | minor;
	memcpy(m->perms, perms, 4);
	m->perms[4] = '\0';
	return 0;
}

int proc__maps(pid_t pid, struct proc_maps *out)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	int n = 0, alloc = 0, err = 0;
	struct proc_map *v = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (getline(&line, &cap, f) > 0) {
		if (n == alloc) {
			struct proc_map *nv;

			if (alloc >= MAPS_MAX) {
				err = -E2BIG;
				break;
			}
			alloc = alloc ? alloc * 2 : 64;
			nv = realloc(v, alloc * sizeof(*v));
			if (!nv) {
				err = -ENOMEM;
				break;
			}
			v = nv;
		}
		if (proc__parse_map_line(line, &v[n]) == 0)
			n++;
	}
	free(line);
	fclose(f);
	out->v = v;
	out->n = n;
	if (err) {
		proc__maps_free(out);
		return err;
	}
	if (n == 0)
		return -ESRCH; /* a zombie, or a kernel thread */
	return 0;
}

void proc__maps_free(struct proc_maps *m)
{
	for (int i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

/* open + read + close, no stdio: with -a this runs thousands of times a
 * second. */
static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t got;

	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	while (n < len - 1 && (got = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)got;
	close(fd);
	buf[n] = '\0';
	return (int)n;
}

bool proc__alive(pid_t pid)
{
	double secs;

	return proc__live_cpu_time(pid, &secs) == 0;
}

bool proc__owned_by(pid_t pid, uid_t uid)
{
	char path[64], buf[4096];
	unsigned long u[4];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strstr(buf, "\nUid:");
	if (!p ||
	    sscanf(p + 5, "%lu %lu %lu %lu", &u[0], &u[1], &u[2], &u[3]) != 4)
		return false;
	for (int i = 0; i < 4; i++)
		if (u[i] != uid)
			return false;
	return true;
}

int proc__comm(pid_t pid, pid_t tid, char *buf, size_t len)
{
	char path[64];
	int n;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	n = read_small(path, buf, len);
	if (n < 0)
		return n;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int proc__parse_status_number(const char *buf, const char *key, pid_t *out)
{
	const char *p;
	char *end;
	long v = 0;

	p = strstr(buf, key);
	if (!p)
		return -EINVAL;
	for (p += strlen(key); *p && *p != '\n'; p = end) {
		long x = strtol(p, &end, 10);

		if (end == p)
			break;
		v = x;
	}
	if (v <= 0 || v > INT32_MAX)
		return -EINVAL;
	*out = (pid_t)v;
	return 0;
}

/* The last number on the "key" line of /proc/pid/status.  0 or -errno. */
static int status_last_number(pid_t pid, const char *key, pid_t *out)
{
	char path[64], buf[4096];
	int n;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	return proc__parse_status_number(buf, key, out);
}

int proc__tgid(pid_t tid, pid_t *tgid)
{
	return status_last_number(tid, "\nTgid:", tgid);
}

int proc__ns_pid(pid_t pid, pid_t *ns_pid)
{
	return status_last_number(pid, "\nNSpid:", ns_pid);
}

/* What the proc__ functions take from /proc/pid/stat. */
struct stat_fields {
	char state;
	double cpu; /* utime + stime, seconds */
	unsigned long long start; /* starttime, clock ticks after boot */
};

int proc__parse_stat(const char *buf, char *state, unsigned long long *utime,
		     unsigned long long *stime, unsigned long long *start)
{
	const char *p;

	/* The fields follow the last ')': comm may hold spaces and parens.
	 * state(3) ... utime(14) stime(15) ... starttime(22). */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EINVAL;
	if (sscanf(p + 2,
		   "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d "
		   "%*d %*d %*d %*d %*d %llu",
		   state, utime, stime, start) != 4)
		return -EINVAL;
	return 0;
}

/* The number at *p, ended by a space, a newline or the end; *p moves past
 * its end.  0 or -EINVAL. */
static int stat_number(const char **p, uint64_t *v)
{
	char *end;

	if (**p < '0' || **p > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(*p, &end, 10);
	if (errno || (*end != ' ' && *end != '\n' && *end != '\0'))
		return -EINVAL;
	*p = end;
	return 0;
}

int proc__parse_stat_code(const char *buf, uint64_t *start, uint64_t *end)
{
	const char *p;

	/* The fields follow the last ')': state(3) ... startcode(26)
	 * endcode(27). */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EINVAL;
	p += 2;
	for (int field = 3; field < 26; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	if (stat_number(&p, start) || *p++ != ' ' || stat_number(&p, end))
		return -EINVAL;
	return 0;
}

int proc__code(pid_t pid, uint64_t *start, uint64_t *end)
{
	char path[64], buf[1024];
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return -ESRCH;
	rc = proc__parse_stat_code(buf, start, end);
	/* 0 without memory; 1 to those who may not look. */
	if (!rc && (*start <= 1 || *end <= 1))
		rc = -EINVAL;
	return rc;
}

/* Reads /proc/pid/stat. 0, or -ESRCH when it cannot be read, -EINVAL when
 * it does not parse. */
static int read_stat(pid_t pid, struct stat_fields *sf)
{
	char path[64], buf[1024];
	unsigned long long utime, stime;
	long hz = sysconf(_SC_CLK_TCK);
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return -ESRCH;
	rc = proc__parse_stat(buf, &sf->state, &utime, &stime, &sf->start);
	if (rc)
		return rc;
	sf->cpu = (double)(utime + stime) / (double)(hz > 0 ? hz : 100);
	return 0;
}

static bool is_zombie(char state)
{
	return state == 'Z' || state == 'X' || state == 'x';
}

int proc__live_cpu_time(pid_t pid, double *secs)
{
	struct stat_fields sf;
	int rc = read_stat(pid, &sf);

	if (rc)
		return rc;
	*secs = sf.cpu;
	return is_zombie(sf.state) ? -ESRCH : 0;
}

int proc__cpu_time(pid_t pid, double *secs)
{
	struct stat_fields sf;
	int rc = read_stat(pid, &sf);

	if (!rc)
		*secs = sf.cpu;
	return rc;
}

int proc__run_ns(pid_t pid, uint64_t *ns)
{
	char path[64], buf[128];
	unsigned long long v;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	rc = read_small(path, buf, sizeof(buf));
	if (rc < 0)
		return rc;
	if (sscanf(buf, "%llu", &v) != 1)
		return -EINVAL;
	*ns = v;
	return 0;
}

int proc__age(pid_t pid, double *secs)
{
	long hz = sysconf(_SC_CLK_TCK);
	struct stat_fields sf;
	struct timespec now;
	int rc = read_stat(pid, &sf);

	if (rc)
		return rc;
	/* CLOCK_BOOTTIME is what starttime counts from. */
	if (clock_gettime(CLOCK_BOOTTIME, &now) != 0)
		return -errno;
	*secs = (double)now.tv_sec + (double)now.tv_nsec / 1e9 -
		(double)sf.start / (double)(hz > 0 ? hz : 100);
	return 0;
}

void proc__root_path(pid_t pid, const char *path, char *out, size_t len)
{
	snprintf(out, len, "/proc/%d/root%s%s", pid, path[0] == '/' ? "" : "/",
		 path);
}

/* The numeric entries of directory path, at most max. Count or -errno. */
static int read_pid_dir(const char *path, int max, pid_t **out)
{
	struct dirent *de;
	pid_t *v = NULL;
	int n = 0, alloc = 0;
	DIR *d;

	d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((de = readdir(d))) {
		char *end;
		long id;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		id = strtol(de->d_name, &end, 10);
		if (*end || id <= 0 || id > INT32_MAX)
			continue;
		if (n == alloc) {
			pid_t *nv;

			if (alloc >= max)
				break;
			alloc = alloc ? alloc * 2 : 16;
			nv = realloc(v, alloc * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = (pid_t)id;
	}
	closedir(d);
	*out = v;
	return n;
}

bool proc__has_thread(pid_t pid, pid_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d", pid, tid);
	return access(path, F_OK) == 0;
}

int proc__tids(pid_t pid, pid_t **out)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	return read_pid_dir(path, TIDS_MAX, out);
}

int proc__pids(pid_t **out)
{
	return read_pid_dir("/proc", PIDS_MAX, out);
}

int proc__ppid(pid_t pid, pid_t *ppid)
{
	char path[64], buf[1024], *p;
	int n, v;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %d", &v) != 1 || v < 0)
		return -EINVAL;
	*ppid = v;
	return 0;
}

/* PF_KTHREAD in /proc/PID/stat's flags (include/linux/sched.h). */
#define PF_KTHREAD 0x00200000u

enum proc_kind proc__kind(pid_t pid, pid_t *ppid)
{
	char path[64], buf[1024], state;
	unsigned flags;
	const char *p;
	int parent;

	*ppid = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return PROC_GONE;
	/* state(3) ppid(4) pgrp session tty_nr tpgid flags(9) */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %d %*d %*d %*d %*d %u", &state, &parent,
			 &flags) != 3)
		return PROC_GONE;
	*ppid = parent;
	if (is_zombie(state))
		return PROC_ZOMBIE;
	if (flags & PF_KTHREAD)
		return PROC_KTHREAD;
	return PROC_LIVE;
}

/* The capabilities' names, by number (include/uapi/linux/capability.h). */
static const char *const cap_names[] = {
	"cap_chown",
	"cap_dac_override",
	"cap_dac_read_search",
	"cap_fowner",
	"cap_fsetid",
	"cap_kill",
	"cap_setgid",
	"cap_setuid",
	"cap_setpcap",
	"cap_linux_immutable",
	"cap_net_bind_service",
	"cap_net_broadcast",
	"cap_net_admin",
	"cap_net_raw",
	"cap_ipc_lock",
	"cap_ipc_owner",
	"cap_sys_module",
	"cap_sys_rawio",
	"cap_sys_chroot",
	"cap_sys_ptrace",
	"cap_sys_pacct",
	"cap_sys_admin",
	"cap_sys_boot",
	"cap_sys_nice",
	"cap_sys_resource",
	"cap_sys_time",
	"cap_sys_tty_config",
	"cap_mknod",
	"cap_lease",
	"cap_audit_write",
	"cap_audit_control",
	"cap_setfcap",
	"cap_mac_override",
	"cap_mac_admin",
	"cap_syslog",
	"cap_wake_alarm",
	"cap_block_suspend",
	"cap_audit_read",
	"cap_perfmon",
	"cap_bpf",
	"cap_checkpoint_restore",
};

/* The hex mask after key ("\nCapPrm:") in /proc/pid/status. */
static int status_caps(pid_t pid, const char *key, uint64_t *caps)
{
	char path[64], buf[4096];
	const char *p;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	p = strstr(buf, key);
	if (!p || sscanf(p + strlen(key), " %" SCNx64, caps) != 1)
		return -EINVAL;
	return 0;
}

int proc__caps_lacked(pid_t pid, char *buf, size_t len)
{
	uint64_t theirs, ours, lacked;
	size_t used = 0;
	int n = 0;

	buf[0] = '\0';
	if (status_caps(pid, "\nCapPrm:", &theirs) ||
	    status_caps(getpid(), "\nCapEff:", &ours))
		return 0;
	lacked = theirs & ~ours;
	for (unsigned i = 0; i < 64 && used < len; i++) {
		if (!(lacked & (1ull << i)))
			continue;
		if (i < sizeof(cap_names) / sizeof(cap_names[0]))
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
						 n ? " " : "", cap_names[i]);
		else
			used += (size_t)snprintf(buf + used, len - used,
						 "%scapability %u",
						 n ? " " : "", i);
		n++;
	}
	return n;
}
