#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds gipc-glib and runs the main demo: a parent and a forked child
# exchanging messages over a duplex channel. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash build-aux/install-deps.sh
bash build-aux/setup-build.sh _build
exec ./_build/examples/demo "$@"
