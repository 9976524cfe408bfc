#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# setup-build.sh DIR [meson options...]: configure DIR (the first time) or
# apply the given options to it (every later time, so an option asked for
# is in effect whatever configured DIR before), then build it. Options not
# given keep their value: the demo, which gives none, never weakens the
# test build.
set -euo pipefail
dir=$1; shift
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$@" >/dev/null
elif [ $# -gt 0 ]; then
  meson configure "$dir" "$@" >/dev/null
fi
meson compile -C "$dir" >/dev/null || meson compile -C "$dir"
