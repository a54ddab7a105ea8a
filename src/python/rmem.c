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
