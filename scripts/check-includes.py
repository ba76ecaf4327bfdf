#!/usr/bin/env python3
"""Checks chirp's include graph (docs/architecture.md, "Layers").

Usage: check-includes.py [SRC_DIR]   (default: the src/ beside scripts/)

A module is a .c/.h pair under src/ (src/core/write.c and write.h are one
module, core/write). Module A depends on module B when a file of A includes
a header of B. This fails, listing what it found, if:
  - the module graph has a cycle (two modules that need each other are
    one module in disguise, or a layer calls upward);
  - a file under a lower layer includes a file of a higher one: nothing
    below the HTTP face includes api/, and nothing in a service or adapter
    includes gateway/ or http/.
"""
import os
import re
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

# Directories that must not include the given ones.
FORBIDDEN = {
    "gateway": ["api"],
    "http": ["api", "gateway", "core"],
    "core": ["api", "gateway", "http"],
    "store": ["api", "gateway", "http"],
    "timeline": ["api", "gateway", "http"],
    "search": ["api", "gateway", "http"],
    "media": ["api", "gateway", "http"],
    "queue": ["api", "gateway", "http"],
    "pubsub": ["api", "gateway", "http"],
    "live": ["api", "gateway"],
    "web": ["api", "gateway", "http", "core", "store", "timeline", "search", "media",
            "queue", "pubsub", "live"],
    "util": ["api", "gateway", "http", "core", "store", "timeline", "search", "media",
             "queue", "pubsub", "live"],
}


def module(path):
    return os.path.splitext(path)[0]


def main():
    graph = {}
    problems = []
    for dirpath, _, files in os.walk(SRC):
        for name in files:
            if not name.endswith((".c", ".h")):
                continue
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, SRC)
            with open(full, encoding="utf-8") as f:
                text = f.read()
            top = rel.split(os.sep)[0] if os.sep in rel else ""
            for inc in INCLUDE.findall(text):
                if not os.path.exists(os.path.join(SRC, inc)):
                    continue  # a system header in quotes, or a generated one
                inc_top = inc.split("/")[0] if "/" in inc else ""
                if inc_top in FORBIDDEN.get(top, []):
                    problems.append(f"{rel} includes {inc} ({top}/ must not include {inc_top}/)")
                a, b = module(rel), module(inc)
                if a != b:
                    graph.setdefault(a, set()).add(b)

    # Cycles: depth-first search, reporting each cycle once.
    state, stack, seen = {}, [], set()

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                cycle = stack[stack.index(m):] + [m]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    problems.append("include cycle: " + " -> ".join(cycle))
            elif not state.get(m):
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if not state.get(n):
            visit(n)

    for p in problems:
        print(p)
    print(f"check-includes: {len(graph)} modules, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
