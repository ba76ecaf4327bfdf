#!/usr/bin/env python3
"""pg_load.py — copies a chirp SQLite database (chirp-gen's chirp.db) into a
PostgreSQL database whose schema chirp has already created (bench/run.sh
--store postgres starts chirp on the empty database once for that).

    pg_load.py --sqlite DIR/chirp.db --url postgresql://USER@HOST:PORT/DB [--psql PATH]

Every SQLite table that PostgreSQL also has is copied, with the columns both
have (so the loader follows both schemas as they grow); tables only SQLite
has are skipped and named on stderr, SQLite's own (sqlite_stat1) silently. It all runs in one psql
session and one transaction: TRUNCATE the tables, then COPY … FROM STDIN
(FORMAT csv) with the rows inline, streamed, never held in memory. BLOBs go
over as bytea hex (\\x…), NULL as an unquoted empty field, text always
quoted (so '' stays an empty string). Prints one `PG_LOAD table=N …` line.
VACUUM ANALYZE is the caller's (it cannot run in a transaction).

Stdlib only.
"""

import argparse
import sqlite3
import subprocess
import sys


def field(v):
    if v is None:
        return ""
    if isinstance(v, bytes):
        return "\\x" + v.hex()
    if isinstance(v, str):
        return '"' + v.replace('"', '""') + '"'
    return str(v)  # int (ids exceed 2^53: never a float) or real


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sqlite", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--psql", default="/usr/lib/postgresql/15/bin/psql")
    args = ap.parse_args()

    psql = [args.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", args.url]
    pg_cols = {}
    out = subprocess.run(psql + ["-A", "-t", "-F", " ", "-c",
                                 "SELECT table_name, column_name FROM information_schema.columns"
                                 " WHERE table_schema = 'public'"],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        t, c = line.split(" ", 1)
        pg_cols.setdefault(t, set()).add(c)

    db = sqlite3.connect(f"file:{args.sqlite}?mode=ro", uri=True)
    plan = []
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                               " AND name NOT LIKE 'sqlite_%' ORDER BY name"):
        if table not in pg_cols:
            print(f"pg_load: skipping {table}: not in PostgreSQL", file=sys.stderr)
            continue
        cols = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")') if r[1] in pg_cols[table]]
        plan.append((table, cols))
    if not plan:
        sys.exit("pg_load: no table in common")

    p = subprocess.Popen(psql + ["-f", "-"], stdin=subprocess.PIPE, text=True)
    w = p.stdin
    w.write("BEGIN;\n")
    w.write("TRUNCATE " + ", ".join(f'"{t}"' for t, _ in plan) + ";\n")
    counts = []
    for table, cols in plan:
        names = ", ".join(f'"{c}"' for c in cols)
        w.write(f'COPY "{table}" ({names}) FROM STDIN (FORMAT csv);\n')
        n = 0
        cur = db.execute(f'SELECT {names} FROM "{table}"')
        while True:
            rows = cur.fetchmany(10000)
            if not rows:
                break
            w.write("".join(",".join(field(v) for v in row) + "\n" for row in rows))
            n += len(rows)
        w.write("\\.\n")
        counts.append(f"{table}={n}")
    w.write("COMMIT;\n")
    w.close()
    if p.wait() != 0:
        sys.exit(f"pg_load: psql failed (exit {p.returncode})")
    print("PG_LOAD " + " ".join(counts))


if __name__ == "__main__":
    main()
