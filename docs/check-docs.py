#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""check-docs.py --source-root DIR --build-root DIR --cc CC --page P...
[--html DIR]: the docs check of the 'docs' suite (TAP).

- Pages: every page listed (docs/meson.build's docs_pages) exists in docs/
  and starts as a gi-docgen content page ("Title: ...", a blank line,
  "# ..."); every .md file in docs/ is listed.
- Links: in the docs pages, every relative link names a listed page
  ("page.html", with an optional "#anchor" that must be a heading of that
  page); in README.md, NEWS, CONTRIBUTING.md and the READMEs under tests/,
  every relative link names a file of the source tree (and an anchor one
  of its headings). External links (http:, https:, mailto:) are not
  followed.
- Examples: docs/examples.md names every program in examples/; the
  README's C, Python and JavaScript examples are examples/hello.c,
  hello.py and hello.js.
- C snippets: every ```c block of the docs pages and README.md compiles
  against the library, through the uninstalled pkg-config file. A block
  is a whole translation unit unless an HTML comment on the line just
  before it says otherwise:

      <!-- snippet: wrap -->      the block is statements: compiled as the
                                 body of a function
      <!-- snippet: file -->      a translation unit (the default)
      <!-- snippet: skip WHY -->  not compiled (pseudo code); WHY is shown

  and, after the mode, "needs=SYMBOL[,SYMBOL...]": compiled only once
  the public headers declare each SYMBOL (API that another issue adds),
  reported as skipped until then. Lines after the first line of the
  comment, up to "-->", are put at file scope before the block (includes,
  declarations the fragment uses). <gipc-glib/gipc-glib.h> is always
  included first.
- Python snippets: every ```python block of the pages and README.md
  parses.
- With --html (the built reference): every listed page is generated and
  linked from the index, the index has no empty row (Website, Source),
  and every link of a generated content page to a local file reaches that
  file and, with "#id", an element with that id.
"""

import argparse
import glob
import html.parser
import os
import re
import subprocess
import sys
import tempfile
import unicodedata

parser = argparse.ArgumentParser()
parser.add_argument('--source-root', required=True)
parser.add_argument('--build-root', required=True)
parser.add_argument('--cc', required=True)
parser.add_argument('--page', action='append', default=[])
parser.add_argument('--html')
opts = parser.parse_args()

src = opts.source_root
docs = os.path.join(src, 'docs')
results = []


def check(ok, name, detail=''):
    results.append(('ok' if ok else 'not ok', name, detail))


def skip(name, why):
    results.append(('skip', name, why))


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


# --------------------------------------------------------------------------
# Pages

listed = list(opts.page)
present = sorted(os.path.basename(p) for p in glob.glob(os.path.join(docs, '*.md')))
for page in listed:
    path = os.path.join(docs, page)
    if not os.path.isfile(path):
        check(False, 'page %s (listed) exists' % page, 'no file %s' % path)
        continue
    lines = read(path).split('\n')
    # "Title: ..." and maybe more "Key: value" lines (Slug:), a blank line,
    # then the page's "# " heading.
    k = 1
    while k < len(lines) and re.match(r'^[A-Z][a-z]+: ', lines[k]):
        k += 1
    check(lines[0].startswith('Title: ') and k + 1 < len(lines) and lines[k] == ''
          and lines[k + 1].startswith('# '),
          'page %s exists and starts with "Title: ...", a blank line, "# ..."' % page,
          repr(lines[:k + 2]))
unlisted = [p for p in present if p not in listed]
check(not unlisted, 'every page in docs/ is listed in docs/meson.build',
      'not listed: ' + ' '.join(unlisted))


# --------------------------------------------------------------------------
# Headings and anchors

def strip_code(text):
    return re.sub(r'```.*?```', '', text, flags=re.S)


def headings(text):
    return [m.group(2).strip() for m in
            re.finditer(r'^(#{1,6})\s+(.*?)\s*#*\s*$', strip_code(text), re.M)]


def plain(heading):
    # What a heading shows: links and code spans reduced to their text.
    heading = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', heading)
    heading = re.sub(r'\[[a-z]+@([^\]]*)\]', r'\1', heading)
    return heading.replace('`', '').replace('*', '')


def slug_docgen(heading):
    # Python-Markdown's toc slugify, as gi-docgen uses it.
    value = unicodedata.normalize('NFKD', plain(heading))
    value = value.encode('ascii', 'ignore').decode('ascii')
    value = re.sub(r'[^\w\s-]', '', value).strip().lower()
    return re.sub(r'[-\s]+', '-', value)


def slug_github(heading):
    value = plain(heading).strip().lower()
    value = re.sub(r'[^\w\- ]', '', value)
    return value.replace(' ', '-')


def anchors(text, slug):
    seen = {}
    out = set()
    for h in headings(text):
        s = slug(h)
        if s in seen:
            seen[s] += 1
            out.add('%s-%d' % (s, seen[s]) if slug is slug_github else '%s_%d' % (s, seen[s]))
        else:
            seen[s] = 0
            out.add(s)
    return out


LINK = re.compile(r'(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')


def links(text):
    return [m.group(1) for m in LINK.finditer(strip_code(text))]


def external(target):
    return re.match(r'^[a-z][a-z0-9+.-]*:', target) is not None


# Links between docs pages: "page.html" or "page.html#anchor" or "#anchor".
for page in listed:
    path = os.path.join(docs, page)
    if not os.path.isfile(path):
        continue
    text = read(path)
    bad = []
    for target in links(text):
        if external(target):
            continue
        name, _, anchor = target.partition('#')
        if name == '':
            other = page
        elif name.endswith('.html') and '/' not in name:
            other = name[:-len('.html')] + '.md'
            if other not in listed:
                # A page of the API reference (class.Process.html ...) is
                # checked in the generated HTML.
                if re.match(r'^(class|ctor|method|func|property|signal|error|'
                            r'flags|enum|const|callback|struct|iface|'
                            r'type_func|vfunc|class_method)\.', name):
                    continue
                bad.append('%s (no page %s)' % (target, other))
                continue
        else:
            bad.append('%s (a page links pages as NAME.html)' % target)
            continue
        if anchor and anchor not in anchors(read(os.path.join(docs, other)), slug_docgen):
            bad.append('%s (no heading #%s in %s)' % (target, anchor, other))
    check(not bad, 'the links of docs/%s reach pages and headings' % page, '; '.join(bad))

# Links in the files of the source tree that are read there.
tree_files = ['README.md', 'NEWS', 'CONTRIBUTING.md', 'tests/fuzz/README.md',
              'tests/performance/README.md']
for name in tree_files:
    path = os.path.join(src, name)
    if not os.path.isfile(path):
        check(False, '%s exists' % name)
        continue
    text = read(path)
    bad = []
    for target in links(text):
        if external(target):
            continue
        file, _, anchor = target.partition('#')
        other = os.path.normpath(os.path.join(os.path.dirname(path), file)) if file else path
        if not os.path.exists(other):
            bad.append('%s (no file %s)' % (target, os.path.relpath(other, src)))
            continue
        if anchor and other.endswith('.md'):
            slug = slug_docgen if os.path.dirname(other) == docs else slug_github
            if anchor not in anchors(read(other), slug):
                bad.append('%s (no heading #%s)' % (target, anchor))
    check(not bad, 'the links of %s reach files and headings' % name, '; '.join(bad))


# --------------------------------------------------------------------------
# Examples

examples_page = os.path.join(docs, 'examples.md')
if os.path.isfile(examples_page):
    text = read(examples_page)
    programs = sorted(os.path.basename(p) for p in
                      glob.glob(os.path.join(src, 'examples', '*'))
                      if re.search(r'\.(c|py|js)$', p))
    missing = [p for p in programs if not re.search(r'\b' + re.escape(p) + r'\b', text)]
    check(not missing, 'docs/examples.md names every program in examples/ (%d)'
          % len(programs), 'missing: ' + ' '.join(missing))
    # The programs under the GTK-style heading start their children
    # through a fork server, as a GTK program must.
    section = re.search(r'^## GTK-style.*?(?=^## |\Z)', text, re.M | re.S)
    gtk = re.findall(r'`([\w-]+\.(?:c|py|js))`', section.group(0)) if section else []
    wrong = [p for p in gtk if os.path.isfile(os.path.join(src, 'examples', p)) and
             not re.search(r'gipc_fork_server_start|ForkServer\.new', read(os.path.join(src, 'examples', p)))]
    check(gtk and not wrong, 'the GTK-style examples (%s) use the fork server' % ' '.join(gtk),
          'not on the fork server: ' + ' '.join(wrong))


# The README is the front door, as GNOME libraries keep it.
readme_lines = read(os.path.join(src, 'README.md')).count('\n')
check(readme_lines < 200, 'README.md is under 200 lines (%d)' % readme_lines)

# The README's three examples are examples/hello.c, hello.py and hello.js
# (which the examples suite runs), word for word.
readme = read(os.path.join(src, 'README.md'))
for lang, example in (('c', 'hello.c'), ('python', 'hello.py'), ('js', 'hello.js')):
    blocks = re.findall(r'```%s\n(.*?)```' % lang, readme, re.S)
    program = read(os.path.join(src, 'examples', example))
    check(blocks and blocks[0] in program,
          'the README\'s first %s example is in examples/%s' % (lang, example),
          'the README\'s block is not part of the program')


# --------------------------------------------------------------------------
# C snippets

def public_header_text():
    return '\n'.join(read(h) for h in glob.glob(os.path.join(src, 'gipc-glib', '*.h'))
                     if not h.endswith('-private.h'))


HEADERS = public_header_text()
MARKER = re.compile(r'^\s*<!--\s*snippet:\s*(\w+)(.*)$')


def snippets(path):
    """(line, mode, needs, prelude, code, why) for each ```c block."""
    lines = read(path).split('\n')
    out = []
    i = 0
    while i < len(lines):
        if re.match(r'^\s*```c\s*$', lines[i]):
            start = i
            indent = len(lines[i]) - len(lines[i].lstrip())
            j = i + 1
            while j < len(lines) and not re.match(r'^\s*```\s*$', lines[j]):
                j += 1
            code = '\n'.join(l[indent:] if l[:indent].strip() == '' else l
                             for l in lines[i + 1:j])
            mode, needs, prelude, why = 'file', [], '', ''
            # The marker: an HTML comment ending on the line just before.
            k = start - 1
            if k >= 0 and lines[k].strip().endswith('-->'):
                m = k
                while m >= 0 and not MARKER.match(lines[m]):
                    m -= 1
                if m >= 0:
                    head = MARKER.match(lines[m])
                    mode = head.group(1)
                    rest = head.group(2).replace('-->', '').strip()
                    for word in rest.split():
                        if word.startswith('needs='):
                            needs += [s for s in word[len('needs='):].split(',') if s]
                    why = ' '.join(w for w in rest.split() if not w.startswith('needs='))
                    body = lines[m + 1:k + 1]
                    if m == k:
                        body = []
                    else:
                        body[-1] = body[-1].replace('-->', '')
                    prelude = '\n'.join(body)
            out.append((start + 1, mode, needs, prelude, code, why))
            i = j + 1
        else:
            i += 1
    return out


def compile_flags():
    env = dict(os.environ)
    env['PKG_CONFIG_PATH'] = os.path.join(opts.build_root, 'meson-uninstalled') + \
        (':' + env['PKG_CONFIG_PATH'] if env.get('PKG_CONFIG_PATH') else '')
    res = subprocess.run(['pkg-config', '--cflags', 'gipc-glib-1.0-uninstalled'],
                         env=env, capture_output=True, text=True)
    if res.returncode != 0:
        return None, res.stderr
    return res.stdout.split(), ''


flags, why = compile_flags()
check(flags is not None, 'pkg-config --cflags gipc-glib-1.0-uninstalled', why)
cc = opts.cc.split()
errors_as = ['-Werror=implicit-function-declaration', '-Werror=implicit-int',
             '-Werror=incompatible-pointer-types', '-Werror=int-conversion',
             '-Werror=return-type']

snippet_files = [os.path.join(docs, p) for p in listed] + [os.path.join(src, 'README.md')]
with tempfile.TemporaryDirectory() as tmp:
    for path in snippet_files:
        if not os.path.isfile(path) or flags is None:
            continue
        rel = os.path.relpath(path, src)
        for n, (line, mode, needs, prelude, code, why) in enumerate(snippets(path)):
            name = 'the C snippet at %s:%d compiles' % (rel, line)
            if mode == 'skip':
                skip(name, 'marked skip: %s' % (why or 'no reason given'))
                continue
            missing = [s for s in needs
                       if not re.search(r'\b' + re.escape(s) + r'\b', HEADERS)]
            if missing:
                skip(name, 'needs %s, not in the public headers yet' % ', '.join(missing))
                continue
            if mode not in ('file', 'wrap'):
                check(False, name, 'unknown snippet mode %r' % mode)
                continue
            unit = '#include <gipc-glib/gipc-glib.h>\n' + prelude + '\n'
            if mode == 'wrap':
                unit += ('static void G_GNUC_UNUSED\nsnippet_%d (void)\n{\n#line %d "%s"\n%s\n}\n'
                         % (n, line + 1, rel, code))
            else:
                unit += '#line %d "%s"\n%s\n' % (line + 1, rel, code)
            c_file = os.path.join(tmp, 'snippet-%d.c' % n)
            with open(c_file, 'w', encoding='utf-8') as f:
                f.write(unit)
            res = subprocess.run(cc + ['-std=gnu11', '-D_GNU_SOURCE', '-fsyntax-only',
                                       '-Wno-unused'] + errors_as + flags + [c_file],
                                 capture_output=True, text=True)
            check(res.returncode == 0, name, res.stderr.strip()[:3000])


# Python snippets: each ```python block parses (syntax only: they are not
# run here; the porting guide's program is run by test_porting.py).
for path in snippet_files:
    if not os.path.isfile(path):
        continue
    rel = os.path.relpath(path, src)
    text = read(path)
    bad = []
    for m in re.finditer(r'^```python\n(.*?)^```', text, re.S | re.M):
        line = text.count('\n', 0, m.start()) + 1
        try:
            compile(m.group(1), '%s:%d' % (rel, line), 'exec')
        except SyntaxError as e:
            bad.append('%s:%d: %s' % (rel, line + (e.lineno or 0), e.msg))
    if '```python' in text:
        check(not bad, 'the Python snippets of %s parse' % rel, '; '.join(bad))


# --------------------------------------------------------------------------
# The built reference

class Collector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key == 'id' and value:
                self.ids.add(value)
            if key == 'href' and tag == 'a' and value is not None:
                self.hrefs.append(value)


def collect(path):
    c = Collector()
    c.feed(read(path))
    return c


if opts.html:
    out = opts.html
    index = read(os.path.join(out, 'index.html'))
    for page in listed:
        generated = page[:-len('.md')] + '.html'
        check(os.path.isfile(os.path.join(out, generated)), '%s is generated' % generated)
        check('href="%s"' % generated in index, 'the index links %s' % generated)
    empty = re.findall(r'<tr><td><em>([^<]*)</em></td><td><a href=""', index)
    check(not empty and 'href=""' not in index,
          'the index has no empty row (the project has no public address)',
          'empty: ' + ' '.join(empty))
    cache = {}
    for page in listed:
        generated = os.path.join(out, page[:-len('.md')] + '.html')
        if not os.path.isfile(generated):
            continue
        bad = []
        for href in collect(generated).hrefs:
            if external(href) or href.startswith('//'):
                continue
            file, _, anchor = href.partition('#')
            target = os.path.normpath(os.path.join(out, file)) if file else generated
            if not os.path.isfile(target):
                bad.append('%s (no file)' % href)
                continue
            if anchor:
                if target not in cache:
                    cache[target] = collect(target).ids
                if anchor not in cache[target]:
                    bad.append('%s (no id)' % href)
        check(not bad, 'the links of the generated %s resolve' % os.path.basename(generated),
              '; '.join(bad))


print('1..%d' % len(results))
for i, (status, name, detail) in enumerate(results, 1):
    if status == 'skip':
        print('ok %d - %s # SKIP %s' % (i, name, detail))
        continue
    print('%s %d - %s' % (status, i, name))
    if status != 'ok' and detail:
        for line in detail.split('\n'):
            print('# ' + line)
sys.exit(0 if all(s != 'not ok' for s, _, _ in results) else 1)
