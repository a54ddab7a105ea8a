// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include "fuzz_mem.h"

#include <errno.h>
#include <string.h>

static int seg_read(const struct rmem *m, uint64_t addr, void *buf, size_t len)
{
	struct fuzz_mem *fm = m->ctx;

	fm->reads++;
	if (len == 0)
		return 0;
	if (addr + len < addr)
		return -EFAULT;
	for (int i = 0; i < fm->nseg; i++) {
		const struct fuzz_seg *s = &fm->seg[i];

		if (addr >= s->addr && addr - s->addr <= s->len &&
		    len <= s->len - (addr - s->addr)) {
			memcpy(buf, s->data + (addr - s->addr), len);
			return 0;
		}
	}
	return -EFAULT;
}

void fuzz_mem__init(struct fuzz_mem *fm, const uint8_t *data, size_t len)
{
	size_t i = 0;

	memset(&fm->m, 0, sizeof(fm->m));
	fm->m.read = seg_read;
	fm->m.ctx = fm;
	fm->nseg = 0;
	fm->reads = 0;
	while (len - i >= 10 && fm->nseg < FUZZ_MEM_SEGS_MAX) {
		struct fuzz_seg *s = &fm->seg[fm->nseg++];
		uint16_t n;

		memcpy(&s->addr, data + i, 8);
		memcpy(&n, data + i + 8, 2);
		i += 10;
		s->data = data + i;
		s->len = n < len - i ? n : len - i;
		i += s->len;
	}
}
