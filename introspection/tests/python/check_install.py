#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""check_install.py BUILD_DIR PREFIX LIBDIR: `meson install` of the build
into a temporary DESTDIR, then checks (TAP) that the Python overrides land
in a directory that /usr/bin/python3 has on sys.path for that prefix (for
/usr and /usr/local; under other prefixes, its standard site-packages
layout), and that a Python with only GI_TYPELIB_PATH set (plus the
DESTDIR mapped onto the file system, and LD_LIBRARY_PATH for the library
that is not really installed) imports Gipc with its overrides."""

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

PYTHON = '/usr/bin/python3'

results = []


def check(ok, name, detail=''):
    results.append((bool(ok), name, detail))


def python_sys_path():
    out = subprocess.run([PYTHON, '-c', 'import sys; print("\\n".join(sys.path))'],
                         check=True, capture_output=True, text=True,
                         env={'PATH': os.environ.get('PATH', '/usr/bin')})
    return [os.path.normpath(p) for p in out.stdout.split('\n') if p]


# Maps every sys.path entry that exists under DESTDIR onto its DESTDIR copy,
# as if the files were installed, then uses the bindings.
PROBE = r'''
import os, sys
destdir = os.environ['PROBE_DESTDIR']
mapped = []
for p in sys.path:
    q = destdir + os.path.abspath(p) if p else p
    if p and os.path.isdir(q):
        mapped.append(q)
    mapped.append(p)
sys.path[:] = mapped
import gi
gi.require_version('Gipc', '1.0')
from gi.repository import Gipc
import gi.overrides.Gipc as overrides
r, w = Gipc.pipe()
w.put({'installed': True})
assert r.get() == {'installed': True}
print(os.path.dirname(overrides.__file__)[len(destdir):])
'''


def main():
    build_dir, prefix, libdir = sys.argv[1:4]
    destdir = tempfile.mkdtemp(prefix='gipc-install-')
    try:
        proc = subprocess.run(['meson', 'install', '-C', build_dir,
                               '--no-rebuild', '--quiet',
                               '--destdir', destdir],
                              capture_output=True, text=True)
        check(proc.returncode == 0, 'meson install --destdir',
              proc.stdout + proc.stderr)

        found = []
        for root, dirs, files in os.walk(destdir):
            if 'Gipc.py' in files:
                found.append(root[len(destdir):])
        check(len(found) == 1, 'one Gipc.py installed', repr(found))
        overrides_dir = found[0] if found else ''
        check(overrides_dir.endswith('/gi/overrides'),
              'installed as gi/overrides/Gipc.py', overrides_dir)
        site_dir = os.path.dirname(os.path.dirname(overrides_dir))

        norm_prefix = os.path.normpath(prefix)
        if norm_prefix in ('/usr', '/usr/local'):
            check(site_dir in python_sys_path(),
                  'the overrides directory is on %s\'s sys.path' % PYTHON,
                  '%s not in %r' % (site_dir, python_sys_path()))
            if norm_prefix == '/usr/local':
                # What Debian's Python uses for pip installs under
                # /usr/local (its default scheme).
                expected = sysconfig.get_path('purelib')
                check(os.path.normpath(expected) == site_dir,
                      'the same directory as sysconfig purelib',
                      '%s != %s' % (site_dir, expected))
        else:
            expected = sysconfig.get_path(
                'purelib', 'posix_prefix',
                vars={'base': norm_prefix, 'platbase': norm_prefix})
            check(os.path.normpath(expected) == site_dir,
                  'the standard site-packages under the prefix',
                  '%s != %s' % (site_dir, expected))

        typelib_dir = os.path.join(norm_prefix, libdir, 'girepository-1.0')
        check(os.path.isfile(destdir + typelib_dir + '/Gipc-1.0.typelib'),
              'the typelib in PREFIX/LIBDIR/girepository-1.0', typelib_dir)

        env = {
            'PATH': os.environ.get('PATH', '/usr/bin'),
            'GI_TYPELIB_PATH': destdir + typelib_dir,
            'LD_LIBRARY_PATH': destdir + os.path.join(norm_prefix, libdir),
            'PROBE_DESTDIR': destdir,
            'PYTHONDONTWRITEBYTECODE': '1',
        }
        proc = subprocess.run([PYTHON, '-c', PROBE], env=env,
                              capture_output=True, text=True)
        check(proc.returncode == 0 and proc.stdout.strip() == overrides_dir,
              'an installed Python finds the overrides with GI_TYPELIB_PATH',
              proc.stdout + proc.stderr)
    finally:
        shutil.rmtree(destdir, ignore_errors=True)

    print('1..%d' % len(results))
    for i, (ok, name, detail) in enumerate(results, 1):
        print('%s %d - %s' % ('ok' if ok else 'not ok', i, name))
        if not ok:
            for line in detail.rstrip().split('\n'):
                print('# ' + line)
    sys.exit(0 if all(ok for ok, _, _ in results) else 1)


main()
