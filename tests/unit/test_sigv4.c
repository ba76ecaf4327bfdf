/*
 * test_sigv4 — presigned S3 URLs against the example AWS publishes in
 * "Authenticating Requests: Using Query Parameters (AWS Signature Version
 * 4)": GET examplebucket/test.txt, 2013-05-24, 86400 s, whose signature is
 * printed there.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "media/sigv4.h"

#define AWS_EXAMPLE_TIME 1369353600 /* 2013-05-24T00:00:00Z */

static struct sigv4_request example(void)
{
	return (struct sigv4_request){
		.scheme = "https",
		.host = "examplebucket.s3.amazonaws.com",
		.path = "/test.txt",
		.method = "GET",
		.region = "us-east-1",
		.service = "s3",
		.access_key = "AKIAIOSFODNN7EXAMPLE",
		.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		.now = AWS_EXAMPLE_TIME,
		.expires = 86400,
	};
}

static void test_aws_documented_example(void **state)
{
	(void)state;
	struct sigv4_request r = example();
	struct strbuf url = STRBUF_INIT;
	sigv4_presign(&r, &url);
	assert_string_equal(
		url.data,
		"https://examplebucket.s3.amazonaws.com/test.txt"
		"?X-Amz-Algorithm=AWS4-HMAC-SHA256"
		"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
	strbuf_deinit(&url);
}

static void test_every_input_is_signed(void **state)
{
	(void)state;
	struct sigv4_request base = example();
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	sigv4_presign(&base, &a);
	const char *sa = strstr(a.data, "X-Amz-Signature=");
	struct sigv4_request v[6];
	for (int i = 0; i < 6; i++)
		v[i] = base;
	v[0].method = "PUT";
	v[1].path = "/test2.txt";
	v[2].region = "eu-west-1";
	v[3].now = AWS_EXAMPLE_TIME + 1;
	v[4].expires = 60;
	struct sigv4_param part[] = {{"partNumber", "1"}, {"uploadId", "abc"}};
	v[5].params = part;
	v[5].nparams = 2;
	for (int i = 0; i < 6; i++) {
		strbuf_reset(&b);
		sigv4_presign(&v[i], &b);
		assert_string_not_equal(strstr(b.data, "X-Amz-Signature="), sa);
	}
	/* parameters are sorted into the canonical query: X-Amz-* sort
	 * before lower-case names */
	assert_non_null(strstr(b.data, "X-Amz-SignedHeaders=host&partNumber=1&uploadId=abc"));
	strbuf_deinit(&a);
	strbuf_deinit(&b);
}

static void test_uri_encoding(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	sigv4_uri_encode(&sb, "a b/c~d+é", strlen("a b/c~d+é"), 1);
	assert_string_equal(sb.data, "a%20b/c~d%2B%C3%A9");
	strbuf_reset(&sb);
	sigv4_uri_encode(&sb, "a/b", 3, 0);
	assert_string_equal(sb.data, "a%2Fb");
	strbuf_deinit(&sb);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_aws_documented_example),
	    cmocka_unit_test(test_every_input_is_signed),
	    cmocka_unit_test(test_uri_encoding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
