#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds gipc-glib (and its API reference with the docs/ pages, when
# gi-docgen is installed: -Ddocumentation=auto) and runs the main demo: a
# parent and a forked child exchanging messages over a duplex channel.
# Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash build-aux/install-deps.sh
bash build-aux/setup-build.sh _build
if [ -f _build/docs/gipc-glib-1.0/index.html ]; then
  echo "demo: the API reference and the docs/ pages: _build/docs/gipc-glib-1.0/index.html"
fi
exec ./_build/examples/demo "$@"
