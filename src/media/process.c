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

int media_process(const void *data, size_t len, uint64_t max_pixels, struct processed *out,
		  char *why)
{
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
	if (w == 0 || h == 0 || w * h > max_pixels) {
		snprintf(why, MEDIA_ERROR_MAX + 1, "image of %llux%llu pixels is over the limit of %llu",
			 (unsigned long long)w, (unsigned long long)h, (unsigned long long)max_pixels);
		goto done;
	}
	if (vips_autorot(img, &rot, NULL)) {
		snprintf(why, MEDIA_ERROR_MAX + 1, "corrupt image");
		goto done;
	}
	/* Lossless in, lossless out: PNGs (and anything with alpha) stay PNG;
	 * the rest is published as JPEG. */
	bool png = strcmp(type, "image/png") == 0 || vips_image_hasalpha(rot);
	if (vips_thumbnail_image(rot, &thumb, THUMB_SIDE, "height", THUMB_SIDE, "size",
				 VIPS_SIZE_DOWN, NULL) ||
	    save(rot, png, &out->full) || save(thumb, png, &out->thumb)) {
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
