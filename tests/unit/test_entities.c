/*
 * test_entities — core/entities: which @mentions and #hashtags a text
 * has (the rules in entities.h), their offsets in code points, folded
 * tags, the tag check of GET /v1/hashtags/{tag}/tweets, and the stored
 * form's round trip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/entities.h"

static struct entities parse(const char *s)
{
	struct entities e;
	entities_parse(s, strlen(s), &e);
	return e;
}

static void test_mentions_and_their_bounds(void **state)
{
	(void)state;
	struct entities e = parse("@alice hi @Bob_2, mail a@b.c or @x@y or @");
	assert_int_equal(e.mentions_n, 2);
	assert_string_equal(e.mentions[0].handle, "alice");
	assert_int_equal(e.mentions[0].start, 0);
	assert_int_equal(e.mentions[0].end, 6);
	assert_string_equal(e.mentions[1].handle, "Bob_2");
	assert_int_equal(e.mentions[1].start, 10);
	assert_int_equal(e.mentions[1].end, 16);
	assert_int_equal(e.mentions[1].id, 0); /* a candidate until the store resolves it */
	/* Too long a handle, or one running into a letter no handle has. */
	e = parse("@abcdefghijklmnopqrstuvwxyz012345 @alicé");
	assert_int_equal(e.mentions_n, 0);
}

static void test_hashtags_offsets_are_code_points(void **state)
{
	(void)state;
	/* "é" is two bytes, "😀" four: offsets count code points. */
	struct entities e = parse("é😀 #Café, #123 #a1 x#no #Ünï_2");
	assert_int_equal(e.hashtags_n, 3);
	char tag[HASHTAG_MAX + 1];
	const char *text = "é😀 #Café, #123 #a1 x#no #Ünï_2";
	assert_int_equal(e.hashtags[0].start, 3);
	assert_int_equal(e.hashtags[0].end, 8);
	entities_tag(text, &e.hashtags[0], tag);
	assert_string_equal(tag, "café"); /* ASCII folds; é stays */
	entities_tag(text, &e.hashtags[1], tag);
	assert_string_equal(tag, "a1");
	entities_tag(text, &e.hashtags[2], tag);
	assert_string_equal(tag, "Ünï_2"); /* no ASCII letter to fold but _ and 2 */
	/* A tag ends at punctuation and emoji; a run too long is no tag. */
	e = parse("#fun😀 #abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijX");
	assert_int_equal(e.hashtags_n, 1);
	assert_int_equal(e.hashtags[0].end, 4);
}

static void test_at_most_entities_max_of_each(void **state)
{
	(void)state;
	char text[400] = "";
	for (int i = 0; i < ENTITIES_MAX + 3; i++)
		strcat(text, "#t @u ");
	struct entities e = parse(text);
	assert_int_equal(e.hashtags_n, ENTITIES_MAX);
	assert_int_equal(e.mentions_n, ENTITIES_MAX);
}

static void test_tag_check(void **state)
{
	(void)state;
	char out[HASHTAG_MAX + 1];
	assert_true(entities_tag_valid("CamelCase", 9, out));
	assert_string_equal(out, "camelcase");
	assert_true(entities_tag_valid("café", strlen("café"), out));
	assert_false(entities_tag_valid("", 0, out));
	assert_false(entities_tag_valid("2024", 4, out));
	assert_false(entities_tag_valid("#tag", 4, out));
	assert_false(entities_tag_valid("two words", 9, out));
	assert_false(entities_tag_valid("a/b", 3, out));
	char longtag[HASHTAG_MAX_CP + 2];
	memset(longtag, 'a', sizeof(longtag) - 1);
	longtag[sizeof(longtag) - 1] = '\0';
	assert_false(entities_tag_valid(longtag, HASHTAG_MAX_CP + 1, out));
	assert_true(entities_tag_valid(longtag, HASHTAG_MAX_CP, out));
}

static void test_stored_form_round_trips(void **state)
{
	(void)state;
	struct entities e = parse("@alice loves #Chirp and @bob");
	e.mentions[0].id = 42;
	e.mentions[1].id = 7;
	struct strbuf sb = STRBUF_INIT;
	entities_encode(&e, &sb);
	struct entities back;
	entities_decode(sb.data, &back);
	assert_int_equal(back.mentions_n, 2);
	assert_int_equal(back.hashtags_n, 1);
	assert_int_equal(back.mentions[0].id, 42);
	assert_string_equal(back.mentions[1].handle, "bob");
	assert_memory_equal(&back.hashtags[0], &e.hashtags[0], sizeof(e.hashtags[0]));
	entities_decode("@1:2:x", &back); /* malformed: nothing read, nothing overrun */
	assert_int_equal(back.mentions_n, 0);
	entities_decode("", &back);
	assert_int_equal(back.mentions_n + back.hashtags_n, 0);
	strbuf_deinit(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mentions_and_their_bounds),
		cmocka_unit_test(test_hashtags_offsets_are_code_points),
		cmocka_unit_test(test_at_most_entities_max_of_each),
		cmocka_unit_test(test_tag_check),
		cmocka_unit_test(test_stored_form_round_trips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
