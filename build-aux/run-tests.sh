#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds gipc-glib and runs the whole test suite: first a check that the
# demo's build step does not take the test build's options away (one
# test); the C, Python, gjs, example, docs and build (subproject consumer)
# suites in a normal build (warnings as errors, GIR warnings fatal),
# then the C suites again in an AddressSanitizer/UBSan build, then the
# 'valgrind' suite in the normal build under valgrind's memcheck
# (G_SLICE=always-malloc; tests/valgrind-run.py fails a case on any memcheck
# error in any process, children included, and on a definite leak in the
# test program): chosen cases of the process, fork-server, pool, channel
# fd/shared-memory and sandbox suites (tests/meson.build, valgrind_cases),
# about a minute; then the four libFuzzer targets (frame, channel, fds,
# pool) for a bounded time ($FUZZ_SECONDS each, default 15; each counts as
# one test). Installs what is missing first. Ends with one summary line
# counting the test cases: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash build-aux/install-deps.sh || exit 1

passed=0
failed=0
skipped=0
status=0

# run_suite DIR [meson test options...]; $testlog names the log meson
# writes (testlog-SETUP with --setup SETUP).
run_suite () {
  local dir=$1; shift
  local log="$dir/meson-logs/${testlog:-testlog}.json"
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

# check_options DIR NAME=VALUE...: DIR's meson options have these values.
check_options () {
  local dir=$1; shift
  meson introspect --buildoptions "$dir" | python3 -c '
import json, sys
have = {o["name"]: str(o["value"]).lower() for o in json.load(sys.stdin)}
bad = [a for a in sys.argv[1:] if have.get(a.split("=")[0]) != a.split("=")[1]]
for a in bad:
    print("  %s is %s, not %s" % (a.split("=")[0], have.get(a.split("=")[0]),
                                   a.split("=")[1]))
sys.exit(1 if bad else 0)' "$@"
}

normal_options=(-Dwerror=true -Ddocumentation=enabled)
normal_expected=(werror=true documentation=enabled)

# The demo command's build step (the line of build-aux/demo.sh that builds,
# run as it is there), then the test command's, then the demo's again: the
# test build must have every option the test command asks for, whatever ran
# before or after it. One test, "demo-then-tests".
demo_step=$(grep -E '^bash build-aux/setup-build.sh ' build-aux/demo.sh)
echo "== demo then tests: '$demo_step', then the test build (_build)"
if bash -c "$demo_step" &&
   bash build-aux/setup-build.sh _build "${normal_options[@]}" &&
   check_options _build "${normal_expected[@]}" &&
   bash -c "$demo_step" &&
   check_options _build "${normal_expected[@]}"; then
  echo "ok - demo-then-tests: _build has ${normal_expected[*]}"
  passed=$((passed + 1))
  build_ok=1
else
  echo "not ok - demo-then-tests: _build lost the test command's options (or did not build)"
  failed=$((failed + 1)); status=1
  build_ok=0
fi

echo "== normal build (_build)"
if [ $build_ok = 1 ]; then
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
    run_suite _build-asan --timeout-multiplier 3 --no-suite introspection --no-suite docs --no-suite examples \
      --no-suite build
else
  echo "build failed: _build-asan"; status=1; failed=$((failed + 1))
fi

# Valgrind checks what the ASan stage does not: every instruction, GLib's
# too, not only instrumented code; the cases of the suites ASan leaves out
# (no-asan); each forked child's own errors; and the library's no-pidfd
# fallbacks (valgrind 3.19 has no pidfd_open). The normal build; the
# 'valgrind' suite only (a plain meson test leaves it out).
echo "== valgrind (_build, --setup valgrind --suite valgrind)"
if [ $build_ok = 1 ]; then
  testlog=testlog-valgrind run_suite _build --setup valgrind --suite valgrind
else
  echo "build failed: _build"; status=1; failed=$((failed + 1))
fi

# Each fuzz target is one test: it passes if it builds, its known crash
# reproducers (tests/fuzz/crashes/) pass and it finds nothing new in the
# time given.
run_fuzz () {
  local name=$1
  local log="_build-fuzz/run-$name.log"
  echo "== fuzz: $name (${FUZZ_SECONDS:-15} s)"
  mkdir -p _build-fuzz
  if bash tests/fuzz/run-fuzz.sh "$name" "${FUZZ_SECONDS:-15}" >"$log" 2>&1; then
    passed=$((passed + 1))
    grep -E '^stat::number_of_executed_units' "$log" || true
  else
    echo "fuzz target $name failed; last lines of $log:"
    tail -n 40 "$log"
    failed=$((failed + 1)); status=1
  fi
}
run_fuzz frame
run_fuzz channel
run_fuzz fds
run_fuzz pool

echo "$passed passed, $failed failed, $skipped skipped"
exit $status
