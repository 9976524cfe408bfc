#!/usr/bin/env -S gjs -m
// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The gipc-glib authors
//
// server-client: a TCP server in the parent, many clients in a child (gipc's
// serverclient.py), in gjs.
//
// The parent runs a Gio.SocketService on 127.0.0.1 (port 0: the kernel picks
// one) that echoes one line per connection. The child, this same script in
// spawn mode (`--child`), learns the port over a duplex channel, runs
// N_CLIENTS clients (N_CONCURRENT at a time) and reports back.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Gipc from 'gi://Gipc';
import System from 'system';

Gio._promisify(Gipc.Channel.prototype, 'send_variant_async', 'send_variant_finish');
Gio._promisify(Gipc.Channel.prototype, 'receive_variant_async', 'receive_variant_finish');
Gio._promisify(Gipc.Process.prototype, 'join_async', 'join_finish');
Gio._promisify(Gio.SocketClient.prototype, 'connect_async', 'connect_finish');
Gio._promisify(Gio.OutputStream.prototype, 'write_bytes_async', 'write_bytes_finish');
Gio._promisify(Gio.DataInputStream.prototype, 'read_line_async', 'read_line_finish');

const N_CLIENTS = 1000;
const N_CONCURRENT = 100;
const MESSAGE = 'HELLO';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// One client: connect, send a line, check the echo.
async function client(socketClient, address) {
    const connection = await socketClient.connect_async(address, null);
    await connection.get_output_stream().write_bytes_async(
        new GLib.Bytes(encoder.encode(`${MESSAGE}\n`)), GLib.PRIORITY_DEFAULT, null);
    const input = new Gio.DataInputStream({base_stream: connection.get_input_stream()});
    const [line] = await input.read_line_async(GLib.PRIORITY_DEFAULT, null);
    connection.close(null);
    return line !== null && decoder.decode(line) === MESSAGE;
}

async function child() {
    const channel = Gipc.Channel.new_inherited(0);
    const port = (await channel.receive_variant_async(null)).get_uint16();
    const socketClient = new Gio.SocketClient({enable_proxy: false});
    const address = Gio.InetSocketAddress.new_from_string('127.0.0.1', port);

    const start = GLib.get_monotonic_time();
    let next = 0;
    let ok = 0;
    const worker = async () => {
        while (next < N_CLIENTS) {
            next++;
            try {
                // eslint-disable-next-line no-await-in-loop
                if (await client(socketClient, address))
                    ok++;
            } catch (error) {
                printerr(`client: ${error.message}`);
            }
        }
    };
    await Promise.all(Array.from({length: N_CONCURRENT}, worker));
    const seconds = (GLib.get_monotonic_time() - start) / 1e6;

    print(`child: ${ok} clients served within ${seconds.toFixed(2)} s`);
    await channel.send_variant_async(new GLib.Variant('(ud)', [ok, seconds]), null);
    channel.close();
    return ok === N_CLIENTS ? 0 : 1;
}

async function parent() {
    let served = 0;
    const service = new Gio.SocketService();
    // The default backlog (10) is shorter than the burst of connections.
    service.set_backlog(N_CONCURRENT);
    const [, address] = service.add_address(
        Gio.InetSocketAddress.new_from_string('127.0.0.1', 0),
        Gio.SocketType.STREAM, Gio.SocketProtocol.TCP, null);
    service.connect('incoming', (_service, connection) => {
        const input = new Gio.DataInputStream({base_stream: connection.get_input_stream()});
        input.read_line_async(GLib.PRIORITY_DEFAULT, null).then(async ([line]) => {
            if (line !== null) {
                await connection.get_output_stream().write_bytes_async(
                    new GLib.Bytes(encoder.encode(`${decoder.decode(line)}\n`)),
                    GLib.PRIORITY_DEFAULT, null);
                served++;
            }
        }).catch(error => printerr(`server: ${error.message}`))
          .finally(() => connection.close(null));
        return true;
    });
    const port = address.get_port();
    print(`parent: echo server on 127.0.0.1:${port}, starting ${N_CLIENTS} clients in a child`);

    const [, parentEnd, childEnd] = Gipc.pipe(Gipc.PipeFlags.DUPLEX);
    const process = Gipc.Process.new_for_argv(
        ['gjs', '-m', System.programPath, '--child']);
    process.pass_channel(childEnd);
    process.start();

    await parentEnd.send_variant_async(new GLib.Variant('q', port), null);
    const [reported] = (await parentEnd.receive_variant_async(null)).deepUnpack();
    await process.join_async(null);
    service.stop();
    parentEnd.close();

    const code = process.get_exit_code();
    print(`parent: served ${served} connections; the child reported ${reported}; exit code ${code}`);
    return code === 0 && served === N_CLIENTS && reported === N_CLIENTS ? 0 : 1;
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
