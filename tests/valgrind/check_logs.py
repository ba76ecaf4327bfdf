#!/usr/bin/env python3
"""Read the memcheck logs of a `make valgrind` run (one per chirp process,
valgrind --log-file=DIR/memcheck.%p.log) and fail unless every process

- ran to its end under memcheck (a killed process writes no summary),
- had 0 errors (invalid reads/writes, uninitialised values, bad frees, and,
  with --errors-for-leak-kinds=definite, definite leaks),
- lost 0 bytes definitely, and
- had no more blocks suppressed than tests/valgrind/chirp.supp can explain:
  h2o's two per-thread freelists of at most 16 chunks each, per event-loop
  thread. A chirp leak through the same allocator grows with the requests
  served and trips this bound.

Usage: check_logs.py DIR [--threads N]   (N: event-loop threads, default 2)
Prints one line per process and exits 1 on any failure.
"""

import argparse
import pathlib
import re
import sys

FREELISTS_PER_THREAD = 2
CHUNKS_PER_FREELIST = 16


def number(text):
    return int(text.replace(",", ""))


def check(path, max_suppressed_blocks):
    """Returns (ok, one-line summary) for one memcheck log."""
    text = path.read_text(errors="replace")
    errors = re.search(r"ERROR SUMMARY: ([\d,]+) errors", text)
    if not errors:
        return False, "no ERROR SUMMARY: the process did not exit normally"
    n_errors = number(errors.group(1))
    lost = re.search(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks", text)
    lost_bytes = number(lost.group(1)) if lost else 0
    supp = re.search(r"suppressed: ([\d,]+) bytes in ([\d,]+) blocks", text)
    supp_bytes, supp_blocks = ((number(supp.group(1)), number(supp.group(2)))
                               if supp else (0, 0))
    ok = (n_errors == 0 and lost_bytes == 0
          and supp_blocks <= max_suppressed_blocks)
    line = (f"{n_errors} errors, {lost_bytes} bytes definitely lost, "
            f"{supp_bytes} bytes in {supp_blocks} blocks suppressed "
            f"(at most {max_suppressed_blocks} allowed)")
    return ok, line


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    bound = args.threads * FREELISTS_PER_THREAD * CHUNKS_PER_FREELIST
    logs = sorted(pathlib.Path(args.dir).glob("memcheck.*.log"))
    if not logs:
        print(f"valgrind: no memcheck logs in {args.dir}")
        return 1
    failed = 0
    for log in logs:
        ok, line = check(log, bound)
        print(f"valgrind {'ok  ' if ok else 'FAIL'} {log}: {line}")
        failed += not ok
    print(f"valgrind: {len(logs) - failed} of {len(logs)} chirp processes clean")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
