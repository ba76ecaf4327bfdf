/*
 * web/assets — see assets.h. A linear scan: the client is a handful of
 * files, and the page is found once and remembered.
 */
#include "web/assets.h"

#include <string.h>

const struct web_asset *web_asset_find(const char *name, size_t len)
{
	for (size_t i = 0; i < web_asset_count; i++)
		if (strlen(web_assets[i].name) == len && memcmp(web_assets[i].name, name, len) == 0)
			return &web_assets[i];
	return NULL;
}

const struct web_asset *web_page(void)
{
	/* embed-web.py refuses to build without index.html. */
	return web_asset_find("index.html", 10);
}
