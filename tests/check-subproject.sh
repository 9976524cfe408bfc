#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
#
# check-subproject.sh SOURCE_ROOT: gipc-glib as a meson subproject (TAP).
# Copies tests/subproject-consumer/ to a temporary directory, points its
# subprojects/gipc-glib at SOURCE_ROOT (as a checkout or submodule would be
# there), then
#   1. with the wrap file's [provide]: configures, builds and runs the
#      consumer, and checks that none of gipc-glib's tests, examples,
#      benchmarks or GIR is part of the consumer's build;
#   2. without the wrap file, through dependency(fallback:): configures.
set -uo pipefail
src=$(cd "$1" && pwd)
tmp=$(mktemp -d /tmp/gipc-subproject-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# The consumer's meson runs on its own, not inside this build's test run.
unset MESON_BUILD_ROOT MESON_SOURCE_ROOT MESON_SUBDIR MESONINTROSPECT

n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () {
  n=$((n + 1)); failed=1; echo "not ok $n - $1"
  [ -f "${2:-}" ] && tail -n 30 "$2" | sed 's/^/# /'
}
check () { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

echo "1..9"
cp -r "$src/tests/subproject-consumer" "$tmp/consumer"
ln -s "$src" "$tmp/consumer/subprojects/gipc-glib"
cd "$tmp/consumer"

if meson setup b >"$tmp/setup.log" 2>&1; then ok "configure with the wrap file"
else not_ok "configure with the wrap file" "$tmp/setup.log"; fi
if meson compile -C b >"$tmp/compile.log" 2>&1; then ok "build"
else not_ok "build" "$tmp/compile.log"; fi
if out=$(./b/consumer 2>&1) && [ "$out" = "hello from the subproject, exit code 0, gipc-glib $(meson introspect --projectinfo b | python3 -c 'import json,sys; print([s for s in json.load(sys.stdin)["subprojects"] if s["name"] == "gipc-glib"][0]["version"])')" ]; then
  ok "the consumer runs"
else
  echo "# $out"; not_ok "the consumer runs"
fi

tests=$(meson introspect --tests b | python3 -c 'import json,sys; print(" ".join(t["name"] for t in json.load(sys.stdin)))')
check "only the consumer's own test in its meson test (got: $tests)" [ "$tests" = "consumer" ]
targets=$(meson introspect --targets b | python3 -c 'import json,sys; print(" ".join(t["name"] for t in json.load(sys.stdin)))')
check "no gipc-glib test programs" bash -c "! grep -qw -e test-channel -e gipc-test-helper <<<'$targets'"
check "no examples" bash -c "! grep -qw -e demo -e hello <<<'$targets'"
check "no benchmarks" bash -c "! grep -qw -e gipc-bench <<<'$targets'"
check "no GIR" bash -c "! grep -q 'Gipc-1.0' <<<'$targets'"

rm subprojects/gipc-glib.wrap
if meson setup b2 -Dwith_fallback=true >"$tmp/setup2.log" 2>&1; then ok "configure with dependency(fallback:), no wrap file"
else not_ok "configure with dependency(fallback:), no wrap file" "$tmp/setup2.log"; fi
exit $failed
