// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The agent's parsers: routes and parameters, tokens, Host, --listen, the
 * stream's header, and the client's URL and answer head. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "serve/answer.h"
#include "serve/client.h"
#include "serve/http.h"
#include "serve/route.h"
#include "serve/stream.h"
#include "fixture.h"
#include "unit.h"

static const struct route_limits lim = { .window_secs = 600,
					 .default_secs = 30 };

static int parse(const char *method, const char *path, const char *k1,
		 const char *v1, const char *k2, const char *v2,
		 struct request *rq, char *err)
{
	struct route_arg a[2] = { { k1, v1 }, { k2, v2 } };

	return route__parse(&lim, method, path, a,
			    k2 ? 2 :
			    k1 ? 1 :
				 0,
			    rq, err, 512);
}

TEST(serve_routes)
{
	struct request rq;
	char err[512];

	CHECK_INT(parse("GET", "/debug/pprof/profile", NULL, NULL, NULL, NULL,
			&rq, err),
		  200);
	CHECK_INT(rq.route, ROUTE_PPROF);
	CHECK_INT(rq.seconds, 30);
	CHECK(!rq.all);
	CHECK_INT(parse("GET", "/profile", "seconds", "all", "format", "svg",
			&rq, err),
		  200);
	CHECK(rq.all);
	CHECK_INT(rq.format, OUT_SVG);
	CHECK_INT(parse("HEAD", "/stream", "pid", "42", "comm", "python3", &rq,
			err),
		  200);
	CHECK(rq.head && rq.pid == 42);
	CHECK_STR(rq.comm, "python3");
	CHECK_INT(parse("GET", "/", NULL, NULL, NULL, NULL, &rq, err), 200);
	CHECK_INT(rq.route, ROUTE_ASSET);
	CHECK_INT(parse("GET", "/app.js", NULL, NULL, NULL, NULL, &rq, err),
		  200);

	CHECK_INT(parse("POST", "/info", NULL, NULL, NULL, NULL, &rq, err),
		  405);
	CHECK_STR(err, "method POST is not allowed: the agent only answers "
		       "GET and HEAD");
	CHECK_INT(parse("GET", "/etc/passwd", NULL, NULL, NULL, NULL, &rq, err),
		  404);
	CHECK_INT(parse("GET", "/debug/pprof/profile", "seconds", "601", NULL,
			NULL, &rq, err),
		  400);
	CHECK_STR(err, "seconds=601: give a whole number of seconds from 1 to "
		       "600 (the agent's --window), or seconds=all");
	CHECK_INT(parse("GET", "/debug/pprof/profile", "seconds", "+5", NULL,
			NULL, &rq, err),
		  400);
	CHECK_INT(parse("GET", "/debug/pprof/profile", "seconds", NULL, NULL,
			NULL, &rq, err),
		  400);
	CHECK_STR(err, "seconds= needs a value");
	CHECK_INT(parse("GET", "/profile", "pid", "1", "pid", "2", &rq, err),
		  400);
	CHECK_STR(err, "pid= is given twice, with different values: give it "
		       "once");
	CHECK_INT(parse("GET", "/debug/pprof/profile", "seconds", "15",
			"seconds", "15", &rq, err),
		  200);
	CHECK_INT(rq.seconds, 15);
	CHECK_INT(parse("GET", "/metrics", "seconds", "1", NULL, NULL, &rq,
			err),
		  400);
	CHECK_STR(err, "/metrics takes no parameter 'seconds'");
	CHECK_INT(parse("GET", "/profile", "comm", "a\nb", NULL, NULL, &rq,
			err),
		  400);
	CHECK(strchr(err, '\n') == NULL);
	CHECK_INT(parse("GET", "/profile", "format", "trace", NULL, NULL, &rq,
			err),
		  400);
	CHECK(strstr(err, "no timeline") != NULL);
}

TEST(serve_auth)
{
	const char *t = "0123456789abcdef";

	CHECK(route__authorized("Bearer 0123456789abcdef", t));
	CHECK(route__authorized("bearer 0123456789abcdef", t));
	CHECK(!route__authorized("Bearer 0123456789abcde", t));
	CHECK(!route__authorized("Bearer 0123456789abcdefg", t));
	CHECK(!route__authorized("Bearer  0123456789abcdef", t));
	CHECK(!route__authorized(NULL, t));
	/* base64("me:0123456789abcdef") */
	CHECK(route__authorized("Basic bWU6MDEyMzQ1Njc4OWFiY2RlZg==", t));
	CHECK(!route__authorized("Basic bWU6MDEyMzQ1Njc4OWFiY2RlZw==", t));
	CHECK(!route__authorized("Basic !!!!", t));
	CHECK(!route__authorized("Digest x", t));

	CHECK(route__host_ok(NULL));
	CHECK(route__host_ok("localhost"));
	CHECK(route__host_ok("LOCALHOST:6060"));
	CHECK(route__host_ok("127.0.0.1:6060"));
	CHECK(route__host_ok("127.1.2.3"));
	CHECK(route__host_ok("[::1]:6060"));
	CHECK(!route__host_ok("localhost.evil.example"));
	CHECK(!route__host_ok("evil.example:6060"));
	CHECK(!route__host_ok("128.0.0.1"));
	CHECK(!route__host_ok("127.0.0.1:"));
	CHECK(!route__host_ok("127.0.0.1:6060x"));
	CHECK(!route__host_ok("[::2]:6060"));
	CHECK(!route__host_ok(""));

	char err[256];

	CHECK(route__token_ok("0123456789abcdef", err, sizeof(err)));
	CHECK(!route__token_ok("short", err, sizeof(err)));
	CHECK(!route__token_ok("0123456789 abcdef", err, sizeof(err)));
}

TEST(serve_listen)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	socklen_t len;
	char err[512];

	CHECK_INT(http__parse_listen("6060", &ss, &len, err, sizeof(err)), 0);
	CHECK(v4->sin_family == AF_INET && ntohs(v4->sin_port) == 6060);
	CHECK(http__loopback((struct sockaddr *)&ss));
	CHECK_INT(http__parse_listen("*:80", &ss, &len, err, sizeof(err)), 0);
	CHECK(!http__loopback((struct sockaddr *)&ss));
	CHECK_INT(http__parse_listen("localhost:0", &ss, &len, err,
				     sizeof(err)),
		  0);
	CHECK(http__loopback((struct sockaddr *)&ss));
	CHECK_INT(http__parse_listen("[::1]:1", &ss, &len, err, sizeof(err)),
		  0);
	CHECK(ss.ss_family == AF_INET6 &&
	      http__loopback((struct sockaddr *)&ss));
	CHECK_INT(http__parse_listen("[::ffff:127.0.0.1]:1", &ss, &len, err,
				     sizeof(err)),
		  0);
	CHECK(http__loopback((struct sockaddr *)&ss));
	CHECK_INT(http__parse_listen("[::]:1", &ss, &len, err, sizeof(err)), 0);
	CHECK(!http__loopback((struct sockaddr *)&ss));
	CHECK_INT(http__parse_listen("10.0.0.1:65536", &ss, &len, err,
				     sizeof(err)),
		  -EINVAL);
	CHECK_INT(http__parse_listen("host.example:80", &ss, &len, err,
				     sizeof(err)),
		  -EINVAL);
	CHECK_INT(http__parse_listen("127.0.0.1", &ss, &len, err, sizeof(err)),
		  -EINVAL);
	CHECK_INT(http__parse_listen("", &ss, &len, err, sizeof(err)), -EINVAL);
}

TEST(serve_answer)
{
	char line[128], *s, *plain;
	struct answer *a;
	size_t len, n, held = 0, held0;
	FILE *f;

	/* 600 KB in lines: kept in chunks, read out in order, each chunk
	 * freed once read. */
	REQUIRE((a = answer__new(1 << 20, false)));
	REQUIRE((f = answer__file(a)));
	for (int i = 0; i < 20000; i++)
		fprintf(f, "line %05d of the answer, and then some\n", i);
	CHECK_INT(fclose(f), 0);
	CHECK_INT(answer__end(a), 0);
	CHECK_INT(answer__written(a), 20000 * 40);
	CHECK_INT(answer__size(a), 20000 * 40);
	CHECK(answer__held(a) >= answer__size(a) &&
	      answer__held(a) < answer__size(a) + (256 << 10));
	CHECK(!answer__gzipped(a));
	CHECK_INT(answer__prepend(a, "head\n", 5), 0);
	held0 = answer__held(a);
	n = answer__read(a, line, 5 + 40);
	CHECK_INT(n, 45);
	line[n] = '\0';
	CHECK_STR(line, "head\nline 00000 of the answer, and then some\n");
	for (n = 0; (len = answer__read(a, line, 40)) == 40; n++) {
		if (n == 10000)
			held = answer__held(a);
		if (n == 19998)
			CHECK(memcmp(line, "line 19999", 10) == 0);
	}
	CHECK_INT(n, 19999);
	CHECK_INT(len, 0);
	/* Half of it read: its first two chunks (16 KiB, 256 KiB) freed. */
	CHECK(held > 0 && held <= held0 - (272 << 10) + 256);
	CHECK_INT(answer__held(a), 0);
	CHECK_INT(answer__prepend(a, "x", 1), -EINVAL); /* read from */
	answer__free(a);

	/* Over the cap: refused, and the stream says so. */
	REQUIRE((a = answer__new(100, false)));
	REQUIRE((f = answer__file(a)));
	setvbuf(f, NULL, _IONBF, 0);
	CHECK(fprintf(f, "%s", "0123456789") == 10);
	memset(line, 'x', 91);
	fwrite(line, 1, 91, f);
	CHECK(ferror(f));
	fclose(f);
	CHECK_INT(answer__end(a), -EFBIG);
	CHECK_INT(answer__write(a, "x", 1), -EINVAL);
	answer__free(a);

	/* gzipped as written: the same bytes back, held compressed. */
	REQUIRE((a = answer__new(1 << 20, true)));
	for (int i = 0; i < 20000; i++) {
		snprintf(line, sizeof(line), "line %05d, compressible\n", i);
		CHECK_INT(answer__write(a, line, strlen(line)), 0);
	}
	CHECK_INT(answer__prepend(a, "x", 1), -EINVAL);
	CHECK_INT(answer__end(a), 0);
	CHECK(answer__gzipped(a));
	CHECK_INT(answer__written(a), 20000 * 25);
	CHECK(answer__size(a) < 20000 * 25 / 4);
	REQUIRE((s = answer__string(a, &len)));
	REQUIRE((plain = (char *)unit__gunzip(s, len, &n)));
	CHECK_INT(n, 20000 * 25);
	CHECK(memcmp(plain, "line 00000, compressible\n", 25) == 0);
	CHECK(memcmp(plain + n - 25, "line 19999, compressible\n", 25) == 0);
	free(plain);
	free(s);

	/* An empty gzipped answer is still a gzip stream. */
	REQUIRE((a = answer__new(10, true)));
	CHECK_INT(answer__end(a), 0);
	REQUIRE((s = answer__string(a, &len)));
	REQUIRE((plain = (char *)unit__gunzip(s, len, &n)));
	CHECK_INT(n, 0);
	free(plain);
	free(s);
}

TEST(serve_stream_head)
{
	struct stream_head h = { .total = true,
				 .seq = 41,
				 .t = 1718000000.25,
				 .dur = 41,
				 .taken = 8120,
				 .lost = 2,
				 .procs = 3,
				 .rate = 99 },
			   back;
	struct profile *p = profile__new();
	struct answer *ans;
	uint32_t f;
	char *buf, err[512];
	size_t len;

	REQUIRE(p);
	f = (uint32_t)profile__frame(p, PF_MARKER, profile__intern_str(p, "x"),
				     0, 0);
	profile__add(p, &f, 1, 5);
	REQUIRE(stream__block(&h, p, &ans) == 0);
	REQUIRE((buf = answer__string(ans, &len)));
	CHECK_STR(buf + len - 4, "x 5\n");
	buf[strcspn(buf, "\n")] = '\0';
	CHECK_STR(buf, "pyprof-bpf-stream 1 kind=total seq=41 "
		       "t=1718000000.250 dur=41.000 samples=5 taken=8120 "
		       "lost=2 procs=3 rate=99 skipped=0 bytes=4");
	CHECK_INT(stream__parse_head(buf, &back, err, sizeof(err)), 0);
	CHECK(back.total && back.seq == 41 && back.samples == 5 &&
	      back.bytes == 4 && back.taken == 8120 && back.rate == 99);
	free(buf);
	profile__free(p);

	CHECK_INT(stream__parse_head("pyprof-bpf-stream 2 kind=total bytes=0",
				     &back, err, sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, "another stream version") != NULL);
	CHECK_INT(stream__parse_head("HTTP/1.1 200 OK", &back, err,
				     sizeof(err)),
		  -EINVAL);
	CHECK_INT(stream__parse_head("pyprof-bpf-stream 1 kind=interval "
				     "bytes=99999999999",
				     &back, err, sizeof(err)),
		  -EINVAL);
	/* A newer agent's extra keys are ignored. */
	CHECK_INT(stream__parse_head("pyprof-bpf-stream 1 kind=interval "
				     "new=1 flag bytes=3",
				     &back, err, sizeof(err)),
		  0);
	CHECK(!back.total && back.bytes == 3);
}

TEST(serve_client_parsers)
{
	struct client_url u;
	char err[512];
	int status = 0;
	size_t hl = 0;
	const char *ok = "HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody";

	CHECK_INT(client__parse_url("http://127.0.0.1:7000", &u, err,
				    sizeof(err)),
		  0);
	CHECK_STR(u.host, "127.0.0.1");
	CHECK_STR(u.port, "7000");
	CHECK_INT(client__parse_url("http://[::1]/", &u, err, sizeof(err)), 0);
	CHECK_STR(u.host, "::1");
	CHECK_STR(u.port, "6060");
	CHECK_INT(client__parse_url("http://host/stream", &u, err, sizeof(err)),
		  -EINVAL);
	CHECK_INT(client__parse_url("https://host", &u, err, sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, "plain HTTP") != NULL);
	CHECK_INT(client__parse_url("http://user@host", &u, err, sizeof(err)),
		  -EINVAL);
	CHECK_INT(client__parse_url("http://host:99999", &u, err, sizeof(err)),
		  -EINVAL);

	CHECK_INT(client__parse_head(ok, strlen(ok), &status, &hl), 0);
	CHECK_INT(status, 200);
	CHECK_STR(ok + hl, "body");
	CHECK_INT(client__parse_head(ok, 20, &status, &hl), -EAGAIN);
	CHECK_INT(client__parse_head("SSH-2.0-x\r\n\r\n", 13, &status, &hl),
		  -EINVAL);
	CHECK_INT(client__parse_head("HTTP/1.0 4x1 no\n\n", 17, &status, &hl),
		  -EINVAL);
	CHECK_INT(client__parse_head("HTTP/1.0 401 no\n\n", 17, &status, &hl),
		  0);
	CHECK_INT(status, 401);
}
