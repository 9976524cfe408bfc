#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""Channels from Python: the pipe() pair, bytes in and out, sync and async
calls on a GLib.MainLoop, push mode, variants, timeouts and `with`."""

import gipctest
from gipctest import Gio, GLib, Gipc, LoopGuard


class PipeTests(gipctest.TestCase):

    def test_simplex_unpacks_reader_writer(self):
        result = Gipc.pipe(Gipc.PipeFlags.NONE)
        self.assertEqual(len(result), 2)
        r, w = result
        self.assertIsInstance(r, Gipc.Channel)
        self.assertIsInstance(w, Gipc.Channel)
        self.assertTrue(r.props.can_receive)
        self.assertFalse(r.props.can_send)
        self.assertTrue(w.props.can_send)
        self.assertFalse(w.props.can_receive)
        r.close()
        w.close()

    def test_default_flags_are_simplex(self):
        r, w = Gipc.pipe()
        self.assertTrue(r.props.can_receive)
        self.assertFalse(r.props.can_send)
        self.assertTrue(w.props.can_send)
        r.close()
        w.close()

    def test_duplex_both_ways(self):
        a, b = Gipc.pipe(Gipc.PipeFlags.DUPLEX)
        for end in (a, b):
            self.assertTrue(end.props.can_send)
            self.assertTrue(end.props.can_receive)
        a.send(b'a to b')
        b.send(b'b to a')
        self.assertEqual(b.receive(), b'a to b')
        self.assertEqual(a.receive(), b'b to a')
        a.close()
        b.close()

    def test_pair_is_a_context_manager(self):
        with Gipc.pipe() as (r, w):
            w.send(b'x')
            self.assertEqual(r.receive(), b'x')
            self.assertFalse(r.props.closed)
        self.assertTrue(r.props.closed)
        self.assertTrue(w.props.closed)


class BytesTests(gipctest.TestCase):

    def setUp(self):
        self.r, self.w = Gipc.pipe()

    def tearDown(self):
        self.r.close()
        self.w.close()

    def test_bytes_like_in_bytes_out(self):
        for message, expected in [
                (b'bytes', b'bytes'),
                (bytearray(b'bytearray'), b'bytearray'),
                (memoryview(b'..memoryview')[2:], b'memoryview'),
                (GLib.Bytes.new(b'GLib.Bytes'), b'GLib.Bytes'),
                (memoryview(bytearray(b'\x00\xff\x00')), b'\x00\xff\x00')]:
            self.w.send(message)
            received = self.r.receive()
            self.assertIs(type(received), bytes)
            self.assertEqual(received, expected)

    def test_empty_message_is_empty_bytes(self):
        self.w.send(b'')
        self.w.send(GLib.Bytes.new(b''))
        self.assertEqual(self.r.receive(), b'')
        self.assertEqual(self.r.receive(), b'')

    def test_str_is_refused(self):
        with self.assertRaises(TypeError):
            self.w.send('text')
        with self.assertRaises(TypeError):
            self.w.send_async(42, None, None)
        # Nothing was written.
        self.w.send(b'after')
        self.assertEqual(self.r.receive(), b'after')

    def test_messages_keep_their_boundaries(self):
        for i in range(20):
            self.w.send(b'%d' % i * i)
        for i in range(20):
            self.assertEqual(self.r.receive(), b'%d' % i * i)


class AsyncTests(gipctest.TestCase):

    def test_send_and_receive_async_in_order(self):
        r, w = Gipc.pipe()
        guard = LoopGuard()
        sent = []
        received = []
        n = 5

        def on_sent(channel, result, index):
            self.assertTrue(channel.send_finish(result))
            sent.append(index)

        def on_received(channel, result):
            message = channel.receive_finish(result)
            self.assertIs(type(message), bytes)
            received.append(message)
            if len(received) == n:
                guard.quit()

        for i in range(n):
            r.receive_async(None, guard.wrap(on_received))
        for i in range(n):
            w.send_async(b'message %d' % i, None, guard.wrap(on_sent), i)
        guard.run()
        self.assertEqual(sent, list(range(n)))
        self.assertEqual(received, [b'message %d' % i for i in range(n)])
        r.close()
        w.close()

    def test_large_message_async(self):
        # Larger than the pipe buffer: both sides must make progress on
        # the main loop.
        r, w = Gipc.pipe()
        guard = LoopGuard()
        payload = bytes(range(256)) * 8192  # 2 MiB
        results = {}

        def on_sent(channel, result):
            results['sent'] = channel.send_finish(result)
            if 'received' in results:
                guard.quit()

        def on_received(channel, result):
            results['received'] = channel.receive_finish(result)
            if 'sent' in results:
                guard.quit()

        w.send_async(memoryview(payload), None, guard.wrap(on_sent))
        r.receive_async(None, guard.wrap(on_received))
        guard.run()
        self.assertTrue(results['sent'])
        self.assertEqual(len(results['received']), len(payload))
        self.assertEqual(results['received'], payload)
        r.close()
        w.close()

    def test_send_async_without_callback(self):
        r, w = Gipc.pipe()
        guard = LoopGuard()
        w.send_async(b'fire and forget')
        w.send_async(b'and again', None, None)
        got = []

        def on_received(channel, result):
            got.append(channel.receive_finish(result))
            if len(got) == 2:
                guard.quit()

        r.receive_async(None, guard.wrap(on_received))
        r.receive_async(None, guard.wrap(on_received))
        guard.run()
        self.assertEqual(got, [b'fire and forget', b'and again'])
        r.close()
        w.close()

    def test_cancelled_receive(self):
        r, w = Gipc.pipe()
        guard = LoopGuard()
        cancellable = Gio.Cancellable()
        errors = []

        def on_received(channel, result):
            with self.assertRaisesIOError(Gio.IOErrorEnum.CANCELLED) as cm:
                channel.receive_finish(result)
            errors.append(cm.exception)
            guard.quit()

        r.receive_async(cancellable, guard.wrap(on_received))
        GLib.idle_add(cancellable.cancel)
        guard.run()
        self.assertEqual(len(errors), 1)
        # The channel still works.
        w.send(b'after the cancel')
        self.assertEqual(r.receive(), b'after the cancel')
        r.close()
        w.close()


class ListenTests(gipctest.TestCase):

    def test_message_and_error_signals(self):
        r, w = Gipc.pipe()
        guard = LoopGuard()
        messages = []
        errors = []

        def on_message(channel, message):
            self.assertIsInstance(message, GLib.Bytes)
            messages.append(message.get_data() or b'')

        def on_error(channel, error):
            errors.append(error)
            guard.quit()

        r.connect('message', guard.wrap(on_message))
        r.connect('error', guard.wrap(on_error))
        r.listen()

        def on_last_sent(channel, result):
            # Callbacks of successive sends run in call order: everything
            # is in the pipe, the writer can go.
            self.assertTrue(channel.send_finish(result))
            self.assertTrue(channel.close())

        for i in range(10):
            w.send_async(b'push %d' % i)
        w.send_async(b'')
        w.send_async(b'last', None, guard.wrap(on_last_sent))
        guard.run()
        self.assertEqual(messages,
                         [b'push %d' % i for i in range(10)] + [b'', b'last'])
        self.assertEqual(len(errors), 1)
        self.assertGError(errors[0], Gipc.error_quark(),
                          Gipc.Error.PEER_CLOSED)
        r.close()

    def test_receive_while_listening_is_locked(self):
        r, w = Gipc.pipe()
        r.listen()
        with self.assertRaisesGipcError(Gipc.Error.LOCKED):
            r.receive()
        # close stops listening without an error
        self.assertTrue(r.close())
        w.close()


class VariantTests(gipctest.TestCase):

    def test_variant_round_trip(self):
        a, b = Gipc.pipe(Gipc.PipeFlags.DUPLEX)
        values = [
            GLib.Variant('(si)', ('text', 42)),
            GLib.Variant('a{sv}', {'n': GLib.Variant('d', 1.5),
                                   'list': GLib.Variant('as', ['x', 'y'])}),
            GLib.Variant('ay', b'\x00\x01\x02'),
            GLib.Variant('b', True),
        ]
        for value in values:
            self.assertTrue(a.send_variant(value))
            received = b.receive_variant()
            self.assertEqual(received.get_type_string(),
                             value.get_type_string())
            self.assertTrue(received.equal(value))
            self.assertEqual(received.unpack(), value.unpack())
        a.close()
        b.close()

    def test_variant_async(self):
        r, w = Gipc.pipe()
        guard = LoopGuard()
        got = []

        def on_sent(channel, result):
            self.assertTrue(channel.send_variant_finish(result))

        def on_received(channel, result):
            got.append(channel.receive_variant_finish(result))
            guard.quit()

        w.send_variant_async(GLib.Variant('(us)', (7, 'seven')), None,
                             guard.wrap(on_sent))
        r.receive_variant_async(None, guard.wrap(on_received))
        guard.run()
        self.assertEqual(got[0].unpack(), (7, 'seven'))
        r.close()
        w.close()

    def test_variant_payload_is_gipc_framing_of_a_v(self):
        # The raw payload of a variant message is the serialized 'v'.
        r, w = Gipc.pipe()
        value = GLib.Variant('(si)', ('x', 1))
        w.send_variant(value)
        raw = r.receive()
        boxed = GLib.Variant.new_from_bytes(GLib.VariantType.new('v'),
                                            GLib.Bytes.new(raw), False)
        self.assertTrue(boxed.get_variant().equal(value))
        # and the other way round
        w.send(GLib.Variant('v', value).get_data_as_bytes())
        self.assertTrue(r.receive_variant().equal(value))
        r.close()
        w.close()


class TimeoutTests(gipctest.TestCase):

    def test_property(self):
        r, w = Gipc.pipe()
        self.assertEqual(r.props.timeout, 0)
        r.props.timeout = 30
        self.assertEqual(r.get_timeout(), 30)
        r.set_timeout(0)
        self.assertEqual(r.props.timeout, 0)
        r.close()
        w.close()

    def test_sync_receive_times_out_and_channel_stays_usable(self):
        r, w = Gipc.pipe()
        r.props.timeout = 50
        with self.assertRaisesIOError(Gio.IOErrorEnum.TIMED_OUT):
            r.receive()
        w.send(b'late')
        self.assertEqual(r.receive(), b'late')
        r.close()
        w.close()

    def test_async_receive_times_out(self):
        r, w = Gipc.pipe()
        r.props.timeout = 50
        guard = LoopGuard()
        errors = []

        def on_received(channel, result):
            with self.assertRaisesIOError(Gio.IOErrorEnum.TIMED_OUT) as cm:
                channel.receive_finish(result)
            errors.append(cm.exception)
            guard.quit()

        r.receive_async(None, guard.wrap(on_received))
        guard.run()
        self.assertEqual(len(errors), 1)
        r.close()
        w.close()


class WithTests(gipctest.TestCase):

    def test_with_closes(self):
        r, w = Gipc.pipe()
        with r, w as writer:
            self.assertIs(writer, w)
            w.send(b'in the block')
            self.assertEqual(r.receive(), b'in the block')
        self.assertTrue(r.props.closed)
        self.assertTrue(w.props.closed)
        with self.assertRaisesGipcError(Gipc.Error.CLOSED):
            r.receive()
        with self.assertRaisesGipcError(Gipc.Error.CLOSED):
            w.send(b'x')

    def test_with_closes_on_exception(self):
        r, w = Gipc.pipe()
        with self.assertRaises(ZeroDivisionError):
            with r:
                1 / 0
        self.assertTrue(r.props.closed)
        w.close()

    def test_closed_inside_the_block_is_fine(self):
        r, w = Gipc.pipe()
        with r:
            r.close()
        self.assertTrue(r.props.closed)
        w.close()

    def test_busy_channel_raises_locked(self):
        r, w = Gipc.pipe()
        guard = LoopGuard()
        got = []

        def on_received(channel, result):
            got.append(channel.receive_finish(result))
            guard.quit()

        r.receive_async(None, guard.wrap(on_received))
        with self.assertRaisesGipcError(Gipc.Error.LOCKED):
            with r:
                pass
        # The failed close changed nothing: the receive still completes.
        self.assertFalse(r.props.closed)
        w.send(b'still open')
        guard.run()
        self.assertEqual(got, [b'still open'])
        with r, w:
            pass
        self.assertTrue(r.props.closed)


class PropertyTests(gipctest.TestCase):

    def test_max_message_size(self):
        r, w = Gipc.pipe()
        self.assertEqual(r.props.max_message_size, 1 << 30)
        r.props.max_message_size = 1 << 20
        self.assertEqual(r.get_max_message_size(), 1 << 20)
        r.close()
        w.close()

    def test_closed_property(self):
        r, w = Gipc.pipe()
        self.assertFalse(w.props.closed)
        self.assertTrue(w.close())
        self.assertTrue(w.props.closed)
        self.assertTrue(w.is_closed())
        # close is idempotent
        self.assertTrue(w.close())
        r.close()



class FlowControlTests(gipctest.TestCase):

    def test_congested_and_flush_async(self):
        r, w = Gipc.pipe()
        guard = LoopGuard()
        w.props.high_water_mark = 64 * 1024
        self.assertEqual(w.props.high_water_mark, 64 * 1024)
        self.assertFalse(w.props.congested)
        changes = []
        w.connect('notify::congested',
                  guard.wrap(lambda ch, pspec: changes.append(ch.props.congested)))

        # Nobody reads yet: 64 messages of 4 KiB overrun the mark at once.
        for i in range(64):
            w.send_async(bytes([i]) * 4096)
        self.assertTrue(w.props.congested)
        self.assertTrue(w.is_congested())
        self.assertGreater(w.props.queued_bytes, 64 * 1024)
        self.assertEqual(changes, [])  # the notify comes from the loop

        flushed = []

        def on_flushed(channel, result):
            flushed.append(channel.flush_finish(result))
            guard.quit()

        got = []

        def on_message(channel, message):
            got.append(message.get_data())

        r.connect('message', guard.wrap(on_message))
        r.listen()
        w.flush_async(None, guard.wrap(on_flushed))
        guard.run()
        self.assertEqual(flushed, [True])
        self.assertEqual(w.props.queued_bytes, 0)
        # The reader may still have messages to deliver.
        while len(got) < 64:
            GLib.MainContext.default().iteration(True)
        self.assertEqual(got, [bytes([i]) * 4096 for i in range(64)])
        self.assertEqual(changes, [True, False])
        r.close()
        w.close()

    def test_blocking_flush(self):
        r, w = Gipc.pipe()
        w.send_async(b'queued')
        self.assertTrue(w.flush())
        self.assertEqual(w.props.queued_bytes, 0)
        self.assertEqual(r.receive(), b'queued')
        r.close()
        w.close()

    def test_flush_fails_when_reader_is_gone(self):
        r, w = Gipc.pipe()
        guard = LoopGuard()
        big = b'x' * (1024 * 1024)
        w.send_async(big)
        r.close()
        errors = []

        def on_flushed(channel, result):
            try:
                channel.flush_finish(result)
            except GLib.Error as e:
                errors.append(e)
            guard.quit()

        w.flush_async(None, guard.wrap(on_flushed))
        guard.run()
        self.assertEqual(len(errors), 1)
        self.assertTrue(errors[0].matches(Gipc.Error.quark(), Gipc.Error.PEER_CLOSED))
        w.close()

if __name__ == '__main__':
    gipctest.main()
