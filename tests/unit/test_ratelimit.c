/*
 * test_ratelimit — unit tests for gateway/ratelimit's client address: who
 * the client is behind --trust-proxy (issue 19, finding 1).
 *
 * A request is a bare h2o_req_t with X-Forwarded-For lines added in order
 * and a connection whose peer is chosen per test. Covers: a peer outside
 * the trusted set keeps its address whatever it sends; from a trusted
 * peer, the right-most entry outside the set across every line wins, so a
 * line the client wrote before the proxy's is never believed; CIDR
 * prefixes of both families (and malformed ones, which trust nothing);
 * entries that are not addresses, empty list elements, a chain of only
 * trusted hops; and an IPv4 peer seen as ::ffff:a.b.c.d on a dual-stack
 * listener.
 *
 * And the limits port's back-off (issue 19, finding 7), on the memory
 * adapter: free failures, then a wait doubling to its cap, per subject.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "gateway/limits.h"
#include "gateway/ratelimit.h"

static struct sockaddr_storage peer_addr;
static socklen_t peer_len;

static socklen_t get_peername(h2o_conn_t *conn, struct sockaddr *sa)
{
	(void)conn;
	memcpy(sa, &peer_addr, peer_len);
	return peer_len;
}

static void set_peer(const char *ip)
{
	memset(&peer_addr, 0, sizeof(peer_addr));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&peer_addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&peer_addr;
	if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		peer_len = sizeof(*v4);
	} else {
		assert_int_equal(inet_pton(AF_INET6, ip, &v6->sin6_addr), 1);
		v6->sin6_family = AF_INET6;
		peer_len = sizeof(*v6);
	}
}

/* The client address of a request from `peer` with X-Forwarded-For lines
 * `lines` (NULL-terminated) under --trust-proxy `trust` (may be NULL). */
static const char *client(const char *trust, const char *peer, const char *const *lines)
{
	static char out[CLIENT_IP_MAX];
	static const h2o_conn_callbacks_t callbacks = {.get_peername = get_peername};
	h2o_conn_t conn;
	memset(&conn, 0, sizeof(conn));
	conn.callbacks = &callbacks;
	h2o_req_t req;
	memset(&req, 0, sizeof(req));
	req.conn = &conn;
	h2o_mem_init_pool(&req.pool);
	set_peer(peer);
	h2o_add_header_by_str(&req.pool, &req.headers, H2O_STRLIT("x-request-id"), 0, NULL,
	                      H2O_STRLIT("unrelated"));
	for (size_t i = 0; lines && lines[i]; i++)
		h2o_add_header_by_str(&req.pool, &req.headers, H2O_STRLIT("x-forwarded-for"), 0,
		                      NULL, lines[i], strlen(lines[i]));
	ratelimit_client_ip(&req, trust, out);
	h2o_mem_clear_pool(&req.pool);
	return out;
}

#define LINES(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_untrusted_peers_keep_their_address(void **state)
{
	(void)state;
	assert_string_equal(client(NULL, "192.0.2.1", LINES("198.51.100.1")), "192.0.2.1");
	assert_string_equal(client("10.0.0.5", "192.0.2.1", LINES("198.51.100.1")), "192.0.2.1");
	assert_string_equal(client("10.0.0.0/8", "11.0.0.1", LINES("198.51.100.1")), "11.0.0.1");
	assert_string_equal(client("::1", "2001:db8::7", LINES("198.51.100.1")), "2001:db8::7");
	/* a trusted peer without the header is itself */
	assert_string_equal(client("10.0.0.5", "10.0.0.5", NULL), "10.0.0.5");
}

static void test_right_most_untrusted_entry_across_lines(void **state)
{
	(void)state;
	const char *t = "127.0.0.1";
	assert_string_equal(client(t, "127.0.0.1", LINES("198.51.100.9")), "198.51.100.9");
	assert_string_equal(client(t, "127.0.0.1", LINES("203.0.113.1, 198.51.100.9")),
	                    "198.51.100.9");
	/* HAProxy's option forwardfor: the client's own line, then the proxy's */
	assert_string_equal(client(t, "127.0.0.1", LINES("203.0.113.1", "198.51.100.9")),
	                    "198.51.100.9");
	assert_string_equal(
	    client(t, "127.0.0.1", LINES("203.0.113.1, 203.0.113.2", "198.51.100.9")),
	    "198.51.100.9");
	/* a forged trusted address further right is skipped like any hop */
	assert_string_equal(client(t, "127.0.0.1", LINES("203.0.113.1", "198.51.100.9, 127.0.0.1")),
	                    "198.51.100.9");
	/* white space and empty elements */
	assert_string_equal(client(t, "127.0.0.1", LINES(" 198.51.100.9 ,, \t")), "198.51.100.9");
	assert_string_equal(client(t, "127.0.0.1", LINES("198.51.100.9", ",", "")), "198.51.100.9");
	/* IPv6 entries */
	assert_string_equal(client(t, "127.0.0.1", LINES("2001:db8::1")), "2001:db8::1");
}

static void test_chains_of_trusted_proxies(void **state)
{
	(void)state;
	const char *t = "127.0.0.1, 10.0.0.0/8 ,fd00::/8";
	assert_string_equal(
	    client(t, "127.0.0.1", LINES("203.0.113.9", "198.51.100.40, 10.1.2.3", "10.200.0.1")),
	    "198.51.100.40");
	assert_string_equal(client(t, "fd00::5", LINES("198.51.100.41, fd12::1")), "198.51.100.41");
	assert_string_equal(client(t, "10.255.255.255", LINES("198.51.100.42")), "198.51.100.42");
	/* only trusted hops: the peer (nothing else can be said) */
	assert_string_equal(client(t, "127.0.0.1", LINES("10.0.0.1, 10.0.0.2")), "127.0.0.1");
}

static void test_prefixes(void **state)
{
	(void)state;
	const char *const fwd[] = {"198.51.100.1", NULL};
	/* /9 covers 10.0.0.0 - 10.127.255.255 */
	assert_string_equal(client("10.0.0.0/9", "10.127.0.1", fwd), "198.51.100.1");
	assert_string_equal(client("10.0.0.0/9", "10.128.0.1", fwd), "10.128.0.1");
	/* /0 trusts every IPv4 address, the forwarded one too: an IPv6
	 * entry is the first outside it */
	assert_string_equal(client("0.0.0.0/0", "192.0.2.1", LINES("2001:db8::9, 198.51.100.1")),
	                    "2001:db8::9");
	assert_string_equal(client("192.0.2.1/32", "192.0.2.1", fwd), "198.51.100.1");
	assert_string_equal(client("2001:db8::/33", "2001:db8:7fff::1", fwd), "198.51.100.1");
	assert_string_equal(client("2001:db8::/33", "2001:db8:8000::1", fwd), "2001:db8:8000::1");
	/* malformed prefixes trust nothing */
	const char *bad[] = {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/8x", "10.0.0.0/-1", "::/129",
	                     "nonsense",    "",          "10.0.0.0/8/8"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_string_equal(client(bad[i], "10.0.0.1", fwd), "10.0.0.1");
	/* families never match each other */
	assert_string_equal(client("::/0", "192.0.2.1", fwd), "192.0.2.1");
}

static void test_entries_that_are_not_addresses(void **state)
{
	(void)state;
	const char *t = "127.0.0.1";
	assert_string_equal(client(t, "127.0.0.1", LINES("1.2.3.4, not-an-ip")), "127.0.0.1");
	assert_string_equal(client(t, "127.0.0.1", LINES("198.51.100.1:4711")), "127.0.0.1");
	assert_string_equal(client(t, "127.0.0.1", LINES("[2001:db8::1]")), "127.0.0.1");
	assert_string_equal(client(t, "127.0.0.1", LINES("unknown")), "127.0.0.1");
	/* left of the client, garbage does not matter */
	assert_string_equal(client(t, "127.0.0.1", LINES("junk, 198.51.100.1")), "198.51.100.1");
	char long_entry[200];
	memset(long_entry, '1', sizeof(long_entry) - 1);
	long_entry[sizeof(long_entry) - 1] = '\0';
	assert_string_equal(client(t, "127.0.0.1", LINES(long_entry)), "127.0.0.1");
}

static void test_ipv4_peer_of_a_dual_stack_listener(void **state)
{
	(void)state;
	const char *const fwd[] = {"198.51.100.1", NULL};
	assert_string_equal(client("127.0.0.1", "::ffff:127.0.0.1", fwd), "198.51.100.1");
	assert_string_equal(client(NULL, "::ffff:192.0.2.7", fwd), "192.0.2.7");
	assert_string_equal(client("10.0.0.0/8", "::ffff:10.1.1.1", fwd), "198.51.100.1");
}

static uint32_t backoff(struct limits *l, const struct limit_rule *rule, const char *who, bool fail)
{
	uint32_t wait = 99;
	l->ops->backoff(l, rule, who, strlen(who), fail, &wait);
	return wait;
}

/* 3 failures free, then 1, 2, 4, 8 s, capped at 10; looking costs
 * nothing; subjects are apart. (Each wait is read right after the
 * failure that set it: a second of slack would only shorten it.) */
static void test_backoff_doubles_to_its_cap(void **state)
{
	(void)state;
	struct limits_options opt = {.max_buckets = 1000};
	struct limits *l = limits_memory_ops.open(&opt, NULL);
	const struct limit_rule rule = {"login-backoff", 3, 10};
	assert_int_equal(backoff(l, &rule, "alice", false), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(backoff(l, &rule, "alice", true), 0);
	static const uint32_t want[] = {1, 2, 4, 8, 10, 10};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(backoff(l, &rule, "alice", true), want[i]);
		assert_int_equal(backoff(l, &rule, "alice", false), want[i]); /* a look */
	}
	assert_int_equal(backoff(l, &rule, "bob", false), 0);
	assert_int_equal(backoff(l, &rule, "bob", true), 0);
	/* the same subject under another rule is another subject */
	const struct limit_rule other = {"other", 0, 10};
	assert_int_equal(backoff(l, &other, "alice", false), 0);
	assert_int_equal(backoff(l, &other, "alice", true), 1);
	l->ops->close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_untrusted_peers_keep_their_address),
	    cmocka_unit_test(test_right_most_untrusted_entry_across_lines),
	    cmocka_unit_test(test_chains_of_trusted_proxies),
	    cmocka_unit_test(test_prefixes),
	    cmocka_unit_test(test_entries_that_are_not_addresses),
	    cmocka_unit_test(test_ipv4_peer_of_a_dual_stack_listener),
	    cmocka_unit_test(test_backoff_doubles_to_its_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
