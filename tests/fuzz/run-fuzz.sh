#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
#
# run-fuzz.sh [SECONDS] [libFuzzer options...]
# Builds the frame decoder fuzzer (tests/fuzz/fuzz-frame.c against
# gipc-glib/gipc-frame.c) with clang -fsanitize=fuzzer,address,undefined and
# runs it for SECONDS (default 60). Build output and the corpus go to
# $FUZZ_DIR (default _build-fuzz). Not part of `meson test`.
# Needs clang and libclang-rt-dev (Debian: clang libclang-rt-14-dev).
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-60}
[ $# -gt 0 ] && shift
out=${FUZZ_DIR:-_build-fuzz}
cc=${CC_FUZZ:-clang}

mkdir -p "$out/corpus" "$out/artifacts"

# A config.h like the meson one, for gipc-frame.c and gipc-error.c.
cat > "$out/config.h" <<'EOC'
#pragma once
#define G_LOG_DOMAIN "Gipc"
EOC

# A few seeds: "abc", an empty message, two frames, an oversized header.
printf '\004\000\000\000\000\003abc' > "$out/corpus/seed-abc"
printf '\003\001\000\000\000\000' > "$out/corpus/seed-empty"
printf '\004\001\000\000\000\002hi\000\000\000\001!' > "$out/corpus/seed-two"
printf '\001\000\177\377\377\377' > "$out/corpus/seed-large"

# shellcheck disable=SC2046
"$cc" -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -DGIPC_COMPILATION -D_GNU_SOURCE \
  -DGLIB_VERSION_MIN_REQUIRED=GLIB_VERSION_2_74 \
  -DGLIB_VERSION_MAX_ALLOWED=GLIB_VERSION_2_74 \
  -I"$out" -I. -Igipc-glib \
  tests/fuzz/fuzz-frame.c gipc-glib/gipc-frame.c gipc-glib/gipc-error.c \
  $(pkg-config --cflags --libs gio-2.0) \
  -o "$out/fuzz-frame"

exec "$out/fuzz-frame" -max_total_time="$seconds" -max_len=4096 \
  -artifact_prefix="$out/artifacts/" -print_final_stats=1 "$@" "$out/corpus"
