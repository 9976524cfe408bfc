#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""Fork mode with Python targets: exit statuses, tracebacks, sys.exit, no
atexit or interpreter shutdown in the child, stdio flushing, the
interpreter's fork hooks, channels and main loops in the child."""

import atexit
import gc
import os
import signal
import sys
import weakref

import gipctest
from gipctest import Gio, GLib, Gipc, LoopGuard, capture_fd

# Fork hooks: counted in the parent, flagged in the child.
_hooks = {'before': 0, 'parent': 0, 'child': 0}


def _count(key):
    _hooks[key] += 1


os.register_at_fork(before=lambda: _count('before'),
                    after_in_parent=lambda: _count('parent'),
                    after_in_child=lambda: _count('child'))

# An atexit handler of the parent that reports to a pipe if it ever runs
# in a child.
_atexit_probe_fd = None


def _atexit_probe():
    if _atexit_probe_fd is not None and os.getpid() != gipctest._MAIN_PID:
        os.write(_atexit_probe_fd, b'parent-atexit ')


atexit.register(_atexit_probe)


class ExitStatusTests(gipctest.TestCase):

    def run_target(self, target, *args, **kwargs):
        process = Gipc.Process.new(target, *args, **kwargs)
        self.assertIsInstance(process, Gipc.Process)
        self.assertTrue(process.start())
        return self.join(process)

    def test_return_none_is_0(self):
        def target(process):
            pass
        self.assertEqual(self.run_target(target), 0)

    def test_return_int_is_the_status(self):
        self.assertEqual(self.run_target(lambda process: 5), 5)
        self.assertEqual(self.run_target(lambda process: 0), 0)
        self.assertEqual(self.run_target(lambda process: 255), 255)

    def test_status_is_modulo_256(self):
        self.assertEqual(self.run_target(lambda process: 256 + 3), 3)
        self.assertEqual(self.run_target(lambda process: -1), 255)
        self.assertEqual(self.run_target(lambda process: 1 << 70), 0)

    def test_arguments(self):
        def target(process, a, b, *, c=0):
            if not isinstance(process, Gipc.Process):
                return 99
            return a * 100 + b * 10 + c if c else a * 10 + b
        self.assertEqual(self.run_target(target, 1, 2, c=3), 123)
        self.assertEqual(self.run_target(target, 4, 5), 45)

    def test_exception_prints_traceback_and_gives_1(self):
        def failing_target(process):
            raise ValueError('boom from the child')
        with capture_fd(2) as err:
            status = self.run_target(failing_target)
        text = err.read()
        self.assertEqual(status, 1)
        self.assertTrue(text.startswith('Traceback (most recent call last):'),
                        text)
        self.assertIn('in failing_target', text)
        self.assertIn('ValueError: boom from the child', text)

    def test_keyboard_interrupt_gives_1(self):
        def target(process):
            raise KeyboardInterrupt
        with capture_fd(2) as err:
            status = self.run_target(target)
        self.assertEqual(status, 1)
        self.assertIn('KeyboardInterrupt', err.read())

    def test_sys_exit(self):
        def target(process, code):
            sys.exit(code)
        self.assertEqual(self.run_target(target, 7), 7)
        self.assertEqual(self.run_target(target, 0), 0)
        self.assertEqual(self.run_target(target, None), 0)
        self.assertEqual(self.run_target(lambda process: sys.exit()), 0)

    def test_sys_exit_with_a_message(self):
        def target(process):
            sys.exit('leaving with a message')
        with capture_fd(2) as err:
            status = self.run_target(target)
        self.assertEqual(status, 1)
        self.assertEqual(err.read(), 'leaving with a message\n')

    def test_sys_exit_deep_in_the_stack(self):
        def inner():
            try:
                sys.exit(4)
            finally:
                pass

        def target(process):
            inner()
            return 0
        self.assertEqual(self.run_target(target), 4)

    def test_os_exit(self):
        self.assertEqual(self.run_target(lambda process: os._exit(6)), 6)

    def test_other_return_values_give_1(self):
        with capture_fd(2) as err:
            status = self.run_target(lambda process: 'not a status')
        self.assertEqual(status, 1)
        self.assertIn("'not a status'", err.read())

    def test_target_must_be_callable(self):
        with self.assertRaises(TypeError):
            Gipc.Process.new(42)


class ChildHygieneTests(gipctest.TestCase):

    def test_no_atexit_in_the_child(self):
        global _atexit_probe_fd
        read_fd, write_fd = os.pipe()

        def target(process):
            atexit.register(os.write, write_fd, b'child-atexit ')
            return 0

        _atexit_probe_fd = write_fd
        try:
            process = Gipc.Process.new(target)
            process.start()
            status = self.join(process)
        finally:
            _atexit_probe_fd = None
            os.close(write_fd)
        with os.fdopen(read_fd, 'rb') as f:
            written = f.read()
        self.assertEqual(status, 0)
        self.assertEqual(written, b'')

    def test_no_finally_of_the_parent_stack(self):
        # The target runs deep inside the parent's stack (this test, the
        # runner); leaving the child never unwinds it.
        read_fd, write_fd = os.pipe()
        try:
            process = Gipc.Process.new(lambda process: 0)
            try:
                process.start()
            finally:
                if os.getpid() != gipctest._MAIN_PID:
                    os.write(write_fd, b'finally ran in the child')
            status = self.join(process)
        finally:
            os.close(write_fd)
        with os.fdopen(read_fd, 'rb') as f:
            self.assertEqual(f.read(), b'')
        self.assertEqual(status, 0)

    def test_stdout_is_flushed_once(self):
        # Output buffered in the parent at the fork is written once, and
        # what the child prints is not lost at its _exit.
        def target(process):
            print('child line')
            sys.stdout.write('child, no newline')
            return 0

        with capture_fd(1) as out:
            sys.stdout.write('parent line, not flushed\n')
            process = Gipc.Process.new(target)
            process.start()
            status = self.join(process)
        self.assertEqual(status, 0)
        self.assertEqual(out.read(), 'parent line, not flushed\n'
                                     'child line\n'
                                     'child, no newline')

    def test_stderr_is_flushed(self):
        def target(process):
            sys.stderr.write('to stderr, no newline')
            return 3

        with capture_fd(2) as err:
            process = Gipc.Process.new(target)
            process.start()
            status = self.join(process)
        self.assertEqual(status, 3)
        self.assertEqual(err.read(), 'to stderr, no newline')

    def test_fork_hooks(self):
        before = dict(_hooks)

        def target(process):
            # after_in_child ran once more than in the parent at the fork
            return 0 if _hooks['child'] == before['child'] + 1 else 10

        process = Gipc.Process.new(target)
        process.start()
        self.assertEqual(_hooks['before'], before['before'] + 1)
        self.assertEqual(_hooks['parent'], before['parent'] + 1)
        self.assertEqual(_hooks['child'], before['child'])
        self.assertEqual(self.join(process), 0)

    def test_stdin_is_dev_null(self):
        def target(process):
            return 0 if sys.stdin.read() == '' else 1
        process = Gipc.Process.new(target)
        process.start()
        self.assertEqual(self.join(process), 0)


class ChannelTests(gipctest.TestCase):

    def test_child_sends(self):
        r, w = Gipc.pipe()

        def target(process, writer):
            writer.send(b'from the child')
            writer.send_variant(GLib.Variant('(si)', ('pid', os.getpid())))
            return 0

        process = Gipc.Process.new(target, w)
        process.pass_channel(w)
        process.start()
        # Passed channels are closed in the parent.
        self.assertTrue(w.props.closed)
        self.assertEqual(r.receive(), b'from the child')
        name, pid = r.receive_variant().unpack()
        self.assertEqual(pid, process.get_pid())
        self.assertEqual(self.join(process), 0)
        with self.assertRaisesGipcError(Gipc.Error.PEER_CLOSED):
            r.receive()
        r.close()

    def test_unpassed_channels_are_closed_in_the_child(self):
        r, w = Gipc.pipe()
        kept_r, kept_w = Gipc.pipe()

        def target(process):
            # w was not passed (the target reaches it through its closure,
            # not its arguments): closed in the child
            if kept_r.props.closed:
                return 13
            return 0 if w.props.closed else 12

        process = Gipc.Process.new(target)
        process.pass_channel(kept_r)
        process.start()
        self.assertEqual(self.join(process), 0)
        # ... but not in the parent
        self.assertFalse(w.props.closed)
        w.send(b'still mine')
        self.assertEqual(r.receive(), b'still mine')
        for c in (r, w, kept_w):
            c.close()

    def test_main_loop_in_the_child(self):
        a, b = Gipc.pipe(Gipc.PipeFlags.DUPLEX)

        def target(process, channel):
            # A fresh default context: GLib.MainLoop and async calls work.
            loop = GLib.MainLoop.new(None, False)
            state = {'status': 20}

            def on_sent(ch, result):
                ch.send_finish(result)
                state['status'] = 0
                loop.quit()

            def on_received(ch, result):
                message = ch.receive_finish(result)
                ch.send_async(message.upper(), None, on_sent)

            channel.receive_async(None, on_received)
            GLib.timeout_add_seconds(10, loop.quit)
            loop.run()
            return state['status']

        process = Gipc.Process.new(target, b)
        process.pass_channel(b)
        guard = LoopGuard()
        results = {}

        def on_exited(p, exit_code):
            results['exited'] = exit_code

        def on_joined(p, result):
            results['joined'] = p.join_finish(result)
            guard.quit()

        def on_received(ch, result):
            results['reply'] = ch.receive_finish(result)
            process.join_async(None, guard.wrap(on_joined))

        process.connect('exited', guard.wrap(on_exited))
        process.start()
        a.send_async(b'ping')
        a.receive_async(None, guard.wrap(on_received))
        guard.run()
        self.assertEqual(results['reply'], b'PING')
        self.assertTrue(results['joined'])
        self.assertEqual(process.get_exit_code(), 0)
        self.assertEqual(results.get('exited'), 0)
        a.close()

    def test_parent_sources_do_not_run_in_the_child(self):
        r, w = Gipc.pipe()
        parent_pid = os.getpid()
        fired = []

        def parent_timeout():
            if os.getpid() != parent_pid:
                os._exit(33)
            fired.append(True)
            return GLib.SOURCE_REMOVE

        def target(process, writer):
            loop = GLib.MainLoop.new(None, False)
            # Runs after the parent's 0 ms timeout would have.
            GLib.timeout_add(50, loop.quit)
            loop.run()
            writer.send(b'done')
            return 0

        GLib.timeout_add(0, parent_timeout)
        process = Gipc.Process.new(target, w)
        process.pass_channel(w)
        process.start()
        self.assertEqual(r.receive(), b'done')
        self.assertEqual(self.join(process), 0)
        guard = LoopGuard()
        GLib.idle_add(guard.quit)
        guard.run()
        self.assertEqual(fired, [True])
        r.close()


class SignalTests(gipctest.TestCase):

    def start_blocked_child(self):
        # The child says it is ready, then blocks in a receive.
        a, b = Gipc.pipe(Gipc.PipeFlags.DUPLEX)

        def target(process, channel):
            channel.send(b'ready')
            channel.receive()
            return 0

        process = Gipc.Process.new(target, b)
        process.pass_channel(b)
        process.start()
        self.assertEqual(a.receive(), b'ready')
        self.assertTrue(process.is_alive())
        return process, a

    def test_terminate(self):
        process, channel = self.start_blocked_child()
        self.assertTrue(process.terminate())
        self.assertEqual(self.join(process), -signal.SIGTERM)
        channel.close()

    def test_sigint_is_not_keyboard_interrupt(self):
        # Signal dispositions are reset to the default in the child (as
        # gipc does): Python's SIGINT handler does not run there.
        process, channel = self.start_blocked_child()
        self.assertTrue(process.send_signal(signal.SIGINT))
        self.assertEqual(self.join(process), -signal.SIGINT)
        channel.close()

    def test_join_timeout(self):
        process, channel = self.start_blocked_child()
        with self.assertRaisesIOError(Gio.IOErrorEnum.TIMED_OUT):
            process.join(50)
        self.assertTrue(process.is_alive())
        channel.send(b'go on')
        self.assertEqual(self.join(process), 0)
        channel.close()

    def test_exited_once_after_a_sync_join(self):
        process = Gipc.Process.new(lambda process: 8)
        guard = LoopGuard()
        codes = []

        def on_exited(p, exit_code):
            codes.append(exit_code)
            # One more iteration, to see a second emission if there is one.
            GLib.idle_add(guard.quit)

        process.connect('exited', guard.wrap(on_exited))
        process.start()
        self.assertEqual(self.join(process), 8)
        guard.run()
        self.assertEqual(codes, [8])

    def test_sigpipe_keeps_the_parent_disposition(self):
        # Python ignores SIGPIPE; the child keeps that, so a write to a
        # closed reader is an error, not a death.
        def target(process):
            if signal.getsignal(signal.SIGPIPE) != signal.SIG_IGN:
                return 30
            r, w = os.pipe()
            os.close(r)
            try:
                os.write(w, b'x')
            except BrokenPipeError:
                return 0
            return 31

        self.assertEqual(signal.getsignal(signal.SIGPIPE), signal.SIG_IGN)
        process = Gipc.Process.new(target)
        process.start()
        self.assertEqual(self.join(process), 0)


class LifetimeTests(gipctest.TestCase):
    """The notify of gipc_process_new runs in the parent: the target and
    its arguments are released with the process."""

    class Argument:
        pass

    def assert_released(self, use):
        argument = self.Argument()
        ref = weakref.ref(argument)
        use(argument)
        del argument
        # A started process keeps itself alive until its 'exited' was
        # emitted on the main context.
        context = GLib.MainContext.default()
        for _ in range(100):
            if not context.iteration(False):
                break
        gc.collect()
        self.assertIsNone(ref())

    def test_never_started(self):
        def use(argument):
            Gipc.Process.new(lambda process, a: 0, argument)
        self.assert_released(use)

    def test_joined(self):
        def use(argument):
            process = Gipc.Process.new(lambda process, a: 0, argument)
            process.start()
            self.assertEqual(self.join(process), 0)
        self.assert_released(use)

    def test_start_failed(self):
        def use(argument):
            r, w = Gipc.pipe()
            w.close()
            process = Gipc.Process.new(lambda process, a: 0, argument)
            process.pass_channel(w)
            with self.assertRaisesGipcError(Gipc.Error.CLOSED):
                process.start()
            r.close()
        self.assert_released(use)


if __name__ == '__main__':
    gipctest.main()
