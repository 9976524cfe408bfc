#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
#
# check-uninstalled-pc.sh SOURCE_ROOT BUILD_ROOT: a consumer built by hand
# against the uninstalled pkg-config file (TAP). Compiles
# examples/hello.c, which includes <gipc-glib/gipc-glib.h> as every
# program does, with the flags of BUILD_ROOT/meson-uninstalled/
# gipc-glib-1.0-uninstalled.pc, runs it, and checks what it prints.
set -uo pipefail
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
tmp=$(mktemp -d /tmp/gipc-uninstalled-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "1..3"
export PKG_CONFIG_PATH="$build/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
if flags=$(pkg-config --cflags --libs gipc-glib-1.0-uninstalled 2>"$tmp/pc.log"); then
  echo "ok 1 - pkg-config knows gipc-glib-1.0-uninstalled"
else
  echo "not ok 1 - pkg-config knows gipc-glib-1.0-uninstalled"
  sed 's/^/# /' "$tmp/pc.log"
fi
# shellcheck disable=SC2086
if ${CC:-cc} -o "$tmp/hello" "$src/examples/hello.c" $flags 2>"$tmp/cc.log"; then
  echo "ok 2 - examples/hello.c compiles with #include <gipc-glib/gipc-glib.h> ($flags)"
else
  echo "not ok 2 - examples/hello.c compiles with #include <gipc-glib/gipc-glib.h> ($flags)"
  head -n 20 "$tmp/cc.log" | sed 's/^/# /'
fi
out=$(LD_LIBRARY_PATH="$build/gipc-glib" "$tmp/hello" 2>&1)
if [ "$out" = "hello from the child, exit code 0" ]; then
  echo "ok 3 - it runs"
else
  echo "not ok 3 - it runs"
  printf '%s\n' "$out" | sed 's/^/# /'
fi
