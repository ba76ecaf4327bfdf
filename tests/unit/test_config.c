/*
 * test_config — unit tests for config (the flag table of chirp serve).
 *
 * What a user notices: --help lists every flag with the default chirp
 * really uses and the variable that overrides it; a flag works as
 * `--flag VALUE` and as `--flag=VALUE`; a variable overrides the default
 * and the flag overrides the variable; a value out of range, an unknown
 * flag or a missing value stops chirp with an error instead of serving
 * with something else. docs/operations.md shows the same defaults as
 * --help. The HTTP tests (tests/http/) check the same from
 * outside, for the flags they use.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "util/strbuf.h"

/* Every variable of the table unset, so the caller's environment cannot
 * change the outcome. */
static int clear_env(void **state)
{
	(void)state;
	struct config_flag_doc d;
	for (size_t i = 0; config_flag_doc(i, &d); i++)
		if (d.env)
			unsetenv(d.env);
	return 0;
}

/* config_parse with its help and error messages sent to /dev/null, so
 * the test's own output stays readable. */
static enum config_result quiet_parse(struct chirp_config *cfg, int argc, char **argv)
{
	fflush(stdout);
	fflush(stderr);
	int out = dup(1), err = dup(2), null = open("/dev/null", O_WRONLY);
	assert_true(out >= 0 && err >= 0 && null >= 0);
	dup2(null, 1);
	dup2(null, 2);
	enum config_result r = config_parse(cfg, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(out, 1);
	dup2(err, 2);
	close(out);
	close(err);
	close(null);
	return r;
}

/* config_parse on "chirp serve ARGS..." (NULL-terminated). */
static enum config_result parse(struct chirp_config *cfg, ...)
{
	char *argv[32] = {"chirp", "serve"};
	int argc = 2;
	va_list ap;
	va_start(ap, cfg);
	for (char *a; (a = va_arg(ap, char *)) != NULL;) {
		assert_true(argc < 31);
		argv[argc++] = a;
	}
	va_end(ap);
	return quiet_parse(cfg, argc, argv);
}

/* Collapses runs of spaces and newlines to one space, so a default that
 * --help wrapped over two lines is found as one string. */
static void squeeze(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		bool space = *r == ' ' || *r == '\n';
		if (!space || (w > s && w[-1] != ' '))
			*w++ = space ? ' ' : *r;
	}
	*w = '\0';
}

/* ---- --help ------------------------------------------------------------- */

/* Each flag's own entry in --help (from its "--name" up to the next flag
 * or section) shows its default and its variable as "[VAR, default]". */
static void test_help_shows_every_flag_with_default_and_env(void **state)
{
	(void)state;
	struct strbuf help = STRBUF_INIT;
	config_help(&help);
	struct config_flag_doc d;
	size_t n = 0;
	for (size_t i = 0; config_flag_doc(i, &d); i++, n++) {
		char want[64];
		snprintf(want, sizeof want, "\n  --%s", d.name);
		const char *at = strstr(help.data, want);
		if (!at) {
			fail_msg("--%s is not in --help:\n%s", d.name, help.data);
			return; /* for the compiler: fail_msg is not declared noreturn */
		}
		char c = at[strlen(want)];
		assert_true(c == ' ' || c == '\n'); /* not a longer flag's prefix */
		const char *next = strstr(at + 1, "\n  -");
		const char *section = strstr(at + 1, "\n\n");
		if (!next || (section && section < next))
			next = section;
		assert_non_null(next);
		char *entry = strndup(at, (size_t)(next - at));
		squeeze(entry);

		char bracket[256];
		if (d.def)
			snprintf(bracket, sizeof bracket, "[%s%s%s]", d.env ? d.env : "",
			         d.env ? ", " : "", d.def);
		else if (d.env)
			snprintf(bracket, sizeof bracket, "[%s]", d.env);
		else
			bracket[0] = '\0';
		if (!strstr(entry, bracket))
			fail_msg("--%s: %s is not in its help entry: %s", d.name, bracket, entry);
		free(entry);
	}
	assert_true(n >= 40); /* the whole table, not an empty iterator */
	strbuf_deinit(&help);
}

/* docs/operations.md explains every flag in a table row that starts
 * "| `--name" and shows the same default and variable as --help. Read from
 * the repository root, where `make unit` runs the tests. */
static void test_operations_doc_agrees_with_the_table(void **state)
{
	(void)state;
	FILE *f = fopen("docs/operations.md", "r");
	if (!f) {
		fail_msg("docs/operations.md not found: run from the repository root");
		return; /* for the compiler: fail_msg is not declared noreturn */
	}
	struct strbuf doc = STRBUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		strbuf_append(&doc, chunk, n);
	fclose(f);

	struct config_flag_doc d;
	for (size_t i = 0; config_flag_doc(i, &d); i++) {
		char want[64];
		snprintf(want, sizeof want, "\n| `--%s", d.name);
		const char *row = strstr(doc.data, want);
		while (row && row[strlen(want)] != ' ' && row[strlen(want)] != '`')
			row = strstr(row + 1, want); /* --max-streams, not -per-user */
		if (!row) {
			fail_msg("--%s has no row in docs/operations.md", d.name);
			return; /* for the compiler: fail_msg is not declared noreturn */
		}
		const char *end = strchr(row + 1, '\n');
		char *text = strndup(row, end ? (size_t)(end - row) : strlen(row));
		if (d.def && !strstr(text, d.def))
			fail_msg("docs/operations.md: --%s's default is not %s: %s", d.name, d.def,
			         text);
		if (d.env && !strstr(text, d.env))
			fail_msg("docs/operations.md: --%s's variable %s is missing: %s", d.name,
			         d.env, text);
		free(text);
	}
	strbuf_deinit(&doc);
}

/* The shown default is the one used: chirp serve with nothing else. */
static void test_defaults_are_the_documented_ones(void **state)
{
	(void)state;
	struct chirp_config cfg;
	assert_int_equal(parse(&cfg, NULL), CONFIG_RUN);
	assert_string_equal(cfg.listen, "127.0.0.1:8080");
	assert_string_equal(cfg.data_dir, "./data");
	assert_int_equal(cfg.node_id, 0);
	assert_int_equal(cfg.read_timeout_ms, 10000);
	assert_int_equal(cfg.timeline_bytes, (size_t)1024 << 20);
	assert_int_equal(cfg.media_max_bytes, 16u << 20);
	assert_true(cfg.rate_limits);
	assert_string_equal(cfg.limits[BUDGET_LOGIN_HANDLE].name, "login-handle");
	assert_int_equal(cfg.limits[BUDGET_POST].count, 300);
	assert_int_equal(cfg.limits[BUDGET_POST].seconds, 10800);
	assert_string_equal(cfg.access_log, "-");
	assert_false(cfg.access_log_text);
	assert_int_equal(cfg.access_log_min_status, 0);
	assert_null(cfg.trust_proxy);
	assert_null(cfg.blob_s3_endpoint);
	assert_string_equal(cfg.blob_s3_region, "us-east-1");
	assert_true(cfg.threads >= 1);
	assert_true(cfg.hash_threads >= 1 && cfg.hash_threads <= cfg.threads);
	assert_false(cfg.password_hash_test); /* real Argon2id cost unless told */
}

/* ---- values ------------------------------------------------------------- */

static void test_flag_value_and_flag_equals_value(void **state)
{
	(void)state;
	struct chirp_config cfg;
	assert_int_equal(parse(&cfg, "--max-inflight", "7", "--listen=0.0.0.0:9", NULL),
	                 CONFIG_RUN);
	assert_int_equal(cfg.max_inflight, 7);
	assert_string_equal(cfg.listen, "0.0.0.0:9");
	assert_int_equal(parse(&cfg, "--max-inflight=8", "--listen", "0.0.0.0:10", NULL),
	                 CONFIG_RUN);
	assert_int_equal(cfg.max_inflight, 8);
	assert_string_equal(cfg.listen, "0.0.0.0:10");
}

/* A password in the --store value (URL or key=value form) reaches the
 * store, and is overwritten where ps and /proc show it: argv and the
 * environment. */
static void test_store_password_is_hidden(void **state)
{
	(void)state;
	struct chirp_config cfg;
	char url[] = "postgresql://chirp:s3cret@db:5432/chirp";
	assert_int_equal(parse(&cfg, "--store", url, NULL), CONFIG_RUN);
	assert_string_equal(cfg.store, "postgresql://chirp:s3cret@db:5432/chirp");
	assert_string_equal(url, "postgresql://chirp:******@db:5432/chirp");

	char kv[] = "host=db password=hunter2 dbname=chirp";
	assert_int_equal(parse(&cfg, "--store", kv, NULL), CONFIG_RUN);
	assert_string_equal(cfg.store, "host=db password=hunter2 dbname=chirp");
	assert_null(strstr(kv, "hunter2"));

	setenv("CHIRP_STORE", "postgres://u:pw@h/d", 1);
	assert_int_equal(parse(&cfg, NULL), CONFIG_RUN);
	assert_string_equal(cfg.store, "postgres://u:pw@h/d");
	assert_string_equal(getenv("CHIRP_STORE"), "postgres://u:**@h/d");
	unsetenv("CHIRP_STORE");
}

/* Seconds and MiB on the command line, milliseconds and bytes inside. */
static void test_units_are_converted(void **state)
{
	(void)state;
	struct chirp_config cfg;
	assert_int_equal(parse(&cfg, "--read-timeout", "3", "--timeline-memory=5",
	                       "--media-retry-base", "250", NULL),
	                 CONFIG_RUN);
	assert_int_equal(cfg.read_timeout_ms, 3000);
	assert_int_equal(cfg.timeline_bytes, (size_t)5 << 20);
	assert_int_equal(cfg.media_retry_ms, 250);
}

static void test_special_types(void **state)
{
	(void)state;
	struct chirp_config cfg;
	assert_int_equal(parse(&cfg, "--rate-limit", "signup=9/60", "--rate-limit=media=2/3",
	                       "--no-rate-limits", "--access-log", "off", "--log-format", "text",
	                       "--log-level=warn", NULL),
	                 CONFIG_RUN);
	assert_int_equal(cfg.limits[BUDGET_SIGNUP].count, 9);
	assert_int_equal(cfg.limits[BUDGET_SIGNUP].seconds, 60);
	assert_int_equal(cfg.limits[BUDGET_MEDIA].count, 2);
	assert_int_equal(cfg.limits[BUDGET_MEDIA].seconds, 3);
	assert_int_equal(cfg.limits[BUDGET_LOGIN].count, 25); /* untouched */
	assert_string_equal(cfg.limits[BUDGET_SIGNUP].name, "signup");
	assert_false(cfg.rate_limits);   /* a switch that is on by default turned off */
	assert_false(cfg.offload_reads); /* and one that is off left alone */
	assert_null(cfg.access_log);
	assert_true(cfg.access_log_text);
	assert_int_equal(cfg.access_log_min_status, 400);

	/* ... and one turned on, the other left as it was. */
	assert_int_equal(parse(&cfg, "--offload-reads", NULL), CONFIG_RUN);
	assert_true(cfg.offload_reads);
	assert_true(cfg.rate_limits);
	assert_true(cfg.read_threads >= 4); /* no flag, still a default */

	/* A choice given twice: the later wins (a test that needs the real
	 * hashing cost names it after the suite's cheap one). */
	assert_int_equal(parse(&cfg, "--password-hash-cost", "test", NULL), CONFIG_RUN);
	assert_true(cfg.password_hash_test);
	assert_int_equal(parse(&cfg, "--password-hash-cost", "test",
	                       "--password-hash-cost=interactive", NULL),
	                 CONFIG_RUN);
	assert_false(cfg.password_hash_test);
}

/* ---- the environment ---------------------------------------------------- */

static void test_env_overrides_default_and_flag_overrides_env(void **state)
{
	(void)state;
	struct chirp_config cfg;
	setenv("CHIRP_NODE_ID", "5", 1);
	setenv("CHIRP_LISTEN", "10.0.0.1:80", 1);
	assert_int_equal(parse(&cfg, NULL), CONFIG_RUN);
	assert_int_equal(cfg.node_id, 5);
	assert_string_equal(cfg.listen, "10.0.0.1:80");

	assert_int_equal(parse(&cfg, "--node-id", "6", "--listen=10.0.0.2:81", NULL), CONFIG_RUN);
	assert_int_equal(cfg.node_id, 6);
	assert_string_equal(cfg.listen, "10.0.0.2:81");

	/* Empty is unset. */
	setenv("CHIRP_NODE_ID", "", 1);
	assert_int_equal(parse(&cfg, NULL), CONFIG_RUN);
	assert_int_equal(cfg.node_id, 0);
}

/* A variable is checked like the flag, even when the flag is given too. */
static void test_env_out_of_range_is_an_error(void **state)
{
	(void)state;
	struct chirp_config cfg;
	setenv("CHIRP_THREADS", "0", 1);
	assert_int_equal(parse(&cfg, NULL), CONFIG_EXIT_ERROR);
	assert_int_equal(parse(&cfg, "--threads", "2", NULL), CONFIG_EXIT_ERROR);
	setenv("CHIRP_THREADS", "257", 1);
	assert_int_equal(parse(&cfg, NULL), CONFIG_EXIT_ERROR);
	setenv("CHIRP_THREADS", "256", 1);
	assert_int_equal(parse(&cfg, NULL), CONFIG_RUN);
	assert_int_equal(cfg.threads, 256);
}

/* ---- rejections --------------------------------------------------------- */

static void test_bad_command_lines_are_rejected(void **state)
{
	(void)state;
	struct chirp_config cfg;
	/* Out of range, at both ends, and not numbers. */
	assert_int_equal(parse(&cfg, "--node-id", "1024", NULL), CONFIG_EXIT_ERROR);
	assert_int_equal(parse(&cfg, "--node-id=1023", NULL), CONFIG_RUN);
	assert_int_equal(parse(&cfg, "--read-timeout", "0", NULL), CONFIG_EXIT_ERROR);
	assert_int_equal(parse(&cfg, "--max-body=1023", NULL), CONFIG_EXIT_ERROR);
	assert_int_equal(parse(&cfg, "--threads", "-1", NULL), CONFIG_EXIT_ERROR);
	assert_int_equal(parse(&cfg, "--threads", "4x", NULL), CONFIG_EXIT_ERROR);
	assert_int_equal(parse(&cfg, "--threads", "", NULL), CONFIG_EXIT_ERROR);
	/* Unknown flags, a missing value, a value for a switch, a stray word. */
	assert_int_equal(parse(&cfg, "--no-such-flag", NULL), CONFIG_EXIT_ERROR);
	assert_int_equal(parse(&cfg, "--no-such-flag=1", NULL), CONFIG_EXIT_ERROR);
	assert_int_equal(parse(&cfg, "--threads", NULL), CONFIG_EXIT_ERROR);
	assert_int_equal(parse(&cfg, "--no-rate-limits=yes", NULL), CONFIG_EXIT_ERROR);
	assert_int_equal(parse(&cfg, "stray", NULL), CONFIG_EXIT_ERROR);
	/* The special types. */
	assert_int_equal(parse(&cfg, "--log-level", "debug", NULL), CONFIG_EXIT_ERROR);
	assert_int_equal(parse(&cfg, "--rate-limit", "bogus=5/60", NULL), CONFIG_EXIT_ERROR);
	assert_int_equal(parse(&cfg, "--rate-limit", "signup=5/60x", NULL), CONFIG_EXIT_ERROR);
	assert_int_equal(parse(&cfg, "--rate-limit", "signup=5/60 login=1/1", NULL),
	                 CONFIG_EXIT_ERROR);
	/* Flags checked together. */
	assert_int_equal(
	    parse(&cfg, "--media-max-bytes", "2048", "--media-part-bytes", "4096", NULL),
	    CONFIG_EXIT_ERROR);
	assert_int_equal(parse(&cfg, "--blob-s3-endpoint", "http://x", NULL), CONFIG_EXIT_ERROR);
}

static void test_help_and_commands(void **state)
{
	(void)state;
	struct chirp_config cfg;
	char *serve_help[] = {"chirp", "serve", "--threads", "2", "--help"};
	assert_int_equal(quiet_parse(&cfg, 5, serve_help), CONFIG_EXIT_OK);
	char *help[] = {"chirp", "--help"};
	assert_int_equal(quiet_parse(&cfg, 2, help), CONFIG_EXIT_OK);
	char *none[] = {"chirp"};
	assert_int_equal(quiet_parse(&cfg, 1, none), CONFIG_EXIT_ERROR);
	char *bogus[] = {"chirp", "bogus"};
	assert_int_equal(quiet_parse(&cfg, 2, bogus), CONFIG_EXIT_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_help_shows_every_flag_with_default_and_env, clear_env),
	    cmocka_unit_test_setup(test_operations_doc_agrees_with_the_table, clear_env),
	    cmocka_unit_test_setup(test_defaults_are_the_documented_ones, clear_env),
	    cmocka_unit_test_setup(test_flag_value_and_flag_equals_value, clear_env),
	    cmocka_unit_test_setup(test_units_are_converted, clear_env),
	    cmocka_unit_test_setup(test_special_types, clear_env),
	    cmocka_unit_test_setup(test_env_overrides_default_and_flag_overrides_env, clear_env),
	    cmocka_unit_test_setup(test_env_out_of_range_is_an_error, clear_env),
	    cmocka_unit_test_setup(test_bad_command_lines_are_rejected, clear_env),
	    cmocka_unit_test_setup(test_help_and_commands, clear_env),
	    cmocka_unit_test_setup(test_store_password_is_hidden, clear_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
