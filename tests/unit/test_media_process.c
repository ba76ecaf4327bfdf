/*
 * test_media_process — what the worker publishes: the type from the bytes,
 * the pixel limit, corrupt input, and above all that EXIF (a GPS position
 * here) never survives into the published image or its thumbnail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>
#include <vips/vips.h>

#include "media/process.h"

/* A little-endian TIFF/EXIF block: IFD0 with ImageDescription (a marker
 * we can look for) and a GPS IFD with GPSLatitudeRef "N" and
 * GPSLatitude 48/1 51/1 30/1. */
static size_t make_exif(uint8_t *b)
{
	static const char marker[] = "CHIRP-GPS-MARKER"; /* 17 bytes with NUL */
	size_t n = 0;
#define U16(v) (b[n++] = (uint8_t)(v), b[n++] = (uint8_t)((v) >> 8))
#define U32(v) (U16((v) & 0xffff), U16((uint32_t)(v) >> 16))
	memcpy(b, "Exif\0\0", 6);
	n = 6;
	size_t t = n; /* TIFF offsets count from here */
	b[n++] = 'I', b[n++] = 'I';
	U16(42);
	U32(8);
	/* IFD0 at 8: 2 entries */
	U16(2);
	U16(0x010E), U16(2), U32(sizeof(marker)), U32(8 + 2 + 2 * 12 + 4);   /* description */
	U16(0x8825), U16(4), U32(1), U32(8 + 2 + 2 * 12 + 4 + 18);            /* GPS IFD */
	U32(0);
	memcpy(b + n, marker, sizeof(marker));
	n += sizeof(marker);
	b[n++] = 0; /* pad to even */
	/* GPS IFD: 2 entries */
	size_t gps = n - t;
	U16(2);
	U16(1), U16(2), U32(2), b[n++] = 'N', b[n++] = 0, b[n++] = 0, b[n++] = 0;
	U16(2), U16(5), U32(3), U32(gps + 2 + 2 * 12 + 4);
	U32(0);
	U32(48), U32(1), U32(51), U32(1), U32(30), U32(1);
#undef U16
#undef U32
	return n;
}

static bool contains(const void *hay, size_t n, const char *needle)
{
	return memmem(hay, n, needle, strlen(needle)) != NULL;
}

/* A w x h JPEG (or PNG) with the EXIF block above. Caller g_free()s. */
static void *image(int w, int h, bool png, size_t *len)
{
	VipsImage *black, *img;
	assert_int_equal(vips_black(&black, w, h, "bands", 3, NULL), 0);
	assert_int_equal(vips_linear1(black, &img, 1.0, 120.0, NULL), 0);
	g_object_unref(black);
	uint8_t exif[256];
	size_t n = make_exif(exif);
	vips_image_set_blob_copy(img, "exif-data", exif, n);
	void *buf = NULL;
	int rc = png ? vips_pngsave_buffer(img, &buf, len, NULL)
		     : vips_jpegsave_buffer(img, &buf, len, NULL);
	assert_int_equal(rc, 0);
	g_object_unref(img);
	return buf;
}

/* The limits of chirp's defaults, with `max_pixels` and no time limit. */
static const struct process_limits *limits(uint64_t max_pixels)
{
	static struct process_limits lim;
	lim = (struct process_limits){.max_pixels = max_pixels, .max_pixels_per_byte = 100};
	return &lim;
}

static void test_exif_is_stripped(void **state)
{
	(void)state;
	size_t len;
	void *jpg = image(800, 600, false, &len);
	/* the test is only worth something if the input carries the GPS block */
	assert_true(contains(jpg, len, "Exif"));
	assert_true(contains(jpg, len, "CHIRP-GPS-MARKER"));
	struct processed p;
	char why[MEDIA_ERROR_MAX + 1] = "";
	assert_int_equal(media_process(jpg, len, limits(1000000), &p, why), 0);
	assert_string_equal(p.content_type, "image/jpeg");
	assert_int_equal(p.width, 800);
	assert_int_equal(p.height, 600);
	assert_false(contains(p.full.data, p.full.len, "Exif"));
	assert_false(contains(p.full.data, p.full.len, "CHIRP-GPS-MARKER"));
	assert_false(contains(p.thumb.data, p.thumb.len, "Exif"));
	VipsImage *t = vips_image_new_from_buffer(p.thumb.data, p.thumb.len, "", NULL);
	assert_non_null(t);
	assert_int_equal(vips_image_get_width(t), THUMB_SIDE);
	assert_int_equal(vips_image_get_height(t), 300);
	assert_int_equal(vips_image_get_typeof(t, "exif-data"), 0);
	g_object_unref(t);
	processed_deinit(&p);
	g_free(jpg);
}

static void test_png_stays_png_and_small_is_not_enlarged(void **state)
{
	(void)state;
	size_t len;
	void *png = image(50, 20, true, &len);
	struct processed p;
	char why[MEDIA_ERROR_MAX + 1] = "";
	assert_int_equal(media_process(png, len, limits(1000000), &p, why), 0);
	assert_string_equal(p.content_type, "image/png");
	assert_string_equal(p.ext, "png");
	VipsImage *t = vips_image_new_from_buffer(p.thumb.data, p.thumb.len, "", NULL);
	assert_int_equal(vips_image_get_width(t), 50);
	g_object_unref(t);
	assert_false(contains(p.full.data, p.full.len, "CHIRP-GPS-MARKER"));
	processed_deinit(&p);
	g_free(png);
}

static void test_rejections(void **state)
{
	(void)state;
	struct processed p;
	char why[MEDIA_ERROR_MAX + 1];
	static const char text[] = "just some text, not an image at all";
	assert_int_equal(media_process(text, sizeof(text), limits(1000000), &p, why), -1);
	assert_non_null(strstr(why, "not a supported image"));

	size_t len;
	void *jpg = image(200, 100, false, &len);
	assert_int_equal(media_process(jpg, len, limits(200 * 100 - 1), &p, why), -1);
	assert_non_null(strstr(why, "over the limit"));
	assert_int_equal(media_process(jpg, len, limits(200 * 100), &p, why), 0);
	processed_deinit(&p);
	/* cut in half: the header reads, the pixels do not */
	assert_int_equal(media_process(jpg, len / 2, limits(1000000), &p, why), -1);
	assert_non_null(strstr(why, "corrupt"));
	g_free(jpg);
}

/* Decompression bombs (issue 19, item 10): a flat image of millions of
 * pixels compresses to a few kilobytes. Past PROCESS_PPB_FLOOR pixels,
 * pixels per uploaded byte are capped before anything is decoded; below
 * the floor, any ratio is fine. */
static void test_pixels_per_byte_cap(void **state)
{
	(void)state;
	size_t len;
	void *png = image(2000, 1000, true, &len);
	assert_true(2000 * 1000 / len >= 100); /* the input is a bomb */
	struct processed p;
	char why[MEDIA_ERROR_MAX + 1];
	struct process_limits lim = {.max_pixels = 40000000, .max_pixels_per_byte = 100};
	assert_int_equal(media_process(png, len, &lim, &p, why), -1);
	assert_non_null(strstr(why, "pixels per byte"));
	lim.max_pixels_per_byte = 2000 * 1000 / len + 1; /* just above this one */
	assert_int_equal(media_process(png, len, &lim, &p, why), 0);
	processed_deinit(&p);
	g_free(png);
	/* small flat images are not bombs */
	png = image(900, 900, true, &len);
	assert_true(900 * 900 / len >= 100);
	lim.max_pixels_per_byte = 100;
	assert_int_equal(media_process(png, len, &lim, &p, why), 0);
	processed_deinit(&p);
	g_free(png);
}

/* A job that outlives its time limit stops there, between tiles, and
 * says why. 1 ms for an image of 12 million pixels: reached long before
 * the end however fast the machine. */
static void test_time_limit(void **state)
{
	(void)state;
	size_t len;
	void *png = image(4000, 3000, true, &len);
	struct processed p;
	char why[MEDIA_ERROR_MAX + 1];
	struct process_limits lim = {.max_pixels = 40000000, .timeout_ms = 1};
	assert_int_equal(media_process(png, len, &lim, &p, why), -1);
	assert_non_null(strstr(why, "longer than the limit of 1 ms"));
	lim.timeout_ms = 0;
	assert_int_equal(media_process(png, len, &lim, &p, why), 0);
	processed_deinit(&p);
	g_free(png);
}

int main(void)
{
	if (media_process_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exif_is_stripped),
	    cmocka_unit_test(test_png_stays_png_and_small_is_not_enlarged),
	    cmocka_unit_test(test_rejections),
	    cmocka_unit_test(test_pixels_per_byte_cap),
	    cmocka_unit_test(test_time_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
