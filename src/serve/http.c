// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The HTTP listener (http.h) on libmicrohttpd: one internal thread polling
 * with epoll, suspend/resume for the streams.  libmicrohttpd bounds the
 * connections (in number, per address, idle time, header memory); what it
 * cannot, a client that trickles its headers or reads an answer a byte at
 * a time, is bounded here by deadlines that the main thread enforces by
 * shutting the socket down (the listener then closes it).
 */
#include "serve/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/clock.h"

/* Bytes of libmicrohttpd's memory per connection: the request's headers
 * must fit in about half of it, or the answer is 431. */
#define CONN_MEMORY (32u << 10)

/* One TCP connection, from accept to close. */
struct conn {
	struct conn *prev, *next;
	int fd;
	double since; /* connected, or began or ended its last request */
	bool busy; /* a request is being answered */
	bool stream; /* ... a stream: no deadline */
	bool closing; /* shut down by a deadline */
};

/* One /stream reader. */
struct stream {
	struct stream *prev, *next;
	struct http *h;
	struct MHD_Connection *c;
	struct request rq;
	uint64_t seq; /* the last interval sent */
	struct answer *block; /* what is left of the block being sent */
	size_t queued; /* its size, counted in http.queued */
	bool suspended;
};

/* An answer's bytes, freed when libmicrohttpd is done with them. */
struct body {
	struct http *h;
	struct answer *ans; /* or */
	void *data;
	size_t len; /* counted in http.queued */
};

struct http {
	struct MHD_Daemon *d;
	unsigned port;
	char url[96];
	struct http_opts o;
	char *token;
	struct http_handlers hd;
	pthread_mutex_t lock; /* everything below */
	struct conn *conns;
	struct stream *streams;
	unsigned gen; /* http__wake calls so far */
	bool stopping;
	size_t queued; /* bytes of answers not yet sent */
	struct http_stats st;
};

/* ---- Addresses ---- */

bool http__loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)
				      ->sin_addr.s_addr) >>
			24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
			&((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

int http__parse_listen(const char *s, struct sockaddr_storage *addr,
		       socklen_t *len, char *err, size_t errlen)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
	char host[64] = "127.0.0.1";
	const char *port = s, *colon;
	unsigned long v;
	char *end;

	memset(addr, 0, sizeof(*addr));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' ||
		    (size_t)(close - s) >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		port = close + 2;
	} else if ((colon = strrchr(s, ':'))) {
		if ((size_t)(colon - s) >= sizeof(host) || colon == s)
			goto bad;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port = colon + 1;
	}
	errno = 0;
	v = strtoul(port, &end, 10);
	if (!port[0] || *end || errno || v > 65535 ||
	    strspn(port, "0123456789") != strlen(port))
		goto bad;
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	else if (strcmp(host, "*") == 0)
		strcpy(host, "0.0.0.0");
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)v);
		*len = sizeof(*v4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)v);
		*len = sizeof(*v6);
		return 0;
	}
bad:
	snprintf(err, errlen,
		 "--listen '%s': give PORT, ADDRESS:PORT or [IPV6]:PORT "
		 "with a numeric address, localhost or * (every address), "
		 "and a port from 0 to 65535",
		 route__shown(s, host, sizeof(host)));
	return -EINVAL;
}

/* A bound, listening socket for o->addr.  The fd, or -errno (err set). */
static int listen_on(const struct http_opts *o, char *err, size_t errlen)
{
	const struct sockaddr *sa = (const struct sockaddr *)&o->addr;
	char name[INET6_ADDRSTRLEN] = "?";
	int fd, one = 1, rc;

	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			  name, sizeof(name));
	else
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)sa)->sin6_addr, name,
			  sizeof(name));
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open a socket: %s",
			 strerror(-rc));
		return rc;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6) {
		/* [::] also takes IPv4; a specific address only itself. */
		int only = !IN6_IS_ADDR_UNSPECIFIED(
			&((const struct sockaddr_in6 *)sa)->sin6_addr);

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof(only));
	}
	if (bind(fd, sa, o->addrlen) || listen(fd, 64)) {
		rc = -errno;
		snprintf(err, errlen, "cannot listen on %s port %u: %s%s", name,
			 ntohs(((const struct sockaddr_in *)sa)->sin_port),
			 strerror(-rc),
			 rc == -EADDRINUSE ?
				 " (another program, or another agent, has "
				 "it: choose another port with --listen)" :
			 rc == -EADDRNOTAVAIL ?
				 " (no interface of this machine has that "
				 "address)" :
				 "");
		close(fd);
		return rc;
	}
	return fd;
}

/* ---- Connections and their deadlines ---- */

static struct conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http *h = cls;
	struct conn *k = *socket_context;

	pthread_mutex_lock(&h->lock);
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
			c, MHD_CONNECTION_INFO_CONNECTION_FD);

		k = calloc(1, sizeof(*k));
		if (k) {
			k->fd = ci ? ci->connect_fd : -1;
			k->since = clock__now();
			k->next = h->conns;
			if (h->conns)
				h->conns->prev = k;
			h->conns = k;
		}
		*socket_context = k;
		h->st.connections++;
		h->st.open++;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		/* Before libmicrohttpd closes the fd: http__tick, under the
		 * lock, never shuts down a socket that is not this one. */
		if (k) {
			if (k->prev)
				k->prev->next = k->next;
			else
				h->conns = k->next;
			if (k->next)
				k->next->prev = k->prev;
			free(k);
		}
		*socket_context = NULL;
		h->st.open--;
	}
	pthread_mutex_unlock(&h->lock);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http *h = cls;
	struct conn *k = conn_of(c);

	(void)toe;
	*req_cls = NULL;
	pthread_mutex_lock(&h->lock);
	if (k) {
		k->busy = false;
		k->stream = false;
		k->since = clock__now();
	}
	pthread_mutex_unlock(&h->lock);
}

void http__tick(struct http *h)
{
	double now = clock__now();

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	for (struct conn *k = h->conns; k; k = k->next) {
		double limit = k->busy ? h->o.reply_deadline :
					 h->o.header_deadline;

		if (k->closing || k->stream || k->fd < 0 ||
		    now - k->since < limit)
			continue;
		/* The listener sees the end of the connection and closes
		 * it; the socket stays ours until then (on_connection). */
		shutdown(k->fd, SHUT_RDWR);
		k->closing = true;
		h->st.deadline++;
	}
	pthread_mutex_unlock(&h->lock);
}

/* ---- Answers ---- */

static void body_free(void *cls)
{
	struct body *b = cls;

	pthread_mutex_lock(&b->h->lock);
	b->h->queued -= b->len;
	pthread_mutex_unlock(&b->h->lock);
	answer__free(b->ans);
	free(b->data);
	free(b);
}

/* libmicrohttpd takes the next bytes of an answer: each chunk is freed as
 * soon as it is sent. */
static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct body *b = cls;
	size_t n = answer__read(b->ans, buf, max);

	(void)pos;
	return n ? (ssize_t)n : MHD_CONTENT_READER_END_WITH_ERROR;
}

/* Whether the client takes gzip (and did not refuse it with q=0). */
static bool takes_gzip(struct MHD_Connection *c)
{
	const char *ae = MHD_lookup_connection_value(
		c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	const char *g = ae ? strcasestr(ae, "gzip") : NULL;

	if (!g)
		return false;
	g += 4;
	g += strspn(g, " ");
	if (*g != ';')
		return true;
	g++;
	g += strspn(g, " ");
	return !(strncmp(g, "q=", 2) == 0 && strtod(g + 2, NULL) == 0);
}

static void count(struct http *h, unsigned status)
{
	pthread_mutex_lock(&h->lock);
	h->st.answers[metrics__status(status)]++;
	pthread_mutex_unlock(&h->lock);
}

static void common_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
}

/* Queues rp on c.  Frees rp->ans and rp->body in every case. */
static enum MHD_Result send_reply(struct http *h, struct MHD_Connection *c,
				  struct reply *rp)
{
	struct MHD_Response *r;
	enum MHD_Result ok;
	struct body *b = NULL;
	bool gz = false;

	if (rp->ans || rp->body) {
		b = calloc(1, sizeof(*b));
		if (!b) {
			answer__free(rp->ans);
			free(rp->body);
			return MHD_NO;
		}
		b->h = h;
		b->ans = rp->ans;
		b->data = rp->body;
		b->len = rp->ans ? answer__size(rp->ans) : rp->len;
		rp->ans = NULL;
		rp->body = NULL;
		pthread_mutex_lock(&h->lock);
		if (h->queued + b->len > h->o.max_queued) {
			h->st.busy++;
			pthread_mutex_unlock(&h->lock);
			answer__free(b->ans);
			free(b->data);
			free(b);
			return MHD_NO; /* the connection is closed: try again */
		}
		h->queued += b->len;
		pthread_mutex_unlock(&h->lock);
		if (b->ans) {
			gz = answer__gzipped(b->ans);
			r = MHD_create_response_from_callback(
				b->len, 32 << 10, body_read, b, body_free);
		} else {
			r = MHD_create_response_from_buffer_with_free_callback_cls(
				b->len, b->data, body_free, b);
		}
		if (!r) {
			body_free(b);
			return MHD_NO;
		}
	} else {
		r = MHD_create_response_from_buffer(rp->len,
						    (void *)rp->static_body,
						    MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
	}
	common_headers(r);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rp->type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
				rp->static_body ? "no-cache" : "no-store");
	if (gz) {
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING,
					"gzip");
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY,
					MHD_HTTP_HEADER_ACCEPT_ENCODING);
	}
	if (rp->page)
		MHD_add_response_header(
			r, "Content-Security-Policy",
			"default-src 'none'; script-src 'self'; style-src "
			"'self'; img-src 'self' data:; connect-src 'self'; "
			"base-uri 'none'; form-action 'none'; "
			"frame-ancestors 'none'");
	if (rp->sandbox)
		MHD_add_response_header(
			r, "Content-Security-Policy",
			"sandbox allow-scripts; default-src 'none'; "
			"script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
			"img-src data:");
	if (rp->filename) {
		char cd[128];

		snprintf(cd, sizeof(cd), "attachment; filename=\"%s\"",
			 rp->filename);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION,
					cd);
	}
	if (rp->seq) {
		char seq[24];

		snprintf(seq, sizeof(seq), "%" PRIu64, rp->seq);
		MHD_add_response_header(r, "X-Pyprof-Seq", seq);
	}
	if (rp->status == MHD_HTTP_UNAUTHORIZED) {
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"pyprof-bpf\"");
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Basic realm=\"pyprof-bpf\"");
	}
	if (rp->status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ok = MHD_queue_response(c, rp->status, r);
	MHD_destroy_response(r);
	count(h, rp->status);
	return ok;
}

/* A one-line text answer. */
static enum MHD_Result send_text(struct http *h, struct MHD_Connection *c,
				 unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum MHD_Result send_text(struct http *h, struct MHD_Connection *c,
				 unsigned status, const char *fmt, ...)
{
	struct reply rp = { .status = status,
			    .type = "text/plain; charset=utf-8" };
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&rp.body, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MHD_NO;
	rp.len = (size_t)n;
	return send_reply(h, c, &rp);
}

/* ---- Streams ---- */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	struct http *h = s->h;
	size_t n = s->block ? answer__read(s->block, buf, max) : 0;
	unsigned gen;
	int rc;

	(void)pos;
	if (n)
		return (ssize_t)n;
	answer__free(s->block);
	s->block = NULL;
	pthread_mutex_lock(&h->lock);
	h->queued -= s->queued;
	s->queued = 0;
	gen = h->gen;
	if (h->stopping) {
		pthread_mutex_unlock(&h->lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	pthread_mutex_unlock(&h->lock);
	rc = h->hd.stream_next(h->hd.arg, &s->rq, &s->seq, &s->block);
	if (rc == -EAGAIN) {
		/* Asleep until http__wake; unless a wake came since
		 * stream_next looked, then at once. */
		pthread_mutex_lock(&h->lock);
		if (h->stopping) {
			pthread_mutex_unlock(&h->lock);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		if (h->gen == gen) {
			s->suspended = true;
			MHD_suspend_connection(s->c);
		}
		pthread_mutex_unlock(&h->lock);
		return 0;
	}
	if (rc)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	/* A block waits for its reader as an answer does: within the
	 * bound on what waits for clients, or the stream ends (the reader
	 * comes back later). */
	pthread_mutex_lock(&h->lock);
	if (h->queued + answer__size(s->block) > h->o.max_queued) {
		h->st.busy++;
		pthread_mutex_unlock(&h->lock);
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	s->queued = answer__size(s->block);
	h->queued += s->queued;
	pthread_mutex_unlock(&h->lock);
	n = answer__read(s->block, buf, max);
	return n ? (ssize_t)n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls)
{
	struct stream *s = cls;
	struct http *h = s->h;

	pthread_mutex_lock(&h->lock);
	if (s->prev)
		s->prev->next = s->next;
	else
		h->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	h->st.streams--;
	h->queued -= s->queued;
	pthread_mutex_unlock(&h->lock);
	answer__free(s->block);
	free(s);
}

static enum MHD_Result start_stream(struct http *h, struct MHD_Connection *c,
				    const struct request *rq)
{
	struct MHD_Response *r;
	struct stream *s;
	enum MHD_Result ok;
	struct conn *k = conn_of(c);

	if (rq->head)
		return send_text(h, c, MHD_HTTP_OK, "\n");
	pthread_mutex_lock(&h->lock);
	if (h->st.streams >= h->o.max_streams) {
		h->st.busy++;
		pthread_mutex_unlock(&h->lock);
		return send_text(h, c, MHD_HTTP_SERVICE_UNAVAILABLE,
				 "too many live streams (%u): close one, or "
				 "try again later\n",
				 h->o.max_streams);
	}
	pthread_mutex_unlock(&h->lock);
	s = calloc(1, sizeof(*s));
	if (!s)
		return MHD_NO;
	s->h = h;
	s->c = c;
	s->rq = *rq;
	pthread_mutex_lock(&h->lock);
	s->next = h->streams;
	if (h->streams)
		h->streams->prev = s;
	h->streams = s;
	h->st.streams++;
	if (k)
		k->stream = true;
	pthread_mutex_unlock(&h->lock);
	/* libmicrohttpd frees s with the response (stream_free). */
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 << 10,
					      stream_read, s, stream_free);
	if (!r) {
		stream_free(s);
		return MHD_NO;
	}
	common_headers(r);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ok = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	count(h, MHD_HTTP_OK);
	return ok;
}

void http__wake(struct http *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->gen++;
	for (struct stream *s = h->streams; s; s = s->next) {
		if (!s->suspended)
			continue;
		s->suspended = false;
		MHD_resume_connection(s->c);
	}
	pthread_mutex_unlock(&h->lock);
}

/* ---- Requests ---- */

struct args {
	struct route_arg v[ROUTE_ARGS_MAX];
	size_t n;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind,
				   const char *key, const char *value)
{
	struct args *a = cls;

	(void)kind;
	if (a->n < ROUTE_ARGS_MAX)
		a->v[a->n] = (struct route_arg){ key, value };
	a->n++;
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	static int answered;
	struct http *h = cls;
	struct conn *k = conn_of(c);
	struct request rq;
	struct reply rp = {};
	struct args a = { .n = 0 };
	const char *cl, *te;
	char err[512];
	int status;

	(void)version;
	(void)upload;
	if (*req_cls) {
		/* A body after the answer was queued: dropped. */
		*upload_size = 0;
		return MHD_YES;
	}
	*req_cls = &answered;
	pthread_mutex_lock(&h->lock);
	if (k) {
		k->busy = true;
		k->since = clock__now();
	}
	pthread_mutex_unlock(&h->lock);

	if (h->token) {
		if (!route__authorized(MHD_lookup_connection_value(
					       c, MHD_HEADER_KIND,
					       MHD_HTTP_HEADER_AUTHORIZATION),
				       h->token))
			return send_text(h, c, MHD_HTTP_UNAUTHORIZED,
					 "this agent needs its token: send "
					 "Authorization: Bearer TOKEN (or, "
					 "from a browser, the token as the "
					 "password)\n");
	} else if (!route__host_ok(MHD_lookup_connection_value(
			   c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST))) {
		return send_text(h, c, MHD_HTTP_FORBIDDEN,
				 "this agent answers only requests to "
				 "localhost, 127.0.0.1 or [::1] (the Host "
				 "header); to serve other names, listen on "
				 "them with --token-file\n");
	}
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_TRANSFER_ENCODING);
	if ((cl && strcmp(cl, "0") != 0) || te)
		return send_text(h, c, MHD_HTTP_BAD_REQUEST,
				 "a request to the agent has no body\n");
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &a);
	if (a.n > ROUTE_ARGS_MAX)
		return send_text(h, c, MHD_HTTP_BAD_REQUEST,
				 "too many parameters: at most %d\n",
				 ROUTE_ARGS_MAX);
	status = route__parse(&h->hd.limits, method, url, a.v, a.n, &rq, err,
			      sizeof(err));
	if (status != 200)
		return send_text(h, c, (unsigned)status, "%s\n", err);
	if (rq.route == ROUTE_STREAM)
		return start_stream(h, c, &rq);
	rq.gzip = takes_gzip(c);
	status = h->hd.respond(h->hd.arg, &rq, &rp);
	if (status) {
		answer__free(rp.ans);
		free(rp.body);
		return send_text(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "the agent could not answer: %s\n",
				 strerror(-status));
	}
	return send_reply(h, c, &rp);
}

/* libmicrohttpd's own messages, with -v only. */
static void on_log(void *cls, const char *fmt, va_list ap)
{
	struct http *h = cls;

	if (!h->o.verbose)
		return;
	fputs("pyprof-bpf serve: http: ", stderr);
	vfprintf(stderr, fmt, ap);
}

/* ---- Life ---- */

struct http *http__start(const struct http_opts *o,
			 const struct http_handlers *hd, char *err,
			 size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct http *h;
	int fd;

	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->o = *o;
	h->hd = *hd;
	pthread_mutex_init(&h->lock, NULL);
	if (o->token && !(h->token = strdup(o->token))) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	fd = listen_on(o, err, errlen);
	if (fd < 0) {
		errno = -fd;
		goto out_free;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		char name[INET6_ADDRSTRLEN] = "?";
		bool v6 = ss.ss_family == AF_INET6;

		h->port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
				     ((struct sockaddr_in *)&ss)->sin_port);
		inet_ntop(
			ss.ss_family,
			v6 ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr :
			     (void *)&((struct sockaddr_in *)&ss)->sin_addr,
			name, sizeof(name));
		snprintf(h->url, sizeof(h->url), "http://%s%s%s:%u/",
			 v6 ? "[" : "", name, v6 ? "]" : "", h->port);
	}
	h->d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
		0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, o->idle_timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
		MHD_OPTION_EXTERNAL_LOGGER, on_log, h,
		MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen,
			 "cannot start the HTTP listener (libmicrohttpd): %s",
			 strerror(errno ? errno : EIO));
		close(fd);
		goto out_free;
	}
	return h;

out_free:
	pthread_mutex_destroy(&h->lock);
	free(h->token);
	free(h);
	return NULL;
}

unsigned http__port(const struct http *h)
{
	return h->port;
}

void http__url(const struct http *h, char *buf, size_t len)
{
	snprintf(buf, len, "%s", h->url);
}

void http__stats(struct http *h, struct http_stats *st)
{
	pthread_mutex_lock(&h->lock);
	*st = h->st;
	st->queued = h->queued;
	pthread_mutex_unlock(&h->lock);
}

void http__stop(struct http *h)
{
	int fd;

	if (!h)
		return;
	/* libmicrohttpd must see every stream resumed before it stops;
	 * stopping makes each one end at its next read. */
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	for (struct stream *s = h->streams; s; s = s->next) {
		if (!s->suspended)
			continue;
		s->suspended = false;
		MHD_resume_connection(s->c);
	}
	pthread_mutex_unlock(&h->lock);
	fd = MHD_quiesce_daemon(h->d);
	MHD_stop_daemon(h->d);
	if (fd >= 0)
		close(fd);
	pthread_mutex_destroy(&h->lock);
	free(h->token);
	free(h);
}
