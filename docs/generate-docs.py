#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""generate-docs.py GI_DOCGEN OUTPUT_DIR ARGS...: runs `GI_DOCGEN ARGS...`
(gi-docgen generate), then removes from OUTPUT_DIR/index.html the table rows
whose link is empty.

gi-docgen 2023.1's basic theme always shows a Website and a Source row in
the index, empty when the configuration gives no address; gipc-glib has no
public address, so those rows are left out instead (check-gir-docs.py
checks that no empty row is left)."""

import os
import re
import shutil
import subprocess
import sys

gidocgen, output_dir = sys.argv[1:3]
# A stale tree would keep pages that are no longer listed.
shutil.rmtree(output_dir, ignore_errors=True)
status = subprocess.run([gidocgen] + sys.argv[3:]).returncode
if status != 0:
    sys.exit(status)

EMPTY_ROW = re.compile(r'[ \t]*<tr><td><em>[^<]*</em></td><td><a href=""[^>]*></a></td></tr>\n?')
index = os.path.join(output_dir, 'index.html')
with open(index, encoding='utf-8') as f:
    html = f.read()
html, removed = EMPTY_ROW.subn('', html)
with open(index, 'w', encoding='utf-8') as f:
    f.write(html)
