#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""The fork server from Python: picklable arguments, channels among them,
fork mode's exit-status rules, the child is the server's (never the
program's), a killed server is replaced by re-executing this script, errors."""

import os
import signal
import sys
import threading

import gipctest
from gipctest import GLib, Gipc


def answer(process, channel, n, scale=1):
    channel.put(('answer', n * scale, os.getpid(), os.getppid()))


def status(process, value):
    return value


def fail(process):
    raise ValueError('target failed on purpose')


def leave(process, code):
    sys.exit(code)


def kill_self(process):
    os.kill(os.getpid(), signal.SIGTERM)


# Before anything can start a thread.
SERVER = Gipc.ForkServer.new()
for _name, _func in (('answer', answer), ('status', status), ('fail', fail),
                     ('leave', leave), ('kill-self', kill_self)):
    SERVER.add_target(_name, _func)
SERVER.start()


class ForkServerTests(gipctest.TestCase):

    def run_target(self, name, *args, **kwargs):
        process = Gipc.Process.new_for_target(SERVER, name, *args, **kwargs)
        self.assertTrue(process.start())
        return self.join(process)

    def test_running(self):
        self.assertTrue(SERVER.is_running())
        self.assertTrue(SERVER.props.running)

    def test_answer_on_a_passed_channel(self):
        mine, theirs = Gipc.pipe(duplex=True)
        with mine:
            process = Gipc.Process.new_for_target(SERVER, 'answer', theirs,
                                                  21, scale=2)
            self.assertTrue(process.start())
            self.assertTrue(theirs.props.closed)
            kind, value, pid, ppid = mine.get()
            self.assertEqual((kind, value), ('answer', 42))
            self.assertEqual(pid, process.get_pid())
            # The server's child, not ours: waitpid cannot take it.
            self.assertNotEqual(ppid, os.getpid())
            with self.assertRaises(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            self.assertEqual(self.join(process), 0)

    def server_pid(self):
        mine, theirs = Gipc.pipe(duplex=True)
        with mine:
            process = Gipc.Process.new_for_target(SERVER, 'answer', theirs, 1)
            self.assertTrue(process.start())
            ppid = mine.get()[3]
            self.assertEqual(self.join(process), 0)
        return ppid

    def test_waitpid_minus_one_takes_nothing(self):
        process = Gipc.Process.new_for_target(SERVER, 'status', 7)
        self.assertTrue(process.start())
        # The program's own reaper sees the server at most, which runs.
        for _ in range(50):
            self.assertEqual(os.waitpid(-1, os.WNOHANG), (0, 0))
        self.assertEqual(self.join(process), 7)

    def test_replaced_after_kill(self):
        """The killed server is replaced by a re-executed copy of this
        script, whose SERVER.start() becomes the server."""
        restarts = SERVER.get_restarts()
        old = self.server_pid()
        os.kill(old, signal.SIGKILL)
        self.assertEqual(self.run_target('status', 4), 4)
        self.assertEqual(SERVER.props.restarts, restarts + 1)
        self.assertTrue(SERVER.is_running())
        new = self.server_pid()
        self.assertNotEqual(new, old)
        # The replacement runs this script's targets.
        self.assertEqual(self.run_target('leave', 9), 9)

    def test_replaced_from_a_thread(self):
        """A threaded program: the replacement is made from a thread that
        ends, and keeps serving."""
        restarts = SERVER.get_restarts()
        os.kill(self.server_pid(), signal.SIGKILL)
        codes = []
        thread = threading.Thread(
            target=lambda: codes.append(self.run_target('status', 5)))
        thread.start()
        thread.join()
        self.assertEqual(codes, [5])
        self.assertEqual(SERVER.get_restarts(), restarts + 1)
        self.assertEqual(self.run_target('status', 6), 6)
        self.assertEqual(SERVER.get_restarts(), restarts + 1)

    def test_exit_status_rules(self):
        self.assertEqual(self.run_target('status', None), 0)
        self.assertEqual(self.run_target('status', 7), 7)
        self.assertEqual(self.run_target('leave', 9), 9)
        self.assertEqual(self.run_target('kill-self'), -signal.SIGTERM)
        # The traceback goes to the server's stderr (the program's at
        # start), which capture_fd cannot redirect afterwards.
        self.assertEqual(self.run_target('fail'), 1)

    def test_from_a_thread(self):
        codes = []
        thread = threading.Thread(
            target=lambda: codes.append(self.run_target('status', 3)))
        thread.start()
        thread.join()
        self.assertEqual(codes, [3])

    def test_unknown_target(self):
        process = Gipc.Process.new_for_target(SERVER, 'no-such-target')
        with self.assertRaisesGipcError(Gipc.Error.SPAWN_FAILED):
            process.start()

    def test_refused_with_threads(self):
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait)
        thread.start()
        try:
            late = Gipc.ForkServer.new()
            late.add_target('status', status)
            with self.assertRaisesGipcError(Gipc.Error.FAILED):
                late.start()
        finally:
            stop.set()
            thread.join()


if __name__ == '__main__':
    gipctest.main()
