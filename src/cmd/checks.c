// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* Privileges and BTF, checked before sampling (checks.h). */
#include "cmd/checks.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/msg.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

int checks__privileges(const char *who)
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
	msg__fail(who,
		  "insufficient privileges (missing%s): run it as root (sudo "
		  "%s ...) or grant CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE",
		  missing, who);
	return -EPERM;
}

int checks__btf(const char *who)
{
	struct stat st;

	if (stat("/sys/kernel/btf/vmlinux", &st) == 0)
		return 0;
	msg__fail(who,
		  "this kernel has no BTF (/sys/kernel/btf/vmlinux is "
		  "missing): pyprof-bpf needs Linux 5.17+ built with "
		  "CONFIG_DEBUG_INFO_BTF=y (most distributions' kernels are)");
	return -ENOTSUP;
}
