#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""File descriptors on messages from Python: send_with_fds with ints, files
and Gio.UnixFDList, receive_with_fds, receive_fds, the async pair, the
message-with-fds signal, shared memory, a fork child that answers with fds,
and the refusal on pipe channels."""

import os
import tempfile

import gipctest
from gipctest import GLib, Gipc, LoopGuard

from gi.repository import Gio


def _open_fds():
    return len(os.listdir('/proc/self/fd'))


def _tagged_pipe(text):
    r, w = os.pipe()
    os.write(w, text.encode())
    os.close(w)
    return r


def setUpModule():
    # GLib opens its worker context's fds (GTask) once per process, at the
    # first asynchronous call: before any test counts fds.
    a, b = Gipc.pipe(Gipc.PipeFlags.UNIX_FDS)
    guard = LoopGuard()
    b.send_async(b'warm', None, lambda *args: guard.quit())
    guard.run()
    a.close()
    b.close()
    # The library's reaper thread opens its wakeup fd once per process, at
    # the first child: before any test counts fds.
    child = Gipc.Process.new_for_argv(['true'])
    child.start()
    child.join(-1)


class ChannelFdsTests(gipctest.TestCase):

    def setUp(self):
        super().setUp()
        before = _open_fds()

        def check_fds():
            # Registered first, so it runs after every other clean-up.
            import gc
            gc.collect()
            self.assertEqual(_open_fds(), before, 'an fd leaked')

        self.addCleanup(check_fds)

    def pair(self, duplex=True):
        flags = Gipc.PipeFlags.UNIX_FDS
        if duplex:
            flags |= Gipc.PipeFlags.DUPLEX
        a, b = Gipc.pipe(flags)
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        self.assertTrue(a.props.can_pass_fds)
        return a, b

    def test_ints_and_files(self):
        a, b = self.pair()
        r = _tagged_pipe('from an int')
        with tempfile.TemporaryFile() as f:
            f.write(b'from a file')
            f.flush()
            a.send_with_fds(b'two fds', [r, f])
            os.close(r)
            data, fds = b.receive_fds()
        self.assertEqual(data, b'two fds')
        self.assertEqual(len(fds), 2)
        self.assertEqual(os.read(fds[0], 100), b'from an int')
        self.assertFalse(os.get_inheritable(fds[0]))
        self.assertEqual(os.pread(fds[1], 100, 0), b'from a file')
        for fd in fds:
            os.close(fd)

    def test_fd_list_and_none(self):
        a, b = self.pair()
        r = _tagged_pipe('listed')
        fd_list = Gio.UnixFDList.new_from_array([r])
        a.send_with_fds(b'listed', fd_list)
        data, got = b.receive_with_fds()
        self.assertEqual(data, b'listed')
        self.assertIsInstance(got, Gio.UnixFDList)
        self.assertEqual(got.get_length(), 1)
        (fd,) = got.steal_fds()
        self.assertEqual(os.read(fd, 100), b'listed')
        os.close(fd)
        # No fds: None.
        a.send_with_fds(b'plain', None)
        self.assertEqual(b.receive_with_fds(), (b'plain', None))
        a.send(b'plainer')
        self.assertEqual(b.receive_fds(), (b'plainer', []))

    def test_plain_receive_closes_them(self):
        a, b = self.pair()
        r = _tagged_pipe('dropped')
        a.send_with_fds(b'x', [r])
        os.close(r)
        self.assertEqual(b.receive(), b'x')
        # tearDown checks that the received fd is closed.

    def test_async_pair(self):
        a, b = self.pair()
        r = _tagged_pipe('async')
        results = {}
        guard = LoopGuard()

        def sent(channel, result):
            results['sent'] = channel.send_with_fds_finish(result)

        def received(channel, result):
            results['received'] = channel.receive_with_fds_finish(result)
            guard.quit()

        a.send_with_fds_async(b'async', [r], None, guard.wrap(sent))
        os.close(r)
        b.receive_async(None, guard.wrap(received))
        guard.run()
        self.assertTrue(results['sent'])
        data, fds = results['received']
        self.assertEqual(data, b'async')
        (fd,) = fds.steal_fds()
        self.assertEqual(os.read(fd, 100), b'async')
        os.close(fd)

    def test_receive_with_fds_async(self):
        # The async pair of its own: each receive gets the next message with
        # its fds; a message without fds gives None; the end of the stream
        # is an error; a result a callback marked is never handed out again.
        r, w = self.pair(duplex=False)
        fd = _tagged_pipe('with-async')
        w.send_with_fds(b'first', [fd])
        os.close(fd)
        w.send(b'second')
        w.close()
        got = []
        results = []
        guard = LoopGuard()

        def received(channel, result):
            self.assertFalse(hasattr(result, 'gipc_test_mark'),
                             'a result came back with data from an earlier receive')
            result.gipc_test_mark = len(results)
            results.append(result)
            try:
                got.append(channel.receive_with_fds_finish(result))
            except GLib.Error as e:
                got.append(e)
                guard.quit()
                return
            channel.receive_with_fds_async(None, guard.wrap(received))

        r.receive_with_fds_async(None, guard.wrap(received))
        guard.run()
        self.assertEqual(len(got), 3)
        data, fds = got[0]
        self.assertEqual(data, b'first')
        (received_fd,) = fds.steal_fds()
        self.assertEqual(os.read(received_fd, 100), b'with-async')
        os.close(received_fd)
        self.assertEqual(got[1], (b'second', None))
        self.assertTrue(got[2].matches(Gipc.error_quark(), Gipc.Error.PEER_CLOSED))
        self.assertEqual(len({id(result) for result in results}), 3)

    def test_message_with_fds_signal(self):
        r, w = self.pair(duplex=False)
        got = []
        guard = LoopGuard()

        def with_fds(channel, message, fds):
            (fd,) = fds.steal_fds()
            got.append((message.get_data(), os.read(fd, 100)))
            os.close(fd)

        def plain(channel, message):
            got.append((message.get_data(), None))

        def ended(channel, error):
            guard.quit()

        r.connect('message-with-fds', guard.wrap(with_fds))
        r.connect('message', guard.wrap(plain))
        r.connect('error', guard.wrap(ended))
        r.listen()
        fd = _tagged_pipe('pushed')
        w.send_with_fds(b'one', [fd])
        os.close(fd)
        w.send(b'two')
        w.close()
        guard.run()
        self.assertEqual(got, [(b'one', b'pushed'), (b'two', None)])

    def test_shared_memory(self):
        a, b = self.pair()
        self.assertEqual(a.props.shared_memory_threshold, 1024 * 1024)
        big = bytes(range(256)) * (8 * 1024)      # 2 MiB
        a.send(big)
        self.assertEqual(b.receive(), big)
        shared = Gipc.shared_bytes_new(b'built once')
        a.send(shared)
        a.send(shared)
        self.assertEqual(b.receive(), b'built once')
        self.assertEqual(b.receive(), b'built once')

    def test_refused_on_pipes(self):
        r, w = Gipc.pipe(Gipc.PipeFlags.NONE)
        self.addCleanup(r.close)
        self.addCleanup(w.close)
        self.assertFalse(w.props.can_pass_fds)
        fd = _tagged_pipe('no')
        with self.assertRaises(GLib.Error) as caught:
            w.send_with_fds(b'no', [fd])
        os.close(fd)
        self.assertTrue(caught.exception.matches(Gipc.error_quark(), Gipc.Error.FAILED))

    def test_fork_child_answers_with_fds(self):
        a, b = self.pair()

        def child(process, channel):
            data, fds = channel.receive_fds()
            text = os.read(fds[0], 100)
            channel.send_with_fds(data + b':' + text, fds)
            for fd in fds:
                os.close(fd)
            return 0

        process = Gipc.Process.new(child, b)
        process.start()
        fd = _tagged_pipe('to the child')
        a.send_with_fds(b'req', [fd])
        os.close(fd)
        data, fds = a.receive_fds()
        self.assertEqual(data, b'req:to the child')
        self.assertEqual(len(fds), 1)
        os.close(fds[0])
        self.assertTrue(process.join(-1))
        self.assertEqual(process.props.exit_code, 0)


if __name__ == '__main__':
    gipctest.main()
