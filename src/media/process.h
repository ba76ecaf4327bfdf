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
 * Decompression bombs: besides max_pixels, an image that announces more
 * than max_pixels_per_byte pixels per uploaded byte (above a floor of
 * PROCESS_PPB_FLOOR pixels, which decode in milliseconds whatever they
 * compress to) is refused before decoding: a 116 KB PNG of 6300x6300
 * flat pixels took a worker 3 s, a 16-bit one 9 s. And however an input
 * gets past those, processing stops at its time limit: libvips checks a
 * kill flag between tiles, which the eval callback sets once the
 * deadline has passed.
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

#define PROCESS_PPB_FLOOR 1000000 /* pixels: no pixels-per-byte check below */

struct process_limits {
	uint64_t max_pixels;          /* width x height */
	uint64_t max_pixels_per_byte; /* width x height / bytes, above PROCESS_PPB_FLOOR; 0: any */
	uint64_t timeout_ms;          /* the whole job's processing; 0: none */
};

/* Processes `len` bytes within `lim`. 0 and *out filled (caller calls
 * processed_deinit), or -1 with the reason for a client in `why`
 * (MEDIA_ERROR_MAX + 1 bytes): the input will never be acceptable (a
 * time limit reached counts as that: it would be reached again). */
int media_process(const void *data, size_t len, const struct process_limits *lim,
		  struct processed *out, char *why);

void processed_deinit(struct processed *p);

#endif
