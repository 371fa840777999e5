#!/usr/bin/env bash
# Publishing checks for the library crates (run by .ci/run; runs locally too):
#   * every crate builds with --no-default-features and with --all-features;
#   * `cargo package --list` holds only what belongs in a published crate
#     (sources, manifest, README, licenses, and the files cargo adds itself);
#     any other file (tests, vectors, fuzz inputs, scripts, benches) fails;
#   * the manifest has description, license, repository, readme, keywords,
#     categories and [package.metadata.docs.rs].
# `cargo publish --dry-run` itself runs in .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
crates=(postfix-table postfix-maincf dms-relay)
allowed='^(\.cargo_vcs_info\.json|Cargo\.lock|Cargo\.toml|Cargo\.toml\.orig|README\.md|LICENSE-MIT|LICENSE-APACHE|src/[A-Za-z0-9_/]+\.rs)$'
fail=0
for c in "${crates[@]}"; do
  for f in --no-default-features --all-features; do
    cargo check -q -p "$c" "$f" --locked || { echo "check-publish: $c does not build with $f"; fail=1; }
  done
  list=$(cargo package --list -p "$c" --locked --allow-dirty)
  unexpected=$(grep -Ev "$allowed" <<<"$list" || true)
  if [ -n "$unexpected" ]; then
    echo "check-publish: $c would publish unexpected files:"; sed 's/^/  /' <<<"$unexpected"; fail=1
  fi
  for need in README.md LICENSE-MIT LICENSE-APACHE src/lib.rs; do
    grep -qx "$need" <<<"$list" || { echo "check-publish: $c package lacks $need"; fail=1; }
  done
  manifest="$c/Cargo.toml"
  for key in '^description *=' '^license(\.workspace)? *=' '^repository(\.workspace)? *=' '^readme *=' \
             '^keywords *=' '^categories *=' '^\[package\.metadata\.docs\.rs\]'; do
    grep -Eq "$key" "$manifest" || { echo "check-publish: $manifest lacks ${key//[\\^*]/}"; fail=1; }
  done
  echo "check-publish: $c: $(wc -l <<<"$list") files, builds with and without features"
done
exit "$fail"
