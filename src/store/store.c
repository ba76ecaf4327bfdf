/*
 * store — adapter registry and the helpers shared by every adapter.
 */
#include "store/store.h"

#include <string.h>

const struct store_ops *store_ops_find(const char *name)
{
	static const struct store_ops *const all[] = {&store_sqlite_ops};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

void store_write_init(struct store_write *w, enum store_write_kind kind)
{
	memset(w, 0, sizeof(*w));
	w->kind = kind;
	strbuf_init(&w->resp_body);
}

void store_write_deinit(struct store_write *w)
{
	strbuf_deinit(&w->resp_body);
}
