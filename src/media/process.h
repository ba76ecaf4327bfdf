/*
 * process — turns uploaded bytes into the images chirp publishes.
 *
 * The type comes from the bytes (libvips' loader sniffing), never from the
 * client's claim; anything but JPEG, PNG, WebP or GIF is rejected, and so
 * is an image whose header announces more than max_pixels (a decompression
 * bomb is refused before its pixels are decoded). The published image and
 * its thumbnail (longest side THUMB_SIDE) are re-encoded with every
 * metadata block stripped: EXIF (GPS positions above all), XMP, IPTC,
 * comments. The orientation EXIF carried is applied to the pixels first.
 *
 * Blocking and CPU-heavy: worker threads only.
 */
#ifndef CHIRP_MEDIA_PROCESS_H
#define CHIRP_MEDIA_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "util/strbuf.h"

#define THUMB_SIDE 400

struct processed {
	struct strbuf full, thumb;           /* encoded images; caller deinits */
	char content_type[MEDIA_TYPE_MAX + 1]; /* of both */
	const char *ext;                      /* "png" for PNG or alpha input, else "jpg" */
	uint32_t width, height;               /* of `full` */
};

/* Starts libvips once per process; 0 or -1. */
int media_process_init(void);

/* Processes `len` bytes. 0 and *out filled (caller calls
 * processed_deinit), or -1 with the reason for a client in `why`
 * (MEDIA_ERROR_MAX + 1 bytes): the input will never be acceptable. */
int media_process(const void *data, size_t len, uint64_t max_pixels, struct processed *out,
		  char *why);

void processed_deinit(struct processed *p);

#endif
