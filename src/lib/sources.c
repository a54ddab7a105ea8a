// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "lib/sources.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/grow.h"
#include "lib/hashmap.h"

#define GROUPS_MAX 64

struct sources {
	struct source *v;
	size_t n, cap;
	struct hashmap index; /* name hash (probed) -> index */
	size_t files_max, file_bytes_max, total_bytes_max;
	size_t kept_files, kept_bytes;
};

/* Who a target is, for the files it may read: its filesystem ids. */
struct creds {
	uid_t uid;
	gid_t gid;
	gid_t groups[GROUPS_MAX];
	int ngroups;
};

struct sources *sources__new(void)
{
	struct sources *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->files_max = SOURCES_FILES_MAX;
	s->file_bytes_max = SOURCES_FILE_BYTES_MAX;
	s->total_bytes_max = SOURCES_TOTAL_BYTES_MAX;
	return s;
}

void sources__free(struct sources *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free((char *)s->v[i].name);
		free((char *)s->v[i].text);
	}
	free(s->v);
	hashmap__free(&s->index);
	free(s);
}

void sources__set_limits(struct sources *s, size_t files, size_t file_bytes,
			 size_t total_bytes)
{
	s->files_max = files;
	s->file_bytes_max = file_bytes;
	s->total_bytes_max = total_bytes;
}

/* As lib/profile.c: a content hash, probed on to the next derived key
 * when another name has it. */
static uint64_t first_key(const char *name)
{
	uint64_t k = hash_bytes(name, strlen(name), 3);

	return k ? k : 1;
}

static uint64_t next_key(uint64_t k)
{
	k = hash64(k + 0x9e3779b97f4a7c15ull);
	return k ? k : 1;
}

/* The index of name, or -1; *free_key is where it would go. */
static long find(const struct sources *s, const char *name, uint64_t *free_key)
{
	uint64_t k, id;

	for (k = first_key(name);; k = next_key(k)) {
		if (!hashmap__get(&s->index, k, &id))
			break;
		if (strcmp(s->v[id].name, name) == 0)
			return (long)id;
	}
	if (free_key)
		*free_key = k;
	return -1;
}

bool sources__has(const struct sources *s, const char *name)
{
	return find(s, name, NULL) >= 0;
}

const struct source *sources__get(const struct sources *s, const char *name)
{
	long i = find(s, name, NULL);

	return i < 0 ? NULL : &s->v[i];
}

size_t sources__count(const struct sources *s)
{
	return s->n;
}

const struct source *sources__at(const struct sources *s, size_t i)
{
	return i < s->n ? &s->v[i] : NULL;
}

/* A new entry for name in state (or the entry of a name whose process was
 * gone, again); NULL when name has another entry, on ENOMEM, or past the
 * bound on names (then nothing is remembered: the heatmap says "not
 * recorded"). */
static struct source *add(struct sources *s, const char *name,
			  enum source_state state, int err, int *rc)
{
	struct source *src;
	uint64_t k;
	char *copy;
	long i;

	*rc = 0;
	i = find(s, name, &k);
	if (i >= 0) {
		/* A process gone before its file was read: a later one that
		 * names the file may still have it. */
		if (s->v[i].state != SOURCE_GONE)
			return NULL;
		src = &s->v[i];
		copy = (char *)src->name;
		goto fill;
	}
	if (s->n >= SOURCES_NAMES_MAX)
		return NULL;
	copy = strdup(name);
	if (!copy ||
	    grow__reserve((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)) ||
	    hashmap__set(&s->index, k, s->n)) {
		free(copy);
		*rc = -ENOMEM;
		return NULL;
	}
	src = &s->v[s->n++];
fill:
	memset(src, 0, sizeof(*src));
	src->name = copy;
	src->state = state;
	src->err = err;
	return src;
}

static int add_state(struct sources *s, const char *name,
		     enum source_state state, int err)
{
	int rc;

	add(s, name, state, err, &rc);
	return rc;
}

/* Whether len more bytes of text fit the store's bounds. */
static bool room_for(const struct sources *s, size_t len)
{
	return s->kept_files < s->files_max &&
	       len <= s->total_bytes_max - s->kept_bytes;
}

int sources__put(struct sources *s, const char *name, const char *text,
		 size_t len)
{
	struct source *src;
	char *copy;
	int rc;

	if (sources__has(s, name))
		return 0;
	if (len > s->file_bytes_max) {
		src = add(s, name, SOURCE_TOO_BIG, 0, &rc);
		if (src)
			src->size = len;
		return rc;
	}
	if (!room_for(s, len))
		return add_state(s, name, SOURCE_LIMIT, 0);
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	src = add(s, name, SOURCE_OK, 0, &rc);
	if (!src) {
		free(copy);
		return rc;
	}
	src->text = copy;
	src->len = src->size = len;
	s->kept_files++;
	s->kept_bytes += len;
	return 0;
}

bool sources__is_path(const char *name)
{
	size_t n = strlen(name);

	/* "<string>", "<stdin>", "<frozen zipimport>": compiled from a
	 * string or frozen into the interpreter, never opened. */
	return n && !(name[0] == '<' && name[n - 1] == '>');
}

/* ---- Reading a file ---- */

/*
 * Opens name below dirfd as O_PATH: nothing is read or triggered yet (a
 * name may be a device whose open does something, or a FIFO that blocks).
 * in_root: dirfd is the process's root, symbolic links and ".." resolve
 * inside it (RESOLVE_IN_ROOT, Linux 5.6) as they would for the process.
 */
static int open_path(int dirfd, const char *name, bool in_root)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_NO_MAGICLINKS |
			   (in_root ? RESOLVE_IN_ROOT : 0),
	};
	int fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));

	/* Older kernels: links resolve from our root, not the target's. */
	if (fd < 0 && errno == ENOSYS)
		fd = openat(dirfd, in_root ? name + strspn(name, "/") : name,
			    O_PATH | O_CLOEXEC);
	return fd;
}

/* Whether c may read a file with st's owner and mode: the permission bits
 * as the kernel applies them (ACLs and directory search rights aside). */
static bool may_read(const struct stat *st, const struct creds *c)
{
	if (c->uid == 0)
		return true;
	if (st->st_uid == c->uid)
		return st->st_mode & S_IRUSR;
	if (st->st_gid == c->gid)
		return st->st_mode & S_IRGRP;
	for (int i = 0; i < c->ngroups; i++)
		if (st->st_gid == c->groups[i])
			return st->st_mode & S_IRGRP;
	return st->st_mode & S_IROTH;
}

/* The whole of /proc/PID/<what> into buf (NUL-terminated); its length or
 * -errno. */
static long read_proc(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

/* The filesystem uid and gid (the fourth of each line) and the groups,
 * from /proc/PID/status.  0 or -errno. */
static int read_creds(pid_t pid, struct creds *c)
{
	char buf[4096], *l;
	unsigned long v[4];
	long n = read_proc(pid, "status", buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	l = strstr(buf, "\nUid:");
	if (!l ||
	    sscanf(l + 5, "%lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) != 4)
		return -EINVAL;
	c->uid = (uid_t)v[3];
	l = strstr(buf, "\nGid:");
	if (!l ||
	    sscanf(l + 5, "%lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) != 4)
		return -EINVAL;
	c->gid = (gid_t)v[3];
	c->ngroups = 0;
	l = strstr(buf, "\nGroups:");
	if (l) {
		char *p = l + 8, *end;

		while (c->ngroups < GROUPS_MAX) {
			unsigned long g = strtoul(p, &end, 10);

			if (end == p)
				break;
			c->groups[c->ngroups++] = (gid_t)g;
			p = end;
		}
	}
	return 0;
}

/* When pid started, in seconds since 1970 (to the second: the boot time
 * is given in whole seconds); 0 if unknown. */
static double started_at(pid_t pid)
{
	char buf[4096], *p;
	unsigned long long start = 0, btime = 0;
	long hz = sysconf(_SC_CLK_TCK);

	if (read_proc(pid, "stat", buf, sizeof(buf)) < 0)
		return 0;
	/* After the comm, which may hold anything but ends at the last ')':
	 * the state is field 3, starttime field 22. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
			 "%*d %*d %*d %*d %*d %*d %llu",
			 &start) != 1)
		return 0;
	{
		FILE *f = fopen("/proc/stat", "re");
		char line[256];

		if (!f)
			return 0;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "btime %llu", &btime) == 1)
				break;
		fclose(f);
	}
	if (!btime || hz <= 0)
		return 0;
	return (double)btime + (double)start / (double)hz;
}

/*
 * Keeps the file opened at fd (O_PATH) as name: a regular file within the
 * bounds that c (NULL: the caller) may read.  started: when the process
 * started (0: unknown), to tell a file changed since.
 */
static int keep_fd(struct sources *s, const char *name, int fd,
		   const struct creds *c, double started)
{
	char path[64];
	struct stat st;
	struct source *src;
	size_t cap = 0, len = 0;
	char *text = NULL;
	int rfd, rc;

	if (fstat(fd, &st))
		return add_state(s, name, SOURCE_ERROR, errno);
	if (!S_ISREG(st.st_mode))
		return add_state(s, name, SOURCE_NOT_FILE, EINVAL);
	if (c && !may_read(&st, c))
		return add_state(s, name, SOURCE_DENIED, 0);
	if ((uint64_t)st.st_size > s->file_bytes_max) {
		src = add(s, name, SOURCE_TOO_BIG, 0, &rc);
		if (src)
			src->size = (uint64_t)st.st_size;
		return rc;
	}
	if (!room_for(s, (size_t)st.st_size))
		return add_state(s, name, SOURCE_LIMIT, 0);
	/* The same inode, now for reading: a regular file cannot block. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rfd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (rfd < 0) {
		rc = errno;
		return add_state(s, name,
				 rc == EACCES ? SOURCE_DENIED : SOURCE_ERROR,
				 rc);
	}
	/* Up to one byte past the bound: a file that grew past it shows. */
	if (grow__reserve((void **)&text, &cap, (size_t)st.st_size + 2, 1)) {
		close(rfd);
		return -ENOMEM;
	}
	for (;;) {
		size_t want;
		ssize_t n;

		if (len + 1 == cap &&
		    grow__reserve((void **)&text, &cap, cap + 4096, 1)) {
			close(rfd);
			free(text);
			return -ENOMEM;
		}
		want = cap - 1 - len;
		if (want > s->file_bytes_max + 1 - len)
			want = s->file_bytes_max + 1 - len;
		if (!want)
			break;
		n = read(rfd, text + len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errno;
			close(rfd);
			free(text);
			return add_state(s, name, SOURCE_ERROR, rc);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(rfd);
	if (len > s->file_bytes_max) {
		free(text);
		src = add(s, name, SOURCE_TOO_BIG, 0, &rc);
		if (src)
			src->size = len;
		return rc;
	}
	if (!room_for(s, len)) {
		free(text);
		return add_state(s, name, SOURCE_LIMIT, 0);
	}
	text[len] = '\0';
	src = add(s, name, SOURCE_OK, 0, &rc);
	if (!src) {
		free(text);
		return rc;
	}
	src->text = text;
	src->len = len;
	src->size = len;
	/* A second of slack: the start time is known to the second. */
	src->changed =
		started > 0 &&
		(double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9 >
			started + 1.0;
	s->kept_files++;
	s->kept_bytes += len;
	return 0;
}

/* The state of a file whose open failed with err. */
static int add_open_error(struct sources *s, const char *name, int err)
{
	return add_state(s, name,
			 err == ENOENT || err == ENOTDIR ? SOURCE_MISSING :
			 err == EACCES			 ? SOURCE_DENIED :
							   SOURCE_ERROR,
			 err);
}

int sources__read_pid(struct sources *s, pid_t pid, const char *name)
{
	const struct source *known = sources__get(s, name);
	char path[64];
	struct creds c;
	double started;
	int dirfd, fd, err, rc;

	if (known && known->state != SOURCE_GONE)
		return 0;
	if (!sources__is_path(name))
		return add_state(s, name, SOURCE_NOT_FILE, 0);
	/* co_filename is relative when the script was named so (3.8, or a
	 * relative sys.path entry): from the process's working directory. */
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid,
		 name[0] == '/' ? "root" : "cwd");
	dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || read_creds(pid, &c)) {
		err = errno;
		if (dirfd >= 0)
			close(dirfd);
		return add_state(s, name,
				 err == ENOENT || err == ESRCH ? SOURCE_GONE :
								 SOURCE_ERROR,
				 err);
	}
	started = started_at(pid);
	fd = open_path(dirfd, name, name[0] == '/');
	err = errno;
	close(dirfd);
	if (fd < 0)
		return add_open_error(s, name, err);
	rc = keep_fd(s, name, fd, &c, started);
	close(fd);
	return rc;
}

int sources__read_local(struct sources *s, const char *name)
{
	long i;
	int fd, rc;

	if (sources__has(s, name))
		return 0;
	if (!sources__is_path(name)) {
		rc = add_state(s, name, SOURCE_NOT_FILE, 0);
	} else {
		fd = open(name, O_PATH | O_CLOEXEC);
		if (fd < 0) {
			rc = add_open_error(s, name, errno);
		} else {
			rc = keep_fd(s, name, fd, NULL, 0);
			close(fd);
		}
	}
	i = find(s, name, NULL);
	if (i >= 0)
		s->v[i].local = true;
	return rc;
}

const char *sources__why(const struct sources *s, const struct source *src,
			 char *buf, size_t len)
{
	switch (src->state) {
	case SOURCE_OK:
		snprintf(buf, len, "%s", "");
		break;
	case SOURCE_MISSING:
		snprintf(buf, len, "not found (%s)", strerror(src->err));
		break;
	case SOURCE_NOT_FILE:
		snprintf(buf, len, "%s",
			 src->err ? "not a regular file" :
				    "not a file: code compiled from a string, "
				    "or frozen into the interpreter");
		break;
	case SOURCE_TOO_BIG:
		if (s->file_bytes_max % 1024 == 0)
			snprintf(
				buf, len,
				"not kept: %llu bytes, larger than the %zu KiB "
				"a file may have",
				(unsigned long long)src->size,
				s->file_bytes_max / 1024);
		else
			snprintf(buf, len,
				 "not kept: %llu bytes, larger than the %zu "
				 "bytes a file may have",
				 (unsigned long long)src->size,
				 s->file_bytes_max);
		break;
	case SOURCE_LIMIT:
		snprintf(buf, len,
			 "not kept: the heatmap keeps at most %zu files and "
			 "%zu MiB of source",
			 s->files_max, s->total_bytes_max >> 20);
		break;
	case SOURCE_DENIED:
		snprintf(buf, len, "%s",
			 src->local ? "not readable" :
				      "not kept: the profiled process's user "
				      "may not read it");
		break;
	case SOURCE_GONE:
		snprintf(buf, len, "%s",
			 "not read: the process had exited before its source "
			 "could be read");
		break;
	case SOURCE_ERROR:
		snprintf(buf, len, "could not be read (%s)",
			 strerror(src->err));
		break;
	}
	return buf;
}
