/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
/* ELF files of a target: symbols, file-backed contents, load bias (libelf). */
#ifndef PYPROF_ELF_SYM_H
#define PYPROF_ELF_SYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sampler/proc.h"

struct elf_file;

/* Opens an ELF file. NULL with errno set (ENOEXEC: not ELF). */
struct elf_file *elf_file__open(const char *path);
void elf_file__close(struct elf_file *f);

/* Looks name up in .dynsym, then .symtab. 0 or -ENOENT. */
int elf_file__sym(struct elf_file *f, const char *name, uint64_t *vaddr,
		  uint64_t *size);

/* Reads len bytes at vaddr from the file's loadable contents. 0 or -errno
 * (-ENODATA if vaddr is not file-backed, e.g. .bss). */
int elf_file__read(struct elf_file *f, uint64_t vaddr, void *buf, size_t len);

/* ET_EXEC (not relocated when loaded) rather than ET_DYN. */
bool elf_file__is_exec(const struct elf_file *f);

/*
 * The load bias of the file in a process: the amount added to a vaddr to get
 * a runtime address.  maps are that process's mappings; those whose path is
 * path belong to this file.  0 or -ENOENT.
 */
int elf_file__bias(struct elf_file *f, const struct proc_maps *maps,
		   const char *path, uint64_t *bias);

/* A loadable segment: where it is in the file, and where it wants to be. */
struct elf_seg {
	uint64_t offset, filesz, vaddr;
};

/* The executable PT_LOAD segments, into segs[max].  Their count. */
int elf_file__exec_segs(struct elf_file *f, struct elf_seg *segs, int max);

/*
 * The strings of the dynamic section's entries of kind tag (DT_NEEDED,
 * DT_RUNPATH, DT_RPATH), in order, into out[max]; valid while f is open.
 * Their count.
 */
int elf_file__dyn_strs(struct elf_file *f, int64_t tag, const char **out,
		       int max);

/*
 * From the file's own DWARF: the offset in struct sname of the member
 * reached through the names path[0..n) (members of members), and that
 * member's size, as the first compile unit whose name ends with cu
 * describes them.  Every walk is capped.  0, -ENODATA (no .debug_info)
 * or -ENOENT.
 */
int elf_file__member(struct elf_file *f, const char *cu, const char *sname,
		     const char *const *path, int n, uint64_t *off,
		     uint64_t *size);

#endif /* PYPROF_ELF_SYM_H */
