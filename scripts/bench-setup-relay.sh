#!/usr/bin/env bash
# Release benchmarks of the setup-relay example (issue 4, item 7), each
# printed against its target:
#   1. 1000 sequential `setup-relay add-domain` processes (distinct domains):
#      mean ms per call, target 5 ms. Measured in $TMPDIR (disk: every write
#      is fsynced, file and directory) and, when present, in /dev/shm (tmpfs,
#      where fsync is free: the cost of our own code plus process start).
#      The bash loop's own fork/exec cost is shown as a baseline (/bin/true).
#   2. 10,000 library operations with one save, in-process (the hidden
#      `setup-relay bench-ops N` command: add-domain, add-auth and
#      exclude-domain in turn inside one ConfigDir::edit), target 50 ms.
#   3. `setup-relay apply` with 10,000 managed domains (postfix-accounts.cf)
#      and RELAY_HOST set, first run (everything written) and a re-run
#      (nothing to write), target 0.5 s. DMS takes about 49 s for this.
# Usage: scripts/bench-setup-relay.sh [N_CALLS]   (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000}"
cargo build -q --release -p postfix-examples --example setup-relay
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
BIN="$target_dir/release/examples/setup-relay"
[ -x "$BIN" ] || { echo "no binary at $BIN" >&2; exit 1; }

now_ns() { date +%s%N; }
verdict() { # value target unit
  awk -v v="$1" -v t="$2" -v u="$3" 'BEGIN { printf "%.3f %s (target %s %s): %s\n", v, u, t, u, (v <= t ? "OK" : "OVER") }'
}

loop_calls() { # dir
  local dir="$1" t0 t1 i
  t0=$(now_ns)
  for ((i = 0; i < N; i++)); do
    "$BIN" --config-dir "$dir" add-domain "d$i.bench.test" smtp.relay.test 587
  done
  t1=$(now_ns)
  awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN { printf "%.3f", (b - a) / 1e6 / n }'
}

baseline() {
  local t0 t1 i
  t0=$(now_ns)
  for ((i = 0; i < N; i++)); do /bin/true; done
  t1=$(now_ns)
  awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN { printf "%.3f", (b - a) / 1e6 / n }'
}

work=$(mktemp -d)
trap 'rm -rf "$work" "${shm:-}"' EXIT

echo "== 1. $N sequential add-domain processes"
base=$(baseline)
echo "   baseline: bash fork/exec of /bin/true: $base ms per call"
mean=$(loop_calls "$work/cfg-disk")
printf '   %s: ' "$work (disk, fsync)"; verdict "$mean" 5 ms
[ "$(wc -l < "$work/cfg-disk/postfix-relaymap.cf")" -eq "$N" ] || { echo "lost entries!" >&2; exit 1; }
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  shm=$(mktemp -d -p /dev/shm)
  mean=$(loop_calls "$shm/cfg")
  printf '   %s: ' "/dev/shm (tmpfs)"; verdict "$mean" 5 ms
fi

echo "== 2. 10,000 library operations, one save (in-process)"
out=$("$BIN" --config-dir "$work/cfg-ops" bench-ops 10000)
ms=$(sed -n 's/.*one save: \([0-9.]*\) ms/\1/p' <<<"$out")
printf '   '; verdict "$ms" 50 ms

echo "== 3. apply with 10,000 managed domains (RELAY_HOST set)"
cfg="$work/cfg-apply"; pdir="$work/pdir"
mkdir -p "$cfg" "$pdir"
cp conformance/dms/stock-main.cf "$pdir/main.cf"
awk 'BEGIN { for (i = 0; i < 10000; i++) printf "user%d@dom%d.test|{SHA512-CRYPT}$6$x$y\n", i, i }' > "$cfg/postfix-accounts.cf"
awk 'BEGIN { for (i = 0; i < 100; i++) printf "@dom%d.test [smtp%d.relay.test]:587\n", i, i; for (i = 100; i < 200; i++) printf "@dom%d.test \n", i }' > "$cfg/postfix-relaymap.cf"
printf '@dom0.test user0:pw0\n' > "$cfg/postfix-sasl-password.cf"
for run in first re-run; do
  t0=$(now_ns)
  env RELAY_HOST=smtp.relay.test RELAY_PORT=587 RELAY_USER=u RELAY_PASSWORD=p \
    "$BIN" --config-dir "$cfg" apply --postfix-dir "$pdir" >/dev/null
  t1=$(now_ns)
  s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
  printf '   %s: ' "$run"; verdict "$s" 0.5 s
done
echo "   relayhost_map: $(wc -l < "$pdir/relayhost_map") lines"
