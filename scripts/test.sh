#!/usr/bin/env bash
# The whole test suite: unit, integration, property and Postfix-oracle tests
# (nextest, all targets, so benches run once as smoke tests), then doctests.
# Tests that compare with the real postmap need `apt-get install postfix`;
# without it they say so loudly and skip (set DMS_REQUIRE_POSTFIX=1 to fail instead).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"
if ! command -v postmap >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix postfix-pcre >/dev/null
fi
if [ ! -e /usr/include/pcre2.h ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  # --all-features links postfix-table's `pcre` engine against the system libpcre2-8
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpcre2-dev >/dev/null
fi
command -v postmap >/dev/null || echo "WARNING: postmap not found: the Postfix oracle tests will SKIP" >&2
command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked
cargo test --workspace --all-features --doc --locked
cargo nextest run --workspace --all-targets --all-features --locked --no-fail-fast
