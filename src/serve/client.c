// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/* The agent's client side (client.h). */
#include "serve/client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/clock.h"
#include "serve/route.h"

#define DEFAULT_PORT "6060"

int client__parse_url(const char *url, struct client_url *u, char *err,
		      size_t errlen)
{
	const char *p, *host, *end, *port = NULL;
	char shown[96];
	size_t hlen;

	memset(u, 0, sizeof(*u));
	route__shown(url, shown, sizeof(shown));
	if (strncasecmp(url, "https://", 8) == 0) {
		snprintf(err, errlen,
			 "%s: the agent speaks plain HTTP: reach it "
			 "through an SSH tunnel (ssh -L 6060:127.0.0.1:6060 "
			 "HOST) or a TLS proxy, and give http://",
			 shown);
		return -EINVAL;
	}
	if (strncasecmp(url, "http://", 7) != 0)
		goto bad;
	p = url + 7;
	if (*p == '[') {
		host = p + 1;
		end = strchr(host, ']');
		if (!end)
			goto bad;
		hlen = (size_t)(end - host);
		p = end + 1;
	} else {
		host = p;
		hlen = strcspn(p, ":/");
		p += hlen;
	}
	if (*p == ':') {
		port = ++p;
		p += strspn(p, "0123456789");
		if (p == port || p - port > 5 || atoi(port) > 65535)
			goto bad;
	}
	if (*p == '/')
		p++;
	if (*p) {
		snprintf(err, errlen,
			 "%s: give the agent's address only, "
			 "http://HOST:PORT (the view asks for /stream itself)",
			 shown);
		return -EINVAL;
	}
	if (!hlen || hlen >= sizeof(u->host) || memchr(host, '@', hlen) != NULL)
		goto bad;
	memcpy(u->host, host, hlen);
	if (port)
		snprintf(u->port, sizeof(u->port), "%.*s",
			 (int)strspn(port, "0123456789"), port);
	else
		strcpy(u->port, DEFAULT_PORT);
	return 0;
bad:
	snprintf(err, errlen,
		 "%s is not an agent's address: give http://HOST:PORT, "
		 "e.g. http://127.0.0.1:6060",
		 shown);
	return -EINVAL;
}

int client__parse_head(const char *buf, size_t len, int *status,
		       size_t *head_len)
{
	const char *end = NULL;
	int code = 0;

	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] == '\n' && buf[i + 1] == '\n') {
			end = buf + i + 2;
			break;
		}
		if (i + 3 < len && memcmp(buf + i, "\r\n\r\n", 4) == 0) {
			end = buf + i + 4;
			break;
		}
	}
	/* "HTTP/1.x NNN": the status line's start is enough to judge. */
	if (len >= 5 && memcmp(buf, "HTTP/", 5) != 0)
		return -EINVAL;
	if (!end)
		return len > CLIENT_HEAD_MAX ? -EINVAL : -EAGAIN;
	if ((size_t)(end - buf) > CLIENT_HEAD_MAX || len < 12 ||
	    memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
		return -EINVAL;
	for (int i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -EINVAL;
		code = code * 10 + (buf[i] - '0');
	}
	if (code < 100 ||
	    (len > 12 && buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n'))
		return -EINVAL;
	*status = code;
	*head_len = (size_t)(end - buf);
	return 0;
}

/* Connects fd to ai within timeout_ms.  0 or -errno. */
static int connect_timeout(int fd, const struct addrinfo *ai, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int flags = fcntl(fd, F_GETFL), err = 0;
	socklen_t len = sizeof(err);

	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS)
		return -errno;
	if (poll(&pfd, 1, timeout_ms) != 1)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || err)
		return -(err ? err : errno);
	fcntl(fd, F_SETFL, flags);
	return 0;
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -errno;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int client__get(const struct client_url *u, const char *target,
		const char *token, int timeout_ms, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	char *req = NULL;
	int fd = -1, rc, n;

	rc = getaddrinfo(u->host, u->port, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "cannot find %s: %s", u->host,
			 gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	rc = -ECONNREFUSED;
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
			    a->ai_protocol);
		if (fd < 0) {
			rc = -errno;
			continue;
		}
		rc = connect_timeout(fd, a, timeout_ms);
		if (!rc)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		snprintf(err, errlen,
			 "cannot connect to %s port %s: %s: is `pyprof-bpf "
			 "serve` running there, listening on that address?",
			 u->host, u->port, strerror(-rc));
		return rc;
	}
	n = asprintf(&req,
		     "GET %s HTTP/1.0\r\nHost: %s%s%s:%s\r\n"
		     "User-Agent: pyprof-bpf-view\r\n%s%s%s\r\n",
		     target, strchr(u->host, ':') ? "[" : "", u->host,
		     strchr(u->host, ':') ? "]" : "", u->port,
		     token ? "Authorization: Bearer " : "", token ? token : "",
		     token ? "\r\n" : "");
	if (n < 0) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = write_all(fd, req, (size_t)n);
	free(req);
	if (rc) {
		close(fd);
		snprintf(err, errlen, "cannot send the request to %s: %s",
			 u->host, strerror(-rc));
		return rc;
	}
	return fd;
}

int client__read_head(int fd, int timeout_ms, int *status, char **body,
		      size_t *blen, char *err, size_t errlen)
{
	double end = clock__now() + timeout_ms / 1000.0;
	char *buf = malloc(CLIENT_HEAD_MAX + 1);
	size_t len = 0, head;
	int rc;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int left = (int)((end - clock__now()) * 1000);
		ssize_t r;

		rc = client__parse_head(buf, len, status, &head);
		if (rc != -EAGAIN)
			break;
		if (left <= 0 || poll(&pfd, 1, left) != 1) {
			rc = -ETIMEDOUT;
			break;
		}
		r = read(fd, buf + len, CLIENT_HEAD_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -ECONNRESET;
			break;
		}
		len += (size_t)r;
	}
	if (rc == -EINVAL)
		snprintf(err, errlen,
			 "the server's answer is not HTTP: is it a pyprof-bpf "
			 "serve agent?");
	else if (rc)
		snprintf(err, errlen, "no answer from the agent: %s",
			 strerror(-rc));
	if (rc) {
		free(buf);
		return rc;
	}
	memmove(buf, buf + head, len - head);
	*body = buf;
	*blen = len - head;
	return 0;
}

int client__read_token(const char *path, char *buf, size_t len, bool *loose,
		       char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	int fd, rc;

	*loose = false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st)) {
		rc = -errno;
		snprintf(err, errlen,
			 "cannot read the token file %s: %s: give a readable "
			 "file with --token-file",
			 path, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen,
			 "the token file %s is not a regular file: give a "
			 "file that holds the token",
			 path);
		close(fd);
		return -EINVAL;
	}
	n = read(fd, buf, len - 1);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc) {
		snprintf(err, errlen, "cannot read the token file %s: %s", path,
			 strerror(-rc));
		return rc;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!route__token_ok(buf, err, errlen))
		return -EINVAL;
	*loose = (st.st_mode & 0077) != 0;
	return 0;
}
