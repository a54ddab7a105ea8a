// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "native/ksyms.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"

/* kallsyms has about 200k lines; a hostile or broken file is capped. */
#define KSYMS_MAX (4u << 20)
#define KSYM_NAME_MAX 512

struct ksym {
	uint64_t addr;
	uint32_t name; /* offset in names */
};

struct ksyms {
	struct ksym *v;
	size_t n, cap;
	char *names;
	size_t nlen, ncap;
};

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int add(struct ksyms *ks, uint64_t addr, const char *name, size_t len)
{
	if (ks->n >= KSYMS_MAX || ks->nlen + len + 1 > UINT32_MAX)
		return -E2BIG;
	if (grow__reserve((void **)&ks->v, &ks->cap, ks->n + 1,
			  sizeof(*ks->v)) ||
	    grow__reserve((void **)&ks->names, &ks->ncap, ks->nlen + len + 1,
			  1))
		return -ENOMEM;
	ks->v[ks->n].addr = addr;
	ks->v[ks->n].name = (uint32_t)ks->nlen;
	ks->n++;
	memcpy(ks->names + ks->nlen, name, len);
	ks->names[ks->nlen + len] = '\0';
	ks->nlen += len + 1;
	return 0;
}

struct ksyms *ksyms__load(FILE *f)
{
	char line[KSYM_NAME_MAX + 128];
	bool any_addr = false;
	struct ksyms *ks;
	int rc = 0;

	ks = calloc(1, sizeof(*ks));
	if (!ks)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char *end, *type, *name;
		uint64_t addr;
		size_t len;

		errno = 0;
		addr = strtoull(line, &end, 16);
		if (end == line || errno || *end != ' ')
			continue;
		type = end + 1;
		if (!type[0] || type[1] != ' ')
			continue;
		if (addr)
			any_addr = true;
		/* Text symbols: t/T, and weak ones w/W (code, in kallsyms). */
		if (strchr("tTwW", type[0]) == NULL)
			continue;
		name = type + 2;
		len = strcspn(name, " \t\n");
		if (len == 0 || len > KSYM_NAME_MAX)
			continue;
		rc = add(ks, addr, name, len);
		if (rc)
			break;
	}
	if (!rc && !any_addr)
		rc = ks->n ? -EPERM : -ENOENT;
	if (rc) {
		ksyms__free(ks);
		errno = -rc;
		return NULL;
	}
	qsort(ks->v, ks->n, sizeof(*ks->v), cmp_ksym);
	return ks;
}

struct ksyms *ksyms__load_proc(void)
{
	struct ksyms *ks;
	FILE *f = fopen("/proc/kallsyms", "re");
	int err;

	if (!f)
		return NULL;
	ks = ksyms__load(f);
	err = errno;
	fclose(f);
	errno = err;
	return ks;
}

void ksyms__free(struct ksyms *ks)
{
	if (!ks)
		return;
	free(ks->v);
	free(ks->names);
	free(ks);
}

const char *ksyms__find(const struct ksyms *ks, uint64_t addr, uint64_t *off)
{
	size_t lo = 0, hi = ks->n;

	/* The first entry above addr; the one before it holds addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->v[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	if (off)
		*off = addr - ks->v[lo - 1].addr;
	return ks->names + ks->v[lo - 1].name;
}

size_t ksyms__count(const struct ksyms *ks)
{
	return ks->n;
}
