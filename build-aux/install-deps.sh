#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what gipc-glib needs to build, test and document itself on
# Debian 12, and nothing that is already there. Idempotent.
set -euo pipefail

packages=(
  gcc
  libc6-dev
  pkg-config
  meson
  ninja-build
  libglib2.0-dev
  libglib2.0-dev-bin
  libseccomp-dev
  gobject-introspection
  libgirepository1.0-dev
  gir1.2-glib-2.0
  python3
  python3-gi
  gjs
  gi-docgen
  valgrind
  clang
  libclang-rt-14-dev
  libgdk-pixbuf-2.0-dev   # examples/image-loader.c only: the library never uses it
  # The GTK 4 thumbnailer example only (examples/thumbnailer.c, run under
  # Xvfb when xvfb-run is there; it also uses gdk-pixbuf); the library never
  # depends on them.
  libgtk-4-dev
  xvfb
  xauth
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "install-deps: missing packages (${missing[*]}) and not root" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
