#!/usr/bin/env -S gjs -m
// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The gipc-glib authors
//
// send-to-child: messages from a parent to a child (gipc's
// infinite_send_to_child.py, made finite), in gjs.
//
// gjs cannot fork (its engine threads do not survive it), so the child is
// this same script run again in spawn mode: `gjs -m send-to-child.js --child`
// gets its end of the channel with Gipc.Channel.new_inherited(0). The parent
// sends a message from a timeout on its main loop and closes its end after
// the last one; the child prints them until the end of the stream.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Gipc from 'gi://Gipc';
import System from 'system';

Gio._promisify(Gipc.Channel.prototype, 'send_async', 'send_finish');
Gio._promisify(Gipc.Channel.prototype, 'receive_async', 'receive_finish');
Gio._promisify(Gipc.Process.prototype, 'join_async', 'join_finish');

const N_MESSAGES = 5;
const INTERVAL_MS = 100;

function sleep(ms) {
    return new Promise(resolve => {
        GLib.timeout_add(GLib.PRIORITY_DEFAULT, ms, () => {
            resolve();
            return GLib.SOURCE_REMOVE;
        });
    });
}

async function child() {
    const reader = Gipc.Channel.new_inherited(0);
    const decoder = new TextDecoder();
    let received = 0;
    for (;;) {
        let message;
        try {
            // eslint-disable-next-line no-await-in-loop
            message = await reader.receive_async(null);
        } catch (error) {
            if (error.matches(Gipc.Error, Gipc.Error.PEER_CLOSED))
                break;
            throw error;
        }
        print(`child got: '${decoder.decode(message.toArray())}'`);
        received++;
    }
    print(`child: the parent closed the channel after ${received} messages`);
    reader.close();
    return received === N_MESSAGES ? 0 : 1;
}

async function parent() {
    const [, reader, writer] = Gipc.pipe(Gipc.PipeFlags.NONE);
    const process = Gipc.Process.new_for_argv(
        ['gjs', '-m', System.programPath, '--child']);
    process.pass_channel(reader);
    process.start();

    const encoder = new TextEncoder();
    for (let n = 1; n <= N_MESSAGES; n++) {
        // eslint-disable-next-line no-await-in-loop
        await sleep(INTERVAL_MS);
        const text = `message ${n} of ${N_MESSAGES}, sent from the main loop of gjs`;
        // eslint-disable-next-line no-await-in-loop
        await writer.send_async(new GLib.Bytes(encoder.encode(text)), null);
    }
    // The child sees the end of the stream and exits.
    writer.close();

    await process.join_async(null);
    print(`parent: child exited with code ${process.get_exit_code()}`);
    return process.get_exit_code() === 0 ? 0 : 1;
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
