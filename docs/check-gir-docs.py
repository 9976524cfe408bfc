# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""check-gir-docs.py GIR TOML DOAP [DOCS_DIR]: checks (TAP) what the GIR
and the API reference must carry: the constants (none dropped by the
scanner), the getter annotations of properties, the index's links taken
from the DOAP file (and no row for a link it does not give)."""

import os
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET

CORE = '{http://www.gtk.org/introspection/core/1.0}'
GLIB = '{http://www.gtk.org/introspection/glib/1.0}'
C = '{http://www.gtk.org/introspection/c/1.0}'

gir_path, toml_path, doap_path = sys.argv[1:4]
docs_dir = sys.argv[4] if len(sys.argv) > 4 else None
here = os.path.dirname(os.path.abspath(__file__))
results = []


def check(ok, name, detail=''):
    results.append((bool(ok), name, detail))


ns = ET.parse(gir_path).getroot().find(CORE + 'namespace')

# Every GIPC_* constant of the public headers is in the GIR.
constants = {c.get('name'): c for c in ns.findall(CORE + 'constant')}
limit = constants.get('CHANNEL_MAX_MESSAGE_SIZE_LIMIT')
check(limit is not None and limit.get('value') == '2147483647',
      'GIPC_CHANNEL_MAX_MESSAGE_SIZE_LIMIT is in the GIR, = 2^31 - 1',
      repr(limit.attrib if limit is not None else sorted(constants)))
for name in ('CHANNEL_DEFAULT_MAX_MESSAGE_SIZE',
             'CHANNEL_DEFAULT_HIGH_WATER_MARK'):
    check(name in constants, '%s is in the GIR' % name)

# A readable property with an is_/get_ method has the getter annotation
# both ways.
for cls in ns.findall(CORE + 'class'):
    methods = {m.get('name'): m for m in cls.findall(CORE + 'method')}
    for prop in cls.findall(CORE + 'property'):
        pname = prop.get('name')
        base = pname.replace('-', '_')
        for getter in ('get_' + base, 'is_' + base, base):
            if getter in methods:
                check(prop.get('getter') == getter
                      and methods[getter].get(GLIB + 'get-property') == pname,
                      '%s:%s has its getter %s annotated'
                      % (cls.get('name'), pname, getter),
                      'property getter=%r, method get-property=%r'
                      % (prop.get('getter'),
                         methods[getter].get(GLIB + 'get-property')))
                break

# The index's links are the DOAP's.
with open(toml_path, 'rb') as f:
    library = tomllib.load(f)['library']
urls = subprocess.run([sys.executable, os.path.join(here, 'doap-urls.py'),
                       doap_path], check=True, capture_output=True,
                      text=True).stdout.split('\n')
for key, value in zip(('website_url', 'browse_url', 'repository_url'), urls):
    # An address the DOAP lacks is left out rather than shown empty.
    check(library.get(key) == (value or None),
          'the docs\' %s is the DOAP\'s (%r)' % (key, value),
          repr(library.get(key)))

# The content pages themselves are checked by check-docs.py.
if docs_dir is not None:
    process = open(os.path.join(docs_dir, 'class.Process.html'),
                   encoding='utf-8').read()
    check('href="fork-safety.html"' in process,
          'the Process page links the fork-safety page')
    index = open(os.path.join(docs_dir, 'index.html'), encoding='utf-8').read()
    for key, label in (('website_url', 'Website'), ('browse_url', 'Source')):
        if library.get(key) is None:
            check('<em>%s</em>' % label not in index,
                  'the index has no %s row (no address for it)' % label)

print('1..%d' % len(results))
for i, (ok, name, detail) in enumerate(results, 1):
    print('%s %d - %s' % ('ok' if ok else 'not ok', i, name))
    if not ok and detail:
        print('# ' + detail)
sys.exit(0 if all(ok for ok, _, _ in results) else 1)
