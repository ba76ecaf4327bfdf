/*
 * sqlite — the embedded store adapter: one SQLite file in WAL mode.
 *
 * Exposed beyond store_sqlite_ops only for tests and the bulk loader, which
 * need to build a database at a given schema version.
 */
#ifndef CHIRP_STORE_SQLITE_H
#define CHIRP_STORE_SQLITE_H

#include <sqlite3.h>

#include "util/strbuf.h"

#define STORE_SQLITE_SCHEMA_VERSION 12
#define STORE_SQLITE_FILE "chirp.db"

/* Brings `db` from its PRAGMA user_version up to `target` (each migration in
 * its own transaction). Returns 0, or -1 with a message in `err`. A database
 * newer than this binary knows is refused. */
int store_sqlite_migrate(sqlite3 *db, int target, struct strbuf *err);

/* Applies the pragmas every connection needs (WAL, synchronous=FULL,
 * busy timeout). Returns 0 or -1. */
int store_sqlite_configure(sqlite3 *db, struct strbuf *err);

#endif
