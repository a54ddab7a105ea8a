// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "native/elf_sym.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct elf_file {
	int fd;
	Elf *elf;
	GElf_Ehdr ehdr;
	size_t nphdr;
};

struct elf_file *elf_file__open(const char *path)
{
	struct elf_file *f;
	int err;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOSYS;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		goto err_free;
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF ||
	    !gelf_getehdr(f->elf, &f->ehdr) ||
	    elf_getphdrnum(f->elf, &f->nphdr) != 0) {
		errno = ENOEXEC;
		goto err_close;
	}
	return f;

err_close:
	err = errno;
	if (f->elf)
		elf_end(f->elf);
	close(f->fd);
	errno = err;
err_free:
	err = errno;
	free(f);
	errno = err;
	return NULL;
}

void elf_file__close(struct elf_file *f)
{
	if (!f)
		return;
	elf_end(f->elf);
	close(f->fd);
	free(f);
}

static int find_in(struct elf_file *f, Elf64_Word type, const char *name,
		   uint64_t *vaddr, uint64_t *size)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(f->elf, scn))) {
		Elf_Data *data;
		size_t n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type ||
		    sh.sh_entsize == 0)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			const char *s;

			if (!gelf_getsym(data, (int)i, &sym) ||
			    sym.st_shndx == SHN_UNDEF || sym.st_value == 0)
				continue;
			s = elf_strptr(f->elf, sh.sh_link, sym.st_name);
			if (s && strcmp(s, name) == 0) {
				*vaddr = sym.st_value;
				if (size)
					*size = sym.st_size;
				return 0;
			}
		}
	}
	return -ENOENT;
}

int elf_file__sym(struct elf_file *f, const char *name, uint64_t *vaddr,
		  uint64_t *size)
{
	if (find_in(f, SHT_DYNSYM, name, vaddr, size) == 0)
		return 0;
	return find_in(f, SHT_SYMTAB, name, vaddr, size);
}

int elf_file__read(struct elf_file *f, uint64_t vaddr, void *buf, size_t len)
{
	for (size_t i = 0; i < f->nphdr; i++) {
		GElf_Phdr ph;
		uint64_t off;
		ssize_t n;

		if (!gelf_getphdr(f->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr < ph.p_vaddr || vaddr - ph.p_vaddr >= ph.p_filesz)
			continue;
		if (len > ph.p_filesz - (vaddr - ph.p_vaddr))
			return -ENODATA;
		off = ph.p_offset + (vaddr - ph.p_vaddr);
		n = pread(f->fd, buf, len, (off_t)off);
		if (n < 0)
			return -errno;
		return (size_t)n == len ? 0 : -EIO;
	}
	return -ENODATA;
}

bool elf_file__is_exec(const struct elf_file *f)
{
	return f->ehdr.e_type == ET_EXEC;
}

int elf_file__bias(struct elf_file *f, const struct proc_maps *maps,
		   const char *path, uint64_t *bias)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t mask = ~((uint64_t)(page > 0 ? page : 4096) - 1);

	if (elf_file__is_exec(f)) {
		*bias = 0;
		return 0;
	}
	/* A mapping of file offset pgoff holds the PT_LOAD segment whose
	 * page-aligned p_offset is pgoff; the segment's page-aligned vaddr
	 * landed at the mapping's start. */
	for (int m = 0; m < maps->n; m++) {
		const struct proc_map *pm = &maps->v[m];

		if (strcmp(pm->path, path) != 0)
			continue;
		for (size_t i = 0; i < f->nphdr; i++) {
			GElf_Phdr ph;

			if (!gelf_getphdr(f->elf, (int)i, &ph) ||
			    ph.p_type != PT_LOAD)
				continue;
			if ((ph.p_offset & mask) != pm->pgoff)
				continue;
			*bias = pm->start - (ph.p_vaddr & mask);
			return 0;
		}
	}
	return -ENOENT;
}

int elf_file__exec_segs(struct elf_file *f, struct elf_seg *segs, int max)
{
	int n = 0;

	for (size_t i = 0; i < f->nphdr && n < max; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(f->elf, (int)i, &ph) ||
		    ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		segs[n].offset = ph.p_offset;
		segs[n].filesz = ph.p_filesz;
		segs[n].vaddr = ph.p_vaddr;
		n++;
	}
	return n;
}

int elf_file__dyn_strs(struct elf_file *f, int64_t tag, const char **out,
		       int max)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int n = 0;

	while ((scn = elf_nextscn(f->elf, scn))) {
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC ||
		    sh.sh_entsize == 0)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize && n < max;
		     i++) {
			GElf_Dyn d;
			const char *s;

			if (!gelf_getdyn(data, (int)i, &d))
				break;
			if (d.d_tag == DT_NULL)
				break;
			if (d.d_tag != tag)
				continue;
			s = elf_strptr(f->elf, sh.sh_link, d.d_un.d_val);
			if (s)
				out[n++] = s;
		}
		break;
	}
	return n;
}

/* Caps on the DWARF walks below: a libpython has ~300 compile units, a
 * few thousand DIEs at the top of each and ~100 members a struct. */
#define DW_UNITS_MAX 100000
#define DW_TOP_MAX 1000000
#define DW_MEMBERS_MAX 10000
#define DW_PEEL_MAX 16

static bool die_is(Dwarf_Die *d, int tag, const char *name)
{
	const char *s;

	if (dwarf_tag(d) != tag)
		return false;
	s = dwarf_diename(d);
	return s && strcmp(s, name) == 0;
}

/* The struct under d's typedefs and qualifiers, in place. */
static bool peel_to_struct(Dwarf_Die *d)
{
	Dwarf_Attribute a;

	for (int i = 0; i < DW_PEEL_MAX; i++) {
		switch (dwarf_tag(d)) {
		case DW_TAG_structure_type:
			return !dwarf_hasattr(d, DW_AT_declaration);
		case DW_TAG_typedef:
		case DW_TAG_const_type:
		case DW_TAG_volatile_type:
			if (!dwarf_attr(d, DW_AT_type, &a) ||
			    !dwarf_formref_die(&a, d))
				return false;
			break;
		default:
			return false;
		}
	}
	return false;
}

/* Struct s's member name: its offset, and the member's DIE in *m. */
static int member_of(Dwarf_Die *s, const char *name, Dwarf_Die *m,
		     Dwarf_Word *off)
{
	Dwarf_Attribute a;
	unsigned left = DW_MEMBERS_MAX;

	if (dwarf_child(s, m) != 0)
		return -ENOENT;
	do {
		if (!die_is(m, DW_TAG_member, name))
			continue;
		/* A constant; DWARF 2's location expression is not taken. */
		if (!dwarf_attr(m, DW_AT_data_member_location, &a) ||
		    dwarf_formudata(&a, off) != 0)
			return -ENOENT;
		return 0;
	} while (--left && dwarf_siblingof(m, m) == 0);
	return -ENOENT;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = s ? strlen(s) : 0, t = strlen(tail);

	return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Struct sname's definition at the top of unit cu, in *d. */
static bool top_struct(Dwarf_Die *cu, const char *sname, Dwarf_Die *d)
{
	unsigned left = DW_TOP_MAX;

	if (dwarf_child(cu, d) != 0)
		return false;
	do {
		if (die_is(d, DW_TAG_structure_type, sname) &&
		    !dwarf_hasattr(d, DW_AT_declaration))
			return true;
	} while (--left && dwarf_siblingof(d, d) == 0);
	return false;
}

int elf_file__member(struct elf_file *f, const char *cu, const char *sname,
		     const char *const *path, int n, uint64_t *off,
		     uint64_t *size)
{
	Dwarf *dw = dwarf_begin_elf(f->elf, DWARF_C_READ, NULL);
	Dwarf_Off at = 0, next;
	Dwarf_Die unit, d, m;
	Dwarf_Word o, sum = 0, size_of;
	size_t hsize;
	unsigned units = 0;
	bool found = false;
	int rc = -ENOENT;

	if (!dw)
		return -ENODATA;
	while (!found && units++ < DW_UNITS_MAX &&
	       dwarf_nextcu(dw, at, &next, &hsize, NULL, NULL, NULL) == 0) {
		found = dwarf_offdie(dw, at + hsize, &unit) &&
			ends_with(dwarf_diename(&unit), cu) &&
			top_struct(&unit, sname, &d);
		at = next;
	}
	if (!found)
		goto out;
	for (int i = 0; i < n; i++) {
		Dwarf_Attribute a;

		if ((i > 0 && !peel_to_struct(&d)) ||
		    member_of(&d, path[i], &m, &o) != 0 ||
		    o > UINT32_MAX || (sum += o) > UINT32_MAX ||
		    !dwarf_attr(&m, DW_AT_type, &a) ||
		    !dwarf_formref_die(&a, &d))
			goto out;
	}
	if (n < 1 || dwarf_aggregate_size(&d, &size_of) != 0)
		goto out;
	*off = sum;
	*size = size_of;
	rc = 0;
out:
	dwarf_end(dw);
	return rc;
}
