#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds gipc-glib and runs the whole test suite: the C, Python, gjs and
# example suites in a normal build (warnings as errors, GIR warnings fatal),
# then the C suites again in an AddressSanitizer/UBSan build. Installs what
# is missing first. Ends with one summary line counting the test cases:
# "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash build-aux/install-deps.sh || exit 1

passed=0
failed=0
skipped=0
status=0

run_suite () {
  local dir=$1; shift
  local log="$dir/meson-logs/testlog.json"
  rm -f "$log"
  meson test -C "$dir" --print-errorlogs "$@"
  local rc=$?
  local p f s
  read -r p f s < <(python3 build-aux/summarize-tests.py "$log")
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + s))
  # A suite that failed as a whole (e.g. meson itself) counts as a failure.
  if [ $rc -ne 0 ]; then
    status=1
    [ "$f" -gt 0 ] || failed=$((failed + 1))
  fi
}

echo "== normal build (_build)"
if bash build-aux/setup-build.sh _build -Dwerror=true -Ddocumentation=enabled; then
  run_suite _build
else
  echo "build failed: _build"; status=1; failed=$((failed + 1))
fi

echo "== AddressSanitizer/UBSan build (_build-asan)"
if bash build-aux/setup-build.sh _build-asan -Dwerror=true \
     -Db_sanitize=address,undefined -Db_lundef=false \
     -Dintrospection=disabled -Ddocumentation=disabled -Dbenchmarks=false; then
  # GLib 2.74 allocates GObjects and GErrors from g_slice, which hides
  # use-after-free from ASan: plain malloc lets it see them.
  G_SLICE=always-malloc \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite _build-asan --no-suite introspection --no-suite docs --no-suite examples
else
  echo "build failed: _build-asan"; status=1; failed=$((failed + 1))
fi

echo "$passed passed, $failed failed, $skipped skipped"
exit $status
