// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "python/rmem.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

static int read_pid(const struct rmem *m, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr,
				.iov_len = len };
	ssize_t n;

	if (len == 0)
		return 0;
	if (addr + len < addr)
		return -EFAULT;
	n = process_vm_readv(m->pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EFAULT; /* a partial read crossed into an unmapped page */
	return 0;
}

void rmem__init_pid(struct rmem *m, pid_t pid)
{
	memset(m, 0, sizeof(*m));
	m->read = read_pid;
	m->pid = pid;
}

int rmem__read_u64(const struct rmem *m, uint64_t addr, uint64_t *out)
{
	return rmem__read(m, addr, out, sizeof(*out));
}

/* Ranges per process_vm_readv (UIO_MAXIOV is 1024). */
#define READV_MAX 256

/* v[0..n) from a live process; each range's outcome in its err.  A call
 * transfers whole ranges up to the first that faults (process_vm_readv:
 * partial transfers at the granularity of iovec elements). */
static void readv_pid(const struct rmem *m, struct rmem_iov *v, size_t n)
{
	struct iovec local[READV_MAX], remote[READV_MAX];

	while (n) {
		size_t k = n < READV_MAX ? n : READV_MAX, i;
		ssize_t got;

		for (i = 0; i < k; i++) {
			local[i].iov_base = v[i].buf;
			local[i].iov_len = v[i].len;
			remote[i].iov_base = (void *)(uintptr_t)v[i].addr;
			remote[i].iov_len = v[i].len;
			v[i].err = !v[i].addr || v[i].addr + v[i].len <
							   v[i].addr ?
					   -EFAULT :
					   0;
			if (v[i].err) /* read none of it: ranges after it,
					 each alone */
				break;
		}
		got = i ? process_vm_readv(m->pid, local, i, remote, i, 0) : 0;
		if (got < 0 && errno == ESRCH) {
			/* The process is gone: so is every range. */
			for (i = 0; i < n; i++)
				v[i].err = -ESRCH;
			return;
		}
		if (got < 0) {
			/* The first range faults: the others go on. */
			v[0].err = -errno;
			v++;
			n--;
			continue;
		}
		/* The ranges read whole; the first one short faulted. */
		for (k = 0; k < i && (size_t)got >= v[k].len; k++)
			got -= (ssize_t)v[k].len;
		if (k < i)
			v[k++].err = -EFAULT;
		else if (i < n && v[i].err)
			k = i + 1; /* the NULL one, marked above */
		v += k;
		n -= k;
	}
}

void rmem__readv(const struct rmem *m, struct rmem_iov *v, size_t n)
{
	if (m->read == read_pid) {
		readv_pid(m, v, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		v[i].err = rmem__read(m, v[i].addr, v[i].buf, v[i].len);
}
