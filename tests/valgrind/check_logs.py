#!/usr/bin/env python3
"""Read the memcheck logs of a `make valgrind` run (one per chirp process,
valgrind --log-file=DIR/memcheck.%p.log) and fail unless every process

- ran to its end under memcheck (a killed process writes no summary),
- had 0 errors (invalid reads/writes, uninitialised values, bad frees, and,
  with --errors-for-leak-kinds=definite, definite leaks),
- lost 0 bytes definitely,
- lost indirectly only chunks of h2o's recycling allocator (blocks whose
  only pointers are in the suppressed freelist chunks below: the rest of
  each freelist, and whatever stale pointers a recycled chunk still holds);
  this needs --show-leak-kinds=definite,indirect so each record is listed,
  and
- had no more blocks suppressed or indirectly lost than
  tests/valgrind/chirp.supp can explain: h2o's two per-thread freelists of
  at most 16 chunks each, per event-loop thread. A chirp leak through the
  same allocator grows with the requests served and trips this bound.

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


# One loss record: its header line, then its stack up to a bare "==pid==".
RECORD_RE = re.compile(
    r"^==\d+== ([\d,]+) (?:\([^)]*\) )?bytes in ([\d,]+) blocks are "
    r"indirectly lost in loss record[^\n]*\n((?:==\d+==  +\S[^\n]*\n)*)",
    re.MULTILINE)


def summary(text, kind):
    """(bytes, blocks) of one line of the LEAK SUMMARY, (0, 0) if absent."""
    m = re.search(kind + r": ([\d,]+) bytes in ([\d,]+) blocks", text)
    return (number(m.group(1)), number(m.group(2))) if m else (0, 0)


def check(path, max_h2o_blocks):
    """Returns (ok, one-line summary) for one memcheck log."""
    text = path.read_text(errors="replace")
    errors = re.search(r"ERROR SUMMARY: ([\d,]+) errors", text)
    if not errors:
        return False, "no ERROR SUMMARY: the process did not exit normally"
    n_errors = number(errors.group(1))
    lost_bytes, _ = summary(text, "definitely lost")
    supp_bytes, supp_blocks = summary(text, "suppressed")
    ind_bytes, ind_blocks = summary(text, "indirectly lost")
    problems = []
    listed = 0
    for rec in RECORD_RE.finditer(text):
        listed += number(rec.group(2))
        if "h2o_mem_alloc_recycle" not in rec.group(3):
            problems.append("an indirect leak not from h2o's freelists")
    if listed != ind_blocks:
        problems.append(f"{ind_blocks - listed} indirectly lost blocks not "
                        f"listed (needs --show-leak-kinds=definite,indirect)")
    if supp_blocks + ind_blocks > max_h2o_blocks:
        problems.append("more h2o freelist blocks than the freelists hold")
    ok = n_errors == 0 and lost_bytes == 0 and not problems
    line = (f"{n_errors} errors, {lost_bytes} bytes definitely lost; h2o "
            f"freelists: {supp_bytes} bytes suppressed + {ind_bytes} bytes "
            f"indirectly lost in {supp_blocks + ind_blocks} blocks (at most "
            f"{max_h2o_blocks})" + "".join(f"; {p}" for p in problems))
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
