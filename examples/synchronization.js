#!/usr/bin/env -S gjs -m
// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The gipc-glib authors
//
// synchronization: time synchronization between two processes over a duplex
// channel (gipc's synchronization.py), in gjs.
//
// The child is this same script in spawn mode (`--child`). The parent sends
// SYN and waits for ACK; then the child sends its clock (GLib.get_real_time,
// as a GVariant "x") and the parent compares it with its own clock at the
// moment ACK arrived.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Gipc from 'gi://Gipc';
import System from 'system';

Gio._promisify(Gipc.Channel.prototype, 'send_async', 'send_finish');
Gio._promisify(Gipc.Channel.prototype, 'receive_async', 'receive_finish');
Gio._promisify(Gipc.Channel.prototype, 'send_variant_async', 'send_variant_finish');
Gio._promisify(Gipc.Channel.prototype, 'receive_variant_async', 'receive_variant_finish');
Gio._promisify(Gipc.Process.prototype, 'join_async', 'join_finish');

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function child() {
    const channel = Gipc.Channel.new_inherited(0);
    const syn = await channel.receive_async(null);
    if (decoder.decode(syn.toArray()) !== 'SYN')
        return 1;
    await channel.send_async(new GLib.Bytes(encoder.encode('ACK')), null);
    // Now in step with the parent.
    await channel.send_variant_async(new GLib.Variant('x', GLib.get_real_time()), null);
    channel.close();
    return 0;
}

async function parent() {
    const [, parentEnd, childEnd] = Gipc.pipe(Gipc.PipeFlags.DUPLEX);
    const process = Gipc.Process.new_for_argv(
        ['gjs', '-m', System.programPath, '--child']);
    process.pass_channel(childEnd);
    process.start();

    // Synchronize with the child.
    await parentEnd.send_async(new GLib.Bytes(encoder.encode('SYN')), null);
    const ack = await parentEnd.receive_async(null);
    if (decoder.decode(ack.toArray()) !== 'ACK')
        throw new Error('expected ACK');
    // Now in step with the child.
    const parentTime = GLib.get_real_time();
    const childTime = (await parentEnd.receive_variant_async(null)).get_int64();
    await process.join_async(null);
    parentEnd.close();

    const delta = Math.abs(childTime - parentTime) / 1e6;
    print(`Time delta: ${delta.toFixed(6)} s (child exit code ${process.get_exit_code()})`);
    return process.get_exit_code();
}

// A main loop rather than a top-level await: gjs 1.74 busy-waits while a
// top-level await is pending, which would take a CPU from the child.
const loop = new GLib.MainLoop(null, false);
let status = 1;
(ARGV[0] === '--child' ? child() : parent()).then(code => {
    status = code;
}, error => {
    logError(error);
}).finally(() => loop.quit());
loop.run();
System.exit(status);
