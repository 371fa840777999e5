#!/usr/bin/env bash
# (Re)builds the fuzz seed corpora from the texthash conformance vectors
# (conformance/tables/*.in, except the .regexp/.pcre/.cidr/.inline/.static
# ones):
#
#   fuzz/seeds/table_roundtrip/NAME       the table source, verbatim
#   fuzz/seeds/table_edits/NAME.noops     option selector 0, no ops, the table
#   fuzz/seeds/table_edits/NAME.ops       option selector N, a few ops, the table
#
# The table_edits layout is the one of fuzz/fuzz_targets/table_edits.rs
# (`Input { options: u8, ops: Vec<Op>, initial: &[u8] }`, derived Arbitrary):
# each op is a "more" byte 0x01, a 4-byte variant tag (00000000 Set,
# 60606060 OptOut, c0c0c0c0 Remove), then its texts, each a list of
# (0x01, alphabet index) pairs ended by 0x00; 0x00 ends the op list; the
# rest is the table verbatim. Check a seed with
#   cargo fuzz fmt -s none table_edits fuzz/seeds/table_edits/001-basic.ops
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=$root/conformance/tables
rt=$root/fuzz/seeds/table_roundtrip
ed=$root/fuzz/seeds/table_edits
rm -rf "$rt" "$ed"
mkdir -p "$rt" "$ed"

# Set KEY "a b"; OptOut "Éa"; Set "k:" "a"; Remove "key"; end.
ops='\x01\x00\x00\x00\x00''\x01\x07\x00''\x01\x00\x01\x0e\x01\x03\x00'
ops+='\x01\x60\x60\x60\x60''\x01\x16\x01\x00\x00'
ops+='\x01\x00\x00\x00\x00''\x01\x04\x01\x0a\x00''\x01\x00\x00'
ops+='\x01\xc0\xc0\xc0\xc0''\x01\x06\x00'
ops+='\x00'

n=0
for input in "$src"/*.in; do
  name=$(basename "$input" .in)
  case "$name" in
    *.regexp | *.pcre | *.cidr | *.inline | *.static) continue ;;
  esac
  cp "$input" "$rt/$name"
  { printf '\x00\x00'; cat "$input"; } > "$ed/$name.noops"
  { printf "\\x0$((n % 5))$ops"; cat "$input"; } > "$ed/$name.ops"
  n=$((n + 1))
done
echo "fuzz-seeds: $n tables -> $rt, $ed" >&2

# Pattern tables: fuzz/seeds/{regexp,pcre,cidr}_roundtrip/NAME from the
# NNN-name.KIND.in vectors; the hand-written x-* seeds there are kept.
for kind in regexp pcre cidr; do
  d=$root/fuzz/seeds/${kind}_roundtrip
  mkdir -p "$d"
  for input in "$src"/*."$kind".in; do
    [ -e "$input" ] || continue
    cp "$input" "$d/$(basename "$input" ".$kind.in")"
  done
done
echo "fuzz-seeds: pattern seeds -> $root/fuzz/seeds/{regexp,pcre,cidr}_roundtrip" >&2
