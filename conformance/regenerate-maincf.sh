#!/usr/bin/env bash
# Re-make the oracle outputs of conformance/maincf/ and conformance/maincf-edit/
# from the real Postfix (postconf, Postfix 3.7, Debian 12 package `postfix`).
#
#   conformance/regenerate-maincf.sh            # rewrites the outputs in place
#   git diff --stat conformance/maincf*         # any change = Postfix behaves differently
#
# Inputs (*.cf, *.args) are hand-written; outputs are never edited by hand.
#   maincf/NNN.expected   stdout of `postconf -c DIR -n`, without the config_directory line -c adds
#   maincf/NNN.warnings   its stderr, temp dir shown as DIR; the "undefined parameter" and
#                         "unused parameter" groups (random order in postconf) moved last, each sorted
#   maincf/NNN.params     NAME<TAB>`postconf -h NAME` for every name the file defines
#   maincf/NNN.expanded   `postconf -n -x` (only for inputs with a `$`)
#   maincf/NNN.raw        the values Postfix stores (tools/maincf-raw.c; needs gcc and libpostfix-util)
#   maincf-edit/NNN.result    main.cf after `postconf -c DIR ARGS...` (ARGS = NNN.args, one per line)
#   maincf-edit/NNN.warnings  its stderr, then "exit status: N"
# Every case runs in a private temporary directory holding main.cf and an empty
# master.cf; the system configuration is never read or touched.
set -u
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PATH=$PATH:/usr/sbin:/sbin
command -v postconf >/dev/null || { echo "postconf not found: apt-get install postfix" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cold='2000-01-01 00:00:00'   # Postfix re-reads files modified within the last second

raw_tool=
if command -v gcc >/dev/null && [ -e /usr/lib/postfix/libpostfix-util.so ]; then
  if gcc -O1 -o "$work/maincf-raw" "$here/tools/maincf-raw.c" -L/usr/lib/postfix \
       -lpostfix-util -Wl,-rpath,/usr/lib/postfix 2>"$work/gcc.err"; then
    raw_tool=$work/maincf-raw
  fi
fi
[ -n "$raw_tool" ] || echo "note: cannot build tools/maincf-raw.c; *.raw left as they are" >&2

fresh_dir() {   # a private config dir holding a copy of $1 as main.cf
  local d
  d=$(mktemp -d "$work/case.XXXXXX")
  cp "$1" "$d/main.cf"
  : > "$d/master.cf"
  touch -d "$cold" "$d/main.cf" "$d/master.cf"
  echo "$d"
}

for cf in "$here"/maincf/*.cf; do
  base=${cf%.cf}
  d=$(fresh_dir "$cf")
  postconf -c "$d" -n >"$work/out" 2>"$work/err"; status=$?
  grep -av '^config_directory = ' "$work/out" >"$base.expected"
  sed "s|$d|DIR|g" "$work/err" >"$work/err.dir"
  { grep -av -e ': undefined parameter: ' -e ': unused parameter: ' "$work/err.dir"
    grep -a ': undefined parameter: ' "$work/err.dir" | sort
    grep -a ': unused parameter: ' "$work/err.dir" | sort
  } >"$base.warnings"
  : >"$base.params"
  rm -f "$base.expanded"
  if [ "$status" -eq 0 ]; then
    # Names postconf prints, plus defined names it calls unused.
    { postconf -c "$d" -n -H 2>/dev/null | grep -av '^config_directory$'
      sed -n 's/^postconf: warning: .*: unused parameter: \([^=]*\)=.*$/\1/p' "$work/err"
    } | sort -u >"$work/names"
    postconf -c "$d" -n -H 2>/dev/null >"$work/known"
    while IFS= read -r name; do
      if grep -aqxF -- "$name" "$work/known"; then
        value=$(postconf -c "$d" -h "$name" 2>/dev/null)
      elif [[ $name =~ ^[A-Za-z0-9_]+$ ]]; then
        # An unreferenced user parameter: reference it from an override
        # so that postconf knows it, then ask for it.
        value=$(postconf -c "$d" -o "zz_oracle_probe=\${$name}" -h "$name" 2>/dev/null)
      else
        # Not a $name-able name: only the warning shows its value.
        value=$(grep -aF -- "unused parameter: $name=" "$work/err" | head -n1 | sed 's/^[^=]*=//')
      fi
      printf '%s\t%s\n' "$name" "$value"
    done <"$work/names" >"$base.params"
    if grep -aq '\$' "$cf"; then
      postconf -c "$d" -n -x 2>/dev/null | grep -av '^config_directory = ' >"$base.expanded"
    fi
  fi
  if [ -n "$raw_tool" ]; then
    "$raw_tool" "$d/main.cf" >"$base.raw" 2>/dev/null || :
  fi
  rm -rf "$d"
done

for cf in "$here"/maincf-edit/*.cf; do
  base=${cf%.cf}
  [ -f "$base.args" ] || { echo "missing $base.args" >&2; continue; }
  mapfile -t args <"$base.args"
  d=$(fresh_dir "$cf")
  postconf -c "$d" "${args[@]}" >/dev/null 2>"$work/err"; status=$?
  cp "$d/main.cf" "$base.result"
  { sed "s|$d|DIR|g" "$work/err"; echo "exit status: $status"; } >"$base.warnings"
  rm -rf "$d"
done
echo "regenerated $(ls "$here"/maincf/*.cf | wc -l) maincf and $(ls "$here"/maincf-edit/*.cf | wc -l) maincf-edit cases"
