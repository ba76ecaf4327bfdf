/*
 * fileio — the file writes chirp makes durable itself (blobs, keys).
 */
#ifndef CHIRP_UTIL_FILEIO_H
#define CHIRP_UTIL_FILEIO_H

#include <stddef.h>

/* Writes all `len` bytes to `fd`, retrying short writes and EINTR.
 * Returns 0, or -1 with errno set. */
int file_write_all(int fd, const void *data, size_t len);

#endif
