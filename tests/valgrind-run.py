#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
"""Runs a test program under valgrind (memcheck) and judges every process.

Usage: valgrind-run.py VALGRIND [--valgrind-option...] PROGRAM [ARGS...]
(the `valgrind` test setup of tests/meson.build puts it in front of the
test program).

Each process gets its own log (--log-file=DIR/%p.log): the test program,
its fork-mode and fork-server children (a fork copies valgrind), and the
programs it executes that valgrind traces (--trace-children, see
tests/meson.build). Valgrind's own exit code is not used (no
--error-exitcode), so a child's exit status is what the child chose, as
the tests expect. Instead, after the program ended:

- any memcheck error (invalid read or write, use of uninitialised memory,
  a bad system-call argument, a bad free) in any process fails the test;
- a definite leak fails the test in the test program itself only. A child
  ends with _exit() (fork-mode and fork-server children always, helpers
  that model a crash often) or a signal, holding a copy of its parent's
  memory in which the blocks that the parent's threads (the reaper, GLib's
  workers) pointed to are unreachable, since those threads do not exist in
  the child: such "leaks" say nothing about the library. The test program
  itself runs every library object to its end and frees it.

The program's stdout (TAP) passes through, its plan moved to the end; the
verdict and the offending log records go to stderr. The exit code is the
program's, or 1 if valgrind found something in a process.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

PREFIX = re.compile(r'^==\d+==\s?')
ERROR_HEAD = re.compile(
    r'^(Invalid (read|write|free)|Conditional jump|Use of uninitialised|'
    r'Syscall param|Mismatched free|Source and destination overlap|'
    r'Argument .* of function|.* is not a valid|Jump to the invalid)')
PLAN = re.compile(rb'^1\.\.\d+\s*$')
TEST_LINE = re.compile(rb'^(not )?ok\b')
LEAK_HEAD = re.compile(r'are definitely lost in loss record')


def parse(path):
    text = open(path, encoding='utf-8', errors='replace').read()
    cmd = re.search(r'^==\d+== Command: (.*)$', text, re.M)
    errors = re.search(r'^==\d+== ERROR SUMMARY: (\d+) errors', text, re.M)
    records = []
    for block in re.split(r'^==\d+== ?\n', text, flags=re.M):
        lines = [PREFIX.sub('', line) for line in block.splitlines()]
        if lines and (ERROR_HEAD.match(lines[0]) or LEAK_HEAD.search(lines[0])):
            records.append('\n'.join(lines))
    return {
        'cmd': cmd.group(1) if cmd else '',
        'errors': int(errors.group(1)) if errors else 0,
        'records': records,
    }


def pass_tap(stream):
    """Copies the program's stdout, with one TAP plan at the end: GLib 2.74
    prints a plan after each -p path (the 'valgrind' suite gives several),
    which meson rejects. Test lines keep GLib's running numbers."""
    plans = tests = 0
    out = sys.stdout.buffer
    for line in stream:
        if PLAN.match(line):
            plans += 1
            continue
        if TEST_LINE.match(line):
            tests += 1
        out.write(line)
        out.flush()
    if plans:
        out.write(b'1..%d\n' % tests)
        out.flush()
    return tests


def main(argv):
    valgrind = argv[1]
    i = 2
    while i < len(argv) and argv[i].startswith('--'):
        i += 1
    options, program = argv[2:i], argv[i:]
    logdir = tempfile.mkdtemp(prefix='gipc-valgrind-')
    try:
        # valgrind becomes the tool in the same process: the test program's
        # log is the one with this pid.
        child = subprocess.Popen([valgrind, '--log-file=%s/%%p.log' % logdir]
                                 + options + program, stdout=subprocess.PIPE)
        tests = pass_tap(child.stdout)
        rc = child.wait()
        # Each -p path runs at least one case: a renamed case must not
        # leave the selection silently (GLib runs nothing for an unknown
        # path).
        paths = program.count('-p')
        if rc == 0 and tests < paths:
            print('valgrind-run: %d -p paths given, %d cases ran: a path '
                  'names no case' % (paths, tests), file=sys.stderr)
            rc = 1
        logs = {}
        for name in os.listdir(logdir):
            if name.endswith('.log'):
                logs[int(name[:-4])] = parse(os.path.join(logdir, name))
        bad = []
        for pid, log in sorted(logs.items()):
            program = pid == child.pid
            counted = [r for r in log['records']
                       if program or not LEAK_HEAD.search(r)]
            if counted or log['errors']:
                bad.append((pid, 'program' if program else 'child', log, counted))
        if not logs:
            print('valgrind-run: no valgrind log was written', file=sys.stderr)
            return 1
        for pid, kind, log, counted in bad:
            print('\nvalgrind-run: %s %d (%s): %d error(s)%s:' %
                  (kind, pid, log['cmd'], log['errors'],
                   ', definite leaks' if any(LEAK_HEAD.search(r) for r in counted) else ''),
                  file=sys.stderr)
            for record in counted:
                print(record, file=sys.stderr)
        if bad:
            print('\nvalgrind-run: valgrind found problems in %d of %d processes'
                  % (len(bad), len(logs)), file=sys.stderr)
            return 1
        print('valgrind-run: %d processes checked, no errors' % len(logs),
              file=sys.stderr)
        return rc if rc >= 0 else 128 - rc
    finally:
        shutil.rmtree(logdir, ignore_errors=True)


def terminated(signum, frame):
    # meson's timeout: the log directory goes all the same.
    sys.exit(128 + signum)


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, terminated)
    sys.exit(main(sys.argv))
