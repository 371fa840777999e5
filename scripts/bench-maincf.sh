#!/usr/bin/env bash
# Performance targets of postfix-maincf / postconf-lite, measured side by side
# with Postfix's own postconf in one run.
#
# usage: scripts/bench-maincf.sh
#
#   1. whole-process `-n` on a generated 50,000-parameter main.cf (~4.7 MB):
#      postconf-lite at most 0.10x postconf
#   2. whole-process `-n` on Debian's main.cf.dist + 500 parameters:
#      postconf-lite at most 0.5x postconf
#   3. 1000 sets + one save on that realistic file: no slower than one
#      `postconf -e` with the same 1000 arguments. Measured two ways: the
#      library doing 1000 single `set` calls and one atomic save (criterion,
#      in-process), and the whole `postconf-lite -e` process with the 1000
#      arguments (hyperfine, next to postconf's).
#
# Environment: RUNS=N hyperfine runs (default 20), CRITERION=0 skips target 3's
# in-process half, POSTCONF=path (default /usr/sbin/postconf), KEEP=1 keeps the
# work directory. Needs cargo, python3, hyperfine, Postfix. Prints one row per
# target with PASS/FAIL; exits 1 when any fails.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-20}
CRITERION=${CRITERION:-1}
POSTCONF=${POSTCONF:-/usr/sbin/postconf}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
LITE=$TARGET_DIR/release/examples/postconf-lite
for tool in python3 hyperfine "$POSTCONF"; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done
cargo build -q --release -p postfix-examples --example postconf-lite --manifest-path "$ROOT/Cargo.toml"

WORK=$(mktemp -d)
[ "${KEEP:-0}" = 1 ] && echo "work directory: $WORK" || trap 'rm -rf "$WORK"' EXIT
cold='2000-01-01 00:00:00'   # postconf waits for a main.cf modified within the last second
confdir() {   # NAME MAINCF
    mkdir -p "$WORK/$1"; cp "$2" "$WORK/$1/main.cf"; : > "$WORK/$1/master.cf"
    touch -d "$cold" "$WORK/$1/main.cf" "$WORK/$1/master.cf"
}
python3 "$ROOT/scripts/gen-bench-maincf.py" 50000 "$WORK/large.cf"
base=/usr/share/postfix/main.cf.dist
[ -f "$base" ] || { echo "note: $base missing; realistic file = 500 parameters only" >&2; base=; }
python3 "$ROOT/scripts/gen-bench-maincf.py" 500 "$WORK/realistic.cf" $base
confdir large "$WORK/large.cf"
confdir realistic "$WORK/realistic.cf"
confdir edit "$WORK/realistic.cf"
printf '%s\n' "$(du -h "$WORK/large.cf" | cut -f1) large, $(wc -l < "$WORK/realistic.cf") lines realistic"

# Same output, or the timing means nothing.
for d in large realistic; do
    "$POSTCONF" -c "$WORK/$d" -n 2>/dev/null | grep -v '^config_directory = ' > "$WORK/$d.postconf.out"
    "$LITE" -c "$WORK/$d" -n 2>/dev/null > "$WORK/$d.lite.out"
    cmp -s "$WORK/$d.postconf.out" "$WORK/$d.lite.out" || { echo "output differs on $d" >&2; exit 1; }
done

mean() {   # JSON -> mean seconds of command N
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["mean"])' "$1" "$2"
}
ratio_row() {   # LABEL JSON TARGET
    local pc lite r
    pc=$(mean "$2" 0); lite=$(mean "$2" 1)
    r=$(python3 -c "print(f'{$lite/$pc:.3f}')")
    verdict=$(python3 -c "print('PASS' if $lite/$pc <= $3 else 'FAIL')")
    [ "$verdict" = PASS ] || failed=1
    printf '%-58s postconf %8.2f ms  ours %8.2f ms  ratio %6s  (target <= %s)  %s\n' \
        "$1" "$(python3 -c "print($pc*1000)")" "$(python3 -c "print($lite*1000)")" "$r" "$3" "$verdict"
}
failed=0
hf() { hyperfine -N --style none --warmup 3 --runs "$RUNS" "$@" >/dev/null 2>&1; }

hf --export-json "$WORK/t1.json" "$POSTCONF -c $WORK/large -n" "$LITE -c $WORK/large -n"
hf --export-json "$WORK/t2.json" "$POSTCONF -c $WORK/realistic -n" "$LITE -c $WORK/realistic -n"

# 1000 edits: 500 replaced parameters, 500 new ones (as the criterion bench).
python3 - "$WORK/args" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(500):
        f.write(f"bench_param_{i:06}=new value {i}\n")
    for i in range(500):
        f.write(f"new_param_{i:04}=[relay-{i}.example]:587\n")
PY
mapfile -t ARGS < "$WORK/args"
prep="cp $WORK/realistic.cf $WORK/edit/main.cf && touch -d '$cold' $WORK/edit/main.cf"
# hyperfine -N cannot take 1000 arguments on its command line: wrap them.
printf '#!/bin/sh\nexec "$@" %s\n' "$(printf "'%s' " "${ARGS[@]}")" > "$WORK/with-args"
chmod +x "$WORK/with-args"
hyperfine --style none --warmup 3 --runs "$RUNS" --prepare "$prep" --export-json "$WORK/t3.json" \
    "$WORK/with-args $POSTCONF -c $WORK/edit -e" "$WORK/with-args $LITE -c $WORK/edit -e" >/dev/null 2>&1

echo
ratio_row "1. -n, 50,000 parameters (whole process)" "$WORK/t1.json" 0.10
ratio_row "2. -n, main.cf.dist + 500 parameters (whole process)" "$WORK/t2.json" 0.5
ratio_row "3. -e with 1000 arguments (whole process, incl. sh)" "$WORK/t3.json" 1.0
if [ "$CRITERION" = 1 ]; then
    out=$(cd "$ROOT" && cargo bench -q -p postfix-maincf --bench maincf -- 'set_1000_one_by_one_and_save' 2>/dev/null | grep -A1 'set_1000_one_by_one' | grep -o 'time: *\[[^]]*\]')
    lib_ms=$(echo "$out" | python3 -c 'import re,sys; t=re.findall(r"([0-9.]+) (ms|µs|us|s)", sys.stdin.read())[1]; v=float(t[0]); u=t[1]; print(v*{"ms":1,"µs":1e-3,"us":1e-3,"s":1e3}[u])')
    pc_ms=$(python3 -c "print($(mean "$WORK/t3.json" 0)*1000)")
    verdict=$(python3 -c "print('PASS' if $lib_ms <= $pc_ms else 'FAIL')")
    [ "$verdict" = PASS ] || failed=1
    printf '%-58s postconf %8.2f ms  ours %8.2f ms  ratio %6s  (target <= 1)  %s\n' \
        "3. 1000 single set() calls + one save (library)" "$pc_ms" "$lib_ms" \
        "$(python3 -c "print(f'{$lib_ms/$pc_ms:.3f}')")" "$verdict"
fi
exit $failed
