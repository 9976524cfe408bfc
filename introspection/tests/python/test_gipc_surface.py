#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""gipc's own Python surface: put()/get() with pickle as the default codec
(the wire payload checked against the pickle module directly), pipe()'s
duplex/encoder/decoder arguments, and Process.new() passing every channel
found in its arguments to the child."""

import json
import os
import pickle
import struct

import gipctest
from gipctest import Gipc, capture_fd

# A hard bound on every receive of these tests, so that a regression (a
# channel that did not reach the child) fails instead of hanging.
TIMEOUT_MS = 10000

OBJECTS = [
    'OK',
    b'raw bytes',
    '',
    [1, True, False, None, Exception],
    {('KLADUSCH',): 'foo', 2: [3.5, -1]},
    set(range(10)),
    2 ** 100,
    'é' * 1000,
]


def open_fds():
    return len(os.listdir('/proc/self/fd'))


class WirePayloadTests(gipctest.TestCase):

    def setUp(self):
        self.r, self.w = Gipc.pipe()
        self.r.props.timeout = TIMEOUT_MS

    def tearDown(self):
        self.r.close()
        self.w.close()

    def test_put_sends_the_pickle(self):
        # What a gipc handle with its default codec writes and reads.
        for obj in OBJECTS:
            self.w.put(obj)
            self.assertEqual(self.r.receive(),
                             pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))

    def test_get_loads_a_pickle(self):
        for obj in OBJECTS:
            self.w.send(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))
            self.assertEqual(self.r.get(), obj)
        # Any protocol: the decoder is pickle.loads.
        self.w.send(pickle.dumps(['x', 1], 0))
        self.assertEqual(self.r.get(), ['x', 1])

    def test_put_get_round_trip(self):
        for obj in OBJECTS:
            self.w.put(obj)
            self.assertEqual(self.r.get(), obj)

    def test_frame_on_the_fd(self):
        # The bytes on the pipe: gipc's frame (4-byte big-endian length)
        # around the pickle.
        read_fd, write_fd = os.pipe()
        w = Gipc.Channel.new_from_fds(-1, write_fd)
        try:
            w.put('a')
            w.flush()
            expected = pickle.dumps('a', pickle.HIGHEST_PROTOCOL)
            data = os.read(read_fd, 65536)
            self.assertEqual(data,
                             struct.pack('>i', len(expected)) + expected)
        finally:
            w.close()
            os.close(read_fd)

    def test_put_of_an_unpicklable_object_writes_nothing(self):
        with self.assertRaises(Exception):
            self.w.put(lambda: 0)
        self.w.send(b'next')
        self.assertEqual(self.r.receive(), b'next')


class PipeArgumentTests(gipctest.TestCase):

    def test_returns_the_pair(self):
        for args, kwargs, duplex in [((), {}, False),
                                     ((False,), {}, False),
                                     ((True,), {}, True),
                                     ((), {'duplex': True}, True),
                                     ((Gipc.PipeFlags.NONE,), {}, False),
                                     ((Gipc.PipeFlags.DUPLEX,), {}, True),
                                     ((), {'flags': Gipc.PipeFlags.DUPLEX},
                                      True)]:
            with Gipc.pipe(*args, **kwargs) as pair:
                self.assertIsInstance(pair, tuple)
                self.assertEqual(len(pair), 2)
                a, b = pair
                self.assertEqual(a.props.can_send, duplex)
                self.assertTrue(b.props.can_send)
                self.assertTrue(a.props.can_receive)
                self.assertEqual(b.props.can_receive, duplex)

    def test_duplex_put_get_both_ways(self):
        with Gipc.pipe(duplex=True) as (h1, h2):
            h1.put(1)
            h2.put(2)
            self.assertEqual(h2.get(), 1)
            self.assertEqual(h1.get(), 2)

    def test_raw_codec(self):
        with Gipc.pipe(encoder=None, decoder=None) as (r, w):
            data = os.urandom(10000)
            w.put(data)
            self.assertEqual(r.get(), data)
            w.put(bytearray(b'ba'))
            self.assertEqual(r.get(), b'ba')
            w.put(b'')
            self.assertEqual(r.get(), b'')
            for bad in ('str', 1, None):
                with self.assertRaises(TypeError):
                    w.put(bad)

    def test_raw_encoder_default_decoder(self):
        with Gipc.pipe(encoder=None) as (r, w):
            w.put(pickle.dumps({'k': 'v'}))
            self.assertEqual(r.get(), {'k': 'v'})

    def test_callable_codec(self):
        def encoder(obj):
            return json.dumps(obj).encode()

        def decoder(data):
            return json.loads(data.decode())

        with Gipc.pipe(encoder=encoder, decoder=decoder) as (r, w):
            w.put({'a': [1, 2]})
            self.assertEqual(r.get(), {'a': [1, 2]})
            # On the wire: the encoder's bytes.
            w.put([3])
            self.assertEqual(r.receive(), b'[3]')
        with Gipc.pipe(encoder=lambda o: o.encode(),
                       decoder=lambda b: b.decode()) as (r, w):
            w.put('hello')
            self.assertEqual(r.get(), 'hello')

    def test_duplex_codec_on_both_ends(self):
        with Gipc.pipe(True, encoder=None, decoder=None) as (h1, h2):
            h1.put(b'1')
            h2.put(b'2')
            self.assertEqual(h2.get(), b'1')
            self.assertEqual(h1.get(), b'2')

    def test_send_receive_stay_raw(self):
        with Gipc.pipe(encoder=lambda o: b'x', decoder=lambda b: 'y') as (r, w):
            w.send(b'raw')
            self.assertEqual(r.receive(), b'raw')

    def test_bad_codec_creates_nothing(self):
        before = open_fds()
        for kwargs in ({'encoder': 1}, {'decoder': 1},
                       {'encoder': 'pickle'}, {'decoder': b'default'}):
            with self.assertRaises(TypeError) as cm:
                Gipc.pipe(**kwargs)
            self.assertIn('callable', str(cm.exception))
        self.assertEqual(open_fds(), before)

    def test_set_codec_on_another_channel(self):
        read_fd, write_fd = os.pipe()
        r = Gipc.Channel.new_from_fds(read_fd, -1)
        w = Gipc.Channel.new_from_fds(-1, write_fd)
        w.put(('default', 'codec'))
        self.assertEqual(r.get(), ('default', 'codec'))
        r.set_codec(decoder=None)
        w.put(7)
        self.assertEqual(r.get(), pickle.dumps(7, pickle.HIGHEST_PROTOCOL))
        with self.assertRaises(TypeError):
            r.set_codec(encoder=3)
        r.close()
        w.close()


class AutoPassTests(gipctest.TestCase):
    """Process.new() passes the channels of its arguments to the child."""

    def run_child(self, target, *args, **kwargs):
        process = Gipc.Process.new(target, *args, **kwargs)
        self.assertTrue(process.start())
        return process

    def test_forgotten_channel_no_longer_hangs(self):
        r, w = Gipc.pipe()
        r.props.timeout = TIMEOUT_MS

        def target(process, writer):
            writer.put('from the child')

        process = self.run_child(target, w)    # no pass_channel()
        self.assertTrue(w.props.closed)        # closed in the parent
        self.assertEqual(r.get(), 'from the child')
        self.assertEqual(self.join(process), 0)
        with self.assertRaisesGipcError(Gipc.Error.PEER_CLOSED):
            r.get()
        r.close()

    def test_args_kwargs_and_nested(self):
        pairs = [Gipc.pipe() for _ in range(7)]
        readers = [p[0] for p in pairs]
        writers = [p[1] for p in pairs]
        for r in readers:
            r.props.timeout = TIMEOUT_MS
        w0, w1, w2, w3, w4, w5, w6 = writers

        def target(process, a, nested, *, kw, deep):
            channels = [a, nested[0], nested[1][0], nested[2]['x'], kw,
                        deep['list'][0][0], next(iter(deep['set']))]
            for i, channel in enumerate(channels):
                channel.put(('child', i))

        process = self.run_child(
            target, w0, [w1, (w2,), {'x': w3}],
            kw=w4, deep={'list': [[w5]], 'set': {w6}})
        for w in writers:
            self.assertTrue(w.props.closed)
        for i, r in enumerate(readers):
            self.assertEqual(r.get(), ('child', i))
        self.assertEqual(self.join(process), 0)
        for r in readers:
            r.close()

    def test_dict_keys_and_cycles(self):
        r, w = Gipc.pipe()
        r.props.timeout = TIMEOUT_MS
        loop = [w]
        loop.append(loop)

        def target(process, d, cyclic):
            next(iter(d)).put('key')

        process = self.run_child(target, {w: 1}, loop)
        self.assertTrue(w.props.closed)
        self.assertEqual(r.get(), 'key')
        self.assertEqual(self.join(process), 0)
        r.close()

    def test_duplex_end_and_reader(self):
        a, b = Gipc.pipe(duplex=True)
        r, w = Gipc.pipe()
        a.props.timeout = TIMEOUT_MS

        def target(process, end, reader):
            end.put(reader.get())

        process = self.run_child(target, b, reader=r)
        self.assertTrue(b.props.closed)
        self.assertTrue(r.props.closed)
        w.put({'echo': 1})
        self.assertEqual(a.get(), {'echo': 1})
        self.assertEqual(self.join(process), 0)
        a.close()
        w.close()

    def test_codec_reaches_the_child(self):
        r, w = Gipc.pipe(encoder=None, decoder=None)
        r.props.timeout = TIMEOUT_MS

        def target(process, writer):
            writer.put(b'raw from the child')

        process = self.run_child(target, w)
        self.assertEqual(r.get(), b'raw from the child')
        self.assertEqual(self.join(process), 0)
        r.close()

    def test_explicit_pass_channel_too_is_fine(self):
        r, w = Gipc.pipe()
        r.props.timeout = TIMEOUT_MS

        def target(process, writer):
            writer.put('once')

        with capture_fd(2) as stderr:
            process = Gipc.Process.new(target, w)
            process.pass_channel(w)          # already passed: nothing
            process.pass_channel(w)
            process.start()
            self.assertEqual(r.get(), 'once')
            self.assertEqual(self.join(process), 0)
        self.assertNotIn('CRITICAL', stderr.read())
        r.close()

    def test_channels_not_in_the_arguments_stay_closed_in_the_child(self):
        r, w = Gipc.pipe()
        kept_r, kept_w = Gipc.pipe()
        kept_r.props.timeout = TIMEOUT_MS

        def target(process, writer):
            # w, reached through the closure only, is not passed.
            writer.put(w.props.closed)

        process = self.run_child(target, kept_w)
        self.assertIs(kept_r.get(), True)
        self.assertEqual(self.join(process), 0)
        self.assertFalse(w.props.closed)
        w.put('still mine')
        self.assertEqual(r.get(), 'still mine')
        for c in (r, w, kept_r):
            c.close()

    def test_closed_channel_in_the_arguments_fails_start(self):
        r, w = Gipc.pipe()
        w.close()
        process = Gipc.Process.new(lambda process, writer: 0, w)
        with self.assertRaisesGipcError(Gipc.Error.CLOSED):
            process.start()
        r.close()

    def test_large_object_to_the_child_and_back(self):
        # Larger than the pipe: the child reads while the parent writes.
        a, b = Gipc.pipe(duplex=True)
        a.props.timeout = TIMEOUT_MS
        big = ['OK' * 999999, [1] * 100000]

        def target(process, end):
            end.put(end.get())

        process = self.run_child(target, b)
        a.put(big)
        self.assertEqual(a.get(), big)
        self.assertEqual(self.join(process), 0)
        a.close()


if __name__ == '__main__':
    gipctest.main()
