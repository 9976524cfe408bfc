// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The gipc-glib authors
//
// The gjs child of the spawn-mode tests: gjs -m child.js MODE [ARGS...].
// It takes channel 0 of the parent with Gipc.Channel.new_inherited(0).
//
//   echo N CODE    echo N messages back, then one variant; exit with CODE
//   listen N       count N messages with the "message" signal, send the
//                  count back as a variant "u"
//   exit CODE      exit at once with CODE
//   close CODE     close the channel, then exit with CODE
//   inherited      report (as a variant) what new_inherited(1) does

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Gipc from 'gi://Gipc';
import System from 'system';

Gio._promisify(Gipc.Channel.prototype, 'send_async', 'send_finish');
Gio._promisify(Gipc.Channel.prototype, 'receive_async', 'receive_finish');
Gio._promisify(Gipc.Channel.prototype, 'send_variant_async', 'send_variant_finish');
Gio._promisify(Gipc.Channel.prototype, 'receive_variant_async', 'receive_variant_finish');

const [mode, ...args] = ARGV;
const channel = Gipc.Channel.new_inherited(0);

async function echo(count, code) {
    for (let i = 0; i < count; i++) {
        const message = await channel.receive_async(null);
        await channel.send_async(message, null);
    }
    const value = await channel.receive_variant_async(null);
    await channel.send_variant_async(value, null);
    channel.close();
    return code;
}

function listen(count) {
    return new Promise((resolve, reject) => {
        let received = 0;
        channel.connect('message', () => {
            received++;
            if (received === count)
                resolve(received);
        });
        channel.connect('error', (_channel, error) => reject(error));
        channel.listen();
    });
}

function inherited() {
    let report;
    try {
        Gipc.Channel.new_inherited(1);
        report = 'no error';
    } catch (error) {
        report = `${error.matches(Gipc.Error, Gipc.Error.FAILED) ? 'FAILED' : error.code}: ${
            error.message}`;
    }
    channel.send_variant(new GLib.Variant('s', report), null);
    channel.close();
    return 0;
}

// Returns the exit status.
async function main() {
    switch (mode) {
    case 'echo':
        return echo(Number(args[0]), Number(args[1]));
    case 'listen': {
        // Listening only takes the receiving direction: sending still works.
        const received = await listen(Number(args[0]));
        await channel.send_variant_async(new GLib.Variant('u', received), null);
        channel.close();
        return 0;
    }
    case 'exit':
        return Number(args[0]);
    case 'close':
        channel.close();
        return Number(args[0]);
    case 'inherited':
        return inherited();
    default:
        printerr(`child.js: unknown mode ${mode}`);
        return 2;
    }
}

// An explicit main loop rather than a top-level await: gjs 1.74 busy-waits
// while a top-level await is pending.
const loop = new GLib.MainLoop(null, false);
let status = 1;
main().then(code => {
    status = code;
}, error => {
    logError(error);
}).finally(() => loop.quit());
loop.run();
System.exit(status);
