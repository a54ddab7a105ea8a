// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * pprof's profile.proto (github.com/google/pprof, proto/profile.proto),
 * encoded by hand and gzipped, as `go tool pprof` reads it.
 *
 * Sample types: "samples"/"count", and with a known frequency also
 * "cpu"/"nanoseconds" (count x period), the default.  Each frame is a
 * Location with one Line (function, line); a Function is a name in a file.
 * The process and thread frames become the string labels "process" and
 * "thread" of each sample (pprof -tags, -tagfocus), not frames.
 *
 * Functions have a name and no system_name: pprof demangles a function
 * whose name is missing or equal to its system name, and its C++ heuristic
 * would strip "<module>" and "<locals>" as template arguments.
 *
 * The top-level message is written field by field into the gzip stream:
 * samples first (numbering locations as they appear), then locations,
 * functions and the string table, which protobuf allows in any order.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lib/hashmap.h"
#include "out/formats.h"
#include "out/util.h"

/* profile.proto field numbers */
enum {
	PROFILE_SAMPLE_TYPE = 1,
	PROFILE_SAMPLE = 2,
	PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6,
	PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11,
	PROFILE_PERIOD = 12,
	PROFILE_COMMENT = 13,
	PROFILE_DEFAULT_SAMPLE_TYPE = 14,
	VALUETYPE_TYPE = 1,
	VALUETYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1,
	SAMPLE_VALUE = 2,
	SAMPLE_LABEL = 3,
	LABEL_KEY = 1,
	LABEL_STR = 2,
	LOCATION_ID = 1,
	LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1,
	LINE_LINE = 2,
	FUNCTION_ID = 1,
	FUNCTION_NAME = 2,
	FUNCTION_FILENAME = 4,
};

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

struct buf {
	uint8_t *d;
	size_t len, cap;
	int err;
};

static void buf_put(struct buf *b, const void *p, size_t n)
{
	if (b->err)
		return;
	if (b->len + n > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		void *nd;

		while (ncap < b->len + n)
			ncap *= 2;
		nd = realloc(b->d, ncap);
		if (!nd) {
			b->err = -ENOMEM;
			return;
		}
		b->d = nd;
		b->cap = ncap;
	}
	memcpy(b->d + b->len, p, n);
	b->len += n;
}

static void put_varint(struct buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	buf_put(b, tmp, n);
}

static void put_tag(struct buf *b, uint32_t field, uint32_t wire)
{
	put_varint(b, (uint64_t)field << 3 | wire);
}

/* A varint field; proto3 leaves out zero values. */
static void put_uint(struct buf *b, uint32_t field, uint64_t v)
{
	if (!v)
		return;
	put_tag(b, field, WIRE_VARINT);
	put_varint(b, v);
}

static void put_bytes(struct buf *b, uint32_t field, const void *p, size_t n)
{
	put_tag(b, field, WIRE_LEN);
	put_varint(b, n);
	buf_put(b, p, n);
}

static int64_t sat_mul(uint64_t a, uint64_t b)
{
	if (a > (uint64_t)INT64_MAX)
		return INT64_MAX;
	if (b && a > (uint64_t)INT64_MAX / b)
		return INT64_MAX;
	return (int64_t)(a * b);
}

/* The gzip stream the top-level fields go into. */
struct gz {
	z_stream z;
	FILE *f;
	int err;
	uint8_t out[16384];
};

static int gz_init(struct gz *g, FILE *f)
{
	memset(&g->z, 0, sizeof(g->z));
	g->f = f;
	g->err = 0;
	/* 15 + 16: a gzip header and trailer, not zlib's. */
	if (deflateInit2(&g->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	return 0;
}

static void gz_run(struct gz *g, const void *p, size_t n, int flush)
{
	int rc;

	if (g->err)
		return;
	g->z.next_in = (Bytef *)p;
	g->z.avail_in = (uInt)n;
	do {
		size_t have;

		g->z.next_out = g->out;
		g->z.avail_out = sizeof(g->out);
		rc = deflate(&g->z, flush);
		if (rc == Z_STREAM_ERROR) {
			g->err = -EIO;
			return;
		}
		have = sizeof(g->out) - g->z.avail_out;
		if (have && fwrite(g->out, 1, have, g->f) != have) {
			g->err = errno ? -errno : -EIO;
			return;
		}
	} while (g->z.avail_out == 0 ||
		 (flush == Z_FINISH && rc != Z_STREAM_END));
}

/* Writes b (one top-level field) into the stream and empties it. */
static void gz_field(struct gz *g, struct buf *b)
{
	if (b->err && !g->err)
		g->err = b->err;
	/* Fields are small (one sample, one location); chunk anyway. */
	for (size_t off = 0; off < b->len;) {
		size_t n = b->len - off > (1u << 30) ? (1u << 30) :
						       b->len - off;

		gz_run(g, b->d + off, n, Z_NO_FLUSH);
		off += n;
	}
	b->len = 0;
}

/* The string table: index 0 is "". */
struct strtab {
	char **s;
	size_t n, cap;
	struct hashmap index;
	int err;
};

/* s with invalid UTF-8 as U+FFFD (protobuf strings are UTF-8) and control
 * characters as '?' (pprof prints names in text, one a line). */
static char *clean_utf8(const char *s)
{
	size_t len = strlen(s), o = 0;
	char *c = malloc(len * 3 + 1);

	if (!c)
		return NULL;
	while (*s) {
		uint32_t cp;
		size_t n = out__utf8_next(s, &cp);

		if (cp < 0x20 || cp == 0x7f) {
			c[o++] = '?';
		} else if (cp == 0xfffd && n == 1) {
			memcpy(c + o, "\xef\xbf\xbd", 3);
			o += 3;
		} else {
			memcpy(c + o, s, n);
			o += n;
		}
		s += n;
	}
	c[o] = '\0';
	return c;
}

static uint64_t str_id(struct strtab *t, const char *s)
{
	uint64_t k = hash_bytes(s, strlen(s), 7), id;
	char *copy;

	for (k = k ? k : 1;; k = hash64(k) ? hash64(k) : 1) {
		if (!hashmap__get(&t->index, k, &id))
			break;
		if (strcmp(t->s[id], s) == 0)
			return id;
	}
	if (t->err)
		return 0;
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		void *ns = realloc(t->s, ncap * sizeof(*t->s));

		if (!ns)
			goto nomem;
		t->s = ns;
		t->cap = ncap;
	}
	copy = strdup(s);
	if (!copy)
		goto nomem;
	if (hashmap__set(&t->index, k, t->n)) {
		free(copy);
		goto nomem;
	}
	t->s[t->n] = copy;
	return t->n++;
nomem:
	t->err = -ENOMEM;
	return 0;
}

/* The id of s after replacing invalid UTF-8. */
static uint64_t str_clean(struct strtab *t, const char *s)
{
	char *c = clean_utf8(s);
	uint64_t id;

	if (!c) {
		t->err = -ENOMEM;
		return 0;
	}
	id = str_id(t, c);
	free(c);
	return id;
}

static void strtab_free(struct strtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->s[i]);
	free(t->s);
	hashmap__free(&t->index);
}

struct func {
	uint64_t name, file;
};

struct state {
	const struct profile *p;
	struct strtab st;
	uint32_t *loc_of; /* frame id -> location id (0: none yet) */
	uint32_t *loc_frame; /* location id - 1 -> frame id */
	uint32_t *loc_func; /* location id - 1 -> function id */
	size_t nloc;
	struct func *funcs;
	size_t nfunc, func_cap;
	struct hashmap func_index; /* name << 32 | file, + 1 -> function id */
	int err;
};

static uint32_t function_id(struct state *s, const struct pframe *fr)
{
	uint64_t name = str_clean(&s->st, out__name(s->p, fr));
	uint64_t file = 0, id, k;

	if (fr->file && (fr->kind == PF_PYTHON || fr->kind == PF_NATIVE))
		file = str_clean(&s->st, profile__string(s->p, fr->file));
	else if (fr->kind == PF_PYTHON)
		file = str_id(&s->st, "?");
	k = (name << 32 | file) + 1;
	if (hashmap__get(&s->func_index, k, &id))
		return (uint32_t)id;
	if (s->nfunc == s->func_cap) {
		size_t ncap = s->func_cap ? s->func_cap * 2 : 64;
		void *nf = realloc(s->funcs, ncap * sizeof(*s->funcs));

		if (!nf) {
			s->err = -ENOMEM;
			return 0;
		}
		s->funcs = nf;
		s->func_cap = ncap;
	}
	s->funcs[s->nfunc].name = name;
	s->funcs[s->nfunc].file = file;
	if (hashmap__set(&s->func_index, k, s->nfunc + 1)) {
		s->err = -ENOMEM;
		return 0;
	}
	return (uint32_t)++s->nfunc;
}

static uint32_t location_id(struct state *s, uint32_t frame)
{
	const struct pframe *fr = profile__frame_get(s->p, frame);
	uint32_t func;

	if (!fr)
		return 0;
	if (s->loc_of[frame])
		return s->loc_of[frame];
	func = function_id(s, fr);
	if (!func)
		return 0;
	s->loc_frame[s->nloc] = frame;
	s->loc_func[s->nloc] = func;
	s->loc_of[frame] = (uint32_t)++s->nloc;
	return s->loc_of[frame];
}

static void value_type(struct buf *b, uint32_t field, uint64_t type,
		       uint64_t unit)
{
	struct buf vt = {};

	put_uint(&vt, VALUETYPE_TYPE, type);
	put_uint(&vt, VALUETYPE_UNIT, unit);
	if (vt.err)
		b->err = vt.err;
	put_bytes(b, field, vt.d, vt.len);
	free(vt.d);
}

static void label(struct buf *b, uint64_t key, uint64_t str)
{
	struct buf l = {};

	put_uint(&l, LABEL_KEY, key);
	put_uint(&l, LABEL_STR, str);
	if (l.err)
		b->err = l.err;
	put_bytes(b, SAMPLE_LABEL, l.d, l.len);
	free(l.d);
}

static int write_samples(struct state *s, struct gz *g, uint64_t period)
{
	const struct profile *p = s->p;
	struct buf field = {}, msg = {}, ids = {}, vals = {};
	uint64_t k_process = str_id(&s->st, "process");
	uint64_t k_thread = str_id(&s->st, "thread");
	int err = 0;

	for (size_t i = 0; i < profile__nstacks(p) && !err; i++) {
		const uint32_t *fr;
		uint32_t n, proc, thread, first;
		uint64_t count;

		profile__stack(p, i, &fr, &n, &count);
		if (!n || !count)
			continue;
		first = out__split(p, fr, n, &proc, &thread);
		/* location_id: leaf first, packed. */
		for (uint32_t j = n; j-- > first;)
			put_varint(&ids, location_id(s, fr[j]));
		put_varint(&vals, (uint64_t)sat_mul(count, 1));
		if (period)
			put_varint(&vals, (uint64_t)sat_mul(count, period));
		if (ids.len)
			put_bytes(&msg, SAMPLE_LOCATION_ID, ids.d, ids.len);
		put_bytes(&msg, SAMPLE_VALUE, vals.d, vals.len);
		if (proc != UINT32_MAX)
			label(&msg, k_process,
			      str_clean(&s->st,
					out__name(p, profile__frame_get(
							     p, proc))));
		if (thread != UINT32_MAX)
			label(&msg, k_thread,
			      str_clean(&s->st,
					out__name(p, profile__frame_get(
							     p, thread))));
		put_bytes(&field, PROFILE_SAMPLE, msg.d, msg.len);
		err = field.err ? field.err :
		      msg.err	? msg.err :
		      ids.err	? ids.err :
		      vals.err	? vals.err :
		      s->err	? s->err :
				  s->st.err;
		gz_field(g, &field);
		ids.len = vals.len = msg.len = 0;
	}
	free(field.d);
	free(msg.d);
	free(ids.d);
	free(vals.d);
	return err;
}

static int write_tables(struct state *s, struct gz *g)
{
	struct buf field = {}, msg = {}, line = {};
	int err = 0;

	for (size_t i = 0; i < s->nloc; i++) {
		const struct pframe *fr =
			profile__frame_get(s->p, s->loc_frame[i]);

		put_uint(&line, LINE_FUNCTION_ID, s->loc_func[i]);
		put_uint(&line, LINE_LINE,
			 fr && fr->line > 0 ? (uint64_t)fr->line : 0);
		put_uint(&msg, LOCATION_ID, i + 1);
		put_bytes(&msg, LOCATION_LINE, line.d, line.len);
		put_bytes(&field, PROFILE_LOCATION, msg.d, msg.len);
		gz_field(g, &field);
		line.len = msg.len = 0;
	}
	for (size_t i = 0; i < s->nfunc; i++) {
		put_uint(&msg, FUNCTION_ID, i + 1);
		put_uint(&msg, FUNCTION_NAME, s->funcs[i].name);
		put_uint(&msg, FUNCTION_FILENAME, s->funcs[i].file);
		put_bytes(&field, PROFILE_FUNCTION, msg.d, msg.len);
		gz_field(g, &field);
		msg.len = 0;
	}
	/* The string table last: every string is known by now. */
	for (size_t i = 0; i < s->st.n; i++) {
		put_bytes(&field, PROFILE_STRING_TABLE, s->st.s[i],
			  strlen(s->st.s[i]));
		gz_field(g, &field);
	}
	if (field.err || msg.err || line.err)
		err = -ENOMEM;
	free(field.d);
	free(msg.d);
	free(line.d);
	return err;
}

int out_pprof__write(const struct profile *p, const struct out_meta *m, FILE *f)
{
	size_t nframes = profile__nframes(p);
	struct state s = { .p = p };
	struct buf head = {};
	uint64_t period = 0, t_samples, t_count, t_cpu = 0, t_ns = 0;
	struct gz g;
	int err;

	s.loc_of = calloc(nframes ? nframes : 1, sizeof(*s.loc_of));
	s.loc_frame = calloc(nframes ? nframes : 1, sizeof(*s.loc_frame));
	s.loc_func = calloc(nframes ? nframes : 1, sizeof(*s.loc_func));
	if (!s.loc_of || !s.loc_frame || !s.loc_func) {
		err = -ENOMEM;
		goto out;
	}
	if (str_id(&s.st, "") != 0 || s.st.err) {
		err = -ENOMEM;
		goto out;
	}
	err = gz_init(&g, f);
	if (err)
		goto out;

	if (m && m->freq)
		period = (1000000000ull + m->freq / 2) / m->freq;
	t_samples = str_id(&s.st, "samples");
	t_count = str_id(&s.st, "count");
	value_type(&head, PROFILE_SAMPLE_TYPE, t_samples, t_count);
	if (period) {
		t_cpu = str_id(&s.st, "cpu");
		t_ns = str_id(&s.st, "nanoseconds");
		value_type(&head, PROFILE_SAMPLE_TYPE, t_cpu, t_ns);
		value_type(&head, PROFILE_PERIOD_TYPE, t_cpu, t_ns);
		put_uint(&head, PROFILE_PERIOD, period);
		put_uint(&head, PROFILE_DEFAULT_SAMPLE_TYPE, t_cpu);
	} else {
		value_type(&head, PROFILE_PERIOD_TYPE, t_samples, t_count);
		put_uint(&head, PROFILE_PERIOD, 1);
	}
	if (m && m->start_time > 0)
		put_uint(&head, PROFILE_TIME_NANOS,
			 (uint64_t)(m->start_time * 1e9));
	if (m && m->duration > 0)
		put_uint(&head, PROFILE_DURATION_NANOS,
			 (uint64_t)(m->duration * 1e9));
	if (m && m->title)
		put_uint(&head, PROFILE_COMMENT, str_clean(&s.st, m->title));
	if (m && m->python) {
		char *c = NULL;

		if (asprintf(&c, "CPython %s", m->python) < 0) {
			err = -ENOMEM;
			goto out_gz;
		}
		put_uint(&head, PROFILE_COMMENT, str_clean(&s.st, c));
		free(c);
	}
	err = head.err ? head.err : s.st.err;
	gz_field(&g, &head);
	if (!err)
		err = write_samples(&s, &g, period);
	if (!err)
		err = write_tables(&s, &g);
	if (!err)
		err = s.err ? s.err : s.st.err;
	if (!err) {
		gz_run(&g, NULL, 0, Z_FINISH);
		err = g.err;
	}
out_gz:
	deflateEnd(&g.z);
out:
	free(head.d);
	free(s.loc_of);
	free(s.loc_frame);
	free(s.loc_func);
	free(s.funcs);
	hashmap__free(&s.func_index);
	strtab_free(&s.st);
	if (err)
		return err;
	return out__finish(f);
}
