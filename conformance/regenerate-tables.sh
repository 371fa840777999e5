#!/usr/bin/env bash
# Re-make the oracle outputs of conformance/tables/ from the real Postfix
# (postmap, Postfix 3.7, Debian 12 package `postfix` + `postfix-pcre`).
#
#   conformance/regenerate-tables.sh        # rewrites tables/*.{expected,warnings,dump,hash.warnings}
#   git diff --stat conformance/tables      # any change = Postfix behaves differently
#
# Inputs (*.in, *.queries) are hand-written; outputs are never edited by hand.
# Every run happens in a private temporary directory with its own postmap
# configuration (`compatibility_level = 3.6`, so smtputf8_enable = yes, as on
# a stock Debian 12); the system configuration is never read or touched.
set -u
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PATH=$PATH:/usr/sbin:/sbin
command -v postmap >/dev/null || { echo "postmap not found: apt-get install postfix postfix-pcre" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cold='2000-01-01 00:00:00'   # Postfix re-reads files modified within the last second

conf=$work/conf
mkdir -p "$conf"
echo 'compatibility_level = 3.6' > "$conf/main.cf"
: > "$conf/master.cf"
touch -d "$cold" "$conf/main.cf" "$conf/master.cf"

kind_of() {
  case "$1" in
    *.regexp) echo regexp ;; *.pcre) echo pcre ;; *.cidr) echo cidr ;;
    *.inline) echo inline ;; *.static) echo static ;; *) echo texthash ;;
  esac
}

# Prints "key<TAB>result" per query, one postmap process per key, so that a
# fatal error on one key cannot hide the others.
answers() {
  local map=$1 queries=$2 key out
  while IFS= read -r key || [ -n "$key" ]; do
    if out=$(postmap -c "$conf" -q "$key" "$map" 2>"$work/err"); then
      printf '%s\t%s\n' "$key" "$out"
    elif grep -aq 'fatal:' "$work/err"; then
      printf '%s\t(error)\n' "$key"
    else
      printf '%s\t(not found)\n' "$key"
    fi
  done < "$queries"
}

n=0
for input in "$here"/tables/*.in; do
  base=${input%.in}
  kind=$(kind_of "$base")
  [ -f "$base.queries" ] || { echo "skip $base: no .queries" >&2; continue; }
  dir=$(mktemp -d "$work/case.XXXX")
  (
    cd "$dir" || exit 1
    if [ "$kind" = inline ] || [ "$kind" = static ]; then
      map=$(head -n 1 "$input")
    else
      cp "$input" table && touch -d "$cold" table
      map=$kind:table
    fi
    answers "$map" "$base.queries" > "$base.expected"
    postmap -c "$conf" -q - "$map" < "$base.queries" > /dev/null 2> "$base.warnings"
    if [ "$kind" = texthash ]; then
      postmap -c "$conf" -s texthash:table 2>/dev/null | sort > "$base.dump"
      postmap -c "$conf" hash:table > /dev/null 2> "$base.hash.warnings"
      answers hash:table "$base.queries" > hash.expected
      if cmp -s hash.expected "$base.expected"; then rm -f "$base.hash.expected"
      else cp hash.expected "$base.hash.expected"; fi
    fi
  )
  rm -rf "$dir"
  n=$((n + 1))
done
echo "regenerated $n table cases with Postfix $(postconf -d -h mail_version 2>/dev/null)" >&2
