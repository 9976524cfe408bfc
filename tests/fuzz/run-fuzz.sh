#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
#
# run-fuzz.sh [frame|channel|fds|pool|all] [SECONDS] [libFuzzer options...]
# Builds the libFuzzer targets with clang -fsanitize=fuzzer,address,undefined
# and runs one (or each, one after the other) for SECONDS (default 60;
# 0 = no time limit, e.g. `run-fuzz.sh channel 0 -runs=10000000`):
#   frame    tests/fuzz/fuzz-frame.c, the frame codec (gipc-glib/gipc-frame.c)
#   channel  tests/fuzz/fuzz-channel.c, a channel's whole receive path, linked
#            with the library's internal archive from a clang ASan/UBSan meson
#            build instrumented for coverage ($FUZZ_DIR/lib)
#   fds      tests/fuzz/fuzz-fds.c, the receive path of an fd-capable channel
#            (one AF_UNIX socket; frames with fds attached), linked with
#            the same archive
#   pool     tests/fuzz/fuzz-pool.c, GipcPool's worker protocol: the
#            worker's receive path (a real gipc_worker_serve on a socket fed
#            with the input's messages) and the parent's result decoder,
#            linked with the same archive
# With no target name (first argument a number), runs frame, as before.
# Before fuzzing, each target runs the reproducers of the crashes found so
# far (tests/fuzz/crashes/<target>-*; FUZZ_REGRESS=0 skips them, to hunt
# for new ones while old ones are unfixed). Build output, corpora and crash
# artifacts go to $FUZZ_DIR (default _build-fuzz). Exits non-zero if a target fails to build or finds a crash.
# Needs clang and libclang-rt-14-dev (build-aux/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

target=frame
case ${1:-} in
  frame|channel|fds|pool|all) target=$1; shift ;;
esac
seconds=${1:-60}
[ $# -gt 0 ] && shift
out=${FUZZ_DIR:-_build-fuzz}
cc=${CC_FUZZ:-clang}

# GLib 2.74 takes objects from g_slice, which hides use after free from
# ASan (the targets set it too, before GLib starts).
export G_SLICE=always-malloc

sanitize=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
glib_flags=(-DGLIB_VERSION_MIN_REQUIRED=GLIB_VERSION_2_74
            -DGLIB_VERSION_MAX_ALLOWED=GLIB_VERSION_2_74)

mkdir -p "$out/corpus-frame" "$out/corpus-channel" "$out/corpus-fds" "$out/corpus-pool" "$out/artifacts"

build_frame () {
  # A config.h like the meson one, for gipc-frame.c and gipc-error.c.
  cat > "$out/config.h" <<'EOC'
#pragma once
#define G_LOG_DOMAIN "Gipc"
EOC

  # A few seeds: "abc", an empty message, two frames, an oversized header.
  printf '\004\000\000\000\000\003abc' > "$out/corpus-frame/seed-abc"
  printf '\003\001\000\000\000\000' > "$out/corpus-frame/seed-empty"
  printf '\004\001\000\000\000\002hi\000\000\000\001!' > "$out/corpus-frame/seed-two"
  printf '\001\000\177\377\377\377' > "$out/corpus-frame/seed-large"

  # shellcheck disable=SC2046
  "$cc" -g -O1 -fno-omit-frame-pointer "${sanitize[@]}" \
    -DGIPC_COMPILATION -D_GNU_SOURCE "${glib_flags[@]}" \
    -I"$out" -I. -Igipc-glib \
    tests/fuzz/fuzz-frame.c gipc-glib/gipc-frame.c gipc-glib/gipc-error.c \
    $(pkg-config --cflags --libs gio-2.0) \
    -o "$out/fuzz-frame"
}

# The library's internal archive, built once for the channel and fds
# targets.
build_lib () {
  local lib="$out/lib"

  # The library as meson builds it (generated enum types and version
  # header included), compiled by clang with the sanitizers and libFuzzer's
  # coverage instrumentation; only its internal archive is built.
  if [ ! -f "$lib/build.ninja" ]; then
    CC="$cc" meson setup "$lib" --buildtype=debugoptimized \
      -Db_sanitize=address,undefined -Db_lundef=false \
      -Dc_args="-fsanitize=fuzzer-no-link -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
      -Dtests=false -Dexamples=false -Dbenchmarks=false \
      -Dintrospection=disabled -Ddocumentation=disabled >/dev/null
  fi
  ninja -C "$lib" gipc-glib/libgipc-glib-internal.a >/dev/null
}

# Links tests/fuzz/fuzz-NAME.c with the archive.
build_lib_target () {
  local name=$1 lib="$out/lib"

  build_lib
  # shellcheck disable=SC2046
  "$cc" -g -O1 -fno-omit-frame-pointer "${sanitize[@]}" \
    -D_GNU_SOURCE "${glib_flags[@]}" \
    -I"$lib" -I"$lib/gipc-glib" -I. \
    tests/fuzz/fuzz-"$name".c "$lib/gipc-glib/libgipc-glib-internal.a" \
    $(pkg-config --cflags --libs gio-unix-2.0) \
    -o "$out/fuzz-$name"
}

build_channel () { build_lib_target channel; }
build_fds () { build_lib_target fds; }
build_pool () { build_lib_target pool; }

# Runs the committed reproducers of a target: each must now pass.
regress () {
  local name=$1 files
  [ "${FUZZ_REGRESS:-1}" != 0 ] || return 0
  shopt -s nullglob
  files=(tests/fuzz/crashes/"$name"-*)
  shopt -u nullglob
  [ ${#files[@]} -gt 0 ] || return 0
  echo "run-fuzz: $name: ${#files[@]} crash reproducers"
  "$out/fuzz-$name" -malloc_limit_mb=64 -rss_limit_mb=2048 -timeout=30 "${files[@]}"
}

run_frame () {
  regress frame
  "$out/fuzz-frame" -max_total_time="$seconds" -max_len=4096 \
    -artifact_prefix="$out/artifacts/frame-" -print_final_stats=1 "$@" \
    "$out/corpus-frame"
}

# -malloc_limit_mb: a peer's 4-byte header must not make the receiver
# allocate the announced size at once (the inputs stay below 2 MiB).
run_channel () {
  regress channel
  "$out/fuzz-channel" -max_total_time="$seconds" -max_len=131072 \
    -malloc_limit_mb=64 -rss_limit_mb=2048 -timeout=30 \
    -artifact_prefix="$out/artifacts/channel-" -print_final_stats=1 "$@" \
    "$out/corpus-channel" tests/fuzz/seeds-channel
}

# Records of up to 64 KiB each: two make a frame whose body the channel
# reads directly. The fds go over one socket per input, sent by a thread.
run_fds () {
  regress fds
  "$out/fuzz-fds" -max_total_time="$seconds" -max_len=262144 \
    -malloc_limit_mb=64 -rss_limit_mb=2048 -timeout=30 \
    -artifact_prefix="$out/artifacts/fds-" -print_final_stats=1 "$@" \
    "$out/corpus-fds" tests/fuzz/seeds-fds
}

# Records of up to 64 KiB; the worker side runs a real gipc_worker_serve
# per input (a thread feeds it), so inputs are kept small.
run_pool () {
  regress pool
  "$out/fuzz-pool" -max_total_time="$seconds" -max_len=65536 \
    -malloc_limit_mb=256 -rss_limit_mb=2048 -timeout=30 \
    -artifact_prefix="$out/artifacts/pool-" -print_final_stats=1 "$@" \
    "$out/corpus-pool" tests/fuzz/seeds-pool
}

case $target in
  frame) build_frame; run_frame "$@" ;;
  channel) build_channel; run_channel "$@" ;;
  fds) build_fds; run_fds "$@" ;;
  pool) build_pool; run_pool "$@" ;;
  all)
    build_frame
    build_channel
    build_fds
    build_pool
    rc=0
    run_frame "$@" || rc=1
    run_channel "$@" || rc=1
    run_fds "$@" || rc=1
    run_pool "$@" || rc=1
    exit $rc
    ;;
esac
