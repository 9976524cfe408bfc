# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""site-dir.py PREFIX MESON_DIR: prints the directory, relative to PREFIX,
into which gi/overrides/Gipc.py is installed so that this interpreter
finds it (see meson.build next to this file for the rules)."""

import os
import site
import sys
import sysconfig


def under(path, prefix):
    """``path`` relative to ``prefix``, or None if it is not under it."""
    path = os.path.normpath(path)
    prefix = os.path.normpath(prefix)
    if prefix == os.sep:
        return path.lstrip(os.sep)
    if path.startswith(prefix + os.sep):
        return path[len(prefix) + 1:]
    return None


def main():
    prefix, meson_dir = sys.argv[1], sys.argv[2]
    on_path = [os.path.normpath(p) for p in sys.path if p]

    # 1. meson's directory, when this interpreter looks there.
    candidate = os.path.normpath(os.path.join(prefix, meson_dir))
    if candidate in on_path:
        print(under(candidate, prefix) or meson_dir)
        return

    # 2. a site directory on sys.path under the prefix, the closest to it
    #    (for /usr, lib/python3/dist-packages rather than
    #    local/lib/python3.11/dist-packages, which belongs to /usr/local).
    sites = [os.path.normpath(p) for p in site.getsitepackages()]
    matches = [under(p, prefix) for p in on_path
               if p in sites and under(p, prefix)]
    if matches:
        print(min(matches, key=lambda rel: len(rel.split(os.sep))))
        return

    # 3. the standard layout under the prefix (not on sys.path).
    path = sysconfig.get_path('purelib', 'posix_prefix',
                              vars={'base': prefix, 'platbase': prefix})
    print(under(path, prefix))


main()
