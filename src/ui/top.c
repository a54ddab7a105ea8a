// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The top-style view: ncurses drawing and keys over the figures of
 * src/ui/top_model.c.  Labels come from the target or a file, so they are drawn
 * through one path that replaces what a terminal would interpret and
 * measures every character's width (UTF-8 names take 1 or 2 columns).
 */
#define NCURSES_WIDECHAR 1
#include "ui/top.h"

#include <curses.h>
#include <errno.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include "lib/clock.h"
#include "ui/top_model.h"

#define LABEL_MAX 4096 /* bytes of one label; longer ones are cut */
#define TEXT_MAX 1024 /* bytes of one header line */
#define HEAD_ROWS 4 /* header lines above the table, titles included */
#define MIN_COLS 40
#define MIN_LINES (HEAD_ROWS + 3)
#define ESC_DELAY_MS 25

/*
 * What restoring the terminal needs from a signal handler or exit(): only
 * write() and tcsetattr(), both async-signal-safe.
 */
static volatile sig_atomic_t term_active;
static int term_fd = -1;
static struct termios term_saved;
static char term_restore[128];
static size_t term_restore_len;
static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
#define NFATAL (sizeof(fatal_signals) / sizeof(fatal_signals[0]))
static struct sigaction fatal_old[NFATAL];
static bool fatal_set[NFATAL];

struct head {
	char target[256], python[32], status[256];
	unsigned rate_hz, threads;
	uint64_t samples, samples_total, lost;
	bool has_gil;
	double gil_share, gil_waiting;
	bool (*thread_gil)(uint32_t proc, uint32_t thread, double *held,
			   double *waiting, void *arg);
	void *thread_gil_arg;
};

struct top {
	struct top_opts o;
	SCREEN *scr;
	FILE *in; /* /dev/tty when stdin is not a terminal, else NULL */
	int in_fd;
	char *old_ctype;
	bool utf8;

	struct top_model *m;
	const struct profile *p; /* the last one given */
	const struct profile *pending; /* given while paused */
	double last_update;
	bool updated;

	struct head h, h_next;
	uint64_t base_total, base_lost, base_prof; /* at the last reset */

	bool paused, tree, by_now, help;
	/* `/`: the pattern being typed (issue 21) */
	bool typing;
	char input[128];
	size_t ninput;
	enum top_sort sort;
	uint32_t sel_id; /* the selected item's id */
	size_t sel, scroll; /* its position, the first row shown */
	const struct top_item *items;
	size_t nitems;
	int err; /* the last model error, shown instead of the table */
};

void top__restore_terminal(void)
{
	int saved = errno;

	if (term_active) {
		term_active = 0;
		if (term_restore_len &&
		    write(term_fd, term_restore, term_restore_len) < 0) {
			/* nothing more can be done from here */
		}
		tcsetattr(term_fd, TCSADRAIN, &term_saved);
	}
	errno = saved;
}

static void on_fatal(int sig)
{
	top__restore_terminal();
	/* SA_RESETHAND put back the default action: this ends the process
	 * once the handler returns (a fault re-faults). */
	raise(sig);
}

static void at_exit_restore(void)
{
	top__restore_terminal();
}

static void add_cap(const char *name)
{
	char *s = tigetstr((char *)name);
	size_t n;

	if (!s || s == (char *)-1)
		return;
	n = strlen(s);
	if (term_restore_len + n > sizeof(term_restore))
		return;
	memcpy(term_restore + term_restore_len, s, n);
	term_restore_len += n;
}

static void guard_install(void)
{
	static bool at_exit_done;
	struct sigaction sa = { .sa_handler = on_fatal,
				.sa_flags = SA_RESETHAND };

	term_restore_len = 0;
	add_cap("sgr0");
	add_cap("cnorm");
	add_cap("rmkx");
	add_cap("rmcup");
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NFATAL; i++) {
		fatal_set[i] = false;
		/* A caller's own handler stays. */
		if (sigaction(fatal_signals[i], NULL, &fatal_old[i]) == 0 &&
		    fatal_old[i].sa_handler == SIG_DFL &&
		    !(fatal_old[i].sa_flags & SA_SIGINFO))
			fatal_set[i] = sigaction(fatal_signals[i], &sa, NULL) ==
				       0;
	}
	if (!at_exit_done)
		at_exit_done = atexit(at_exit_restore) == 0;
	term_active = 1;
}

static void guard_remove(void)
{
	term_active = 0;
	for (size_t i = 0; i < NFATAL; i++)
		if (fatal_set[i])
			sigaction(fatal_signals[i], &fatal_old[i], NULL);
}

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static void head_set(struct head *d, const struct top_header *h)
{
	copy_str(d->target, sizeof(d->target), h->target);
	copy_str(d->python, sizeof(d->python), h->python);
	copy_str(d->status, sizeof(d->status), h->status);
	d->rate_hz = h->rate_hz;
	d->threads = h->threads;
	d->samples = h->samples;
	d->samples_total = h->samples_total;
	d->lost = h->lost;
	d->has_gil = h->has_gil;
	d->gil_share = h->gil_share;
	d->gil_waiting = h->gil_waiting;
	d->thread_gil = h->thread_gil;
	d->thread_gil_arg = h->thread_gil_arg;
}

/* ---- text ---- */

/*
 * Decodes s (len bytes) into at most max wide characters with their
 * widths.  What a terminal would act on (control characters, invalid
 * UTF-8, and anything but ASCII outside a UTF-8 locale) becomes '?'.
 */
static size_t widen(const struct top *t, const char *s, size_t len, wchar_t *w,
		    unsigned char *cols, size_t max)
{
	mbstate_t st;
	size_t n = 0, i = 0;

	memset(&st, 0, sizeof(st));
	while (i < len && s[i] && n < max) {
		unsigned char c = (unsigned char)s[i];
		wchar_t wc = L'?';
		size_t k = 1;
		int width;

		if (c >= 0x20 && c < 0x7f) {
			wc = c;
		} else if (c >= 0x80 && !t->utf8) {
			/* One '?' per UTF-8 character, not per byte. */
			while (i + k < len &&
			       ((unsigned char)s[i + k] & 0xc0) == 0x80)
				k++;
		} else if (c >= 0x80) {
			k = mbrtowc(&wc, s + i, len - i, &st);
			if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
				memset(&st, 0, sizeof(st));
				wc = L'?';
				k = 1;
			}
		}
		width = wcwidth(wc);
		if (width < 0 || width > 2) {
			wc = L'?';
			width = 1;
		}
		w[n] = wc;
		cols[n++] = (unsigned char)width;
		i += k;
	}
	return n;
}

/* Draws w[0..n) at the cursor within width columns; returns the columns
 * used. */
static int put_wide(const wchar_t *w, const unsigned char *cols, size_t n,
		    int width)
{
	int used = 0;
	size_t k = 0;

	while (k < n && used + cols[k] <= width)
		used += cols[k++];
	if (k)
		addnwstr(w, (int)k);
	return used;
}

static int put_text(struct top *t, const char *s, int width)
{
	static wchar_t w[TEXT_MAX];
	static unsigned char cols[TEXT_MAX];
	size_t n = widen(t, s, strlen(s), w, cols, TEXT_MAX);

	return put_wide(w, cols, n, width);
}

/* Columns of w[from..to). */
static int width_of(const unsigned char *cols, size_t from, size_t to)
{
	int c = 0;

	for (size_t i = from; i < to; i++)
		c += cols[i];
	return c;
}

/*
 * Draws a label within width columns.  One that does not fit keeps its
 * name and loses the start of its file ("hot (…/workloads/shape.py)"),
 * and if even that is too long, its end.
 */
static void put_label(struct top *t, const char *label, long loc, int width)
{
	static wchar_t w[LABEL_MAX];
	static unsigned char cols[LABEL_MAX];
	const wchar_t ell = t->utf8 ? L'\u2026' : L'~';
	size_t n, nname;
	int total, used;

	if (loc >= 0 && (size_t)loc > strlen(label))
		loc = -1; /* the label was cut before its location */
	n = widen(t, label, loc >= 0 ? (size_t)loc : strlen(label), w, cols,
		  LABEL_MAX);
	nname = n;
	if (loc >= 0)
		n += widen(t, label + loc, strlen(label + loc), w + n, cols + n,
			   LABEL_MAX - n);
	total = width_of(cols, 0, n);
	if (total <= width) {
		put_wide(w, cols, n, width);
		return;
	}
	/* " (" file ")": keep the name, then the end of the file. */
	if (loc >= 0 && n >= nname + 3 &&
	    width_of(cols, 0, nname) + 2 + 1 + 8 + 1 <= width) {
		int room = width - width_of(cols, 0, nname) - 2 - 1 - 1;
		size_t from = n - 1;

		while (from > nname + 2 && cols[from - 1] <= room) {
			room -= cols[from - 1];
			from--;
		}
		used = put_wide(w, cols, nname + 2, width);
		addnwstr(&ell, 1);
		put_wide(w + from, cols + from, n - from, width - used - 1);
		return;
	}
	used = put_wide(w, cols, n, width - 1);
	(void)used;
	addnwstr(&ell, 1);
}

/* A count in 8 columns: exact up to 99999999, then k, M, G, T. */
static void fmt_count(char *buf, size_t len, uint64_t v)
{
	static const char suffix[] = "kMGTPE";
	double d = (double)v;
	int i = -1;

	if (v <= 99999999) {
		snprintf(buf, len, "%" PRIu64, v);
		return;
	}
	while (d >= 999999.5 && i < 5) {
		d /= 1000;
		i++;
	}
	snprintf(buf, len, "%.1f%c", d, suffix[i < 0 ? 0 : i]);
}

static double pct(double part, double whole)
{
	if (whole <= 0)
		return 0;
	part = part * 100.0 / whole;
	return part > 100.0 ? 100.0 : part;
}

/* ---- drawing ---- */

static void line_at(int y)
{
	move(y, 0);
	clrtoeol();
}

static void cat(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t have = strlen(buf);
	va_list ap;

	if (have + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + have, len - have, fmt, ap);
	va_end(ap);
}

static uint64_t shown_total(const struct top *t)
{
	if (t->h.samples_total)
		return t->h.samples_total -
		       (t->h.samples_total >= t->base_total ? t->base_total :
							      0);
	if (!t->p)
		return 0;
	return profile__total(t->p) -
	       (profile__total(t->p) >= t->base_prof ? t->base_prof : 0);
}

static unsigned threads_seen(const struct top *t)
{
	return t->h.threads ? t->h.threads :
			      (unsigned)top_model__named_threads(t->m);
}

static void draw_header(struct top *t)
{
	char buf[TEXT_MAX] = "pyprof-bpf";
	unsigned nthreads = threads_seen(t);
	uint64_t sum;
	double sum_now;
	int th = top_model__thread(t->m);

	if (t->h.target[0])
		cat(buf, sizeof(buf), "  %s", t->h.target);
	if (t->h.python[0])
		cat(buf, sizeof(buf), "  CPython %s", t->h.python);
	if (t->h.rate_hz)
		cat(buf, sizeof(buf), "  %u Hz", t->h.rate_hz);
	if (nthreads)
		cat(buf, sizeof(buf), "  %u thread%s", nthreads,
		    nthreads == 1 ? "" : "s");
	if (t->h.has_gil)
		cat(buf, sizeof(buf), "  GIL held %.0f%% waiting %.0f%%",
		    t->h.gil_share * 100.0, t->h.gil_waiting * 100.0);
	line_at(0);
	attron(A_BOLD);
	put_text(t, buf, COLS);
	attroff(A_BOLD);

	buf[0] = '\0';
	if (t->o.live)
		cat(buf, sizeof(buf),
		    "samples %" PRIu64 " in the last interval, %" PRIu64
		    " total, %" PRIu64 " lost",
		    t->h.samples, shown_total(t),
		    t->h.lost - (t->h.lost >= t->base_lost ? t->base_lost : 0));
	else
		cat(buf, sizeof(buf), "samples %" PRIu64, shown_total(t));
	top_model__sums(t->m, &sum, &sum_now);
	if (th != TOP_ALL_THREADS)
		cat(buf, sizeof(buf), ", %" PRIu64 " in this %s", sum,
		    (size_t)th >= top_model__nthreads(t->m) ? "task" :
							      "thread");
	if (th != TOP_ALL_THREADS && t->h.has_gil && t->h.thread_gil) {
		uint32_t proc, thread;
		double held, waiting;

		if (top_model__thread_frames(t->m, (size_t)th, &proc,
					     &thread) &&
		    t->h.thread_gil(proc, thread, &held, &waiting,
				    t->h.thread_gil_arg))
			cat(buf, sizeof(buf),
			    ", GIL held %.0f%% waiting %.0f%% in it",
			    held * 100.0, waiting * 100.0);
	}
	if (top_model__left_out(t->m))
		cat(buf, sizeof(buf), ", %" PRIu64 " left out by the filters",
		    top_model__left_out(t->m));
	if (t->h.status[0])
		cat(buf, sizeof(buf), "  %s", t->h.status);
	line_at(1);
	put_text(t, buf, COLS);

	buf[0] = '\0';
	if (t->paused)
		cat(buf, sizeof(buf), "PAUSED | ");
	cat(buf, sizeof(buf), "sort %s | ", top_sort_names[t->sort]);
	if (th == TOP_ALL_THREADS) {
		cat(buf, sizeof(buf), "all threads");
	} else {
		char name[256];

		size_t nth = top_model__nthreads(t->m);

		top_model__thread_label(t->m, (size_t)th, name, sizeof(name));
		/* --async: past the threads come the tasks. */
		if ((size_t)th >= nth)
			cat(buf, sizeof(buf), "task %s (%zu of %zu)", name,
			    (size_t)th - nth + 1, top_model__ntasks(t->m));
		else
			cat(buf, sizeof(buf), "thread %s (%d of %zu)", name,
			    th + 1, nth);
	}
	cat(buf, sizeof(buf), " | %s | %s",
	    top_model__by_line(t->m) ? "per line" : "per function",
	    t->tree ? "call tree" : "flat");
	if (t->o.live)
		cat(buf, sizeof(buf), " | %% %s",
		    t->by_now ? "now" : "since start");
	if (t->tree && top_model__tree_full(t->m))
		cat(buf, sizeof(buf), " | tree cut at %u nodes", TOP_NODES_MAX);
	if (top_model__match(t->m))
		cat(buf, sizeof(buf), " | /%s (c: clear)",
		    top_model__match(t->m));
	line_at(2);
	put_text(t, buf, COLS);
}

static void draw_titles(struct top *t)
{
	static const char *const titles[] = { "  OWN%", " TOTAL%", "     OWN",
					      "   TOTAL" };
	const char *what = top_model__by_line(t->m) ? "FUNCTION (FILE:LINE)" :
						      "FUNCTION (FILE)";
	int x = 0;

	line_at(3);
	attron(A_REVERSE);
	for (int i = 0; i < 4 && x < COLS; i++) {
		bool on = (int)t->sort == i;

		if (on)
			attron(A_BOLD | A_UNDERLINE);
		x += put_text(t, titles[i], COLS - x);
		if (on)
			attroff(A_BOLD | A_UNDERLINE);
		x += put_text(t, " ", COLS - x);
	}
	x += put_text(t, " ", COLS - x);
	if (t->sort == TOP_SORT_NAME)
		attron(A_BOLD | A_UNDERLINE);
	x += put_text(t, what, COLS - x);
	attroff(A_BOLD | A_UNDERLINE);
	while (x < COLS)
		x += put_text(t, " ", COLS - x);
	attroff(A_REVERSE);
}

static void draw_item(struct top *t, int y, const struct top_item *it,
		      uint64_t sum, double sum_now, bool sel)
{
	char num[96], own[24], total[24], label[LABEL_MAX];
	int x, indent = 0;
	long loc;

	fmt_count(own, sizeof(own), it->own);
	fmt_count(total, sizeof(total), it->total);
	if (t->by_now)
		snprintf(num, sizeof(num), "%5.1f%% %6.1f%% %8s %8s  ",
			 pct(it->own_now, sum_now), pct(it->total_now, sum_now),
			 own, total);
	else
		snprintf(num, sizeof(num), "%5.1f%% %6.1f%% %8s %8s  ",
			 pct((double)it->own, (double)sum),
			 pct((double)it->total, (double)sum), own, total);
	line_at(y);
	if (sel)
		attron(A_REVERSE);
	x = put_text(t, num, COLS);
	if (t->tree && x < COLS) {
		/* Deep stacks keep at least half of the room for names. */
		indent = (int)(it->depth > 1000 ? 1000 : it->depth) * 2;
		if (indent > (COLS - x) / 2)
			indent = (COLS - x) / 2;
		for (int i = 0; i < indent; i++)
			x += put_text(t, " ", COLS - x);
		x += put_text(t,
			      !it->has_children ? "  " :
			      it->open		? "- " :
						  "+ ",
			      COLS - x);
	}
	top_model__label(t->m, it, label, sizeof(label), &loc);
	if (x < COLS) {
		int before = getcurx(stdscr);

		put_label(t, label, loc, COLS - x);
		x += getcurx(stdscr) - before;
	}
	if (sel) {
		while (x < COLS)
			x += put_text(t, " ", COLS - x);
		attroff(A_REVERSE);
	}
}

/* Keeps the selection on the same item when the order changes. */
static void place_selection(struct top *t, int rows)
{
	for (size_t i = 0; i < t->nitems; i++) {
		if (t->items[i].id == t->sel_id) {
			t->sel = i;
			break;
		}
	}
	if (t->sel >= t->nitems)
		t->sel = t->nitems ? t->nitems - 1 : 0;
	if (t->nitems)
		t->sel_id = t->items[t->sel].id;
	if (t->sel < t->scroll)
		t->scroll = t->sel;
	if (rows > 0 && t->sel >= t->scroll + (size_t)rows)
		t->scroll = t->sel - (size_t)rows + 1;
	if (rows > 0 && t->scroll + (size_t)rows > t->nitems)
		t->scroll =
			t->nitems > (size_t)rows ? t->nitems - (size_t)rows : 0;
}

static int table_rows(void)
{
	return LINES - HEAD_ROWS - 1;
}

static int fetch_items(struct top *t)
{
	int rc = top_model__items(t->m, t->tree, t->sort, t->by_now, &t->items,
				  &t->nitems);

	if (rc) {
		t->items = NULL;
		t->nitems = 0;
	}
	t->err = rc;
	return rc;
}

static void draw_footer(struct top *t)
{
	char buf[TEXT_MAX] = "";

	if (t->typing) {
		cat(buf, sizeof(buf),
		    "/%.*s_   Enter: show the rows that hold it, "
		    "Esc: cancel",
		    (int)t->ninput, t->input);
		line_at(LINES - 1);
		put_text(t, buf, COLS - 1);
		return;
	}

	/* The most useful first: a narrow terminal cuts the end. */
	cat(buf, sizeof(buf), "q:quit ?:help ");
	if (t->o.live)
		cat(buf, sizeof(buf), "space:%s ",
		    t->paused ? "resume" : "pause");
	cat(buf, sizeof(buf), "[]:sort %st:thread l:%s \\:%s /:filter",
	    t->tree ? "<>:fold " : "",
	    top_model__by_line(t->m) ? "functions" : "lines",
	    t->tree ? "flat" : "tree");
	if (t->o.live)
		cat(buf, sizeof(buf), " r:reset");
	line_at(LINES - 1);
	attron(A_REVERSE);
	/* Not the last column: that would scroll on some terminals. */
	put_text(t, buf, COLS - 1);
	attroff(A_REVERSE);
}

static const char *const help_lines[] = {
	"pyprof-bpf live view: keys",
	"",
	"q            quit",
	"space        pause / resume the display (live)",
	"[ ]          sort by the previous / next column",
	"Left Right   the same in the flat table;",
	"             fold / open the selected node in the tree",
	"Up Down      move; PgUp PgDn Home End",
	"Enter        fold / open the selected node (tree)",
	"t T          next / previous thread, then each asyncio",
	"             task (--async), then all threads again",
	"l            per line / per function",
	"\\            flat table / call tree",
	"n            percentages: now (decaying) / since start",
	"/            show only the rows whose name or file holds a",
	"             text (any case); c: all rows again",
	"r            reset the totals (live)",
	"?            this help; any key closes it",
	"",
	"OWN: samples in the function itself; TOTAL: in it",
	"and what it calls (counted once per stack).",
};

static void draw_help(struct top *t)
{
	size_t n = sizeof(help_lines) / sizeof(help_lines[0]);
	int w = 0, h = (int)n + 2, y0, x0;

	for (size_t i = 0; i < n; i++)
		if ((int)strlen(help_lines[i]) > w)
			w = (int)strlen(help_lines[i]);
	w += 4;
	if (w > COLS)
		w = COLS;
	if (h > LINES)
		h = LINES;
	y0 = (LINES - h) / 2;
	x0 = (COLS - w) / 2;
	attron(A_REVERSE);
	for (int y = 0; y < h; y++) {
		int x = 0;

		move(y0 + y, x0);
		if (y > 0 && y <= (int)n)
			x += put_text(t, "  ", w);
		if (y > 0 && y <= (int)n)
			x += put_text(t, help_lines[y - 1], w - x);
		while (x < w)
			x += put_text(t, " ", w - x);
	}
	attroff(A_REVERSE);
}

static void draw(struct top *t)
{
	uint64_t sum;
	double sum_now;
	int rows = table_rows();

	erase();
	if (COLS < MIN_COLS || LINES < MIN_LINES) {
		char buf[128];

		snprintf(buf, sizeof(buf),
			 "terminal too small (%dx%d): make it at least %dx%d",
			 COLS, LINES, MIN_COLS, MIN_LINES);
		move(0, 0);
		put_text(t, buf, COLS);
		refresh();
		return;
	}
	fetch_items(t);
	draw_header(t);
	draw_titles(t);
	top_model__sums(t->m, &sum, &sum_now);
	place_selection(t, rows);
	if (t->err) {
		move(HEAD_ROWS, 0);
		put_text(t, "out of memory: the table cannot be shown", COLS);
	} else if (!t->nitems) {
		move(HEAD_ROWS, 0);
		put_text(t, t->p ? "no samples yet" : "waiting for samples",
			 COLS);
	}
	for (int r = 0; r < rows && t->scroll + (size_t)r < t->nitems; r++) {
		size_t i = t->scroll + (size_t)r;

		draw_item(t, HEAD_ROWS + r, &t->items[i], sum, sum_now,
			  i == t->sel);
	}
	draw_footer(t);
	if (t->help)
		draw_help(t);
	refresh();
}

/* ---- life cycle ---- */

struct top *top__open(const struct top_opts *o)
{
	struct top *t;
	const char *ctype;
	int err;

	if (term_active) {
		errno = EBUSY;
		return NULL;
	}
	if (!isatty(STDOUT_FILENO)) {
		errno = ENOTTY;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	if (o)
		t->o = *o;
	if (!(t->o.half_life > 0))
		t->o.half_life = TOP_HALF_LIFE;
	t->tree = t->o.tree;
	t->by_now = t->o.live;
	t->m = top_model__new();
	if (!t->m) {
		err = ENOMEM;
		goto out_free;
	}
	top_model__set_by_line(t->m, t->o.by_line);
	if (!isatty(STDIN_FILENO)) {
		t->in = fopen("/dev/tty", "r");
		if (!t->in) {
			err = ENOTTY;
			goto out_model;
		}
	}
	t->in_fd = t->in ? fileno(t->in) : STDIN_FILENO;
	if (tcgetattr(STDOUT_FILENO, &term_saved) != 0) {
		err = ENOTTY;
		goto out_in;
	}
	term_fd = STDOUT_FILENO;

	/* Only the character type: LC_NUMERIC would change "%.1f". */
	ctype = setlocale(LC_CTYPE, NULL);
	t->old_ctype = strdup(ctype ? ctype : "C");
	if (!t->old_ctype) {
		err = ENOMEM;
		goto out_in;
	}
	setlocale(LC_CTYPE, "");
	t->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;

	t->scr = newterm(NULL, stdout, t->in ? t->in : stdin);
	if (!t->scr) {
		err = EINVAL;
		goto out_locale;
	}
	set_term(t->scr);
	guard_install();
	cbreak();
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	timeout(0);
	set_escdelay(ESC_DELAY_MS);
	curs_set(0);
	draw(t);
	return t;

out_locale:
	setlocale(LC_CTYPE, t->old_ctype);
	free(t->old_ctype);
out_in:
	if (t->in)
		fclose(t->in);
out_model:
	top_model__free(t->m);
out_free:
	free(t);
	errno = err;
	return NULL;
}

void top__close(struct top *t)
{
	if (!t)
		return;
	if (t->scr) {
		endwin();
		delscreen(t->scr);
		t->scr = NULL;
	}
	guard_remove();
	setlocale(LC_CTYPE, t->old_ctype);
	free(t->old_ctype);
	if (t->in)
		fclose(t->in);
	top_model__free(t->m);
	free(t);
}

int top__fd(const struct top *t)
{
	return t->in_fd;
}

static int apply(struct top *t, const struct profile *p)
{
	double now = clock__now(), keep = 0;
	int rc;

	if (t->o.live && t->updated)
		keep = pow(0.5, (now - t->last_update) / t->o.half_life);
	rc = top_model__update(t->m, p, keep);
	if (rc)
		return rc;
	t->p = p;
	t->h = t->h_next;
	t->last_update = now;
	t->updated = true;
	return 0;
}

int top__update(struct top *t, const struct profile *cumulative,
		const struct top_header *h)
{
	int rc;

	if (h)
		head_set(&t->h_next, h);
	if (t->paused) {
		t->pending = cumulative;
		return 0;
	}
	rc = apply(t, cumulative);
	draw(t);
	return rc;
}

/* ---- keys ---- */

static void move_sel(struct top *t, long by)
{
	long to = (long)t->sel + by;

	if (!t->nitems)
		return;
	if (to < 0)
		to = 0;
	if (to >= (long)t->nitems)
		to = (long)t->nitems - 1;
	t->sel = (size_t)to;
	t->sel_id = t->items[t->sel].id;
}

static void sort_by(struct top *t, int step)
{
	t->sort = (enum top_sort)((t->sort + TOP_SORT__MAX + step) %
				  TOP_SORT__MAX);
	/* Show the top of the new order. */
	t->scroll = 0;
	t->sel = 0;
	t->sel_id = UINT32_MAX;
}

static void cycle_thread(struct top *t, int step)
{
	long n = (long)(top_model__nthreads(t->m) + top_model__ntasks(t->m));
	long cur = top_model__thread(t->m);

	/* All threads, then each one, then each task (--async): -1, 0, 1,
	 * ..., n - 1, -1, ... */
	cur = (cur + 1 + step + (n + 1)) % (n + 1) - 1;
	top_model__set_thread(t->m, (int)cur);
	t->sel = 0;
	t->scroll = 0;
	t->sel_id = UINT32_MAX;
}

static void set_layout(struct top *t, bool tree, bool by_line)
{
	t->tree = tree;
	top_model__set_by_line(t->m, by_line);
	t->sel = 0;
	t->scroll = 0;
	t->sel_id = UINT32_MAX;
}

static void fold(struct top *t, int open)
{
	const struct top_item *it;

	if (!t->tree || t->sel >= t->nitems)
		return;
	it = &t->items[t->sel];
	if (open == 0 && !it->open) {
		/* Left on a closed node goes to its parent. */
		uint32_t parent = top_model__parent(t->m, it->id);

		if (parent != TOP_NO_FRAME)
			t->sel_id = parent;
		return;
	}
	if (open == 1 && (!it->has_children || it->open))
		return;
	top_model__open(t->m, it->id, open);
}

static void do_reset(struct top *t)
{
	top_model__reset(t->m);
	t->base_total = t->h.samples_total;
	t->base_lost = t->h.lost;
	t->base_prof = t->p ? profile__total(t->p) : 0;
}

/* `/`: a key while the pattern is typed.  Enter shows the rows that
 * hold it, Esc leaves them as they were (issue 21). */
static void on_typing(struct top *t, int ch)
{
	switch (ch) {
	case 27: /* Esc */
		t->typing = false;
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		t->typing = false;
		t->input[t->ninput] = '\0';
		if (top_model__set_match(t->m, t->input) == 0) {
			t->sel = t->scroll = 0;
			t->sel_id = UINT32_MAX;
		}
		break;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		/* A whole UTF-8 character. */
		while (t->ninput > 0 &&
		       ((unsigned char)t->input[--t->ninput] & 0xc0) == 0x80)
			;
		break;
	default:
		if (ch >= 0x20 && ch < 0x100 && ch != 0x7f &&
		    t->ninput + 1 < sizeof(t->input))
			t->input[t->ninput++] = (char)ch;
		break;
	}
}

/* Acts on one key; returns a top_action for the caller, or -1 to go on. */
static int on_key(struct top *t, int ch)
{
	int page = table_rows() > 1 ? table_rows() - 1 : 1;

	if (t->help && ch != KEY_RESIZE) {
		t->help = false;
		return -1;
	}
	if (t->typing && ch != KEY_RESIZE) {
		on_typing(t, ch);
		return -1;
	}
	switch (ch) {
	case '/': {
		const char *now = top_model__match(t->m);

		t->typing = true;
		t->ninput = now ? strlen(now) : 0;
		if (t->ninput >= sizeof(t->input))
			t->ninput = sizeof(t->input) - 1;
		memcpy(t->input, now ? now : "", t->ninput);
		break;
	}
	case 'c':
		if (top_model__set_match(t->m, NULL) == 0)
			t->sel_id = UINT32_MAX;
		break;
	case 'q':
	case 'Q':
		return TOP_QUIT;
	case ' ':
		if (!t->o.live)
			break;
		t->paused = !t->paused;
		if (!t->paused && t->pending) {
			apply(t, t->pending);
			t->pending = NULL;
		}
		break;
	case '[':
		sort_by(t, -1);
		break;
	case ']':
		sort_by(t, 1);
		break;
	case KEY_LEFT:
		if (t->tree)
			fold(t, 0);
		else
			sort_by(t, -1);
		break;
	case KEY_RIGHT:
		if (t->tree)
			fold(t, 1);
		else
			sort_by(t, 1);
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		fold(t, -1);
		break;
	case KEY_UP:
	case 'k':
		move_sel(t, -1);
		break;
	case KEY_DOWN:
	case 'j':
		move_sel(t, 1);
		break;
	case KEY_PPAGE:
		move_sel(t, -page);
		break;
	case KEY_NPAGE:
		move_sel(t, page);
		break;
	case KEY_HOME:
	case 'g':
		move_sel(t, -(long)t->nitems);
		break;
	case KEY_END:
	case 'G':
		move_sel(t, (long)t->nitems);
		break;
	case 't':
		cycle_thread(t, 1);
		break;
	case 'T':
		cycle_thread(t, -1);
		break;
	case 'l':
		set_layout(t, t->tree, !top_model__by_line(t->m));
		break;
	case '\\':
		set_layout(t, !t->tree, top_model__by_line(t->m));
		break;
	case 'n':
		if (t->o.live)
			t->by_now = !t->by_now;
		break;
	case 'r':
		if (!t->o.live)
			break;
		do_reset(t);
		return TOP_RESET;
	case '?':
		t->help = true;
		break;
	case KEY_RESIZE:
	default:
		break;
	}
	return -1;
}

int top__wait(struct top *t, int timeout_ms)
{
	double deadline =
		clock__now() + (timeout_ms > 0 ? timeout_ms : 0) / 1000.0;
	int idle_reads = 0;

	for (;;) {
		struct pollfd pfd = { .fd = t->in_fd, .events = POLLIN };
		bool got = false, resized = false;
		int ch, r, wait_ms;

		/* Each key sees what the one before it did. */
		while ((ch = getch()) != ERR) {
			int act = on_key(t, ch);

			got = true;
			if (act == TOP_QUIT)
				return act;
			draw(t);
			if (act >= 0)
				return act;
		}
		if (got)
			idle_reads = 0;
		wait_ms = (int)((deadline - clock__now()) * 1000.0 + 0.5);
		if (wait_ms <= 0)
			return TOP_CONTINUE;
		r = poll(&pfd, 1, wait_ms);
		if (r < 0 && errno == EINTR) {
			/* A resize comes as a signal too: go on after it,
			 * but let the caller see any other signal. */
			while ((ch = getch()) != ERR) {
				int act = on_key(t, ch);

				resized |= ch == KEY_RESIZE;
				if (act == TOP_QUIT)
					return act;
				draw(t);
				if (act >= 0)
					return act;
			}
			if (!resized)
				return TOP_CONTINUE;
			continue;
		}
		if (r < 0)
			return TOP_QUIT;
		if (r > 0 && !(pfd.revents & POLLIN))
			return TOP_QUIT; /* the terminal hung up */
		/* Readable but no key, again and again: end of input. */
		if (r > 0 && !got && ++idle_reads > 3)
			return TOP_QUIT;
	}
}

/* ---- plain text ---- */

int top__snapshot(FILE *f, const struct profile *p, const struct top_header *h,
		  int rows, const struct top_opts *o)
{
	static const struct top_header none;
	struct top_model *m = top_model__new();
	const struct top_item *items;
	char label[LABEL_MAX], own[24], total[24];
	uint64_t sum, samples;
	double sum_now;
	size_t n, shown;
	unsigned nthreads;
	int rc;

	if (!m)
		return -ENOMEM;
	if (!h)
		h = &none;
	top_model__set_by_line(m, o && o->by_line);
	rc = top_model__update(m, p, 0);
	if (!rc)
		rc = top_model__items(m, false, TOP_SORT_OWN, false, &items,
				      &n);
	if (rc)
		goto out;
	top_model__sums(m, &sum, &sum_now);
	samples = h->samples_total ? h->samples_total : profile__total(p);
	nthreads = h->threads ? h->threads :
				(unsigned)top_model__named_threads(m);
	fprintf(f, "pyprof-bpf:");
	if (h->target && h->target[0])
		fprintf(f, " %s,", h->target);
	if (h->python && h->python[0])
		fprintf(f, " CPython %s,", h->python);
	if (h->rate_hz)
		fprintf(f, " %u Hz, %" PRIu64 " samples in the last interval,",
			h->rate_hz, h->samples);
	fprintf(f, " %" PRIu64 " samples", samples);
	if (top_model__left_out(m))
		fprintf(f, " (and %" PRIu64 " left out by the filters)",
			top_model__left_out(m));
	if (h->rate_hz || h->lost)
		fprintf(f, ", %" PRIu64 " lost", h->lost);
	if (nthreads)
		fprintf(f, ", %u thread%s", nthreads, nthreads == 1 ? "" : "s");
	if (h->has_gil)
		fprintf(f, ", GIL held %.0f%%, waiting %.0f%%",
			h->gil_share * 100.0, h->gil_waiting * 100.0);
	if (h->status && h->status[0])
		fprintf(f, "; %s", h->status);
	fprintf(f, "\n%6s %7s %8s %8s  %s\n", "OWN%", "TOTAL%", "OWN", "TOTAL",
		o && o->by_line ? "FUNCTION (FILE:LINE)" : "FUNCTION (FILE)");
	shown = rows > 0 && (size_t)rows < n ? (size_t)rows : n;
	for (size_t i = 0; i < shown; i++) {
		fmt_count(own, sizeof(own), items[i].own);
		fmt_count(total, sizeof(total), items[i].total);
		top_model__label(m, &items[i], label, sizeof(label), NULL);
		fprintf(f, "%5.1f%% %6.1f%% %8s %8s  %s\n",
			pct((double)items[i].own, (double)sum),
			pct((double)items[i].total, (double)sum), own, total,
			label);
	}
	if (!n)
		fprintf(f, "(no samples)\n");
	else if (shown < n)
		fprintf(f, "(%zu more)\n", n - shown);
	fputc('\n', f);
	errno = 0;
	if (fflush(f) != 0 || ferror(f))
		rc = errno ? -errno : -EIO;
out:
	top_model__free(m);
	return rc;
}
