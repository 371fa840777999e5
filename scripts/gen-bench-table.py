#!/usr/bin/env python3
"""Deterministic Postfix lookup-table generator for benchmarks.

usage: gen-bench-table.py ENTRIES OUT

Writes ENTRIES mappings (about 56 bytes a line) such as

    user000123@example-974050.com [mx.relay-000123.net]:587

with a comment line every 1000 entries and a blank line every 5000.
Separators alternate between a space and a TAB; ports cycle through
25, 587, 465, 2525. The output depends only on ENTRIES and is byte for
byte what `gen_table()` in postfix-table/benches/table.rs produces.
"""

import sys

PORTS = (25, 587, 465, 2525)


def generate(n: int) -> bytes:
    out = []
    mod = max(n, 1)
    for i in range(n):
        if i % 1000 == 0:
            out.append(f"# block {i // 1000}\n")
        if i % 5000 == 4999:
            out.append("\n")
        dom = (i * 7919 + 13) % mod
        sep = "\t" if i % 3 == 0 else " "
        port = PORTS[i % 4]
        out.append(f"user{i:06d}@example-{dom:06d}.com{sep}[mx.relay-{i:06d}.net]:{port}\n")
    return "".join(out).encode("ascii")


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    n = int(sys.argv[1])
    data = generate(n)
    with open(sys.argv[2], "wb") as f:
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
