#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""Gipc.shared_bytes_new(): GLib.Bytes backed by shared memory, from a size
or from bytes-like data, usable as a message."""

import array
import gc

import gipctest
from gipctest import GLib, Gipc, LoopGuard


def _shared_mappings():
    """The number of mappings of gipc's memfds in this process."""
    with open('/proc/self/maps') as maps:
        return sum(1 for line in maps if '/memfd:gipc-shared-memory' in line)


class SharedBytesTests(gipctest.TestCase):

    def test_from_bytes(self):
        b = Gipc.shared_bytes_new(b'hello, shared memory')
        self.assertIsInstance(b, GLib.Bytes)
        self.assertEqual(b.get_data(), b'hello, shared memory')
        self.assertEqual(b.get_size(), 20)

    def test_from_size_is_zeros(self):
        b = Gipc.shared_bytes_new(4096)
        self.assertIsInstance(b, GLib.Bytes)
        self.assertEqual(b.get_size(), 4096)
        self.assertEqual(b.get_data(), bytes(4096))

    def test_zero_size(self):
        for arg in (0, b'', bytearray()):
            b = Gipc.shared_bytes_new(arg)
            self.assertIsInstance(b, GLib.Bytes)
            self.assertEqual(b.get_size(), 0)

    def test_bytes_like(self):
        ints = array.array('i', [1, 2, 3, -1])
        cases = [
            (bytearray(b'abc'), b'abc'),
            (memoryview(b'xyzw')[1:3], b'yz'),
            (memoryview(b'0123456789')[::2], b'02468'),
            (ints, ints.tobytes()),
            (memoryview(ints), ints.tobytes()),
            (GLib.Bytes.new(b'from GBytes'), b'from GBytes'),
        ]
        for arg, expected in cases:
            with self.subTest(arg=arg):
                self.assertEqual(Gipc.shared_bytes_new(arg).get_data(),
                                 expected)

    def test_bad_arguments(self):
        with self.assertRaises(ValueError):
            Gipc.shared_bytes_new(-1)
        with self.assertRaises(TypeError):
            Gipc.shared_bytes_new(True)
        with self.assertRaises(TypeError):
            Gipc.shared_bytes_new('text')
        with self.assertRaises(TypeError):
            Gipc.shared_bytes_new(None)

    def test_too_large_is_gerror(self):
        with self.assertRaisesGipcError(Gipc.Error.FAILED):
            Gipc.shared_bytes_new(2 ** 64 - 1)

    def test_backed_by_a_memfd_mapped_while_alive(self):
        gc.collect()
        before = _shared_mappings()
        b = Gipc.shared_bytes_new(b'm' * 100000)
        self.assertEqual(_shared_mappings(), before + 1)
        self.assertEqual(b.get_data(), b'm' * 100000)
        del b
        gc.collect()
        self.assertEqual(_shared_mappings(), before)

    def test_sent_as_a_message(self):
        payload = bytes(range(256)) * 4096   # 1 MiB, more than a pipe holds
        shared = Gipc.shared_bytes_new(payload)
        r, w = Gipc.pipe()
        with r, w:
            guard = LoopGuard()
            got = []

            def on_received(channel, result):
                got.append(channel.receive_finish(result))
                if len(got) == 2:
                    guard.quit()

            # The same shared bytes twice.
            w.send_async(shared, None, None)
            w.send_async(shared, None, None)
            r.receive_async(None, guard.wrap(on_received))
            r.receive_async(None, guard.wrap(on_received))
            guard.run()
            self.assertEqual(got, [payload, payload])

if __name__ == '__main__':
    gipctest.main()
