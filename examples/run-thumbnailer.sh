#!/bin/sh
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
#
# run-thumbnailer.sh MAKE-SAMPLES THUMBNAILER [ARGS...]: makes the sample
# images in a temporary directory (with gdk-pixbuf: the repository holds no
# binary files), then runs the thumbnailer on them with --check: in a window
# under Xvfb when xvfb-run is there (and GIPC_THUMBNAILER_HEADLESS is not
# set), headless otherwise. ARGS go to the thumbnailer.
set -eu
make_samples=$1
thumbnailer=$2
shift 2
dir=$(mktemp -d "${TMPDIR:-/tmp}/gipc-thumbnailer-XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
"$make_samples" "$dir"
case " $* " in
  *" --headless "*) headless=1 ;;
  *) headless=${GIPC_THUMBNAILER_HEADLESS:-} ;;
esac
if [ -z "$headless" ] && command -v xvfb-run >/dev/null 2>&1; then
  # No accessibility bus, no session bus: a bare X server.
  GTK_A11Y=none GDK_BACKEND=x11 NO_AT_BRIDGE=1 \
    xvfb-run -a -s "-screen 0 1024x768x24" \
    "$thumbnailer" --check --exit-when-done "$@" "$dir"
else
  case " $* " in
    *" --headless "*) "$thumbnailer" --check "$@" "$dir" ;;
    *) "$thumbnailer" --check --headless "$@" "$dir" ;;
  esac
fi
