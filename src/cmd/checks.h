/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/*
 * What a sampling command checks before it touches the kernel, so that a
 * missing privilege or kernel feature is one clear line instead of a BPF
 * error: shared by the default command (record.c) and serve.c.
 */
#ifndef PYPROF_CHECKS_H
#define PYPROF_CHECKS_H

/*
 * Whether the capabilities sampling needs are there (CAP_BPF, CAP_PERFMON
 * or CAP_SYS_ADMIN, CAP_SYS_PTRACE).  0, or -EPERM after one line, behind
 * who ("pyprof-bpf", "pyprof-bpf serve"), naming the missing ones.
 */
int checks__privileges(const char *who);

/* Whether the kernel has BTF.  0, or -ENOTSUP after one line. */
int checks__btf(const char *who);

#endif /* PYPROF_CHECKS_H */
