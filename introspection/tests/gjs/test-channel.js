// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The gipc-glib authors
//
// Channels from gjs, in one process: what Gipc.pipe returns, messages,
// variants, push mode, properties and the mapping of errors to GLib.Error.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Gipc from 'gi://Gipc';

import {
    test, run, assert, assertEqual, assertDeepEqual, assertThrowsGError,
    assertRejectsGError, bytesFromString, stringFromBytes,
} from './harness.js';

test('/gjs/pipe/simplex', () => {
    const result = Gipc.pipe(Gipc.PipeFlags.NONE);
    // gipc_pipe returns a gboolean and two out parameters: gjs gives
    // [true, end1, end2], hence `const [, r, w] = Gipc.pipe(...)`.
    assertEqual(result.length, 3, 'length of what Gipc.pipe returns');
    assertEqual(result[0], true, 'first element');
    const [, r, w] = result;
    assert(r instanceof Gipc.Channel, 'r is a Gipc.Channel');
    assert(w instanceof Gipc.Channel, 'w is a Gipc.Channel');
    assertEqual(r.can_receive, true, 'r.can_receive');
    assertEqual(r.can_send, false, 'r.can_send');
    assertEqual(w.can_receive, false, 'w.can_receive');
    assertEqual(w.can_send, true, 'w.can_send');
    assertEqual(r.closed, false, 'r.closed');
    r.close();
    w.close();
    assertEqual(r.closed, true, 'r.closed after close');
    assertEqual(r.close(), true, 'a second close succeeds');
});

test('/gjs/pipe/duplex', async () => {
    const [, a, b] = Gipc.pipe(Gipc.PipeFlags.DUPLEX);
    assert(a.can_send && a.can_receive && b.can_send && b.can_receive, 'both directions');
    await a.send_async(bytesFromString('to b'), null);
    await b.send_async(bytesFromString('to a'), null);
    assertEqual(stringFromBytes(await b.receive_async(null)), 'to b');
    assertEqual(stringFromBytes(await a.receive_async(null)), 'to a');
    a.close();
    b.close();
});

test('/gjs/channel/sync', () => {
    const [, r, w] = Gipc.pipe(Gipc.PipeFlags.NONE);
    assertEqual(w.send(bytesFromString('hello'), null), true, 'send returns true');
    const message = r.receive(null);
    assert(message instanceof GLib.Bytes, 'a GLib.Bytes');
    assertEqual(stringFromBytes(message), 'hello');
    r.close();
    w.close();
});

test('/gjs/channel/empty-and-binary', async () => {
    const [, r, w] = Gipc.pipe(Gipc.PipeFlags.NONE);
    const binary = new Uint8Array(70000);
    for (let i = 0; i < binary.length; i++)
        binary[i] = (i * 7) & 0xff;
    const sent = Promise.all([
        w.send_async(new GLib.Bytes(new Uint8Array(0)), null),
        w.send_async(new GLib.Bytes(binary), null),
    ]);
    const empty = await r.receive_async(null);
    assert(empty instanceof GLib.Bytes, 'an empty message is a GLib.Bytes, not null');
    assertEqual(empty.get_size(), 0, 'size of the empty message');
    const big = (await r.receive_async(null)).toArray();
    assertEqual(big.length, binary.length, 'size of the binary message');
    assert(big.every((value, i) => value === binary[i]), 'binary content');
    await sent;
    r.close();
    w.close();
});

test('/gjs/channel/order', async () => {
    // Many sends and receives in flight: each receive gets the next whole
    // message, in call order.
    const [, r, w] = Gipc.pipe(Gipc.PipeFlags.NONE);
    const n = 200;
    const receives = [];
    for (let i = 0; i < n; i++)
        receives.push(r.receive_async(null));
    const sends = [];
    for (let i = 0; i < n; i++)
        sends.push(w.send_async(bytesFromString(`message ${i}`), null));
    const received = (await Promise.all(receives)).map(stringFromBytes);
    await Promise.all(sends);
    for (let i = 0; i < n; i++)
        assertEqual(received[i], `message ${i}`, `message ${i}`);
    r.close();
    w.close();
});

test('/gjs/channel/variant', async () => {
    const [, r, w] = Gipc.pipe(Gipc.PipeFlags.NONE);
    const values = [
        new GLib.Variant('s', 'text'),
        new GLib.Variant('(iu)', [-1, 42]),
        new GLib.Variant('a{sv}', {
            name: new GLib.Variant('s', 'gipc'),
            list: new GLib.Variant('ax', [1, 2, 3]),
            nested: new GLib.Variant('a{sv}', {yes: new GLib.Variant('b', true)}),
        }),
        new GLib.Variant('ay', new Uint8Array([0, 1, 255])),
    ];
    for (const value of values)
        // eslint-disable-next-line no-await-in-loop
        await w.send_variant_async(value, null);
    for (const value of values) {
        // eslint-disable-next-line no-await-in-loop
        const got = await r.receive_variant_async(null);
        assert(got instanceof GLib.Variant, 'a GLib.Variant');
        assertEqual(got.get_type_string(), value.get_type_string(), 'type');
        assert(got.equal(value), `equal to ${value.print(true)}: got ${got.print(true)}`);
    }
    assertDeepEqual(values[2].recursiveUnpack(), {
        name: 'gipc', list: [1, 2, 3], nested: {yes: true},
    }, 'unpacked');

    // The sync calls too.
    w.send_variant(new GLib.Variant('d', 2.5), null);
    assertEqual(r.receive_variant(null).get_double(), 2.5, 'sync variant');
    r.close();
    w.close();
});

test('/gjs/channel/variant-protocol-error', async () => {
    // A raw message that is not a serialized "v" is a PROTOCOL error.
    const [, r, w] = Gipc.pipe(Gipc.PipeFlags.NONE);
    await w.send_async(bytesFromString('not a variant at all'), null);
    await assertRejectsGError(r.receive_variant_async(null),
        Gipc.Error, Gipc.Error.PROTOCOL, 'receive_variant of garbage');
    r.close();
    w.close();
});

test('/gjs/channel/listen', async () => {
    const [, r, w] = Gipc.pipe(Gipc.PipeFlags.NONE);
    const received = [];
    const ended = new Promise(resolve => {
        r.connect('message', (channel, message) => {
            assertEqual(channel, r, 'the emitter');
            received.push(stringFromBytes(message));
        });
        r.connect('error', (_channel, error) => resolve(error));
    });
    r.listen();
    assertEqual(r.is_listening(), true, 'is_listening');
    // While listening, receives are LOCKED.
    assertThrowsGError(() => r.receive(null), Gipc.Error, Gipc.Error.LOCKED,
        'receive while listening');
    const sends = [];
    for (let i = 0; i < 100; i++)
        sends.push(w.send_async(bytesFromString(`m${i}`), null));
    sends.push(w.send_async(bytesFromString('last'), null));
    await Promise.all(sends);
    w.close();
    const error = await ended;
    assert(error.matches(Gipc.Error, Gipc.Error.PEER_CLOSED),
        `the stream ends with PEER_CLOSED, got ${error.message}`);
    assertEqual(received.length, 101, 'number of messages');
    assertEqual(received[0], 'm0');
    assertEqual(received[99], 'm99');
    assertEqual(received[100], 'last');
    r.close();
});

test('/gjs/channel/flow-control', async () => {
    Gio._promisify(Gipc.Channel.prototype, 'flush_async', 'flush_finish');
    const [, r, w] = Gipc.pipe(Gipc.PipeFlags.NONE);
    w.high_water_mark = 64 * 1024;
    assertEqual(w.high_water_mark, 64 * 1024, 'the high-water-mark property');
    const changes = [];
    w.connect('notify::congested', channel => changes.push(channel.congested));
    const payload = new Uint8Array(4096);
    for (let i = 0; i < 64; i++)
        w.send_async(new GLib.Bytes(payload), null, null);
    assertEqual(w.congested, true, 'congested right after the sends');
    assert(w.queued_bytes > 64 * 1024, `queued-bytes: ${w.queued_bytes}`);
    assertDeepEqual(changes, [], 'no notify from inside send_async');

    let received = 0;
    r.connect('message', () => received++);
    r.listen();
    assertEqual(await w.flush_async(null), true, 'flush_async resolves');
    assertEqual(w.queued_bytes, 0, 'nothing queued after the flush');
    assertDeepEqual(changes, [true, false], 'one notify per change');
    const context = GLib.MainContext.default();
    while (received < 64)
        context.iteration(true);
    r.close();
    w.close();
});

// File descriptors on messages: the async pair with Gio._promisify, the
// receive through receive_async + receive_with_fds_finish, and push mode.
function receiveWithFds(channel) {
    return new Promise((resolve, reject) => {
        channel.receive_async(null, (source, result) => {
            try {
                resolve(source.receive_with_fds_finish(result));
            } catch (e) {
                reject(e);
            }
        });
    });
}

function tmpFileWith(text) {
    const [fd, path] = GLib.file_open_tmp('gipc-gjs-XXXXXX');
    const out = Gio.UnixOutputStream.new(fd, false);
    out.write_all(new TextEncoder().encode(text), null);
    return [fd, path, out];
}

test('/gjs/fds/send-receive', async () => {
    Gio._promisify(Gipc.Channel.prototype, 'send_with_fds_async', 'send_with_fds_finish');
    const [, a, b] = Gipc.pipe(Gipc.PipeFlags.UNIX_FDS | Gipc.PipeFlags.DUPLEX);
    assertEqual(a.can_pass_fds, true, 'can_pass_fds');
    const [fd, path, out] = tmpFileWith('first');
    const list = Gio.UnixFDList.new_from_array([fd]);
    out.close(null);
    assertEqual(await a.send_with_fds_async(bytesFromString('file'), list, null), true,
        'send_with_fds_async resolves');
    const [message, fds] = await receiveWithFds(b);
    assertEqual(stringFromBytes(message), 'file');
    assertEqual(fds.get_length(), 1, 'one fd came');
    // The received fd is the same open file: what is written through it
    // is in the file.
    const received = Gio.UnixOutputStream.new(fds.get(0), true);
    received.write_all(new TextEncoder().encode('+second'), null);
    received.close(null);
    const [, contents] = GLib.file_get_contents(path);
    assertEqual(new TextDecoder().decode(contents), 'first+second');
    GLib.unlink(path);
    a.close();
    b.close();
});

test('/gjs/fds/listen', async () => {
    const [, r, w] = Gipc.pipe(Gipc.PipeFlags.UNIX_FDS);
    const got = [];
    const ended = new Promise(resolve => {
        r.connect('message', (_channel, message) => got.push(['message', stringFromBytes(message)]));
        r.connect('message-with-fds', (_channel, message, fds) =>
            got.push(['with-fds', stringFromBytes(message), fds.get_length()]));
        r.connect('error', (_channel, error) => resolve(error));
    });
    r.listen();
    const [fd, path, out] = tmpFileWith('x');
    w.send_with_fds(bytesFromString('one'), Gio.UnixFDList.new_from_array([fd]), null);
    out.close(null);
    w.send(bytesFromString('two'), null);
    w.close();
    const error = await ended;
    assert(error.matches(Gipc.Error, Gipc.Error.PEER_CLOSED), error.message);
    assertDeepEqual(got, [['with-fds', 'one', 1], ['message', 'two']]);
    GLib.unlink(path);
    r.close();
});

// receive_with_fds_async has its own finish: Gio._promisify gives a
// promise of [message, fds], in order with plain receives, and a rejection
// at the end of the stream.
test('/gjs/fds/receive-with-fds-async-promisify', async () => {
    Gio._promisify(Gipc.Channel.prototype, 'receive_with_fds_async', 'receive_with_fds_finish');
    const [, r, w] = Gipc.pipe(Gipc.PipeFlags.UNIX_FDS);
    const [fd, path, out] = tmpFileWith('promised');
    w.send_with_fds(bytesFromString('with'), Gio.UnixFDList.new_from_array([fd]), null);
    out.close(null);
    w.send(bytesFromString('without'), null);
    w.send_with_fds(bytesFromString('third'), Gio.UnixFDList.new_from_array([fd]), null);
    w.close();

    const [first, fds] = await r.receive_with_fds_async(null);
    assertEqual(stringFromBytes(first), 'with');
    assertEqual(fds.get_length(), 1, 'one fd came with the first message');
    // The same open file: what is written through the fd is in the file.
    const received = Gio.UnixOutputStream.new(fds.get(0), true);
    received.write_all(new TextEncoder().encode('+kept'), null);
    received.close(null);
    const [, contents] = GLib.file_get_contents(path);
    assertEqual(new TextDecoder().decode(contents), 'promised+kept');

    const [second, none] = await r.receive_with_fds_async(null);
    assertEqual(stringFromBytes(second), 'without');
    assertEqual(none, null, 'no fds: null');
    // Mixed with a plain receive: its fds are closed, the order holds.
    assertEqual(stringFromBytes(await r.receive_async(null)), 'third');

    let error = null;
    try {
        await r.receive_with_fds_async(null);
    } catch (e) {
        error = e;
    }
    assert(error !== null, 'the end of the stream rejects');
    assert(error.matches(Gipc.Error, Gipc.Error.PEER_CLOSED), error.message);
    GLib.unlink(path);
    r.close();
});

test('/gjs/fds/refused-on-pipes', () => {
    const [, r, w] = Gipc.pipe(Gipc.PipeFlags.NONE);
    assertEqual(w.can_pass_fds, false, 'a pipe cannot pass fds');
    const [fd, path, out] = tmpFileWith('x');
    assertThrowsGError(() => w.send_with_fds(bytesFromString('no'),
        Gio.UnixFDList.new_from_array([fd]), null), Gipc.Error, Gipc.Error.FAILED,
    'send_with_fds on a pipe');
    out.close(null);
    GLib.unlink(path);
    r.close();
    w.close();
});

test('/gjs/errors/peer-closed', async () => {
    const [, r, w] = Gipc.pipe(Gipc.PipeFlags.NONE);
    w.close();
    const error = await assertRejectsGError(r.receive_async(null),
        Gipc.Error, Gipc.Error.PEER_CLOSED, 'receive at the end of the stream');
    assertEqual(error.domain, Gipc.error_quark(), 'the domain is the Gipc quark');
    assertThrowsGError(() => r.receive(null), Gipc.Error, Gipc.Error.PEER_CLOSED,
        'sync receive at the end of the stream');
    r.close();

    // A send whose reader is gone: PEER_CLOSED, and gjs does not die of SIGPIPE.
    const [, r2, w2] = Gipc.pipe(Gipc.PipeFlags.NONE);
    r2.close();
    await assertRejectsGError(w2.send_async(bytesFromString('nobody listens'), null),
        Gipc.Error, Gipc.Error.PEER_CLOSED, 'send to a closed reader');
    w2.close();
});

test('/gjs/errors/closed', async () => {
    const [, r, w] = Gipc.pipe(Gipc.PipeFlags.NONE);
    r.close();
    w.close();
    assertThrowsGError(() => w.send(bytesFromString('x'), null),
        Gipc.Error, Gipc.Error.CLOSED, 'send on a closed channel');
    await assertRejectsGError(r.receive_async(null),
        Gipc.Error, Gipc.Error.CLOSED, 'receive_async on a closed channel');
    await assertRejectsGError(w.send_variant_async(new GLib.Variant('i', 1), null),
        Gipc.Error, Gipc.Error.CLOSED, 'send_variant_async on a closed channel');
});

test('/gjs/errors/locked', async () => {
    const [, r, w] = Gipc.pipe(Gipc.PipeFlags.NONE);
    const pending = r.receive_async(null);
    assertThrowsGError(() => r.close(), Gipc.Error, Gipc.Error.LOCKED,
        'close while a receive is pending');
    assertEqual(r.closed, false, 'a failed close changes nothing');
    await w.send_async(bytesFromString('still works'), null);
    assertEqual(stringFromBytes(await pending), 'still works', 'the pending receive');
    r.close();
    w.close();
});

test('/gjs/errors/timeout', async () => {
    const [, r, w] = Gipc.pipe(Gipc.PipeFlags.NONE);
    r.timeout = 50;
    assertEqual(r.timeout, 50, 'the timeout property');
    await assertRejectsGError(r.receive_async(null),
        Gio.IOErrorEnum, Gio.IOErrorEnum.TIMED_OUT, 'receive with nothing to read');
    // The channel stays usable after a timeout.
    await w.send_async(bytesFromString('late'), null);
    assertEqual(stringFromBytes(await r.receive_async(null)), 'late');
    r.close();
    w.close();
});

test('/gjs/errors/cancelled', async () => {
    const [, r, w] = Gipc.pipe(Gipc.PipeFlags.NONE);
    const cancellable = new Gio.Cancellable();
    const pending = r.receive_async(cancellable);
    cancellable.cancel();
    await assertRejectsGError(pending, Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED,
        'cancelled receive');
    await w.send_async(bytesFromString('after cancel'), null);
    assertEqual(stringFromBytes(await r.receive_async(null)), 'after cancel');
    r.close();
    w.close();
});

test('/gjs/errors/message-too-large', async () => {
    const [, r, w] = Gipc.pipe(Gipc.PipeFlags.NONE);
    r.max_message_size = 16;
    assertEqual(r.max_message_size, 16, 'the max-message-size property');
    await w.send_async(new GLib.Bytes(new Uint8Array(17)), null);
    await assertRejectsGError(r.receive_async(null),
        Gipc.Error, Gipc.Error.MESSAGE_TOO_LARGE, 'receive of a 17-byte message');
    r.close();
    w.close();
});

test('/gjs/errors/inherited-without-env', () => {
    GLib.unsetenv('GIPC_CHANNEL_FDS');
    const error = assertThrowsGError(() => Gipc.Channel.new_inherited(0),
        Gipc.Error, Gipc.Error.FAILED, 'new_inherited without GIPC_CHANNEL_FDS');
    assert(error.message.includes('GIPC_CHANNEL_FDS'),
        `the message names the variable: ${error.message}`);
});

run();
