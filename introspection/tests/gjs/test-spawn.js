// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The gipc-glib authors
//
// Spawn mode from gjs: a gjs parent starts a gjs child (child.js) with
// Gipc.Process.new_for_argv and talks to it over a passed channel.

import GLib from 'gi://GLib';
import Gipc from 'gi://Gipc';

import {
    test, run, assert, assertEqual, assertRejectsGError, assertThrowsGError,
    bytesFromString, stringFromBytes,
} from './harness.js';

const CHILD = GLib.build_filenamev([
    GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0]), 'child.js']);

// Starts `gjs -m child.js ARGS...` with one end of a duplex pair; returns the
// process and the parent's end.
function spawnChild(...args) {
    const [, parentEnd, childEnd] = Gipc.pipe(Gipc.PipeFlags.DUPLEX);
    const process = Gipc.Process.new_for_argv(['gjs', '-m', CHILD, ...args.map(String)]);
    process.die_with_parent = true;
    process.pass_channel(childEnd);
    process.start();
    // A channel passed to a child is closed in the parent.
    assertEqual(childEnd.closed, true, 'the passed end is closed in the parent');
    return [process, parentEnd];
}

test('/gjs/spawn/echo-1000', async () => {
    const n = 1000;
    const [process, channel] = spawnChild('echo', n, 0);
    assert(process.get_pid() > 0, 'a pid');
    assertEqual(process.is_alive(), true, 'alive after start');

    // One at a time: every round trip awaited.
    for (let i = 0; i < n / 2; i++) {
        // eslint-disable-next-line no-await-in-loop
        await channel.send_async(bytesFromString(`ping ${i}`), null);
        // eslint-disable-next-line no-await-in-loop
        const reply = await channel.receive_async(null);
        assertEqual(stringFromBytes(reply), `ping ${i}`, `reply ${i}`);
    }
    // Then the rest all in flight at once.
    const sends = [];
    const receives = [];
    for (let i = n / 2; i < n; i++) {
        sends.push(channel.send_async(bytesFromString(`burst ${i}`), null));
        receives.push(channel.receive_async(null));
    }
    await Promise.all(sends);
    const replies = await Promise.all(receives);
    replies.forEach((reply, k) =>
        assertEqual(stringFromBytes(reply), `burst ${n / 2 + k}`, `reply ${n / 2 + k}`));

    const value = new GLib.Variant('a{sv}', {
        count: new GLib.Variant('u', n),
        who: new GLib.Variant('s', 'gjs parent'),
    });
    await channel.send_variant_async(value, null);
    const echoed = await channel.receive_variant_async(null);
    assert(echoed.equal(value), `the variant came back: ${echoed.print(true)}`);

    assertEqual(await process.join_async(null), true, 'join_async resolves to true');
    assertEqual(process.is_alive(), false, 'not alive after join');
    assertEqual(process.get_exit_code(), 0, 'exit code');
    assertEqual(process.exit_code, 0, 'the exit-code property');
    channel.close();
});

test('/gjs/spawn/exit-code', async () => {
    const [process, channel] = spawnChild('exit', 7);
    let exitedWith = null;
    let nExited = 0;
    process.connect('exited', (_process, code) => {
        nExited++;
        exitedWith = code;
    });
    await process.join_async(null);
    assertEqual(process.get_exit_code(), 7, 'exit code');
    assertEqual(nExited, 1, 'exited is emitted once');
    assertEqual(exitedWith, 7, 'the exited signal carries the exit code');
    // The child is gone: its end of the channel closed with it.
    await assertRejectsGError(channel.receive_async(null),
        Gipc.Error, Gipc.Error.PEER_CLOSED, 'receive from an exited child');
    channel.close();
});

test('/gjs/spawn/peer-closed', async () => {
    const [process, channel] = spawnChild('close', 3);
    await assertRejectsGError(channel.receive_variant_async(null),
        Gipc.Error, Gipc.Error.PEER_CLOSED, 'receive after the child closed its end');
    await process.join_async(null);
    assertEqual(process.get_exit_code(), 3, 'exit code');
    channel.close();
});

test('/gjs/spawn/listen', async () => {
    const n = 1000;
    const [process, channel] = spawnChild('listen', n);
    const sends = [];
    for (let i = 0; i < n; i++)
        sends.push(channel.send_async(bytesFromString(`m${i}`), null));
    await Promise.all(sends);
    const count = await channel.receive_variant_async(null);
    assertEqual(count.get_uint32(), n, 'messages the child counted');
    await process.join_async(null);
    assertEqual(process.get_exit_code(), 0, 'exit code');
    channel.close();
});

test('/gjs/spawn/inherited-bad-index', async () => {
    const [process, channel] = spawnChild('inherited');
    const report = (await channel.receive_variant_async(null)).get_string()[0];
    assert(report.startsWith('FAILED: '), `new_inherited(1) with one channel: ${report}`);
    await process.join_async(null);
    assertEqual(process.get_exit_code(), 0, 'exit code');
    channel.close();
});

test('/gjs/spawn/terminate', async () => {
    const [process, channel] = spawnChild('echo', 1, 0);
    // The child waits for a message that never comes.
    assertEqual(process.terminate(), true, 'terminate');
    await process.join_async(null);
    assertEqual(process.get_exit_code(), -15, 'killed by SIGTERM');
    channel.close();
});

test('/gjs/spawn/spawn-failed', () => {
    const process = Gipc.Process.new_for_argv(['/nonexistent/gipc-no-such-program']);
    assertThrowsGError(() => process.start(), Gipc.Error, Gipc.Error.SPAWN_FAILED,
        'start of a missing program');
});

test('/gjs/process/lifecycle-errors', async () => {
    const [process, channel] = spawnChild('exit', 0);
    assertThrowsGError(() => process.start(), Gipc.Error, Gipc.Error.ALREADY_STARTED,
        'a second start');
    await process.join_async(null);
    channel.close();

    const unstarted = Gipc.Process.new_for_argv(['true']);
    await assertRejectsGError(unstarted.join_async(null),
        Gipc.Error, Gipc.Error.NOT_STARTED, 'join before start');
});

run();
