#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""The fork server from Python: picklable arguments, channels among them,
fork mode's exit-status rules, the child is ours, errors."""

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
            self.assertEqual(ppid, os.getpid())
            self.assertEqual(self.join(process), 0)

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
