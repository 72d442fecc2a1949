/* SPDX-License-Identifier: MIT */
/*
 * test_steps.c - the path of a request through the steps (steps_tbl.h),
 * driven by hp_pipeline_run on one worker whose loop runs in the test
 * thread. The client is a socketpair; the origin is a listening socket on
 * 127.0.0.1 that the test answers with canned responses. The path is read
 * from the driver's debug lines "request N: a -> b", captured by pointing
 * stderr at a pipe while the loop runs. Then bodies through the chain
 * body.c builds: de-chunked for HTTP/1.0, a chunked fill stored decoded,
 * a close-delimited body re-chunked, a range of a stored object.
 *
 * Every loop run waits for a condition polled by a 1 ms timer and is
 * bounded by a 5 s watchdog that fails the test; teardown closes what is
 * left through the loop, so LeakSanitizer checks the paths free what they
 * took.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "core/log.h"
#include "net/net.h"
#include "proxy/proxy.h"
#include "proxy/proxy_priv.h"

#define WATCHDOG_MS 5000
#define ORIGIN_FDS 8

static struct {
	struct hp_config *cfg;
	size_t nlisten;                /* cfg's, hidden from the proxy */
	struct hp_proxy *px;
	struct hp_worker *w;
	int lfd;                       /* the origin's listening socket */
	int ofd[ORIGIN_FDS];           /* the origin's accepted connections */
	char oin[ORIGIN_FDS][4096];    /* request bytes read on each, not yet answered */
	size_t oin_len[ORIGIN_FDS];
	size_t nofd;
	const char *answer;            /* the origin's response to every request */
	bool close_after_answer;       /* the origin closes to end its body... */
	const char *close_when_got;    /* ...once the client got this (NULL: at once) */
	unsigned origin_requests;
	int peer;                      /* the client's end of the socketpair */
	char got[16384];               /* what the client received */
	size_t got_len;
	bool got_eof;
	int logpipe;                   /* read end of stderr while the loop runs */
	char log[16384];               /* captured log text */
	size_t log_len;
	struct hp_timer poll;
	struct hp_timer watchdog;
	bool (*until)(void);
	bool timed_out;
} T;

/* ==== The origin and the client's end, serviced every millisecond ==== */

static void origin_service(void)
{
	for (;;) {
		int fd = accept4(T.lfd, NULL, NULL, SOCK_NONBLOCK);
		if (fd < 0)
			break;
		assert_true(T.nofd < ORIGIN_FDS);
		T.oin_len[T.nofd] = 0;
		T.ofd[T.nofd++] = fd;
	}
	for (size_t i = 0; i < T.nofd; i++) {
		if (T.ofd[i] < 0)
			continue;
		size_t room = sizeof(T.oin[i]) - T.oin_len[i];
		ssize_t r = read(T.ofd[i], T.oin[i] + T.oin_len[i], room);
		if (r == 0) {
			close(T.ofd[i]);
			T.ofd[i] = -1;
			continue;
		}
		if (r > 0)
			T.oin_len[i] += (size_t)r;
		/* Requests without a body: one answer per complete head. */
		char *end;
		while ((end = memmem(T.oin[i], T.oin_len[i], "\r\n\r\n", 4)) != NULL) {
			size_t head = (size_t)(end - T.oin[i]) + 4;
			memmove(T.oin[i], T.oin[i] + head, T.oin_len[i] - head);
			T.oin_len[i] -= head;
			T.origin_requests++;
			size_t len = strlen(T.answer);
			assert_int_equal(write(T.ofd[i], T.answer, len), (ssize_t)len);
			if (T.close_after_answer && T.close_when_got == NULL) {
				close(T.ofd[i]);
				T.ofd[i] = -1;
				break;
			}
		}
	}
}

/* Close the origin's connections once the client got <close_when_got>:
 * the proxy has then read the body, and sees the close as a later event. */
static void origin_close_late(void)
{
	if (!T.close_after_answer || T.close_when_got == NULL ||
	    memmem(T.got, T.got_len, T.close_when_got, strlen(T.close_when_got)) == NULL)
		return;
	for (size_t i = 0; i < T.nofd; i++) {
		if (T.ofd[i] >= 0)
			close(T.ofd[i]);
		T.ofd[i] = -1;
	}
}

static void client_service(void)
{
	for (;;) {
		ssize_t r = read(T.peer, T.got + T.got_len, sizeof(T.got) - T.got_len);
		if (r > 0) {
			T.got_len += (size_t)r;
			assert_true(T.got_len < sizeof(T.got));
			continue;
		}
		if (r == 0 || errno == ECONNRESET)
			T.got_eof = true;
		return;
	}
}

static void log_service(void)
{
	for (;;) {
		ssize_t r = read(T.logpipe, T.log + T.log_len, sizeof(T.log) - 1 - T.log_len);
		if (r <= 0)
			break;
		T.log_len += (size_t)r;
		assert_true(T.log_len < sizeof(T.log) - 1);
	}
	T.log[T.log_len] = '\0';
}

static void on_poll(struct hp_timer *t)
{
	(void)t;
	origin_service();
	client_service();
	origin_close_late();
	log_service();
	if (T.until())
		hp_loop_stop(T.w->loop);
	else
		hp_timer_start(T.w->loop, &T.poll, 1, on_poll);
}

static void on_watchdog(struct hp_timer *t)
{
	(void)t;
	T.timed_out = true;
	hp_loop_stop(T.w->loop);
}

/* Run the worker's loop until <until>, with stderr going to the log pipe. */
static void run_until(bool (*until)(void))
{
	T.until = until;
	T.timed_out = false;
	int pipefd[2];
	assert_int_equal(pipe2(pipefd, O_NONBLOCK), 0);
	int saved = dup(2);
	dup2(pipefd[1], 2);
	close(pipefd[1]);
	T.logpipe = pipefd[0];
	hp_timer_start(T.w->loop, &T.poll, 1, on_poll);
	hp_timer_start(T.w->loop, &T.watchdog, WATCHDOG_MS, on_watchdog);
	hp_loop_run(T.w->loop);
	hp_timer_stop(T.w->loop, &T.poll);
	hp_timer_stop(T.w->loop, &T.watchdog);
	dup2(saved, 2);
	close(saved);
	log_service();
	close(T.logpipe);
	if (T.timed_out) {
		print_message("log:\n%s", T.log);
		fail_msg("timed out; got \"%.*s\"", (int)T.got_len, T.got);
	}
}

/* ==== Reading what happened ==== */

/* The steps the connection went through, from the driver's lines: "recv
 * route ... log recv ...", ending in "closed" when it closed. A step that
 * runs itself again (fetch while connecting) counts once: how often it
 * does depends on timing. The request number is not used: the driver
 * labels a request's last transition (log -> recv or closed) with the
 * next request's number, since the log step counts the request first. */
static void path_of(char *out, size_t max)
{
	size_t len = 0;
	char last[32] = "";
	out[0] = '\0';
	for (const char *p = T.log; (p = strstr(p, " request ")) != NULL; p++) {
		const char *from = strstr(p, ": ");
		const char *eol = strchr(p, '\n');
		if (from == NULL || eol == NULL || from > eol)
			continue;
		from += 2;
		const char *arrow = strstr(from, " -> ");
		if (arrow == NULL || arrow > eol)
			continue;
		char a[32];
		char b[32];
		snprintf(a, sizeof(a), "%.*s", (int)(arrow - from), from);
		snprintf(b, sizeof(b), "%.*s", (int)(eol - arrow - 4), arrow + 4);
		if (strcmp(a, last) != 0)
			len += (size_t)snprintf(out + len, max - len, "%s%s", len ? " " : "", a);
		if (strcmp(b, a) != 0)
			len += (size_t)snprintf(out + len, max - len, " %s", b);
		snprintf(last, sizeof(last), "%s", b);
	}
}

static void keep_payload(void *arg, const char *data, size_t len)
{
	struct {
		char *p;
		size_t n;
		size_t max;
	} *k = arg;
	assert_true(k->n + len <= k->max);
	memcpy(k->p + k->n, data, len);
	k->n += len;
}

/* A complete response at the front of what the client got, framed by
 * Content-Length or chunked: its length, or 0. */
static size_t response_len(const char *p, size_t len)
{
	const char *end = memmem(p, len, "\r\n\r\n", 4);
	if (end == NULL)
		return 0;
	size_t head = (size_t)(end - p) + 4;
	if (memmem(p, head, "Transfer-Encoding: chunked\r\n", 28) != NULL) {
		struct hp_http_chunked st = {0};
		bool done = false;
		ssize_t n = hp_http_chunked_feed(&st, p + head, len - head, &done, NULL, NULL);
		assert_true(n >= 0);
		return done ? head + (size_t)n : 0;
	}
	const char *cl = memmem(p, head, "Content-Length: ", 16);
	if (cl == NULL && memcmp(p, "HTTP/1.1 200", 12) == 0)
		return T.got_eof ? len : 0; /* delimited by the close */
	size_t body = cl != NULL ? strtoul(cl + 16, NULL, 10) : 0;
	return len >= head + body ? head + body : 0;
}

/* The body of response <i> (0-based), de-chunked if it is chunked. */
static void body_of(unsigned i, char *out, size_t max, size_t *blen)
{
	size_t at = 0;
	for (unsigned n = 0; n < i; n++)
		at += response_len(T.got + at, T.got_len - at);
	size_t len = response_len(T.got + at, T.got_len - at);
	const char *p = T.got + at;
	size_t head = (size_t)((const char *)memmem(p, len, "\r\n\r\n", 4) - p) + 4;
	*blen = 0;
	if (memmem(p, head, "Transfer-Encoding: chunked\r\n", 28) == NULL) {
		assert_true(len - head <= max);
		memcpy(out, p + head, len - head);
		*blen = len - head;
		return;
	}
	struct hp_http_chunked st = {0};
	bool done = false;
	struct sink {
		char *p;
		size_t n;
		size_t max;
	} k = {out, 0, max};
	assert_true(hp_http_chunked_feed(&st, p + head, len - head, &done, keep_payload, &k) >= 0);
	assert_true(done);
	*blen = k.n;
}

/* Does the head of response <i> have the line <line>? */
static bool head_has(unsigned i, const char *line)
{
	size_t at = 0;
	for (unsigned n = 0; n < i; n++)
		at += response_len(T.got + at, T.got_len - at);
	const char *p = T.got + at;
	const char *end = memmem(p, T.got_len - at, "\r\n\r\n", 4);
	assert_non_null(end);
	return memmem(p, (size_t)(end - p) + 2, line, strlen(line)) != NULL;
}

static unsigned want_responses;

static bool responses_in(void)
{
	size_t at = 0;
	unsigned n = 0;
	size_t k;
	while (n < want_responses && (k = response_len(T.got + at, T.got_len - at)) > 0) {
		at += k;
		n++;
	}
	return n == want_responses;
}

static bool client_closed(void)
{
	return T.got_eof;
}

/* The status of response <i> (0-based) the client got. */
static int status_of(unsigned i)
{
	size_t at = 0;
	for (unsigned n = 0; n < i; n++)
		at += response_len(T.got + at, T.got_len - at);
	int status = 0;
	assert_int_equal(sscanf(T.got + at, "HTTP/1.1 %d", &status), 1);
	return status;
}

/* ==== Fixture ==== */

static int setup(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	T.lfd = hp_net_listen((struct sockaddr *)&sin, sizeof(sin), false, 16);
	assert_true(T.lfd >= 0);
	socklen_t slen = sizeof(sin);
	assert_int_equal(getsockname(T.lfd, (struct sockaddr *)&sin, &slen), 0);
	char json[1024];
	snprintf(json, sizeof(json),
		 "{\"listen\": [\"127.0.0.1:1\"], \"workers\": 1,"
		 " \"upstreams\": {\"o\": {\"servers\": [\"http://127.0.0.1:%u\"]}},"
		 " \"routes\": ["
		 "  {\"host\": \"pass.test\", \"upstream\": \"o\","
		 "   \"cache\": {\"enabled\": false}},"
		 "  {\"host\": \"cache.test\", \"upstream\": \"o\"}]}",
		 ntohs(sin.sin_port));
	struct hp_config_error cerr;
	T.cfg = hp_config_load_buffer("steps.json", json, strlen(json), NULL, NULL, &cerr);
	if (T.cfg == NULL)
		fail_msg("load: %s", cerr.msg);
	/* No listening socket: the test hands the worker its connections.
	 * (The config wants one address; it is put back for destroy.) */
	T.nlisten = T.cfg->nlisten;
	T.cfg->nlisten = 0;
	char err[256] = "";
	T.px = hp_proxy_create(T.cfg, err, sizeof(err));
	if (T.px == NULL)
		fail_msg("proxy: %s", err);
	T.w = &T.px->workers[0];
	hp_log_set_level(HP_LOG_DEBUG);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hp_log_set_level(HP_LOG_WARN);
	while (!hp_list_empty(&T.w->clients))
		hp_client_close(HP_LIST_FIRST(&T.w->clients, struct hp_client, link));
	hp_loop_flush(T.w->loop);
	hp_proxy_destroy(T.px);
	T.cfg->nlisten = T.nlisten;
	hp_config_destroy(T.cfg);
	if (T.peer > 0)
		close(T.peer);
	for (size_t i = 0; i < T.nofd; i++)
		if (T.ofd[i] >= 0)
			close(T.ofd[i]);
	close(T.lfd);
	return 0;
}

/* A client connection on the worker that has already sent <req>. */
static void connect_client(const char *req)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	T.peer = sv[1];
	assert_int_equal(write(T.peer, req, strlen(req)), (ssize_t)strlen(req));
	struct sockaddr_storage peer = {0};
	struct sockaddr_in *sin = (struct sockaddr_in *)&peer;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	atomic_fetch_add(&T.px->nclients, 1);
	/* The first run happens here, before the loop; its lines go to the
	 * real stderr, so the loop runs once more to catch everything. */
	int pipefd[2];
	assert_int_equal(pipe2(pipefd, O_NONBLOCK), 0);
	int saved = dup(2);
	dup2(pipefd[1], 2);
	close(pipefd[1]);
	T.logpipe = pipefd[0];
	hp_client_accept(T.w, sv[0], &peer, 0, hp_pipeline_run);
	dup2(saved, 2);
	close(saved);
	log_service();
	close(T.logpipe);
}

static void send_more(const char *req)
{
	assert_int_equal(write(T.peer, req, strlen(req)), (ssize_t)strlen(req));
}

#define PATH_IS(want) \
	do { \
		char path_[1024]; \
		path_of(path_, sizeof(path_)); \
		if (strcmp(path_, (want)) != 0) { \
			print_message("log:\n%s", T.log); \
			fail_msg("path \"%s\", want \"%s\"", path_, (want)); \
		} \
	} while (0)

/* ==== Paths ==== */

static void test_pass_through_get(void **state)
{
	(void)state;
	T.answer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
	connect_client("GET /a HTTP/1.1\r\nHost: pass.test\r\n\r\n");
	want_responses = 1;
	run_until(responses_in);
	assert_int_equal(status_of(0), 200);
	assert_int_equal(T.origin_requests, 1);
	PATH_IS("recv route limit lookup pass body fetch deliver log recv");
}

static void test_cache_miss_then_hit(void **state)
{
	(void)state;
	T.answer = "HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nContent-Length: 6\r\n\r\n"
		   "stored";
	connect_client("GET /c HTTP/1.1\r\nHost: cache.test\r\n\r\n");
	want_responses = 1;
	run_until(responses_in);
	send_more("GET /c HTTP/1.1\r\nHost: cache.test\r\n\r\n");
	want_responses = 2;
	run_until(responses_in);
	assert_int_equal(status_of(0), 200);
	assert_int_equal(status_of(1), 200);
	assert_int_equal(T.origin_requests, 1);
	assert_non_null(memmem(T.got, T.got_len, "stored", 6));
	PATH_IS("recv route limit lookup l2 body fetch deliver log recv"
		" route limit lookup hit deliver log recv");
}

static void test_no_route_is_404(void **state)
{
	(void)state;
	T.answer = "HTTP/1.1 500 Unexpected\r\nContent-Length: 0\r\n\r\n";
	connect_client("GET / HTTP/1.1\r\nHost: nowhere.test\r\n\r\n");
	run_until(client_closed);
	assert_true(response_len(T.got, T.got_len) > 0);
	assert_int_equal(status_of(0), 404);
	assert_int_equal(T.origin_requests, 0);
	/* Every 4xx closes the connection (respond.c). */
	PATH_IS("recv route deliver log closed");
}

static void test_malformed_head_is_400_then_close(void **state)
{
	(void)state;
	T.answer = "HTTP/1.1 500 Unexpected\r\nContent-Length: 0\r\n\r\n";
	connect_client("GET / HTTP/1.1\r\nHost : bad.test\r\n\r\n");
	run_until(client_closed);
	assert_true(response_len(T.got, T.got_len) > 0);
	assert_int_equal(status_of(0), 400);
	assert_int_equal(T.origin_requests, 0);
	PATH_IS("recv deliver log closed");
}

/* ==== Bodies through the chain body.c builds ==== */

#define BODY_IS(i, want) \
	do { \
		char body_[8192]; \
		size_t blen_; \
		body_of((i), body_, sizeof(body_), &blen_); \
		assert_int_equal(blen_, strlen(want)); \
		assert_memory_equal(body_, (want), blen_); \
	} while (0)

static const char chunked_answer[] = "HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\n"
				     "Transfer-Encoding: chunked\r\n\r\n"
				     "4;x=1\r\nwiki\r\n5\r\npedia\r\n0\r\nT: v\r\n\r\n";

static void test_http10_client_gets_a_dechunked_body(void **state)
{
	(void)state;
	T.answer = chunked_answer;
	connect_client("GET /d HTTP/1.0\r\nHost: pass.test\r\n\r\n");
	run_until(client_closed);
	assert_int_equal(status_of(0), 200);
	assert_false(head_has(0, "Transfer-Encoding"));
	BODY_IS(0, "wikipedia");
	PATH_IS("recv route limit lookup pass body fetch deliver log closed");
}

static void test_chunked_fill_is_stored_decoded(void **state)
{
	(void)state;
	T.answer = chunked_answer;
	connect_client("GET /f HTTP/1.1\r\nHost: cache.test\r\n\r\n");
	want_responses = 1;
	run_until(responses_in);
	send_more("GET /f HTTP/1.1\r\nHost: cache.test\r\n\r\n");
	want_responses = 2;
	run_until(responses_in);
	assert_int_equal(T.origin_requests, 1);
	/* The filling client gets the chunks, the hit a stored, decoded body. */
	assert_true(head_has(0, "Transfer-Encoding: chunked\r\n"));
	BODY_IS(0, "wikipedia");
	assert_true(head_has(1, "Content-Length: 9\r\n"));
	BODY_IS(1, "wikipedia");
	PATH_IS("recv route limit lookup l2 body fetch deliver log recv"
		" route limit lookup hit deliver log recv");
}

static void close_delimited_body(const char *close_when_got)
{
	T.answer = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the origin closes";
	T.close_after_answer = true;
	T.close_when_got = close_when_got;
	connect_client("GET /e HTTP/1.1\r\nHost: pass.test\r\n\r\n");
	want_responses = 1;
	run_until(responses_in);
	assert_true(head_has(0, "Transfer-Encoding: chunked\r\n"));
	BODY_IS(0, "until the origin closes");
	PATH_IS("recv route limit lookup pass body fetch deliver log recv");
}

static void test_close_delimited_body_is_rechunked(void **state)
{
	(void)state;
	close_delimited_body("origin closes");
}

/* Regression: the close read together with the head was lost, so the body
 * never ended (the client waited for read_timeout, then got a truncated
 * body). */
static void test_close_delimited_body_ending_with_its_head_is_rechunked(void **state)
{
	(void)state;
	close_delimited_body(NULL);
}

static void test_range_of_a_stored_object(void **state)
{
	(void)state;
	T.answer = "HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nContent-Length: 10\r\n\r\n"
		   "0123456789";
	connect_client("GET /r HTTP/1.1\r\nHost: cache.test\r\n\r\n");
	want_responses = 1;
	run_until(responses_in);
	send_more("GET /r HTTP/1.1\r\nHost: cache.test\r\nRange: bytes=2-5\r\n\r\n");
	want_responses = 2;
	run_until(responses_in);
	assert_int_equal(T.origin_requests, 1);
	assert_int_equal(status_of(1), 206);
	assert_true(head_has(1, "Content-Range: bytes 2-5/10\r\n"));
	BODY_IS(1, "2345");
	PATH_IS("recv route limit lookup l2 body fetch deliver log recv"
		" route limit lookup hit deliver log recv");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pass_through_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_miss_then_hit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_route_is_404, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_head_is_400_then_close, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http10_client_gets_a_dechunked_body, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_chunked_fill_is_stored_decoded, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_close_delimited_body_is_rechunked, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_close_delimited_body_ending_with_its_head_is_rechunked, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_range_of_a_stored_object, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
