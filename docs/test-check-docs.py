#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""test-check-docs.py BUILD_ROOT CC: the docs check catches what it is for
(TAP). Runs check-docs.py on a small source tree made in a temporary
directory: clean, it passes; then with each defect alone (a broken link, a
broken anchor, a page listed but missing, a page present but not listed,
a C snippet that does not compile, a fragment without its marker, an
example the examples page leaves out), it fails on that defect."""

import os
import shutil
import subprocess
import sys
import tempfile

build_root, cc = sys.argv[1:3]
here = os.path.dirname(os.path.abspath(__file__))
src_root = os.path.dirname(here)
checker = os.path.join(here, 'check-docs.py')

PAGES = {
    'a.md': 'Title: A\n\n# A\n\n## Part one\n\nSee [B](b.html) and [one](a.html#part-one).\n\n'
            '```c\nstatic int f (void) { return GIPC_MAJOR_VERSION; }\n```\n',
    'b.md': 'Title: B\n\n# B\n\n<!-- snippet: wrap\nstatic GipcChannel *ch;\n-->\n'
            '```c\ngipc_channel_close (ch, NULL);\n```\n',
    'examples.md': 'Title: Examples\n\n# Examples\n\n`hello.c`, `hello.py`, `hello.js`\n\n'
                   '## GTK-style programs\n\n`app.c`\n',
}
HELLO = {'hello.c': '```c\nint main (void) { return 0; }\n```',
         'hello.py': '```python\nprint(1)\n```',
         'hello.js': '```js\nprint(1);\n```'}


def make_tree(root):
    os.makedirs(os.path.join(root, 'docs'))
    os.makedirs(os.path.join(root, 'examples'))
    os.makedirs(os.path.join(root, 'tests', 'fuzz'))
    os.makedirs(os.path.join(root, 'tests', 'performance'))
    shutil.copytree(os.path.join(src_root, 'gipc-glib'), os.path.join(root, 'gipc-glib'))
    for name, text in PAGES.items():
        with open(os.path.join(root, 'docs', name), 'w') as f:
            f.write(text)
    readme = '# R\n\n[a](docs/a.md)\n\n' + '\n\n'.join(HELLO.values()) + '\n'
    for name in ('README.md', 'NEWS', 'CONTRIBUTING.md', 'tests/fuzz/README.md',
                 'tests/performance/README.md'):
        with open(os.path.join(root, name), 'w') as f:
            f.write(readme if name == 'README.md' else 'x\n')
    with open(os.path.join(root, 'examples', 'app.c'), 'w') as f:
        f.write('/* gipc_fork_server_start () */\n')
    for name, block in HELLO.items():
        with open(os.path.join(root, 'examples', name), 'w') as f:
            f.write(block.split('\n', 1)[1].rsplit('```', 1)[0])


def run_check(root, pages):
    args = [sys.executable, checker, '--source-root', root, '--build-root', build_root,
            '--cc', cc]
    for p in pages:
        args += ['--page', p]
    res = subprocess.run(args, capture_output=True, text=True)
    return res.returncode, [l for l in res.stdout.split('\n') if l.startswith('not ok')]


def edit(root, name, append):
    with open(os.path.join(root, name), 'a') as f:
        f.write(append)


DEFECTS = [
    ('a broken link', lambda r: edit(r, 'docs/a.md', '[x](nowhere.html)\n'), None, 'links of docs/a.md'),
    ('a broken anchor', lambda r: edit(r, 'docs/b.md', '[x](a.html#no-such)\n'), None, 'links of docs/b.md'),
    ('a link in README to a missing file', lambda r: edit(r, 'README.md', '[x](docs/gone.md)\n'), None, 'links of README.md'),
    ('a page listed but missing', lambda r: None, ['c.md'], 'page c.md'),
    ('a page present but not listed', lambda r: edit(r, 'docs/d.md', 'Title: D\n\n# D\n'), None, 'is listed'),
    ('a C snippet that does not compile', lambda r: edit(r, 'docs/a.md', '\n```c\nint g (void) { return no_such (); }\n```\n'), None, 'snippet at docs/a.md'),
    ('a fragment without its marker', lambda r: edit(r, 'docs/b.md', '\n```c\ngipc_channel_close (ch, NULL);\n```\n'), None, 'snippet at docs/b.md'),
    ('a Python snippet that does not parse', lambda r: edit(r, 'docs/b.md', '\n```python\ndef f(:\n```\n'), None, 'Python snippets of docs/b.md'),
    ('an example not on the examples page', lambda r: edit(r, 'examples/other.c', 'int x;\n'), None, 'names every program'),
    ('a GTK-style example not on the fork server', lambda r: open(os.path.join(r, 'examples', 'app.c'), 'w').write('/* fork mode */\n'), None, 'use the fork server'),
    ('a README example that is not the program', lambda r: edit(r, 'README.md', ''), 'readme-c', 'hello.c'),
]

results = []
with tempfile.TemporaryDirectory() as tmp:
    clean = os.path.join(tmp, 'clean')
    make_tree(clean)
    status, failures = run_check(clean, list(PAGES))
    results.append((status == 0 and not failures, 'a clean tree passes', '; '.join(failures)))
    for i, (name, apply, pages, expect) in enumerate(DEFECTS):
        root = os.path.join(tmp, 'defect-%d' % i)
        make_tree(root)
        apply(root)
        listed = list(PAGES)
        if pages == 'readme-c':
            with open(os.path.join(root, 'examples', 'hello.c'), 'w') as f:
                f.write('int main (void) { return 1; }\n')
        elif pages:
            listed += pages
        status, failures = run_check(root, listed)
        results.append((status != 0 and any(expect in l for l in failures),
                        'the check fails on %s' % name, '; '.join(failures) or 'it passed'))

print('1..%d' % len(results))
for i, (ok, name, detail) in enumerate(results, 1):
    print('%s %d - %s' % ('ok' if ok else 'not ok', i, name))
    if not ok:
        print('# ' + detail)
sys.exit(0 if all(ok for ok, _, _ in results) else 1)
