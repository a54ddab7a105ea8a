// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * src/native/symidx.c: over addresses spread across real files' code, the
 * index names the same symbol as dwfl_module_addrinfo (asking libdwfl only
 * where it says it must), and the same inlined functions, innermost
 * first, as the chain dwarf_getscopes_die gives from the innermost scope
 * (what `addr2line -i` prints): a file with DWARF and inlines (libpython),
 * a stripped one with only .dynsym (Debian's python3.11), and libc.
 */
#include "unit.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <stdlib.h>
#include <unistd.h>

#include "native/symidx.h"

#define INLINES_MAX 16

static char *debuginfo_path;
static const Dwfl_Callbacks offline_cbs = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

/* The inlined functions at pc, innermost first, the reference way. */
static int ref_inlines(Dwarf_Die *cu, uint64_t pc, const char **names, int max)
{
	Dwarf_Die *scopes = NULL, *chain = NULL;
	int n = 0, ns, nc;

	ns = dwarf_getscopes(cu, pc, &scopes);
	if (ns <= 0)
		return 0;
	nc = dwarf_getscopes_die(&scopes[0], &chain);
	for (int i = 0; i < nc && n < max; i++) {
		const char *name;

		if (dwarf_tag(&chain[i]) != DW_TAG_inlined_subroutine)
			continue;
		name = dwarf_diename(&chain[i]);
		names[n++] = name ? name : "[inlined]";
	}
	free(chain);
	free(scopes);
	return n;
}

/* The [lo, hi) of .text, in the file's addresses. */
static bool text_range(Dwfl_Module *mod, uint64_t *lo, uint64_t *hi)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	Elf_Scn *scn = NULL;
	size_t shstr;

	if (!elf || elf_getshdrstrndx(elf, &shstr))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstr, sh.sh_name);
		if (name && strcmp(name, ".text") == 0) {
			*lo = sh.sh_addr;
			*hi = sh.sh_addr + sh.sh_size;
			return true;
		}
	}
	return false;
}

struct tally {
	int funcs, asked, named, inl_checked, inl_found;
};

static void check_file(const char *path, int naddrs, int ninl, struct tally *t)
{
	Dwfl *dwfl;
	Dwfl_Module *mod;
	struct sym_index *x;
	uint64_t lo, hi, bias;
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	memset(t, 0, sizeof(*t));
	if (access(path, R_OK) != 0) {
		printf("  (%s not present)\n", path);
		return;
	}
	dwfl = dwfl_begin(&offline_cbs);
	REQUIRE(dwfl);
	dwfl_report_begin(dwfl);
	mod = dwfl_report_offline(dwfl, path, path, -1);
	dwfl_report_end(dwfl, NULL, NULL);
	REQUIRE(mod);
	REQUIRE(dwfl_module_getelf(mod, &bias));
	REQUIRE(text_range(mod, &lo, &hi));
	x = symidx__new();
	REQUIRE(x);
	for (int i = 0; i < naddrs; i++) {
		uint64_t rel, addr;
		const char *mine = NULL, *ref;
		GElf_Off off;
		GElf_Sym sym;
		enum symidx_found how;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		rel = lo + (seed >> 20) % (hi - lo);
		addr = rel + bias;
		how = symidx__func(x, mod, bias, rel, &mine);
		ref = dwfl_module_addrinfo(mod, addr, &off, &sym, NULL, NULL,
					   NULL);
		t->funcs++;
		if (how == SYMIDX_ASK) {
			t->asked++;
			continue;
		}
		if (how == SYMIDX_NONE) {
			if (ref && ref[0])
				unit__fail(__FILE__, __LINE__,
					   "%s+0x%lx: index says none, "
					   "libdwfl %s",
					   path, (unsigned long)rel, ref);
			continue;
		}
		t->named++;
		if (!ref || strcmp(ref, mine) != 0)
			unit__fail(__FILE__, __LINE__,
				   "%s+0x%lx: index %s, libdwfl %s", path,
				   (unsigned long)rel, mine, ref ? ref : "-");
	}
	for (int i = 0; i < ninl; i++) {
		const char *a[INLINES_MAX], *b[INLINES_MAX];
		Dwarf_Die *cu;
		Dwarf_Addr dbias;
		uint64_t rel;
		int na, nb;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		rel = lo + (seed >> 20) % (hi - lo);
		cu = dwfl_module_addrdie(mod, rel + bias, &dbias);
		if (!cu)
			continue;
		na = symidx__inlines(x, cu, rel + bias - dbias, a, INLINES_MAX,
				     NULL);
		nb = ref_inlines(cu, rel + bias - dbias, b, INLINES_MAX);
		t->inl_checked++;
		t->inl_found += nb > 0;
		if (na != nb) {
			unit__fail(__FILE__, __LINE__,
				   "%s+0x%lx: %d inlined functions, want %d",
				   path, (unsigned long)rel, na, nb);
			continue;
		}
		for (int k = 0; k < na; k++)
			if (strcmp(a[k], b[k]) != 0)
				unit__fail(
					__FILE__, __LINE__,
					"%s+0x%lx: inlined %d is %s, want %s",
					path, (unsigned long)rel, k, a[k],
					b[k]);
	}
	printf("  %s: %d addresses, %d named by the index, %d asked of "
	       "libdwfl; %d with DWARF, %d of them in inlined code\n",
	       path, t->funcs, t->named, t->asked, t->inl_checked,
	       t->inl_found);
	symidx__free(x);
	dwfl_end(dwfl);
}

TEST(symidx_names_as_libdwfl)
{
	static const char *const files[] = {
		"/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0",
		"/usr/bin/python3.11",
		"/lib/x86_64-linux-gnu/libc.so.6",
	};
	struct tally t;
	int named = 0, inl = 0;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		check_file(files[i], 1500, 400, &t);
		named += t.named;
		inl += t.inl_found;
		/* The index decides nearly every address itself. */
		CHECK(t.asked <= t.funcs / 20);
	}
	if (!named)
		SKIP("none of the reference files is installed");
	/* libpython has inlined code: the comparison saw some. */
	if (access(files[0], R_OK) == 0)
		CHECK(inl > 50);
}
