#!/usr/bin/env bash
# Generate postfix-maincf/src/defaults_data.rs from the installed Postfix.
#
#   bash scripts/gen-postconf-defaults.sh           # (re)write the file
#   bash scripts/gen-postconf-defaults.sh --check   # exit 1 if the committed file differs
#
# Everything in the generated file is observed with the installed `postconf`
# (POSTCONF, default /usr/sbin/postconf), run with LC_ALL=C on a private
# configuration directory holding an empty master.cf:
#
#  * DEFAULTS: every line of `postconf -c TMP -d` (empty main.cf), i.e. the
#    built-in parameters and their unexpanded defaults. postconf prints values
#    with whitespace normalised (runs of blanks -> one space); so do we.
#    Defaults computed at run time from the machine are NOT kept: they are
#    written as `None` (host-dependent). Which ones those are is known from the
#    Postfix sources (postconf_builtin.c: the "function" defaults myhostname,
#    mydomain and mynetworks, and the ad-hoc process_id and process_name); the
#    script also runs `postconf -d` a second time under another hostname (when
#    `unshare -u` works) and fails if anything else changes.
#  * RAW: built-in parameters whose value postconf never scans for $name
#    (found by setting every parameter P to `$pcfprobe_P` and seeing which
#    `pcfprobe_P` postconf reports as unused).
#  * READ_ONLY: parameters whose main.cf assignment postconf deletes with
#    "read-only parameter assignment" (same run).
#  * LEGACY: parameter names postconf accepts in main.cf although `-d` does
#    not list them (a candidate list from the sources, each one verified).
#  * *_SUFFIXES: for each legacy database client type, the `<prefix>_<suffix>`
#    names that `TYPE:prefix` in a built-in parameter makes known (a candidate
#    list from the sources, each one verified; non-matching candidates dropped).
#
# The output is deterministic: running the script twice gives the same bytes.
set -euo pipefail
export LC_ALL=C

POSTCONF=${POSTCONF:-/usr/sbin/postconf}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/postfix-maincf/src/defaults_data.rs"
CHECK=0
case "${1:-}" in
    --check) CHECK=1 ;;
    "") ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

[ -x "$POSTCONF" ] || { echo "$0: $POSTCONF not found" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/cf"
: > "$TMP/cf/master.cf"

# Write main.cf (stdin) and back-date it: postconf re-reads files modified
# within the last second, repeating its warnings.
put_main() {
    cat > "$TMP/cf/main.cf"
    touch -d '2000-01-01 00:00:00' "$TMP/cf/main.cf"
}
pc() { "$POSTCONF" -c "$TMP/cf" "$@"; }

HOST_DEPENDENT="mydomain myhostname mynetworks process_id process_name"

put_main < /dev/null
VERSION=$(pc -h -d mail_version)
pc -d > "$TMP/d.txt"
sort -c "$TMP/d.txt"
cut -d' ' -f1 "$TMP/d.txt" > "$TMP/names.txt"

for n in $HOST_DEPENDENT; do
    grep -qx "$n" "$TMP/names.txt" || { echo "$0: $n missing from postconf -d" >&2; exit 1; }
done

# Cross-check: nothing else may depend on the host name.
if unshare -u true 2>/dev/null; then
    unshare -u sh -c 'hostname pcf-probe-host.example.org && "$@"' sh \
        "$POSTCONF" -c "$TMP/cf" -d > "$TMP/d2.txt"
    changed=$( (diff "$TMP/d.txt" "$TMP/d2.txt" || true) | sed -n 's/^< \([^ ]*\) .*/\1/p' | sort -u | tr '\n' ' ')
    for n in $changed; do
        case " $HOST_DEPENDENT " in
            *" $n "*) ;;
            *) echo "$0: default of $n depends on the host name; add it to HOST_DEPENDENT" >&2; exit 1 ;;
        esac
    done
fi

# RAW and READ_ONLY probe.
awk '{ printf "%s = $pcfprobe_%s\npcfprobe_%s = 1\n", $1, $1, $1 }' "$TMP/names.txt" | put_main
pc -n > /dev/null 2> "$TMP/probe.err" || { cat "$TMP/probe.err" >&2; exit 1; }
sed -n 's/^.*: unused parameter: pcfprobe_\(.*\)=1$/\1/p' "$TMP/probe.err" | sort -u > "$TMP/raw.txt"
sed -n 's/^.*: read-only parameter assignment: \([^=]*\)=.*$/\1/p' "$TMP/probe.err" | sort -u > "$TMP/readonly.txt"
# A read-only assignment is deleted before its value is scanned: not raw.
comm -23 "$TMP/raw.txt" "$TMP/readonly.txt" > "$TMP/raw2.txt"
mv "$TMP/raw2.txt" "$TMP/raw.txt"
[ -s "$TMP/raw.txt" ] || { echo "$0: raw parameter probe found nothing" >&2; exit 1; }

# LEGACY: candidates from postconf_builtin.c (pcf_legacy_str_table), verified.
LEGACY_CANDIDATES="virtual_maps fallback_relay authorized_verp_clients
 smtpd_client_connection_limit_exceptions postscreen_dnsbl_ttl
 postscreen_blacklist_action postscreen_dnsbl_whitelist_threshold
 postscreen_whitelist_interfaces lmtp_per_record_deadline
 smtp_per_record_deadline smtpd_per_record_deadline tlsproxy_client_level
 tlsproxy_client_policy"
for n in $LEGACY_CANDIDATES; do echo "$n = 1"; done | put_main
pc -n > "$TMP/legacy.out" 2> "$TMP/legacy.err" || { cat "$TMP/legacy.err" >&2; exit 1; }
sed -n 's/^\([^ ]*\) = 1$/\1/p' "$TMP/legacy.out" | sort -u > "$TMP/legacy.txt"
for n in $LEGACY_CANDIDATES; do
    grep -qx "$n" "$TMP/legacy.txt" || { echo "$0: legacy parameter $n is not known to postconf" >&2; exit 1; }
    if grep -qx "$n" "$TMP/names.txt"; then
        echo "$0: legacy parameter $n is listed by postconf -d" >&2; exit 1
    fi
done

# Database client suffixes: candidates from global/dict_{ldap,mysql,pgsql,
# sqlite,memcache}.c (cfg_get_* names) plus the ones postconf's
# extract_cfg.sh adds (domain; table select_field where_field
# additional_conditions), tried against every type.
SUFFIX_CANDIDATES="additional_conditions backup bind bind_dn bind_pw cache
 cache_expiry cache_size chase_referrals data_size_limit dbname dbpath
 debuglevel dereference domain expansion_limit flags hosts key_format
 leaf_result_attribute line_size_limit max_try memcache option_file
 option_group password query query_filter recursion_limit require_result_set
 result_attribute result_filter result_format retry_pause sasl_authz_id
 sasl_mechs sasl_minssf sasl_realm scope search_base select_field
 select_function server_host server_port size_limit special_result_attribute
 start_tls table terminal_result_attribute timeout tls_CAfile tls_CApath
 tls_ca_cert_dir tls_ca_cert_file tls_cert tls_cert_file tls_cipher_suite
 tls_ciphers tls_key tls_key_file tls_random_file tls_require_cert
 tls_verify_cert ttl user version where_field
 pcfprobe_not_a_suffix"
suffixes_for() {
    {
        echo "virtual_alias_maps = $1:pcfdb"
        for s in $SUFFIX_CANDIDATES; do echo "pcfdb_$s = 1"; done
    } | put_main
    pc -n 2> /dev/null | sed -n 's/^pcfdb_\(.*\) = 1$/\1/p' | sort -u
}
for t in ldap mysql pgsql sqlite memcache; do
    suffixes_for "$t" > "$TMP/sfx_$t.txt"
    [ -s "$TMP/sfx_$t.txt" ] || { echo "$0: no $t suffixes found" >&2; exit 1; }
    if grep -qx pcfprobe_not_a_suffix "$TMP/sfx_$t.txt"; then
        echo "$0: $t suffix probe is not selective" >&2; exit 1
    fi
done

# Rust string literal body.
rs_str() { sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }

list() { # NAME FILE DOC
    echo ""
    echo "/// $3"
    echo "pub(super) const $1: &[&str] = &["
    while IFS= read -r n; do printf '    "%s",\n' "$(printf '%s' "$n" | rs_str)"; done < "$2"
    echo "];"
}

{
    echo "// @generated by scripts/gen-postconf-defaults.sh from Postfix $VERSION"
    echo "// (\`postconf -c DIR -d\` with an empty main.cf and master.cf, LC_ALL=C)."
    echo "// Do not edit: run \`bash scripts/gen-postconf-defaults.sh\` instead."
    echo "// Values are as postconf prints them: whitespace runs collapsed to one space."
    echo ""
    echo "/// The Postfix version (\`mail_version\`) this table was generated from."
    echo "pub(super) const POSTFIX_VERSION: &str = \"$VERSION\";"
    echo ""
    echo "/// Built-in parameters sorted by name (byte order) with their defaults;"
    echo "/// \`None\` = computed from the host at run time (see \`HostDefaults\`)."
    echo "pub(super) const DEFAULTS: &[(&str, Option<&str>)] = &["
    while IFS= read -r line; do
        name=${line%% = *}
        if [ "$name" = "$line" ]; then   # "name =" (empty value)
            name=${line% =}
            value=""
        else
            value=${line#* = }
        fi
        case " $HOST_DEPENDENT " in
            *" $name "*) printf '    ("%s", None),\n' "$name" ;;
            *) printf '    ("%s", Some("%s")),\n' "$name" "$(printf '%s' "$value" | rs_str)" ;;
        esac
    done < "$TMP/d.txt"
    echo "];"
    list RAW "$TMP/raw.txt" "Built-in parameters whose values postconf never scans for \`\$name\` (sorted)."
    list READ_ONLY "$TMP/readonly.txt" "Parameters whose main.cf assignments postconf deletes as read-only (sorted)."
    list LEGACY "$TMP/legacy.txt" "Legacy names postconf knows although \`postconf -d\` does not list them (sorted)."
    list LDAP_SUFFIXES "$TMP/sfx_ldap.txt" "\`ldap:prefix\` makes \`prefix_SUFFIX\` known for these suffixes (sorted)."
    list MEMCACHE_SUFFIXES "$TMP/sfx_memcache.txt" "\`memcache:prefix\` makes \`prefix_SUFFIX\` known for these suffixes (sorted)."
    list MYSQL_SUFFIXES "$TMP/sfx_mysql.txt" "\`mysql:prefix\` makes \`prefix_SUFFIX\` known for these suffixes (sorted)."
    list PGSQL_SUFFIXES "$TMP/sfx_pgsql.txt" "\`pgsql:prefix\` makes \`prefix_SUFFIX\` known for these suffixes (sorted)."
    list SQLITE_SUFFIXES "$TMP/sfx_sqlite.txt" "\`sqlite:prefix\` makes \`prefix_SUFFIX\` known for these suffixes (sorted)."
} > "$TMP/out.rs"

if [ "$CHECK" = 1 ]; then
    if ! cmp -s "$TMP/out.rs" "$OUT"; then
        echo "$0: $OUT is out of date with $POSTCONF (Postfix $VERSION):" >&2
        diff -u "$OUT" "$TMP/out.rs" >&2 || true
        exit 1
    fi
    echo "$OUT is up to date (Postfix $VERSION)"
else
    cp "$TMP/out.rs" "$OUT"
    echo "wrote $OUT (Postfix $VERSION, $(wc -l < "$TMP/d.txt") parameters)"
fi
