#!/usr/bin/env python3
"""Deterministic main.cf generator for the postfix-maincf benchmarks.

usage: gen-bench-maincf.py PARAMS OUT [BASE]

Writes BASE (if given, e.g. Debian's /usr/share/postfix/main.cf.dist) followed
by PARAMS parameters, about 92 bytes each:

    bench_param_000123 = ${bench_param_000122}, relay-123.example.net:587 list item 123, more

Every parameter references the previous one, so postconf knows all of them
(user-defined parameters are shown only when referenced); one in 50 spans
two lines, one in 100 is preceded by a comment. The output depends only on
the arguments.
"""

import sys


def main() -> None:
    count = int(sys.argv[1])
    out = sys.argv[2]
    base = b""
    if len(sys.argv) > 3:
        with open(sys.argv[3], "rb") as f:
            base = f.read()
        if base and not base.endswith(b"\n"):
            base += b"\n"
    parts = [base]
    for i in range(count):
        if i % 100 == 0:
            parts.append(b"# bench block %d\n" % (i // 100))
        ref = b"${bench_param_%06d}, " % (i - 1) if i > 0 else b""
        line = b"bench_param_%06d = %srelay-%d.example.net:587 list item %d, more" % (i, ref, i, i)
        if i % 50 == 0:
            line += b"\n    continued value text"
        parts.append(line + b"\n")
    with open(out, "wb") as f:
        f.write(b"".join(parts))


if __name__ == "__main__":
    main()
