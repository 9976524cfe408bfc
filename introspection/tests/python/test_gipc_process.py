#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""gipc's process surface for ported programs (issue 25):
Gipc.Process(target=..., args=..., kwargs=..., daemon=..., name=...) and
Gipc.start_process() calling target(*args, **kwargs) as gipc does, with a
TypeError in the parent for what they cannot honour; Process.new refusing
gipc's keywords; join(timeout=seconds); exitcode/exit_code None while the
child runs; get(timeout=seconds) and Gipc.GIPCTimeout; poll(); get() at the
end of the stream raising an EOFError."""

import os
import sys
import time

import gipctest
from gipctest import Gio, GLib, Gipc

TIMEOUT_MS = 10000


def add(channel, x, y=0):
    channel.put(x + y)


def wait_for_go(go, channel):
    # Blocks until the parent sends something (or closes its end).
    try:
        go.get()
    except EOFError:
        pass
    channel.put('done')


def children():
    """The pids of this process's children (of the main thread)."""
    with open('/proc/self/task/%d/children' % os.getpid()) as f:
        return set(f.read().split())


def exit_with(code):
    sys.exit(code)


class StartProcessTests(gipctest.TestCase):

    def setUp(self):
        self.r, self.w = Gipc.pipe()
        self.r.props.timeout = TIMEOUT_MS

    def tearDown(self):
        self.r.close()

    def test_process_with_gipc_arguments(self):
        p = Gipc.Process(target=add, args=(self.w, 1), kwargs={'y': 2},
                         name='adder')
        self.assertIsInstance(p, Gipc.Process)
        self.assertEqual(p.name, 'adder')
        self.assertEqual(p.get_property('name'), 'adder')
        self.assertFalse(p.daemon)
        self.assertFalse(p.get_property('die-with-parent'))
        p.start()
        # The channel in args was passed: closed in the parent.
        with self.assertRaises(GLib.Error) as cm:
            self.w.put(0)
        self.assertTrue(cm.exception.matches(Gipc.error_quark(),
                                             Gipc.Error.CLOSED))
        self.assertEqual(self.r.get(), 3)
        p.join()
        self.assertEqual(p.exitcode, 0)

    def test_daemon_dies_with_parent(self):
        p = Gipc.Process(target=add, args=(self.w, 1), daemon=True)
        self.assertTrue(p.daemon)
        self.assertTrue(p.get_property('die-with-parent'))
        p.start()
        self.assertEqual(self.r.get(), 1)
        p.join()

    def test_start_process(self):
        p = Gipc.start_process(add, args=(self.w, 20), kwargs={'y': 22})
        self.assertTrue(p.pid is not None and p.pid > 0)
        self.assertEqual(self.r.get(), 42)
        self.assertIsNone(p.join(timeout=10))
        self.assertFalse(p.is_alive())
        self.assertEqual(p.exitcode, 0)
        self.assertEqual(p.exit_code, 0)

    def test_start_process_exit_status(self):
        p = Gipc.start_process(exit_with, args=(3,))
        p.join()
        self.assertEqual(p.exitcode, 3)
        self.w.close()

    def test_start_process_channel_in_kwargs(self):
        p = Gipc.start_process(add, kwargs={'channel': self.w, 'x': 7})
        self.assertEqual(self.r.get(), 7)
        p.join()

    def check_refused(self, **kwargs):
        # Refused in the parent: nothing forked, the channel is still ours.
        before = children()
        with self.assertRaises(TypeError) as cm:
            Gipc.start_process(**kwargs)
        self.assertEqual(children(), before)
        self.w.put('still mine')
        self.assertEqual(self.r.get(), 'still mine')
        return str(cm.exception)

    def test_refusals(self):
        self.assertIn('args must be a tuple',
                      self.check_refused(target=add, args=[self.w, 1]))
        self.assertIn('kwargs must be a dict',
                      self.check_refused(target=add, args=(self.w, 1),
                                         kwargs=[('y', 1)]))
        self.assertIn('daemon', self.check_refused(target=add,
                                                   args=(self.w, 1),
                                                   daemon='yes'))
        self.assertIn('name', self.check_refused(target=add, args=(self.w, 1),
                                                 name=5))
        self.assertIn('callable', self.check_refused(target=42,
                                                     args=(self.w,)))
        with self.assertRaises(TypeError):
            Gipc.Process(target=add, args=[self.w])
        with self.assertRaises(TypeError):
            Gipc.start_process(add, (self.w, 1), {}, None, None, 'extra')
        self.w.close()


class NewRefusesGipcKeywordsTests(gipctest.TestCase):

    def test_gipc_keywords_refused(self):
        r, w = Gipc.pipe()
        with self.assertRaises(TypeError) as cm:
            Gipc.Process.new(target=add, args=(w, 1), daemon=True)
        message = str(cm.exception)
        self.assertIn("'args'", message)
        self.assertIn("'daemon'", message)
        self.assertIn('Gipc.start_process', message)
        # Nothing was passed: the writer still works here.
        w.put(1)
        self.assertEqual(r.get(), 1)
        w.close()
        r.close()

    def test_target_that_takes_the_keyword(self):
        # A target with its own 'name' parameter still gets it.
        def named(process, channel, name):
            channel.put(name)

        r, w = Gipc.pipe()
        r.props.timeout = TIMEOUT_MS
        p = Gipc.Process.new(named, w, name='mine')
        p.start()
        self.assertEqual(r.get(), 'mine')
        p.join(-1)
        self.assertEqual(p.get_exit_code(), 0)
        r.close()


class ExitCodeTests(gipctest.TestCase):

    def test_none_before_start_and_while_running(self):
        go_r, go_w = Gipc.pipe()
        r, w = Gipc.pipe()
        r.props.timeout = TIMEOUT_MS
        p = Gipc.Process(target=wait_for_go, args=(go_r, w))
        self.assertIsNone(p.exitcode)
        self.assertIsNone(p.exit_code)
        self.assertIsNone(p.pid)
        p.start()
        self.assertTrue(p.is_alive())
        self.assertIsNone(p.exitcode)
        self.assertIsNone(p.exit_code)
        # What the GObject property says meanwhile (why the Python
        # attribute exists).
        self.assertEqual(p.props.exit_code, 0)
        # join(timeout=) returns None while the child still runs.
        started = time.monotonic()
        self.assertIsNone(p.join(timeout=0.05))
        self.assertGreaterEqual(time.monotonic() - started, 0.04)
        self.assertTrue(p.is_alive())
        self.assertIsNone(p.exitcode)
        go_w.put('go')
        self.assertEqual(r.get(), 'done')
        p.join()
        self.assertEqual(p.exitcode, 0)
        go_w.close()
        r.close()

    def test_seen_without_join_by_the_main_loop(self):
        # gipc's test_exitcode_previous_to_join: the exit code appears while
        # the loop runs, without a join.
        p = Gipc.start_process(exit_with, args=(4,))
        context = GLib.MainContext.default()
        deadline = time.monotonic() + 10
        while p.exitcode is None and time.monotonic() < deadline:
            context.iteration(False)
            time.sleep(0.001)
        self.assertEqual(p.exitcode, 4)
        p.join()

    def test_killed_by_a_signal(self):
        go_r, go_w = Gipc.pipe()
        r, w = Gipc.pipe()
        p = Gipc.start_process(wait_for_go, args=(go_r, w))
        p.terminate()
        p.join()
        self.assertEqual(p.exitcode, -15)
        go_w.close()
        r.close()

    def test_c_join_unchanged(self):
        p = Gipc.start_process(exit_with, args=(0,))
        self.assertTrue(p.join(TIMEOUT_MS))
        self.assertTrue(p.join())


class GetTimeoutTests(gipctest.TestCase):

    def setUp(self):
        self.r, self.w = Gipc.pipe()

    def tearDown(self):
        self.r.close()
        self.w.close()

    def test_timeout_raises_gipctimeout(self):
        self.assertTrue(issubclass(Gipc.GIPCTimeout, TimeoutError))
        self.r.props.timeout = 12345
        started = time.monotonic()
        with self.assertRaises(Gipc.GIPCTimeout):
            self.r.get(timeout=0.05)
        self.assertGreaterEqual(time.monotonic() - started, 0.04)
        # Restored, and the channel is still usable.
        self.assertEqual(self.r.props.timeout, 12345)
        self.w.put('after')
        self.assertEqual(self.r.get(timeout=5), 'after')

    def test_timeout_zero_does_not_wait_for_a_message_that_is_there(self):
        self.w.put({'a': 1})
        self.w.flush()
        self.assertEqual(self.r.get(timeout=0), {'a': 1})
        with self.assertRaises(Gipc.GIPCTimeout):
            self.r.get(timeout=0)

    def test_receive_timeout(self):
        with self.assertRaises(Gipc.GIPCTimeout):
            self.r.receive(timeout=0.01)
        self.w.send(b'raw')
        self.assertEqual(self.r.receive(timeout=1), b'raw')

    def test_timeout_object_is_raised_itself(self):
        # gipc passes a gevent.Timeout and gets that same object raised.
        class FakeTimeout(Exception):
            seconds = 0.01

        timeout = FakeTimeout()
        with self.assertRaises(FakeTimeout) as cm:
            self.r.get(timeout=timeout)
        self.assertIs(cm.exception, timeout)

    def test_negative_timeout(self):
        with self.assertRaises(ValueError):
            self.r.get(timeout=-1)


class PollAndEndTests(gipctest.TestCase):

    def test_poll(self):
        r, w = Gipc.pipe()
        self.assertFalse(r.poll())
        w.put('one')
        w.put('two')
        w.flush()
        self.assertTrue(r.poll())
        self.assertTrue(r.poll())           # kept, not consumed twice
        self.assertEqual(r.get(), 'one')
        self.assertEqual(r.get(), 'two')
        self.assertFalse(r.poll(timeout=0.01))
        w.close()
        self.assertTrue(r.poll())           # the end: get() will raise
        with self.assertRaises(EOFError):
            r.get()
        r.close()

    def test_poll_then_receive(self):
        r, w = Gipc.pipe(encoder=None, decoder=None)
        w.send(b'x')
        w.flush()
        self.assertTrue(r.poll(timeout=1))
        self.assertEqual(r.receive(), b'x')
        r.close()
        w.close()

    def test_get_at_the_end_is_an_eoferror(self):
        r, w = Gipc.pipe()
        w.close()
        with self.assertRaises(EOFError) as cm:
            r.get()
        e = cm.exception
        self.assertIsInstance(e, Gipc.GIPCEOFError)
        self.assertIsInstance(e, GLib.Error)
        self.assertTrue(e.matches(Gipc.error_quark(), Gipc.Error.PEER_CLOSED))
        r.close()

    def test_other_errors_unchanged(self):
        r, w = Gipc.pipe()
        r.close()
        with self.assertRaises(GLib.Error) as cm:
            r.get()
        self.assertNotIsInstance(cm.exception, EOFError)
        self.assertTrue(cm.exception.matches(Gipc.error_quark(),
                                             Gipc.Error.CLOSED))
        w.close()


if __name__ == '__main__':
    gipctest.main()
