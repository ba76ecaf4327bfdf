/*
 * container_of — the struct that embeds a member, from the member's
 * address: how a callback that gets a `struct work *` or a
 * `struct store_write *` finds the larger request it belongs to.
 */
#ifndef CHIRP_UTIL_CONTAINER_OF_H
#define CHIRP_UTIL_CONTAINER_OF_H

#include <stddef.h>

#define container_of(p, T, m) ((T *)((char *)(p) - offsetof(T, m)))

#endif
