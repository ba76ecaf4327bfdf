/*
 * process — see process.h. libvips does the decoding and encoding; this
 * file decides what is acceptable and what is published.
 */
#include "media/process.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <vips/vips.h>

#include "util/log.h"
#include "util/timeutil.h"

int media_process_init(void)
{
	if (VIPS_INIT("chirp"))
		return -1;
	/* chirp runs its own worker threads; one libvips thread each keeps the
	 * processing inside the --media-workers budget. No operation cache:
	 * every image is new. */
	vips_concurrency_set(1);
	vips_cache_set_max(0);
	return 0;
}

/* The kinds chirp accepts, by libvips loader. */
static const struct {
	const char *loader;
	const char *type;
} accepted[] = {
	{"VipsForeignLoadJpegBuffer", "image/jpeg"},
	{"VipsForeignLoadPngBuffer", "image/png"},
	{"VipsForeignLoadWebpBuffer", "image/webp"},
	{"VipsForeignLoadGifBuffer", "image/gif"},
	{"VipsForeignLoadNsgifBuffer", "image/gif"},
};

static const char *sniff(const void *data, size_t len)
{
	const char *loader = vips_foreign_find_load_buffer(data, len);
	if (!loader) {
		vips_error_clear();
		return NULL;
	}
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
		if (strcmp(loader, accepted[i].loader) == 0)
			return accepted[i].type;
	return NULL;
}

/* Encodes `img` without metadata: PNG when it has alpha, else JPEG. */
static int save(VipsImage *img, bool png, struct strbuf *out)
{
	void *buf = NULL;
	size_t len = 0;
	int rc = png ? vips_pngsave_buffer(img, &buf, &len, "strip", TRUE, NULL)
		     : vips_jpegsave_buffer(img, &buf, &len, "strip", TRUE, "Q", 85, NULL);
	if (rc == 0)
		strbuf_append(out, buf, len);
	g_free(buf);
	return rc;
}

/* The time limit of one media_process call. */
struct deadline {
	uint64_t at_ns; /* monotonic; 0: none */
	bool passed;
};

/* libvips' progress callback, between tiles of an image being computed:
 * past the deadline, the kill flag makes the computation fail. */
static void on_eval(VipsImage *img, VipsProgress *progress, void *arg)
{
	(void)progress;
	struct deadline *d = arg;
	if (d->at_ns && time_mono_ns() > d->at_ns) {
		d->passed = true;
		vips_image_set_kill(img, TRUE);
	}
}

/* Watches the computation of `img` (and of the images it is made from,
 * which report through it) against `d`. */
static void watch(VipsImage *img, struct deadline *d)
{
	vips_image_set_progress(img, TRUE);
	g_signal_connect(img, "eval", G_CALLBACK(on_eval), d);
}

int media_process(const void *data, size_t len, const struct process_limits *lim,
		  struct processed *out, char *why)
{
	struct deadline dl = {.at_ns = lim->timeout_ms ? time_mono_ns() + lim->timeout_ms * 1000000
						       : 0};
	memset(out, 0, sizeof(*out));
	strbuf_init(&out->full);
	strbuf_init(&out->thumb);
	VipsImage *img = NULL, *rot = NULL, *thumb = NULL;
	int rc = -1;
	const char *type = sniff(data, len);
	if (!type) {
		snprintf(why, MEDIA_ERROR_MAX + 1, "not a supported image (JPEG, PNG, WebP or GIF)");
		goto done;
	}
	/* Only the header is read here; pixels are decoded on demand below. */
	img = vips_image_new_from_buffer(data, len, "", "fail", TRUE, NULL);
	if (!img) {
		snprintf(why, MEDIA_ERROR_MAX + 1, "corrupt image");
		goto done;
	}
	uint64_t w = (uint64_t)vips_image_get_width(img), h = (uint64_t)vips_image_get_height(img);
	if (w == 0 || h == 0 || w * h > lim->max_pixels) {
		snprintf(why, MEDIA_ERROR_MAX + 1, "image of %llux%llu pixels is over the limit of %llu",
			 (unsigned long long)w, (unsigned long long)h,
			 (unsigned long long)lim->max_pixels);
		goto done;
	}
	if (lim->max_pixels_per_byte && w * h > PROCESS_PPB_FLOOR &&
	    w * h / len >= lim->max_pixels_per_byte) {
		snprintf(why, MEDIA_ERROR_MAX + 1,
			 "image of %llux%llu pixels in %zu bytes: over %llu pixels per byte "
			 "(a decompression bomb)",
			 (unsigned long long)w, (unsigned long long)h, len,
			 (unsigned long long)lim->max_pixels_per_byte);
		goto done;
	}
	if (vips_autorot(img, &rot, NULL)) {
		snprintf(why, MEDIA_ERROR_MAX + 1, "corrupt image");
		goto done;
	}
	watch(rot, &dl);
	/* Lossless in, lossless out: PNGs (and anything with alpha) stay PNG;
	 * the rest is published as JPEG. */
	bool png = strcmp(type, "image/png") == 0 || vips_image_hasalpha(rot);
	int failed = vips_thumbnail_image(rot, &thumb, THUMB_SIDE, "height", THUMB_SIDE, "size",
					  VIPS_SIZE_DOWN, NULL);
	if (!failed)
		watch(thumb, &dl);
	failed = failed || save(rot, png, &out->full) || save(thumb, png, &out->thumb);
	if (dl.passed) {
		snprintf(why, MEDIA_ERROR_MAX + 1, "processing took longer than the limit of %llu ms",
			 (unsigned long long)lim->timeout_ms);
		goto done;
	}
	if (failed) {
		snprintf(why, MEDIA_ERROR_MAX + 1, "corrupt image");
		goto done;
	}
	out->width = (uint32_t)vips_image_get_width(rot);
	out->height = (uint32_t)vips_image_get_height(rot);
	snprintf(out->content_type, sizeof(out->content_type), "%s", png ? "image/png" : "image/jpeg");
	out->ext = png ? "png" : "jpg";
	rc = 0;
done:
	if (rc) {
		vips_error_clear();
		processed_deinit(out);
	}
	if (thumb)
		g_object_unref(thumb);
	if (rot)
		g_object_unref(rot);
	if (img)
		g_object_unref(img);
	return rc;
}

void processed_deinit(struct processed *p)
{
	strbuf_deinit(&p->full);
	strbuf_deinit(&p->thumb);
}
