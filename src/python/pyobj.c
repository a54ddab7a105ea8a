// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Reading CPython objects out of a target's memory (see src/python/pyobj.h).
 *
 * The target is untrusted and may be changing the objects while we read them:
 * every length, count and size found there is checked before use, every read
 * has a length bounded by the constants below, and a dict scan looks at no
 * more than DICT_SCAN_MAX entries.  Only pointers found in the target are
 * followed, nothing is written, and a bad object gives -EINVAL, -EFAULT or
 * -E2BIG / -ERANGE, never a crash or a long loop.
 *
 * Struct offsets come from struct py_layout.  What it does not carry is fixed
 * per family of versions and cited where used: the two layouts of
 * PyDictKeysObject, the Py_TPFLAGS_* bits and the managed-dict schemes.
 * Integers in the target are little-endian, 64-bit, as on the host.
 */
#include "python/pyobj.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Py_TPFLAGS_* (Include/object.h); the same bits in 3.8 ... 3.15. */
#define TPF_INLINE_VALUES (1ull << 2) /* 3.13+ */
#define TPF_MANAGED_DICT (1ull << 4) /* 3.11+ */
#define TPF_HEAPTYPE (1ull << 9)
#define TPF_LONG_SUBCLASS (1ull << 24)
#define TPF_UNICODE_SUBCLASS (1ull << 28)
#define TPF_DICT_SUBCLASS (1ull << 29)

/* First read of a str or bytes: the header and the start of the data, so
 * that a short object (most names) takes one read. */
#define HEAD_READ 256
/* Fixed-size headers (dict, type) must end within this many bytes. */
#define SMALL_HDR 512
/* Dict entries (used or deleted slots) we agree to look through. */
#define DICT_SCAN_MAX (1 << 16)
/* Entries read at a time while scanning. */
#define SCAN_CHUNK 128
/* Longest key (or attribute name) we look up, in bytes. */
#define KEY_MAX 256
/* Sanity bound on an instance's tp_basicsize / tp_dictoffset. */
#define OBJ_SIZE_MAX (1 << 20)

static inline uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/*
 * Reads want bytes at addr or, if that faults, only need: an object may end
 * just before an unmapped page, so reading past its header is a guess that
 * can fail.  Returns the number of bytes read or -errno.
 */
static long read_head(const struct rmem *m, uint64_t addr, void *buf,
		      size_t want, size_t need)
{
	int err = rmem__read(m, addr, buf, want);

	if (!err)
		return (long)want;
	if (err != -EFAULT || want <= need)
		return err;
	err = rmem__read(m, addr, buf, need);
	return err ? err : (long)need;
}

/* tp_flags of the type object at type. */
static int type_flags(const struct py_layout *l, const struct rmem *m,
		      uint64_t type, uint64_t *flags)
{
	return rmem__read_u64(m, type + l->obj.type_flags, flags);
}

/* Errors of a single object (a bad or vanished key) rather than of the whole
 * read (the process is gone): a scan skips the former. */
static bool err_is_local(int err)
{
	return err == -EFAULT || err == -EINVAL || err == -E2BIG ||
	       err == -ERANGE;
}

/* ------------------------------------------------------------------ str -- */

struct str_info {
	int64_t length; /* code points, as the str says */
	uint64_t type; /* its ob_type */
	bool mismatch; /* length differs from the one asked for; nothing read */
	bool cut; /* not every code point made it into out */
};

static size_t utf8_len(uint32_t c)
{
	return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

static void utf8_put(uint32_t c, char *p)
{
	uint8_t *o = (uint8_t *)p;

	if (c < 0x80) {
		o[0] = c;
	} else if (c < 0x800) {
		o[0] = 0xc0 | (c >> 6);
		o[1] = 0x80 | (c & 0x3f);
	} else if (c < 0x10000) {
		o[0] = 0xe0 | (c >> 12);
		o[1] = 0x80 | ((c >> 6) & 0x3f);
		o[2] = 0x80 | (c & 0x3f);
	} else {
		o[0] = 0xf0 | (c >> 18);
		o[1] = 0x80 | ((c >> 12) & 0x3f);
		o[2] = 0x80 | ((c >> 6) & 0x3f);
		o[3] = 0x80 | (c & 0x3f);
	}
}

/*
 * Encodes ncp code points of width kind as UTF-8 into out (outlen >= 1),
 * stopping at the last whole character that fits; NUL-terminates.
 */
static size_t encode_utf8(const uint8_t *src, unsigned kind, size_t ncp,
			  char *out, size_t outlen, bool *cut)
{
	size_t n = 0;

	for (size_t i = 0; i < ncp; i++) {
		uint32_t c = kind == 1 ? src[i] :
			     kind == 2 ? rmem__ld16(src + 2 * i) :
					 rmem__ld32(src + 4 * i);
		size_t len;

		/* A str may hold lone surrogates (surrogateescape) or, if
		 * corrupt, anything: neither is valid UTF-8. */
		if ((c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
			c = 0xfffd;
		len = utf8_len(c);
		if (n + len > outlen - 1) {
			*cut = true;
			break;
		}
		utf8_put(c, out + n);
		n += len;
	}
	out[n] = '\0';
	return n;
}

/*
 * Reads the str at addr into out as UTF-8.  If want_len >= 0 and the str has
 * another length, sets info->mismatch and reads no further (key lookups).
 * Returns the bytes written (without the NUL) or -errno.
 *
 * Layouts (Include/cpython/unicodeobject.h, 3.3 ... 3.14):
 *  - compact ASCII: PyASCIIObject, then the 1-byte data;
 *  - compact: PyCompactUnicodeObject, then data of kind 1, 2 or 4 bytes;
 *  - legacy (str subclasses, the pre-3.12 PyUnicode_FromUnicode API):
 *    PyUnicodeObject whose data.any points at the data.
 * state.kind is 0 (PyUnicode_WCHAR_KIND) for a not-ready legacy str (<=3.11):
 * refused like any other kind but 1, 2 and 4.
 */
static int str_read(const struct py_layout *l, const struct rmem *m,
		    uint64_t addr, int64_t want_len, char *out, size_t outlen,
		    struct str_info *info)
{
	uint8_t head[HEAD_READ] __attribute__((aligned(8)));
	uint8_t *tmp = NULL;
	const uint8_t *src = NULL;
	uint64_t ncp, nbytes, data;
	uint32_t state;
	unsigned kind;
	bool compact, ascii;
	size_t n;
	long got;
	int err = 0;

	memset(info, 0, sizeof(*info));
	if (!out || !outlen)
		return -EINVAL;
	out[0] = '\0';
	if (l->unicode.ascii_size > l->unicode.compact_size ||
	    l->unicode.compact_size >= HEAD_READ ||
	    l->unicode.data_any + 8 > HEAD_READ ||
	    l->unicode.length + 8 > l->unicode.ascii_size ||
	    l->unicode.state + 4 > l->unicode.ascii_size ||
	    l->object.ob_type + 8 > l->unicode.ascii_size ||
	    l->unicode.kind_shift > 29 || l->unicode.compact_bit > 31 ||
	    l->unicode.ascii_bit > 31)
		return -EINVAL;

	got = read_head(m, addr, head, HEAD_READ, l->unicode.ascii_size);
	if (got < 0)
		return (int)got;
	info->length = (int64_t)rmem__ld64(head + l->unicode.length);
	info->type = rmem__ld64(head + l->object.ob_type);
	state = rmem__ld32(head + l->unicode.state);
	kind = (state >> l->unicode.kind_shift) & 7;
	compact = (state >> l->unicode.compact_bit) & 1;
	ascii = (state >> l->unicode.ascii_bit) & 1;
	if (info->length < 0 || (kind != 1 && kind != 2 && kind != 4) ||
	    (ascii && kind != 1))
		return -EINVAL;
	if (want_len >= 0 && info->length != want_len) {
		info->mismatch = true;
		return 0;
	}

	/* Never more code points than fit, each being at least one byte. */
	ncp = min_u64(min_u64((uint64_t)info->length, PYOBJ_STR_MAX),
		      outlen - 1);
	nbytes = ncp * kind;
	if (!nbytes) {
		/* nothing to read: an empty str, or no room but for the NUL */
	} else if (compact) {
		uint64_t off = ascii ? l->unicode.ascii_size :
				       l->unicode.compact_size;

		data = addr + off;
		if (off + nbytes <= (uint64_t)got) {
			src = head + off;
		} else {
			uint64_t have = (uint64_t)got > off ? got - off : 0;

			tmp = malloc(nbytes);
			if (!tmp)
				return -ENOMEM;
			memcpy(tmp, head + off, have);
			err = rmem__read(m, data + have, tmp + have,
					 nbytes - have);
			src = tmp;
		}
	} else {
		if ((uint64_t)got >= l->unicode.data_any + 8)
			data = rmem__ld64(head + l->unicode.data_any);
		else
			err = rmem__read_u64(m, addr + l->unicode.data_any,
					     &data);
		if (!err) {
			tmp = malloc(nbytes);
			if (!tmp)
				return -ENOMEM;
			err = rmem__read(m, data, tmp, nbytes);
			src = tmp;
		}
	}
	if (err) {
		free(tmp);
		return err;
	}

	n = src ? encode_utf8(src, kind, ncp, out, outlen, &info->cut) : 0;
	free(tmp);
	if (ncp < (uint64_t)info->length) {
		/* Cut at PYOBJ_STR_MAX: say so, if "..." fits whole. */
		if (!info->cut && ncp == PYOBJ_STR_MAX && n + 3 < outlen) {
			memcpy(out + n, "...", 4);
			n += 3;
		}
		info->cut = true;
	}
	return (int)n;
}

int pyobj__read_str(const struct py_layout *l, const struct rmem *m,
		    uint64_t addr, char *out, size_t outlen)
{
	struct str_info info;

	return str_read(l, m, addr, -1, out, outlen, &info);
}

/* A key we look up: UTF-8 bytes and their number of code points. */
struct key {
	const char *s;
	size_t len;
	int64_t ncp;
};

static int key_init(struct key *k, const char *s)
{
	if (!s)
		return -EINVAL;
	k->s = s;
	k->len = strlen(s);
	if (k->len > KEY_MAX)
		return -EINVAL;
	k->ncp = 0;
	for (size_t i = 0; i < k->len; i++)
		k->ncp += ((uint8_t)s[i] & 0xc0) != 0x80;
	return 0;
}

/* Whether the str at addr is k: 1 yes, 0 no, or -errno. *type is its type. */
static int str_eq(const struct py_layout *l, const struct rmem *m,
		  uint64_t addr, const struct key *k, uint64_t *type)
{
	char buf[KEY_MAX + 1];
	struct str_info info;
	int n;

	/* A buffer of exactly the key's size: a longer str is cut, and cut
	 * means different. */
	n = str_read(l, m, addr, k->ncp, buf, k->len + 1, &info);
	if (n < 0)
		return n;
	*type = info.type;
	return !info.mismatch && !info.cut && (size_t)n == k->len &&
	       memcmp(buf, k->s, k->len) == 0;
}

/* ---------------------------------------------------------------- bytes -- */

int pyobj__read_bytes(const struct py_layout *l, const struct rmem *m,
		      uint64_t addr, size_t max, uint8_t **out, size_t *outlen)
{
	uint8_t head[HEAD_READ] __attribute__((aligned(8)));
	uint64_t off = l->bytes.ob_sval, have;
	int64_t size;
	uint8_t *buf;
	long got;
	int err;

	if (!out || !outlen)
		return -EINVAL;
	*out = NULL;
	*outlen = 0;
	if (l->bytes.ob_size + 8 > off || off >= HEAD_READ)
		return -EINVAL;
	if (max > PYOBJ_BYTES_MAX)
		max = PYOBJ_BYTES_MAX;

	got = read_head(m, addr, head, HEAD_READ, off);
	if (got < 0)
		return (int)got;
	/* PyBytesObject: PyVarObject ob_size (bytes, without the NUL that
	 * always follows), then ob_sval (Include/cpython/bytesobject.h). */
	size = (int64_t)rmem__ld64(head + l->bytes.ob_size);
	if (size < 0)
		return -EINVAL;
	if ((uint64_t)size > max)
		return -E2BIG;

	buf = malloc(size + 1); /* +1: never malloc(0), and a NUL for free */
	if (!buf)
		return -ENOMEM;
	have = min_u64(got - off, size);
	memcpy(buf, head + off, have);
	err = rmem__read(m, addr + off + have, buf + have, size - have);
	if (err) {
		free(buf);
		return err;
	}
	buf[size] = 0;
	*out = buf;
	*outlen = size;
	return 0;
}

/* ------------------------------------------------------------------ int -- */

/*
 * PyLong (Include/cpython/longintrepr.h): 30-bit digits, least significant
 * first, after a size field:
 *  - <= 3.11: ob_size, signed: the digit count, negative for negative ints;
 *  - 3.12+: lv_tag: digit count << 3 | sign, sign 0 positive, 1 zero,
 *    2 negative (_PyLong_SIGN_MASK 3, _PyLong_NON_SIZE_BITS 3).  Bit 2 is
 *    left alone (3.14+ pycore_long.h: IMMORTALITY_BIT_MASK, small ints).
 * A 64-bit value takes at most 3 digits (90 bits).
 */
#define LONG_SHIFT 30
#define LONG_MAX_DIGITS 3

int pyobj__read_ulong(const struct py_layout *l, const struct rmem *m,
		      uint64_t addr, uint64_t *out)
{
	uint8_t buf[64 + 4 * LONG_MAX_DIGITS] __attribute__((aligned(8)));
	uint32_t off = l->obj.long_digits;
	uint64_t ndigits, v = 0;
	long got;
	int err;

	if (!out)
		return -EINVAL;
	*out = 0;
	if (l->obj.long_size + 8 > off || off > 64)
		return -EINVAL;
	got = read_head(m, addr, buf, off + 4 * LONG_MAX_DIGITS, off);
	if (got < 0)
		return (int)got;

	if (l->obj.long_tagged) {
		uint64_t tag = rmem__ld64(buf + l->obj.long_size);

		switch (tag & 3) {
		case 0:
			break;
		case 1:
			return 0; /* zero */
		case 2:
			return -ERANGE;
		default:
			return -EINVAL;
		}
		ndigits = tag >> 3;
	} else {
		int64_t size = (int64_t)rmem__ld64(buf + l->obj.long_size);

		if (size < 0)
			return -ERANGE;
		ndigits = size;
	}
	/* Ints are normalised (no leading zero digits): more digits than 3
	 * means 2^90 or more. */
	if (ndigits > LONG_MAX_DIGITS)
		return -ERANGE;
	if ((uint64_t)got < off + 4 * ndigits) {
		err = rmem__read(m, addr + off, buf + off, 4 * ndigits);
		if (err)
			return err;
	}
	for (uint64_t i = ndigits; i-- > 0;) {
		uint32_t d = rmem__ld32(buf + off + 4 * i);

		if (d >> LONG_SHIFT)
			return -EINVAL;
		if (v >> (64 - LONG_SHIFT))
			return -ERANGE;
		v = (v << LONG_SHIFT) | d;
	}
	*out = v;
	return 0;
}

/* ----------------------------------------------------------------- dict -- */

/*
 * PyDictKeysObject, two layouts.
 *
 * 3.8-3.10 (Objects/dict-common.h): dk_refcnt, dk_size, dk_lookup, dk_usable,
 * dk_nentries, then dk_indices[dk_size] of 1/2/4/8 bytes each (by dk_size),
 * then PyDictKeyEntry {me_hash, me_key, me_value}[].  A split table (an
 * instance __dict__ sharing its type's keys) keeps its values in
 * ma_values[entry index], a PyObject *[].
 *
 * 3.11+ (Include/internal/pycore_dict.h): dk_refcnt, dk_log2_size,
 * dk_log2_index_bytes, dk_kind, dk_version, dk_usable, dk_nentries, then the
 * indices (1 << dk_log2_index_bytes bytes), then PyDictKeyEntry[] for
 * DICT_KEYS_GENERAL or PyDictUnicodeEntry {me_key, me_value}[] for
 * DICT_KEYS_UNICODE and DICT_KEYS_SPLIT.  Split values live in PyDictValues,
 * whose values[] follow l->obj.values_prefix bytes (3.13+: capacity, size,
 * embedded, valid).  Free-threaded (Py_GIL_DISABLED) builds add a one-byte
 * dk_mutex after dk_kind, in what was padding: the same offsets.
 *
 * A deleted entry has a NULL me_key and me_value (in a split table, a NULL
 * value): skipped.
 */
#define DK_OLD_SIZE 8
#define DK_OLD_NENTRIES 32
#define DK_OLD_INDICES 40
#define DK_LOG2_SIZE 8
#define DK_LOG2_INDEX_BYTES 9
#define DK_KIND 10
#define DK_NENTRIES 24
#define DK_INDICES 32
#define DICT_KEYS_GENERAL 0
#define DICT_KEYS_SPLIT 2
/* 2^40 slots: far beyond any real dict; only keeps arithmetic sane. */
#define DK_LOG2_MAX 40
/* USABLE_FRACTION (Objects/dictobject.c): at most 2/3 of the slots used. */
#define USABLE_FRACTION(n) (((n) << 1) / 3)
/* 3.13+ struct _dictvalues: capacity, size, embedded, valid. */
#define VALUES_HDR 4

/* A dict's entries, checked and ready to scan. */
struct dview {
	uint64_t keys; /* address of the keys table */
	uint64_t type; /* the dict's type */
	uint64_t entries; /* address of entry 0 */
	uint64_t nentries; /* dk_nentries: slots used, deleted ones included */
	uint32_t esize; /* bytes per entry */
	uint32_t key_off; /* of me_key in an entry */
	uint32_t val_off; /* of me_value in an entry */
	bool str_keys; /* every key is a str (3.11+ UNICODE, SPLIT) */
	bool split; /* 3.11+ DICT_KEYS_SPLIT */
	uint64_t values; /* split table: address of values[0], else 0 */
	uint64_t nvalues; /* values[] that may be read */
};

static int keys_load(const struct py_layout *l, const struct rmem *m,
		     uint64_t keys, struct dview *v)
{
	uint8_t h[DK_OLD_INDICES] __attribute__((aligned(8)));
	uint64_t size, ixbytes;
	int64_t nentries;
	int err;

	memset(v, 0, sizeof(*v));
	if (!l->obj.dict_keys_new) {
		err = rmem__read(m, keys, h, DK_OLD_INDICES);
		if (err)
			return err;
		size = rmem__ld64(h + DK_OLD_SIZE);
		/* A power of two; 1 for the shared empty keys (3.8-3.10). */
		if (!size || (size & (size - 1)) ||
		    size > (1ull << DK_LOG2_MAX))
			return -EINVAL;
		/* DK_IXSIZE (3.8-3.10 Objects/dictobject.c) */
		ixbytes = size <= 0xff	     ? 1 :
			  size <= 0xffff     ? 2 :
			  size <= 0xffffffff ? 4 :
					       8;
		nentries = (int64_t)rmem__ld64(h + DK_OLD_NENTRIES);
		v->entries = keys + DK_OLD_INDICES + size * ixbytes;
		v->esize = 24;
		v->key_off = 8;
		v->val_off = 16;
	} else {
		unsigned log2, log2ix, want;

		err = rmem__read(m, keys, h, DK_INDICES);
		if (err)
			return err;
		log2 = h[DK_LOG2_SIZE];
		log2ix = h[DK_LOG2_INDEX_BYTES];
		if (log2 > DK_LOG2_MAX || h[DK_KIND] > DICT_KEYS_SPLIT)
			return -EINVAL;
		/* new_keys_object() (3.11+ Objects/dictobject.c): 1-byte
		 * indices below 2^8 slots, 2 below 2^16, 4 below 2^32. */
		want = log2 < 8	 ? log2 :
		       log2 < 16 ? log2 + 1 :
		       log2 < 32 ? log2 + 2 :
				   log2 + 3;
		if (log2ix != want)
			return -EINVAL;
		size = 1ull << log2;
		nentries = (int64_t)rmem__ld64(h + DK_NENTRIES);
		v->entries = keys + DK_INDICES + (1ull << log2ix);
		if (h[DK_KIND] == DICT_KEYS_GENERAL) {
			v->esize = 24;
			v->key_off = 8;
			v->val_off = 16;
		} else {
			v->esize = 16;
			v->key_off = 0;
			v->val_off = 8;
			v->str_keys = true;
			v->split = h[DK_KIND] == DICT_KEYS_SPLIT;
		}
	}
	if (nentries < 0 || (uint64_t)nentries > USABLE_FRACTION(size))
		return -EINVAL;
	if (nentries > DICT_SCAN_MAX)
		return -E2BIG;
	v->nentries = nentries;
	return 0;
}

/*
 * Attaches split values to v: vals is what ma_values (or an object's values
 * pointer) holds.  *valid is false for 3.13+ values that their object has
 * given up for a dict (struct _dictvalues.valid).
 */
static int values_attach(const struct py_layout *l, const struct rmem *m,
			 struct dview *v, uint64_t vals, bool *valid)
{
	uint32_t prefix = l->obj.values_prefix;

	*valid = true;
	if (!prefix) {
		/* 3.8-3.12: values[] was sized from the shared keys (dk_nentries
		 * + dk_usable, or USABLE_FRACTION(dk_size)): at least
		 * dk_nentries. */
		v->nvalues = v->nentries;
	} else {
		uint8_t h[VALUES_HDR];
		int err;

		if (prefix < VALUES_HDR || prefix > 64)
			return -EINVAL;
		err = rmem__read(m, vals, h, sizeof(h));
		if (err)
			return err;
		v->nvalues = min_u64(h[0], v->nentries); /* capacity */
		*valid = h[3];
	}
	v->values = vals + prefix;
	return 0;
}

/*
 * Reads the header of the dict at dict, checks that its type is a dict type
 * (Py_TPFLAGS_DICT_SUBCLASS) and loads its keys (and split values) into v.
 * known_type: a type already checked to be one (0: none).
 */
static int dict_load(const struct py_layout *l, const struct rmem *m,
		     uint64_t dict, uint64_t known_type, struct dview *v)
{
	uint8_t h[SMALL_HDR] __attribute__((aligned(8)));
	uint64_t span, type, flags, keys, vals;
	bool valid;
	int err;

	span = max_u64(max_u64(l->object.ob_type, l->obj.dict_keys),
		       l->obj.dict_values) +
	       8;
	if (span > sizeof(h))
		return -EINVAL;
	err = rmem__read(m, dict, h, span);
	if (err)
		return err;
	type = rmem__ld64(h + l->object.ob_type);
	if (!type || type != known_type) {
		err = type_flags(l, m, type, &flags);
		if (err)
			return err;
		if (!(flags & TPF_DICT_SUBCLASS))
			return -EINVAL;
	}
	keys = rmem__ld64(h + l->obj.dict_keys);
	vals = rmem__ld64(h + l->obj.dict_values);
	err = keys_load(l, m, keys, v);
	if (err)
		return err;
	v->keys = keys;
	v->type = type;
	if (!vals)
		/* 3.11+ split keys always come with values. */
		return v->split ? -EINVAL : 0;
	if (l->obj.dict_keys_new && !v->split)
		return -EINVAL;
	return values_attach(l, m, v, vals, &valid);
}

/*
 * Calls fn(index, key, value, arg) for each live entry of v, in entry
 * (insertion) order; stops when fn returns non-zero and returns that.
 */
static int dict_scan(const struct rmem *m, const struct dview *v,
		     int (*fn)(uint64_t ix, uint64_t key, uint64_t value,
			       void *arg),
		     void *arg)
{
	uint8_t ebuf[SCAN_CHUNK * 24] __attribute__((aligned(8)));
	uint64_t vbuf[SCAN_CHUNK];

	for (uint64_t i = 0; i < v->nentries; i += SCAN_CHUNK) {
		uint64_t c = min_u64(SCAN_CHUNK, v->nentries - i), nv = 0;
		int err;

		err = rmem__read(m, v->entries + i * v->esize, ebuf,
				 c * v->esize);
		if (err)
			return err;
		if (v->values && i < v->nvalues) {
			nv = min_u64(c, v->nvalues - i);
			err = rmem__read(m, v->values + 8 * i, vbuf, 8 * nv);
			if (err)
				return err;
		}
		for (uint64_t j = 0; j < c; j++) {
			const uint8_t *e = ebuf + j * v->esize;
			uint64_t key = rmem__ld64(e + v->key_off), val;
			int r;

			if (v->values)
				val = j < nv ? vbuf[j] : 0;
			else
				val = rmem__ld64(e + v->val_off);
			if (!key || !val)
				continue;
			r = fn(i + j, key, val, arg);
			if (r)
				return r;
		}
	}
	return 0;
}

/* Looking a str key up by comparing each key (we cannot hash: str hashes are
 * randomised per process). */
struct find {
	const struct py_layout *l;
	const struct rmem *m;
	const struct key *key;
	bool check_type; /* keys may be anything: check a match is a str */
	uint64_t str_type; /* a type known to be a str type, or 0 */
	uint64_t value;
	uint64_t ix, found; /* the entry found, and its key object */
};

static int find_cb(uint64_t ix, uint64_t key, uint64_t value, void *arg)
{
	struct find *f = arg;
	uint64_t type = 0, flags;
	int r;

	r = str_eq(f->l, f->m, key, f->key, &type);
	if (r < 0)
		/* Not a str, or freed under us: look at the next one. */
		return err_is_local(r) ? 0 : r;
	if (!r)
		return 0;
	if (f->check_type && type != f->str_type) {
		r = type_flags(f->l, f->m, type, &flags);
		if (r)
			return err_is_local(r) ? 0 : r;
		if (!(flags & TPF_UNICODE_SUBCLASS))
			return 0;
		f->str_type = type;
	}
	f->value = value;
	f->ix = ix;
	f->found = key;
	return 1;
}

static int view_find(const struct py_layout *l, const struct rmem *m,
		     const struct dview *v, const struct key *k, struct find *f)
{
	int r;

	*f = (struct find){
		.l = l,
		.m = m,
		.key = k,
		.check_type = !v->str_keys,
	};
	r = dict_scan(m, v, find_cb, f);
	return r < 0 ? r : 0;
}

/*
 * The key as the memo has it, if the memo still holds: the dict's keys
 * table is the one it was found in (entries are only ever appended to a
 * table, and a table is never reused by another dict while this one holds
 * it), and the entry is still that key object, or, when the key was
 * absent, no entry was added since.  1 with *value set, 0 if the memo does
 * not hold, or -errno.
 */
static int memo_find(const struct rmem *m, const struct dview *v,
		     const struct pyobj_dict_memo *memo, uint64_t dict,
		     uint64_t *value)
{
	uint8_t e[24] __attribute__((aligned(8)));
	int err;

	if (memo->dict != dict || memo->keys != v->keys || v->values)
		return 0;
	if (memo->ix == PYOBJ_MEMO_ABSENT) {
		if (v->nentries != memo->nentries)
			return 0;
		*value = 0;
		return 1;
	}
	if (memo->ix >= v->nentries || v->esize > sizeof(e))
		return 0;
	err = rmem__read(m, v->entries + memo->ix * v->esize, e, v->esize);
	if (err)
		return err;
	if (rmem__ld64(e + v->key_off) != memo->key)
		return 0;
	*value = rmem__ld64(e + v->val_off);
	return 1;
}

int pyobj__dict_get_memo(const struct py_layout *l, const struct rmem *m,
			 uint64_t dict, const char *key,
			 struct pyobj_dict_memo *memo, uint64_t *value)
{
	struct dview v;
	struct find f;
	struct key k;
	int err;

	if (!value)
		return -EINVAL;
	*value = 0;
	err = key_init(&k, key);
	if (!err)
		err = dict_load(l, m, dict,
				memo && memo->dict == dict ? memo->type : 0,
				&v);
	if (err)
		return err;
	if (memo) {
		err = memo_find(m, &v, memo, dict, value);
		if (err)
			return err < 0 ? err : 0;
	}
	err = view_find(l, m, &v, &k, &f);
	if (err)
		return err;
	*value = f.value;
	/* Split tables keep keys whose value is gone: not memoised. */
	if (memo && !v.values)
		*memo = (struct pyobj_dict_memo){
			.dict = dict,
			.type = v.type,
			.keys = v.keys,
			.nentries = v.nentries,
			.ix = f.value ? f.ix : PYOBJ_MEMO_ABSENT,
			.key = f.found,
		};
	return 0;
}

int pyobj__dict_get(const struct py_layout *l, const struct rmem *m,
		    uint64_t dict, const char *key, uint64_t *value)
{
	return pyobj__dict_get_memo(l, m, dict, key, NULL, value);
}

struct each {
	int (*fn)(uint64_t key, uint64_t value, void *arg);
	void *arg;
	int left;
	int ret;
};

static int each_cb(uint64_t ix, uint64_t key, uint64_t value, void *arg)
{
	struct each *e = arg;
	int r;

	(void)ix;
	if (e->left <= 0)
		return 1;
	e->left--;
	r = e->fn(key, value, e->arg);
	if (r) {
		e->ret = r < 0 ? r : 0;
		return 1;
	}
	return e->left <= 0;
}

/* A negative return of fn is passed on as the result. */
int pyobj__dict_foreach(const struct py_layout *l, const struct rmem *m,
			uint64_t dict, int max,
			int (*fn)(uint64_t key, uint64_t value, void *arg),
			void *arg)
{
	struct each e = { .fn = fn, .arg = arg, .left = max };
	struct dview v;
	int err;

	if (!fn || max < 0)
		return -EINVAL;
	if (!max)
		return 0;
	err = dict_load(l, m, dict, 0, &v);
	if (err)
		return err;
	err = dict_scan(m, &v, each_cb, &e);
	if (err < 0)
		return err;
	return e.ret;
}

/* ------------------------------------------------------------- getattr -- */

/*
 * Looks name up in values[] of an object of type (flags) whose attributes
 * are stored without a dict: the keys are the type's ht_cached_keys
 * (PyHeapTypeObject, 3.11+ DICT_KEYS_SPLIT), values[i] goes with entry i.
 * vals: the object's PyDictValues.  *used is false if 3.13+ values are no
 * longer valid (the object has a dict instead).
 */
static int values_get(const struct py_layout *l, const struct rmem *m,
		      uint64_t type, uint64_t flags, uint64_t vals,
		      const struct key *k, uint64_t *value, bool *used)
{
	struct find f = { 0 };
	uint64_t keys;
	struct dview v;
	bool valid;
	int err;

	*used = false;
	if (!(flags & TPF_HEAPTYPE))
		return -EINVAL;
	err = rmem__read_u64(m, type + l->obj.ht_cached_keys, &keys);
	if (err)
		return err;
	err = keys_load(l, m, keys, &v);
	if (err)
		return err;
	if (!v.split)
		return -EINVAL;
	err = values_attach(l, m, &v, vals, &valid);
	if (err || !valid)
		return err;
	*used = true;
	err = view_find(l, m, &v, k, &f);
	*value = f.value;
	return err;
}

int pyobj__getattr(const struct py_layout *l, const struct rmem *m,
		   uint64_t obj, const char *name, uint64_t *value)
{
	uint8_t h[SMALL_HDR] __attribute__((aligned(8)));
	uint64_t type, flags, span, dict = 0, dorv, vals;
	int64_t dictoffset, basicsize;
	struct key k;
	bool used;
	int err;

	if (!value)
		return -EINVAL;
	*value = 0;
	err = key_init(&k, name);
	if (err)
		return err;
	err = rmem__read_u64(m, obj + l->object.ob_type, &type);
	if (err)
		return err;
	span = max_u64(max_u64(l->obj.type_flags, l->obj.type_dictoffset),
		       l->obj.type_basicsize) +
	       8;
	if (span > sizeof(h))
		return -EINVAL;
	err = rmem__read(m, type, h, span);
	if (err)
		return err;
	flags = rmem__ld64(h + l->obj.type_flags);
	dictoffset = (int64_t)rmem__ld64(h + l->obj.type_dictoffset);
	basicsize = (int64_t)rmem__ld64(h + l->obj.type_basicsize);

	if (l->obj.managed_dict != PY_MD_NONE && (flags & TPF_MANAGED_DICT)) {
		switch (l->obj.managed_dict) {
		case PY_MD_311:
			/* 3.11 Include/internal/pycore_object.h: the values
			 * pointer at obj - 4 words (_PyObject_ValuesPointer),
			 * the dict at obj - 3 words; one of them is set. */
			err = rmem__read_u64(m, obj - 32, &vals);
			if (err)
				return err;
			if (vals) {
				err = values_get(l, m, type, flags, vals, &k,
						 value, &used);
				if (err || used)
					return err;
			}
			err = rmem__read_u64(m, obj - 24, &dict);
			break;
		case PY_MD_312:
			/* 3.12 Include/internal/pycore_object.h:
			 * PyDictOrValues at obj - 3 words: values - 1 (low
			 * bit set) or a dict. */
			err = rmem__read_u64(m, obj - 24, &dorv);
			if (err)
				return err;
			if (dorv & 1) {
				err = values_get(l, m, type, flags, dorv + 1,
						 &k, value, &used);
				if (err || used)
					return err;
			} else {
				dict = dorv;
			}
			break;
		case PY_MD_313:
		case PY_MD_313T:
			/* 3.13+ Include/internal/pycore_object.h: with
			 * Py_TPFLAGS_INLINE_VALUES, values at obj +
			 * tp_basicsize, used while valid (as
			 * _PyObject_TryGetInstanceAttribute does); else the
			 * PyManagedDictPointer at obj - 3 words, or - 1 word
			 * in free-threaded builds (MANAGED_DICT_OFFSET: no GC
			 * pre-header). */
			if (flags & TPF_INLINE_VALUES) {
				if (basicsize <= 0 ||
				    basicsize > OBJ_SIZE_MAX || basicsize % 8)
					return -EINVAL;
				err = values_get(l, m, type, flags,
						 obj + basicsize, &k, value,
						 &used);
				if (err || used)
					return err;
			}
			err = rmem__read_u64(
				m,
				obj - (l->obj.managed_dict == PY_MD_313T ? 8 :
									   24),
				&dict);
			break;
		default:
			return -EINVAL;
		}
		if (err)
			return err;
	} else {
		/* The dict pointer at tp_dictoffset (0: no __dict__).  A
		 * negative offset counts from the end of a variable-size
		 * object (int and tuple subclasses): not supported. */
		if (!dictoffset)
			return 0;
		if (dictoffset < 0)
			return -EOPNOTSUPP;
		if (dictoffset > OBJ_SIZE_MAX)
			return -EINVAL;
		err = rmem__read_u64(m, obj + dictoffset, &dict);
		if (err)
			return err;
	}
	if (!dict)
		return 0;
	return pyobj__dict_get(l, m, dict, name, value);
}
