#!/bin/bash
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
#
# The installed library carries no test hook: no symbol named *_for_testing,
# neither exported (dynamic symbols) nor local (the full symbol table, when
# the library is not stripped). TAP output.
set -u
lib=$1
echo "1..2"
if ! command -v nm >/dev/null; then
  echo "ok 1 # SKIP nm not found"
  echo "ok 2 # SKIP nm not found"
  exit 0
fi
dynamic=$(nm -D --defined-only "$lib" | grep -c '_for_testing') || true
if [ "$dynamic" = 0 ] && [ "$(nm -D --defined-only "$lib" | grep -c 'gipc_')" != 0 ]; then
  echo "ok 1 - no exported *_for_testing symbol in $(basename "$lib")"
else
  echo "not ok 1 - $dynamic exported *_for_testing symbols in $lib (or no gipc_ symbol at all)"
  nm -D --defined-only "$lib" | grep '_for_testing' | sed 's/^/# /'
fi
if nm "$lib" 2>&1 | grep -q 'no symbols'; then
  echo "ok 2 # SKIP $lib is stripped"
elif [ "$(nm "$lib" | grep -c '_for_testing')" = 0 ]; then
  echo "ok 2 - no *_for_testing symbol compiled into $(basename "$lib")"
else
  echo "not ok 2 - *_for_testing symbols compiled into $lib"
  nm "$lib" | grep '_for_testing' | sed 's/^/# /'
fi
