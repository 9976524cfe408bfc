#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""Errors reach Python as GLib.Error in the 'gipc-error-quark' domain (or
GIO's, for cancellation and timeouts) with the code of the Gipc.Error
enumeration."""

import os
import signal

import gipctest
from gipctest import GLib, Gipc


class DomainTests(gipctest.TestCase):

    def test_quark_and_enum(self):
        self.assertEqual(GLib.quark_to_string(Gipc.error_quark()),
                         'gipc-error-quark')
        # The codes of DESIGN.md, in the order of gipc-error.h.
        names = ['FAILED', 'CLOSED', 'LOCKED', 'PEER_CLOSED',
                 'MESSAGE_TOO_LARGE', 'PROTOCOL', 'NOT_STARTED',
                 'ALREADY_STARTED', 'SPAWN_FAILED']
        for value, name in enumerate(names):
            self.assertEqual(int(getattr(Gipc.Error, name)), value)

    def test_error_fields(self):
        r, w = Gipc.pipe()
        r.close()
        with self.assertRaises(GLib.Error) as cm:
            r.receive()
        error = cm.exception
        self.assertEqual(error.domain, 'gipc-error-quark')
        self.assertEqual(error.code, Gipc.Error.CLOSED)
        self.assertTrue(error.matches(Gipc.error_quark(), Gipc.Error.CLOSED))
        self.assertFalse(error.matches(Gipc.error_quark(),
                                       Gipc.Error.LOCKED))
        self.assertTrue(error.message)
        w.close()


class ChannelErrorTests(gipctest.TestCase):

    def test_closed(self):
        a, b = Gipc.pipe(Gipc.PipeFlags.DUPLEX)
        self.assertTrue(a.close())
        with self.assertRaisesGipcError(Gipc.Error.CLOSED):
            a.send(b'x')
        with self.assertRaisesGipcError(Gipc.Error.CLOSED):
            a.receive()
        with self.assertRaisesGipcError(Gipc.Error.CLOSED):
            a.send_variant(GLib.Variant('s', 'x'))
        with self.assertRaisesGipcError(Gipc.Error.CLOSED):
            a.receive_variant()
        b.close()

    def test_receive_after_writer_closed_is_peer_closed(self):
        r, w = Gipc.pipe()
        w.send(b'before the end')
        w.close()
        self.assertEqual(r.receive(), b'before the end')
        with self.assertRaisesGipcError(Gipc.Error.PEER_CLOSED):
            r.receive()
        r.close()

    def test_send_to_closed_reader_is_peer_closed(self):
        # No SIGPIPE death, whatever the disposition (Python ignores
        # SIGPIPE; set the default to be sure the library copes).
        old = signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        try:
            r, w = Gipc.pipe()
            r.close()
            with self.assertRaisesGipcError(Gipc.Error.PEER_CLOSED):
                w.send(b'nobody listens')
            w.close()
        finally:
            signal.signal(signal.SIGPIPE, old)

    def test_message_too_large(self):
        r, w = Gipc.pipe()
        r.props.max_message_size = 16
        w.send(b'x' * 16)
        self.assertEqual(r.receive(), b'x' * 16)
        w.send(b'x' * 17)
        with self.assertRaisesGipcError(Gipc.Error.MESSAGE_TOO_LARGE):
            r.receive()
        r.close()
        w.close()

    def test_payload_that_is_not_a_variant(self):
        r, w = Gipc.pipe()
        # A serialized 'v' ends with a NUL and a type string; this has
        # neither.
        w.send(b'\xff\xfe not a variant')
        with self.assertRaisesGipcError(Gipc.Error.PROTOCOL):
            r.receive_variant()
        r.close()
        w.close()

    def test_wrong_direction(self):
        r, w = Gipc.pipe()
        with self.assertRaisesGipcError(Gipc.Error.FAILED):
            r.send(b'a reader does not send')
        with self.assertRaisesGipcError(Gipc.Error.FAILED):
            w.receive()
        r.close()
        w.close()

    def test_new_from_fds(self):
        read_fd, write_fd = os.pipe()
        r = Gipc.Channel.new_from_fds(read_fd, -1)
        w = Gipc.Channel.new_from_fds(-1, write_fd)
        w.send(b'over raw fds')
        self.assertEqual(r.receive(), b'over raw fds')
        r.close()
        w.close()

    def test_new_inherited_without_environment(self):
        saved = os.environ.pop('GIPC_CHANNEL_FDS', None)
        try:
            with self.assertRaisesGipcError(Gipc.Error.FAILED) as cm:
                Gipc.Channel.new_inherited(0)
            self.assertIn('GIPC_CHANNEL_FDS', cm.exception.message)
        finally:
            if saved is not None:
                os.environ['GIPC_CHANNEL_FDS'] = saved


class ProcessErrorTests(gipctest.TestCase):

    def test_start_twice(self):
        process = Gipc.Process.new(lambda process: 0)
        process.start()
        with self.assertRaisesGipcError(Gipc.Error.ALREADY_STARTED):
            process.start()
        self.assertEqual(self.join(process), 0)

    def test_join_before_start(self):
        process = Gipc.Process.new(lambda process: 0)
        with self.assertRaisesGipcError(Gipc.Error.NOT_STARTED):
            process.join(-1)

    def test_pass_closed_channel(self):
        r, w = Gipc.pipe()
        w.close()
        process = Gipc.Process.new(lambda process: 0)
        process.pass_channel(w)
        with self.assertRaisesGipcError(Gipc.Error.CLOSED):
            process.start()
        r.close()


if __name__ == '__main__':
    gipctest.main()
