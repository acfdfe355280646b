/* SPDX-License-Identifier: MIT */
/*
 * Load generator for the JSON API: N connections on loopback, each sending
 * one "status" request at a time for a fixed duration. Prints one JSON line
 * with the request count, rate and latency percentiles. A benchmark, not a
 * test: it asserts nothing.
 *
 *   api_load HOST PORT CONNECTIONS SECONDS [REQUEST]
 *
 * REQUEST is the JSON line to send (default {"id":1,"cmd":"status"}).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS	256
#define MAX_SAMPLES	(4 * 1024 * 1024)

static char request[1024] = "{\"id\":1,\"cmd\":\"status\"}\n";
static size_t request_len;

struct conn {
	int	 fd;
	uint64_t sent_ns;
	char	 buf[8192];
	size_t	 len;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
open_conn(const char *host, int port)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_req(struct conn *c)
{
	c->sent_ns = now_ns();
	return write(c->fd, request, request_len) == (ssize_t)request_len ?
	    0 : -1;
}

int
main(int argc, char *argv[])
{
	static struct conn conns[MAX_CONNS];
	static struct pollfd pfd[MAX_CONNS];
	uint32_t *lat;
	size_t nlat = 0;
	uint64_t start, end, count = 0, errors = 0;
	int n, secs, port, i;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: api_load HOST PORT CONNECTIONS "
		    "SECONDS [REQUEST]\n");
		return 2;
	}
	if (argc == 6 && (size_t)snprintf(request, sizeof(request), "%s\n",
	    argv[5]) >= sizeof(request)) {
		fprintf(stderr, "api_load: request too long\n");
		return 2;
	}
	request_len = strlen(request);
	port = atoi(argv[2]);
	n = atoi(argv[3]);
	secs = atoi(argv[4]);
	if (n < 1 || n > MAX_CONNS || secs < 1 || port < 1) {
		fprintf(stderr, "api_load: bad arguments\n");
		return 2;
	}
	if ((lat = malloc(MAX_SAMPLES * sizeof(*lat))) == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		if ((conns[i].fd = open_conn(argv[1], port)) < 0) {
			fprintf(stderr, "api_load: connect: %s\n",
			    strerror(errno));
			return 1;
		}
		pfd[i].fd = conns[i].fd;
		pfd[i].events = POLLIN;
	}
	start = now_ns();
	end = start + (uint64_t)secs * 1000000000u;
	for (i = 0; i < n; i++)
		if (send_req(&conns[i]) < 0)
			return 1;
	while (now_ns() < end) {
		if (poll(pfd, (nfds_t)n, 1000) < 0 && errno != EINTR)
			return 1;
		for (i = 0; i < n; i++) {
			struct conn *c = &conns[i];
			ssize_t r;
			char *nl;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(c->fd, c->buf + c->len,
			    sizeof(c->buf) - c->len);
			if (r <= 0) {
				fprintf(stderr, "api_load: connection %d "
				    "closed\n", i);
				return 1;
			}
			c->len += (size_t)r;
			while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
				size_t used = (size_t)(nl - c->buf) + 1;
				uint64_t d = now_ns() - c->sent_ns;

				if (memmem(c->buf, used, "\"ok\":true", 9) ==
				    NULL)
					errors++;
				memmove(c->buf, c->buf + used, c->len - used);
				c->len -= used;
				count++;
				d /= 1000;	/* µs */
				if (nlat < MAX_SAMPLES)
					lat[nlat++] = d > UINT32_MAX ?
					    UINT32_MAX : (uint32_t)d;
				if (now_ns() < end && send_req(c) < 0)
					return 1;
			}
		}
	}
	end = now_ns();
	qsort(lat, nlat, sizeof(*lat), cmp_u32);
	printf("{\"connections\":%d,\"requests\":%llu,\"errors\":%llu,"
	    "\"seconds\":%.3f,\"rps\":%.0f,\"p50_us\":%u,\"p99_us\":%u,"
	    "\"max_us\":%u}\n", n, (unsigned long long)count,
	    (unsigned long long)errors, (double)(end - start) / 1e9,
	    (double)count / ((double)(end - start) / 1e9),
	    nlat ? lat[nlat / 2] : 0, nlat ? lat[(nlat * 99) / 100] : 0,
	    nlat ? lat[nlat - 1] : 0);
	free(lat);
	return 0;
}
