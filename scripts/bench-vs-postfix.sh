#!/usr/bin/env bash
# Performance targets of postfix-table / postmap-lite, measured side by side
# against Postfix's own postmap, sed -i and cp on one generated table.
#
# usage: scripts/bench-vs-postfix.sh
#
# Environment:
#   SIZE=N            entries in the generated table (default 1000000, ~56 MB)
#   RUNS=N            hyperfine runs per command (default 5)
#   CRITERION=0       skip the in-process criterion benches (targets 2, 3, 5)
#   KEEP=1            keep the work directory (printed at the end)
#   POSTMAP=path      Postfix postmap (default /usr/sbin/postmap)
#
# Needs: cargo, python3, hyperfine, GNU time (/usr/bin/time), GNU sed,
# coreutils, Postfix >= 3.x. Prints one row per target with PASS/FAIL and
# exits 1 when any target fails.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE=${SIZE:-1000000}
RUNS=${RUNS:-5}
CRITERION=${CRITERION:-1}
POSTMAP=${POSTMAP:-/usr/sbin/postmap}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
LITE=$TARGET_DIR/release/examples/postmap-lite

for tool in python3 hyperfine /usr/bin/time "$POSTMAP" sed cp; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-vs-postfix.XXXXXX")
if [[ ${KEEP:-0} != 1 ]]; then trap 'rm -rf "$WORK"' EXIT; fi
TABLE=$WORK/table
ORIG=$WORK/table.orig
OUT=$WORK/out
CONF=$WORK/conf

say() { printf '== %s\n' "$*" >&2; }

say "building postmap-lite (release)"
(cd "$ROOT" && cargo build -q --release --example postmap-lite)

say "generating $SIZE entries"
python3 "$ROOT/scripts/gen-bench-table.py" "$SIZE" "$ORIG"
# Postfix re-reads (and sleeps 300 ms for) files modified within the last
# second or so; back-date everything it opens.
touch -d '2000-01-01' "$ORIG"
cp -p "$ORIG" "$TABLE"
BYTES=$(stat -c %s "$ORIG")
mkdir -p "$CONF"
printf 'compatibility_level = 3.6\n' >"$CONF/main.cf"
: >"$CONF/master.cf"
touch -d '2000-01-01' "$CONF/main.cf" "$CONF/master.cf" "$CONF"

# A key from the middle of the table, and a new key for the inserts.
I=$((SIZE / 2))
KEY=$(printf 'user%06d@example-%06d.com' "$I" $(((I * 7919 + 13) % SIZE)))
NEWKEY=newuser@bench-insert.example
NEWVAL='[mx.new-relay.example]:587'

say "checking that both tools agree"
want=$("$POSTMAP" -c "$CONF" -q "$KEY" "texthash:$TABLE")
got=$("$LITE" -q "$KEY" "texthash:$TABLE")
[[ $want == "$got" && -n $got ]] || { echo "postmap says '$want', postmap-lite '$got'" >&2; exit 1; }
# postmap-lite appends in the file's style: the first entry uses a TAB.
"$LITE" --set "$NEWKEY" "$NEWVAL" "$TABLE"
cp -p "$ORIG" "$OUT" && sed -i "\$a $NEWKEY\\t$NEWVAL" "$OUT"
cmp -s "$TABLE" "$OUT" || { echo "--set and sed -i disagree" >&2; exit 1; }
cp -p "$ORIG" "$TABLE"
"$LITE" --echo "$TABLE" >"$OUT" && cmp -s "$TABLE" "$OUT" || { echo "--echo is not lossless" >&2; exit 1; }

# hyperfine NAME CMD... -> mean seconds in $WORK/NAME.json
hf() {
    local name=$1; shift
    hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$WORK/$name.json" "$@" >&2
}
mean() { # mean JSON INDEX
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["mean"])' "$1" "$2"
}

say "1: load + index + lookup (warm cache)"
cat "$TABLE" >/dev/null
hf lookup -n postmap-lite "$LITE -q $KEY texthash:$TABLE" \
    -n postmap "$POSTMAP -c $CONF -q $KEY texthash:$TABLE"

say "2: peak memory"
rss_kb() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
LITE_RSS=$(rss_kb "$LITE" -q "$KEY" "texthash:$TABLE")
POSTMAP_RSS=$(rss_kb "$POSTMAP" -c "$CONF" -q "$KEY" "texthash:$TABLE")

say "4: insert + atomic save vs sed -i"
hf insert --prepare "cp -p $ORIG $TABLE" \
    -n 'postmap-lite --set' "$LITE --set $NEWKEY '$NEWVAL' $TABLE" \
    -n 'sed -i' "sed -i '\$a $NEWKEY\\t$NEWVAL' $TABLE" \
    -n 'sed -i + sync FILE' "sed -i '\$a $NEWKEY\\t$NEWVAL' $TABLE && sync $TABLE" \
    -n 'postmap-lite --no-fsync --set' "$LITE --no-fsync --set $NEWKEY '$NEWVAL' $TABLE"
cp -p "$ORIG" "$TABLE"

say "5: write unchanged vs cp"
hf echo --prepare "rm -f $OUT" \
    -n 'postmap-lite --echo' "$LITE --echo $TABLE > $OUT" \
    -n cp "cp $TABLE $OUT"

CRIT=$TARGET_DIR/criterion
if [[ $CRITERION == 1 ]]; then
    say "2, 3, 5: criterion (in-process)"
    (cd "$ROOT" && BENCH_ENTRIES=$SIZE cargo bench -q -p postfix-table --bench table -- --noplot) >&2
fi

REV="$(git -C "$ROOT" describe --always --dirty 2>/dev/null || cat "$ROOT/.commit" 2>/dev/null || echo unknown)"
REV="commit $REV; $(nproc) CPUs; load average $LOAD0 at start, $(cut -d' ' -f1-3 /proc/loadavg) at end"
export REV
status=0
python3 - "$WORK" "$CRIT" "$BYTES" "$LITE_RSS" "$POSTMAP_RSS" "$CRITERION" <<'EOF' || status=$?
import json, os, sys

work, crit, nbytes, lite_rss, postmap_rss, use_crit = sys.argv[1:]
nbytes = int(nbytes)
rows, failed = [], False

def hf(name, i):
    return json.load(open(os.path.join(work, name + ".json")))["results"][i]["mean"]

def crit_ns(group, bench):
    path = os.path.join(crit, group, bench, "new", "estimates.json")
    est = json.load(open(path))
    # criterion's "typical" time: the slope of the linear fit when there is one.
    return (est.get("slope") or est["mean"])["point_estimate"]

def fmt_t(s):
    return f"{s * 1e3:.1f} ms" if s >= 1e-3 else f"{s * 1e6:.2f} us"

def row(target, measured, reference, ratio, limit, ok):
    global failed
    failed |= not ok
    rows.append((target, measured, reference, ratio, limit, "PASS" if ok else "FAIL"))

t_lite, t_pm = hf("lookup", 0), hf("lookup", 1)
row("1 load+index -q (lite/postmap)", fmt_t(t_lite), fmt_t(t_pm), f"{t_lite / t_pm:.3f}x", "<= 0.10x", t_lite / t_pm <= 0.10)

mb = nbytes / 1e6
rss = int(lite_rss) * 1024
row("2 peak RSS -q (RSS/input)", f"{rss / 1e6:.1f} MB", f"input {mb:.1f} MB (postmap {int(postmap_rss) * 1024 / 1e6:.0f} MB)",
    f"{rss / nbytes:.2f}x", "<= 2.5x", rss / nbytes <= 2.5)

if use_crit == "1":
    # "In-memory parse": the bytes are already in memory and owned by the
    # table (Table::from_vec), as in postmap-lite after fs::read.
    t = crit_ns("parse", "from_vec_1m") * 1e-9
    row("2 in-memory parse (from_vec)", fmt_t(t), f"{mb:.1f} MB", f"{nbytes / t / 1e9:.2f} GB/s", ">= 1 GB/s", nbytes / t >= 1e9)
    t = crit_ns("parse", "from_vec_index_1m") * 1e-9
    row("2 parse + build_key_index", fmt_t(t), f"{mb:.1f} MB", f"{nbytes / t / 1e6:.0f} MB/s", ">= 250 MB/s", nbytes / t >= 250e6)
    t = crit_ns("parse", "parse_1m") * 1e-9
    rows.append(("  (info) Table::parse(&[u8]), copies input", fmt_t(t), f"{mb:.1f} MB", f"{nbytes / t / 1e9:.2f} GB/s", "", "info"))
    t = crit_ns("parse", "parse_index_1m") * 1e-9
    rows.append(("  (info) parse(&[u8]) + index", fmt_t(t), f"{mb:.1f} MB", f"{nbytes / t / 1e6:.0f} MB/s", "", "info"))
    big, small = crit_ns("insert", "insert_1m"), crit_ns("insert", "insert_1k")
    row("3 set() new key, 1M doc", f"{big / 1e3:.2f} us", "", "", "<= 5 us", big <= 5e3)
    row("3 set() O(1): 1M vs 1k doc", f"{big / 1e3:.2f} us", f"{small / 1e3:.2f} us", f"{big / small:.2f}x", "<= 2x", big / small <= 2)
    w, c = crit_ns("write", "write_unchanged_1m"), crit_ns("write", "fs_copy_1m")
    row("5 write out unchanged doc vs cp (fs::copy)", fmt_t(w * 1e-9), fmt_t(c * 1e-9), f"{c / w:.2f}x", ">= 0.7x", c / w >= 0.7)

t_set, t_sed, t_sync = hf("insert", 0), hf("insert", 1), hf("insert", 2)
# postmap-lite fsyncs before the rename, as Postfix's own postconf -e does
# (util/edit_file.c); sed -i does not. Both rows are shown.
rows.append(("  (info) --set (fsync, default) vs sed -i", fmt_t(t_set), fmt_t(t_sed), f"{t_set / t_sed:.2f}x", "", "info"))
rows.append(("  (info) vs sed -i && sync FILE (both durable)", fmt_t(t_set), fmt_t(t_sync), f"{t_set / t_sync:.2f}x", "", "info"))
t_nosync = hf("insert", 3)
row("4 --no-fsync --set vs sed -i (same guarantees)", fmt_t(t_nosync), fmt_t(t_sed), f"{t_nosync / t_sed:.2f}x", "<= 0.75x", t_nosync / t_sed <= 0.75)
t_echo, t_cp = hf("echo", 0), hf("echo", 1)
rows.append(("  (info) --echo > OUT vs cp, incl. read+parse", fmt_t(t_echo), fmt_t(t_cp), f"{t_cp / t_echo:.2f}x", "", "info"))

head = ("target", "measured", "reference", "ratio", "limit", "result")
w = [max(len(str(r[i])) for r in rows + [head]) for i in range(6)]
line = lambda r: "| " + " | ".join(str(c).ljust(w[i]) for i, c in enumerate(r)) + " |"
print(f"\ninput: {nbytes} bytes; {os.environ.get('REV', '')}")
print(line(head))
print("|" + "|".join("-" * (x + 2) for x in w) + "|")
for r in rows:
    print(line(r))
sys.exit(1 if failed else 0)
EOF
[[ ${KEEP:-0} == 1 ]] && echo "work directory kept: $WORK" >&2
exit $status
