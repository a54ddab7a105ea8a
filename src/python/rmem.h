/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * Reading another process's memory.  The target is untrusted input: every
 * read is all-or-nothing and has a length chosen by us, never by the target.
 * The read function is a pointer so that tests and fuzzers can serve memory
 * from a buffer instead of a live process.
 */
#ifndef PYPROF_RMEM_H
#define PYPROF_RMEM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

struct rmem;

/* Returns 0 when all len bytes were read, -errno otherwise. */
typedef int (*rmem_read_fn)(const struct rmem *m, uint64_t addr, void *buf,
			    size_t len);

struct rmem {
	rmem_read_fn read;
	pid_t pid;
	void *ctx;
};

/* A reader of live process pid, through process_vm_readv(2). */
void rmem__init_pid(struct rmem *m, pid_t pid);

static inline int rmem__read(const struct rmem *m, uint64_t addr, void *buf,
			     size_t len)
{
	if (!addr)
		return -14; /* -EFAULT: a NULL pointer in the target */
	return m->read(m, addr, buf, len);
}

/* Loads from bytes already copied out of the target, at any alignment. */
static inline uint64_t rmem__ld64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t rmem__ld32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint16_t rmem__ld16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Reads a pointer-sized (8-byte, little-endian) value. */
int rmem__read_u64(const struct rmem *m, uint64_t addr, uint64_t *out);

/* One read of a batch (rmem__readv): err is its outcome, 0 or -errno. */
struct rmem_iov {
	uint64_t addr;
	void *buf;
	size_t len;
	int err;
};

/*
 * Reads n ranges, each all-or-nothing as rmem__read, in as few system
 * calls as it can (process_vm_readv takes many ranges at once; a range
 * that faults ends a call, and the next call starts after it): for many
 * small reads, where one call's cost is mostly its own, not the bytes'.
 */
void rmem__readv(const struct rmem *m, struct rmem_iov *v, size_t n);

#endif /* PYPROF_RMEM_H */
