#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""Spawn mode with a Python child (child_script.py) that gets its channels
with Gipc.Channel.new_inherited()."""

import os

import gipctest
from gipctest import GLib, Gipc, LoopGuard, capture_fd

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                     'child_script.py')
PYTHON = '/usr/bin/python3'


def spawn(*args):
    return Gipc.Process.new_for_argv([PYTHON, CHILD] + list(args))


class SpawnTests(gipctest.TestCase):

    def test_exit_status(self):
        for status in (0, 3, 42):
            process = spawn('exit', str(status))
            process.start()
            self.assertEqual(self.join(process), status)

    def test_start_async(self):
        # start_async returns before the child was executed; the callback
        # runs from the loop, exited comes after it.
        process = spawn('exit', '5')
        guard = LoopGuard()
        events = []

        def on_started(p, result):
            events.append(('started', p.start_finish(result)))

        def on_exited(p, code):
            events.append(('exited', code))
            guard.quit()

        process.connect('exited', on_exited)
        process.start_async(None, guard.wrap(on_started))
        self.assertFalse(process.is_alive())
        guard.run()
        self.assertEqual(events, [('started', True), ('exited', 5)])
        self.assertNotEqual(Gipc.PROCESS_EXIT_CODE_UNKNOWN, 5)

    def test_start_async_fails_as_start(self):
        process = Gipc.Process.new_for_argv(['/nonexistent/gipc-no-program'])
        guard = LoopGuard()
        results = []

        def on_started(p, result):
            try:
                p.start_finish(result)
            except GLib.Error as error:
                results.append(error)
            guard.quit()

        process.start_async(None, guard.wrap(on_started))
        guard.run()
        self.assertEqual(len(results), 1)
        self.assertTrue(results[0].matches(Gipc.Error.quark(), Gipc.Error.SPAWN_FAILED))

    def test_uncaught_exception(self):
        process = spawn('fail')
        with capture_fd(2) as err:
            process.start()
            status = self.join(process)
        self.assertEqual(status, 1)
        self.assertIn('RuntimeError: the spawned child fails', err.read())

    def test_echo_duplex(self):
        mine, theirs = Gipc.pipe(Gipc.PipeFlags.DUPLEX)
        process = spawn('echo')
        process.pass_channel(theirs)
        process.start()
        self.assertTrue(theirs.props.closed)
        for message in (b'hello', b'', b'x' * 100000):
            mine.send(message)
            self.assertEqual(mine.receive(), message.upper())
        mine.send(b'quit')
        self.assertEqual(self.join(process), 0)
        with self.assertRaisesGipcError(Gipc.Error.PEER_CLOSED):
            mine.receive()
        mine.close()

    def test_variant(self):
        mine, theirs = Gipc.pipe(Gipc.PipeFlags.DUPLEX)
        process = spawn('variant')
        process.pass_channel(theirs)
        process.start()
        mine.send_variant(GLib.Variant('(si)', ('ab', 41)))
        self.assertEqual(mine.receive_variant().unpack(), ('abab', 42))
        self.assertEqual(self.join(process), 0)
        mine.close()

    def test_two_channels_async(self):
        to_child_r, to_child_w = Gipc.pipe()
        from_child_r, from_child_w = Gipc.pipe()
        process = spawn('two-channels')
        process.pass_channel(to_child_r)
        process.pass_channel(from_child_w)
        guard = LoopGuard()
        results = {}

        def on_joined(p, result):
            results['joined'] = p.join_finish(result)
            guard.quit()

        def on_received(channel, result):
            results['reply'] = channel.receive_finish(result)
            process.join_async(None, guard.wrap(on_joined))

        process.start()
        to_child_w.send_async(b'through the child')
        from_child_r.receive_async(None, guard.wrap(on_received))
        guard.run()
        self.assertEqual(results['reply'], b'relayed: through the child')
        self.assertTrue(results['joined'])
        self.assertEqual(process.get_exit_code(), 0)
        to_child_w.close()
        from_child_r.close()

    def test_listen_until_the_child_exits(self):
        r, w = Gipc.pipe()
        process = spawn('stream', '50')
        process.pass_channel(w)
        guard = LoopGuard()
        messages = []
        errors = []

        def on_message(channel, message):
            messages.append(message.get_data())

        def on_error(channel, error):
            errors.append(error)
            guard.quit()

        r.connect('message', guard.wrap(on_message))
        r.connect('error', guard.wrap(on_error))
        process.start()
        r.listen()
        guard.run()
        self.assertEqual(messages, [b'message %d' % i for i in range(50)])
        self.assertEqual(len(errors), 1)
        self.assertGError(errors[0], Gipc.error_quark(),
                          Gipc.Error.PEER_CLOSED)
        self.assertEqual(self.join(process), 0)
        r.close()

    def test_new_inherited_bad_index(self):
        r, w = Gipc.pipe()
        process = spawn('bad-index')
        process.pass_channel(w)
        process.start()
        self.assertEqual(self.join(process), 0)
        r.close()


if __name__ == '__main__':
    gipctest.main()
