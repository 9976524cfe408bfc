#!/usr/bin/env -S gjs -m
// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The gipc-glib authors
//
// producer: stream a large amount of data to a slow child with bounded
// memory, in gjs.
//
// send_async never refuses and never blocks, so a producer faster than its
// reader paces itself: it sends while the channel is not congested, then
// awaits the notify::congested that says it no longer is. The child is this
// script run again in spawn mode (gjs cannot fork).

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Gipc from 'gi://Gipc';
import System from 'system';

Gio._promisify(Gipc.Channel.prototype, 'receive_async', 'receive_finish');
Gio._promisify(Gipc.Channel.prototype, 'flush_async', 'flush_finish');
Gio._promisify(Gipc.Process.prototype, 'join_async', 'join_finish');

const CHUNK = 64 * 1024;
const TOTAL = 32 * 1024 * 1024;

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
    let received = 0;
    let n = 0;
    for (;;) {
        let chunk;
        try {
            // eslint-disable-next-line no-await-in-loop
            chunk = await reader.receive_async(null);
        } catch (error) {
            if (error.matches(Gipc.Error, Gipc.Error.PEER_CLOSED))
                break;
            throw error;
        }
        received += chunk.get_size();
        if (++n % 16 === 0)
            await sleep(1); // eslint-disable-line no-await-in-loop
    }
    reader.close();
    return received === TOTAL ? 0 : 1;
}

function uncongested(channel) {
    return new Promise(resolve => {
        const id = channel.connect('notify::congested', () => {
            if (!channel.congested) {
                channel.disconnect(id);
                resolve();
            }
        });
    });
}

async function parent() {
    const [, reader, writer] = Gipc.pipe(Gipc.PipeFlags.NONE);
    const process = Gipc.Process.new_for_argv(
        ['gjs', '-m', System.programPath, '--child']);
    process.pass_channel(reader);
    process.start();

    let peak = 0;
    for (let sent = 0; sent < TOTAL;) {
        if (writer.congested) {
            await uncongested(writer); // eslint-disable-line no-await-in-loop
            continue;
        }
        const chunk = new Uint8Array(CHUNK).fill((sent / CHUNK) % 256);
        writer.send_async(new GLib.Bytes(chunk), null, null);
        sent += CHUNK;
        peak = Math.max(peak, writer.queued_bytes);
    }
    await writer.flush_async(null);
    writer.close(); // the end of the stream tells the child

    await process.join_async(null);
    const code = process.get_exit_code();
    print(`streamed ${TOTAL / (1024 * 1024)} MiB; the queue held at most ` +
        `${Math.floor(peak / 1024)} KiB (high-water mark ` +
        `${writer.high_water_mark / 1024} KiB); child exit code ${code}`);
    return code === 0 && peak <= 2 * 1024 * 1024 ? 0 : 1;
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
