#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
"""Counts test cases in meson test logs (meson-logs/testlog.json).

A TAP test counts each of its "ok"/"not ok" lines (skips apart); a test
that failed without a failing TAP line (a crash, a timeout) counts one
failure more; a test without TAP output counts as one case. Prints
"PASSED FAILED SKIPPED" for the logs given on the command line.
"""
import json
import re
import sys

TAP_LINE = re.compile(r'^(not )?ok\b[^#]*(#\s*(SKIP|TODO)\b)?', re.IGNORECASE)

passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path, encoding='utf-8', errors='replace').read().splitlines()
    except FileNotFoundError:
        continue
    for line in lines:
        if not line.strip():
            continue
        entry = json.loads(line)
        ok = entry.get('result') in ('OK', 'EXPECTEDFAIL', 'SKIP')
        p = f = s = 0
        for out in (entry.get('stdout') or '').splitlines():
            m = TAP_LINE.match(out)
            if not m:
                continue
            if m.group(3) and m.group(3).upper() == 'SKIP':
                s += 1
            elif m.group(1):
                f += 1
            else:
                p += 1
        if p + f + s == 0:
            if entry.get('result') == 'SKIP':
                s = 1
            elif ok:
                p = 1
            else:
                f = 1
        elif not ok and f == 0:
            f = 1
        passed += p
        failed += f
        skipped += s

print(passed, failed, skipped)
