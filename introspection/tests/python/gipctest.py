# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""Shared pieces of the Python tests: imports, a TAP runner for unittest,
main-loop guards, fd capture and GError assertions.

Each test_*.py file is one meson test in the 'introspection' suite; it ends
with ``gipctest.main()``, which prints TAP and exits non-zero on failure.
"""

import contextlib
import os
import sys
import traceback
import unittest

import gi

gi.require_version('Gipc', '1.0')
gi.require_version('Gio', '2.0')
gi.require_version('GLib', '2.0')

from gi.repository import Gio, GLib, Gipc  # noqa: E402

__all__ = ['Gio', 'GLib', 'Gipc', 'TestCase', 'LoopGuard', 'capture_fd',
           'main']

_MAIN_PID = os.getpid()


# --------------------------------------------------------------------------
# Main loops with a hard timeout

class LoopGuard:
    """A GLib.MainLoop on the default context with a hard timeout.

    ``run()`` fails the test if the loop is not quit within ``timeout``
    seconds, and re-raises the first exception raised in a callback wrapped
    with ``wrap()`` (PyGObject would only print it).
    """

    def __init__(self, timeout=10):
        self.loop = GLib.MainLoop.new(None, False)
        self.timeout = timeout
        self._error = None

    def wrap(self, func):
        def wrapper(*args):
            try:
                return func(*args)
            except BaseException:
                if self._error is None:
                    self._error = sys.exc_info()
                self.loop.quit()
                return False
        return wrapper

    def quit(self):
        self.loop.quit()

    def run(self):
        timed_out = []

        def on_timeout():
            timed_out.append(True)
            self.loop.quit()
            return GLib.SOURCE_REMOVE

        source_id = GLib.timeout_add(int(self.timeout * 1000), on_timeout)
        self.loop.run()
        if not timed_out:
            GLib.source_remove(source_id)
        if self._error is not None:
            error, self._error = self._error, None
            raise error[1].with_traceback(error[2])
        if timed_out:
            raise AssertionError('the main loop was not quit within %s s'
                                 % self.timeout)


# --------------------------------------------------------------------------
# Capturing what a forked child writes to fd 1 or 2

class _Captured:
    def __init__(self, read_fd):
        self._fd = read_fd
        self._data = None

    def read(self):
        """Everything written, once every writer has closed the pipe."""
        if self._data is None:
            chunks = []
            while True:
                chunk = os.read(self._fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
            os.close(self._fd)
            self._data = b''.join(chunks).decode('utf-8', 'replace')
        return self._data


@contextlib.contextmanager
def capture_fd(fd):
    """Points ``fd`` at a pipe for the duration of the block, so children
    forked in it inherit the pipe. Yields an object whose ``read()`` returns
    what was written, once the children have exited."""
    sys.stdout.flush()
    sys.stderr.flush()
    read_fd, write_fd = os.pipe()
    saved = os.dup(fd)
    os.dup2(write_fd, fd)
    os.close(write_fd)
    try:
        yield _Captured(read_fd)
    finally:
        try:
            if fd == 1:
                sys.stdout.flush()
            elif fd == 2:
                sys.stderr.flush()
        finally:
            os.dup2(saved, fd)
            os.close(saved)


# --------------------------------------------------------------------------
# Assertions

class TestCase(unittest.TestCase):

    def assertGError(self, error, domain, code):
        """``error`` is a GLib.Error of ``domain`` (a quark) and ``code``."""
        self.assertIsInstance(error, GLib.Error)
        self.assertEqual(error.domain, GLib.quark_to_string(domain))
        self.assertEqual(error.code, int(code), error.message)
        self.assertTrue(error.matches(domain, code))

    @contextlib.contextmanager
    def assertRaisesGError(self, domain, code):
        with self.assertRaises(GLib.Error) as cm:
            yield cm
        self.assertGError(cm.exception, domain, code)

    def assertRaisesGipcError(self, code):
        return self.assertRaisesGError(Gipc.error_quark(), code)

    def assertRaisesIOError(self, code):
        return self.assertRaisesGError(Gio.io_error_quark(), code)

    def join(self, process, timeout_ms=10000):
        """Joins ``process`` with a hard timeout and returns its exit
        code."""
        self.assertTrue(process.join(timeout_ms))
        self.assertFalse(process.is_alive())
        return process.get_exit_code()


# --------------------------------------------------------------------------
# TAP runner

class _TapResult(unittest.TestResult):

    def __init__(self, stream):
        super().__init__()
        self._stream = stream
        self._n = 0

    def _line(self, text):
        if os.getpid() != _MAIN_PID:
            # A forked child came back into the test runner: a bug in the
            # library or the overrides. Leave before it reports anything.
            os.write(2, b'gipctest: a forked child returned into the '
                        b'test runner\n')
            os._exit(99)
        self._stream.write(text + '\n')
        self._stream.flush()

    def _diag(self, err):
        text = ''.join(traceback.format_exception(*err))
        for line in text.rstrip('\n').split('\n'):
            self._line('# ' + line)

    def startTest(self, test):
        super().startTest(test)
        self._n += 1

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line('ok %d - %s' % (self._n, test.id()))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line('not ok %d - %s' % (self._n, test.id()))
        self._diag(err)

    def addError(self, test, err):
        super().addError(test, err)
        self._line('not ok %d - %s' % (self._n, test.id()))
        self._diag(err)

    def addSkip(self, test, reason):
        # The suite has no skips; a skipped test is reported as failed.
        super().addSkip(test, reason)
        self._line('not ok %d - %s # skipped: %s' % (self._n, test.id(),
                                                     reason))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._line('not ok %d - %s # expected failure' % (self._n,
                                                         test.id()))

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line('not ok %d - %s # unexpected success' % (self._n,
                                                           test.id()))

    def passed(self):
        return not (self.failures or self.errors or self.skipped
                    or self.expectedFailures or self.unexpectedSuccesses)


def _flatten(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _flatten(item)
        else:
            yield item


def main():
    """Runs the TestCase classes of ``__main__`` (optionally only the tests
    whose id contains one of the command-line arguments) and prints TAP."""
    module = sys.modules['__main__']
    tests = list(_flatten(unittest.TestLoader().loadTestsFromModule(module)))
    if len(sys.argv) > 1:
        tests = [t for t in tests if any(a in t.id() for a in sys.argv[1:])]
    stream = sys.stdout
    stream.write('1..%d\n' % len(tests))
    stream.flush()
    result = _TapResult(stream)
    unittest.TestSuite(tests).run(result)
    sys.exit(0 if result.passed() and tests else 1)
