// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Fuzzes the ELF reader (src/native/elf_sym.c) and the CPython detection built on it
 * (python__elf_version in src/python/python.c): a target's executable or libpython
 * is a file the target's owner controls.  The input is the whole file; it is
 * written to a memfd and opened by path, as pyprof-bpf opens
 * /proc/PID/root/<path>.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "native/elf_sym.h"
#include "python/python.h"

static const char *const names[] = {
	"_PyRuntime", "Py_Version",	 "Py_GetVersion",
	"Py_IsNone",  "PyFrame_GetCode", "PyCode_NewWithPosOnlyArgs",
	"main",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64], vstr[32], err[512];
	struct elf_file *f;
	unsigned version;
	bool ft;
	uint8_t buf[64];

	if (fd < 0) {
		fd = memfd_create("fuzz_elf", MFD_CLOEXEC);
		if (fd < 0)
			abort();
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

	f = elf_file__open(path);
	if (!f)
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint64_t vaddr, symsize;

		if (elf_file__sym(f, names[i], &vaddr, &symsize) == 0) {
			elf_file__read(f, vaddr, buf, sizeof(buf));
			elf_file__read(f, vaddr, buf, 1);
		}
	}
	elf_file__read(f, 0, buf, sizeof(buf));
	elf_file__read(f, UINT64_MAX - 8, buf, sizeof(buf));

	{
		/* A process that mapped this file at a few offsets. */
		char lib[] = "/usr/lib/libpython3.11.so.1.0";
		struct proc_map m[3] = {
			{ 0x7f0000000000, 0x7f0000001000, 0, 1, "r--p", lib,
			  0 },
			{ 0x7f0000001000, 0x7f0000010000, 0x1000, 1, "r-xp",
			  lib, 0 },
			{ 0x7f0000010000, 0x7f0000020000, 0x10000, 1, "rw-p",
			  lib, 0 },
		};
		struct proc_maps maps = { m, 3 };
		uint64_t bias;

		elf_file__is_exec(f);
		elf_file__bias(f, &maps, lib, &bias);
	}

	if (python__elf_version(f, "/usr/lib/libpython3.11.so.1.0", &version,
				vstr, sizeof(vstr), NULL, err,
				sizeof(err)) == 0) {
		if (version < PYVER_MIN || version > PYVER_MAX)
			abort();
	}
	python__elf_version(f, "/usr/bin/python3", &version, vstr, sizeof(vstr),
			    &ft, err, sizeof(err));
	python__elf_version(f, "/usr/lib/libpython3.13t.so.1.0", &version, vstr,
			    sizeof(vstr), &ft, err, sizeof(err));
	elf_file__close(f);
	return 0;
}
