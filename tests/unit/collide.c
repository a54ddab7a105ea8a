// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * FNV-1a collisions, built by lattice reduction in a few milliseconds.
 *
 * One FNV-1a step is h' = (h ^ x) * P mod 2^64.  XOR with a byte only
 * touches h's low byte L, so h ^ x = h - L + c with c = L ^ x: a step adds
 * a small number, then multiplies.  Run two inputs of the same length from
 * the same state; their difference D = h_b - h_a evolves exactly as
 *
 *     D' = (D + e) * P,    e = (c_b - L_b) - (c_a - L_a),
 *
 * so after k chosen bytes D = sum(e_i * P^(k-i)).  A collision is a vector
 * e of small integers with sum(e_i * P^(k-1-i)) = 0 mod 2^64 that bytes
 * can produce.  Those vectors form a lattice of determinant 2^64, whose
 * short vectors have entries of about 2^(64/k): LLL finds some, and a
 * search over the first input's c (each c_b then follows from e) realises
 * one.  The low byte of the next state is c * (P mod 256), whatever the
 * rest of the state is, which is what makes the search cheap.  Bytes after
 * the chosen ones are equal in both inputs and keep the hashes equal: a
 * step is a bijection of the state.
 */
#include "collide.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lib/hashmap.h"

#define FNV_BASIS 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define MAXK 16

typedef __int128 i128;

/* The state after n more bytes, as this file models hash_bytes(). */
static uint64_t fnv(const uint8_t *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * FNV_PRIME;
	return h;
}

struct lattice {
	int k;
	i128 b[MAXK][MAXK]; /* the basis, exact */
	long double mu[MAXK][MAXK], B[MAXK]; /* Gram-Schmidt, approximate */
};

/* Recomputed whole: floating point only guides the exact row operations,
 * so its errors can cost quality, never correctness. */
static void gso(struct lattice *l)
{
	long double bs[MAXK][MAXK];

	for (int i = 0; i < l->k; i++) {
		for (int t = 0; t < l->k; t++)
			bs[i][t] = (long double)l->b[i][t];
		for (int j = 0; j < i; j++) {
			long double dot = 0;

			for (int t = 0; t < l->k; t++)
				dot += (long double)l->b[i][t] * bs[j][t];
			l->mu[i][j] = dot / l->B[j];
			for (int t = 0; t < l->k; t++)
				bs[i][t] -= l->mu[i][j] * bs[j][t];
		}
		l->B[i] = 0;
		for (int t = 0; t < l->k; t++)
			l->B[i] += bs[i][t] * bs[i][t];
	}
}

/* Lenstra-Lenstra-Lovász with delta 0.99 (Cohen, algorithm 2.6.3). */
static void lll(struct lattice *l)
{
	int i = 1;

	gso(l);
	for (long steps = 0; i < l->k && steps < 200000; steps++) {
		bool again = false;

		for (int j = i - 1; j >= 0; j--) {
			long double q = roundl(l->mu[i][j]);

			if (q == 0)
				continue;
			for (int t = 0; t < l->k; t++)
				l->b[i][t] -= (i128)q * l->b[j][t];
			gso(l);
		}
		for (int j = 0; j < i; j++)
			again |= fabsl(l->mu[i][j]) > 0.51L;
		if (again)
			continue;
		if (l->B[i] <
		    (0.99L - l->mu[i][i - 1] * l->mu[i][i - 1]) * l->B[i - 1]) {
			for (int t = 0; t < l->k; t++) {
				i128 x = l->b[i][t];

				l->b[i][t] = l->b[i - 1][t];
				l->b[i - 1][t] = x;
			}
			gso(l);
			i = i > 1 ? i - 1 : 1;
		} else {
			i++;
		}
	}
}

struct search {
	int k;
	bool no_nul;
	int64_t e[MAXK];
	uint8_t a[MAXK], b[MAXK];
	long budget;
};

/* Chooses byte i of both inputs, given the first input's low state byte
 * la and the difference d of the states; then the next bytes. */
static bool realise(struct search *s, int i, uint8_t la, uint64_t d)
{
	uint8_t lb = (uint8_t)(la + (uint8_t)d);
	uint64_t next;
	int shift, lo, hi;

	if (i == s->k)
		return d == 0;
	if (s->budget-- <= 0)
		return false;
	/* c_b = c_a + shift, and both must be bytes. */
	shift = (int)s->e[i] + lb - la;
	lo = shift < 0 ? -shift : 0;
	hi = shift > 0 ? 255 - shift : 255;
	next = (d + (uint64_t)s->e[i]) * FNV_PRIME;
	for (int ca = lo; ca <= hi; ca++) {
		int cb = ca + shift;

		if (s->no_nul && (ca == la || cb == lb))
			continue;
		s->a[i] = (uint8_t)(la ^ ca);
		s->b[i] = (uint8_t)(lb ^ cb);
		if (realise(s, i + 1, (uint8_t)(ca * (FNV_PRIME & 0xff)), next))
			return true;
	}
	return false;
}

/* Whether e (k entries) can be made of bytes from a state whose low byte
 * is l0. */
static bool try_vector(struct search *s, const i128 *e, uint8_t l0)
{
	bool nonzero = false;

	for (int t = 0; t < s->k; t++) {
		if (e[t] < -510 || e[t] > 510)
			return false;
		nonzero |= e[t] != 0;
		s->e[t] = (int64_t)e[t];
	}
	if (!nonzero)
		return false;
	s->budget = 100000;
	return realise(s, 0, l0, 0);
}

int collide__build(uint8_t *a, uint8_t *b, size_t len, size_t from, size_t to,
		   uint64_t seed, bool no_nul, char *why, size_t whylen)
{
	static const uint8_t probe[] = "hash_bytes is FNV-1a";
	struct lattice l = { 0 };
	struct search s = { 0 };
	uint64_t w, state;
	int k = (int)(to - from);

	if (from > to || to > len || k < 8 || k > MAXK) {
		snprintf(why, whylen,
			 "collide__build: %zu..%zu of %zu bytes: "
			 "8 to %d bytes can be chosen",
			 from, to, len, MAXK);
		return -1;
	}
	if (hash_bytes(probe, sizeof(probe), seed) !=
	    fnv(probe, sizeof(probe), FNV_BASIS ^ seed)) {
		snprintf(why, whylen,
			 "hash_bytes() is no longer the FNV-1a "
			 "that tests/unit/collide.c models: update it");
		return -1;
	}
	memcpy(b, a, len);
	state = fnv(a, from, FNV_BASIS ^ seed);

	/* The lattice of e with sum(e_t * P^(k-1-t)) = 0 mod 2^64: e_t = 1
	 * and e_(k-1) = -P^(k-1-t) for t < k-1, and 2^64 alone. */
	l.k = s.k = k;
	s.no_nul = no_nul;
	w = 1;
	for (int t = k - 2; t >= 0; t--) {
		w *= FNV_PRIME;
		l.b[t][t] = 1;
		l.b[t][k - 1] = -(i128)(int64_t)w;
	}
	l.b[k - 1][k - 1] = (i128)1 << 64;
	lll(&l);

	/* The reduced rows, then sums and differences of two of them. */
	for (int sign = 1; sign >= -1; sign -= 2) {
		for (int i = 0; i < k; i++) {
			i128 e[MAXK];

			for (int t = 0; t < k; t++)
				e[t] = sign * l.b[i][t];
			if (try_vector(&s, e, (uint8_t)state))
				goto found;
		}
	}
	for (int i = 0; i < k; i++) {
		for (int j = 0; j < k; j++) {
			for (int sign = 1; sign >= -1; sign -= 2) {
				i128 e[MAXK];

				if (i == j)
					continue;
				for (int t = 0; t < k; t++)
					e[t] = l.b[i][t] + sign * l.b[j][t];
				if (try_vector(&s, e, (uint8_t)state))
					goto found;
			}
		}
	}
	snprintf(why, whylen,
		 "collide__build: no FNV-1a collision found over "
		 "%d bytes (seed %llu)",
		 k, (unsigned long long)seed);
	return -1;
found:
	memcpy(a + from, s.a, (size_t)k);
	memcpy(b + from, s.b, (size_t)k);
	if (memcmp(a, b, len) == 0 ||
	    hash_bytes(a, len, seed) != hash_bytes(b, len, seed)) {
		snprintf(why, whylen,
			 "collide__build: the pair built does not "
			 "collide (a bug in tests/unit/collide.c)");
		return -1;
	}
	return 0;
}
