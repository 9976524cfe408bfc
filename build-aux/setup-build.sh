#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# setup-build.sh DIR [meson options...]: configure DIR once (idempotent;
# later runs reuse it and let ninja reconfigure when meson files change),
# then build it.
set -euo pipefail
dir=$1; shift
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$@" >/dev/null
fi
meson compile -C "$dir" >/dev/null || meson compile -C "$dir"
