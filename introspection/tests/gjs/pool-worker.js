// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The gipc-glib authors
//
// A pool worker written in gjs, for test-pool.js: started by
// Gipc.Pool.new_for_argv(['gjs', '-m', 'pool-worker.js']), it serves the
// pool's tasks with Gipc.worker_serve on inherited channel 0. A request is
// text:
//
//   upper TEXT     the result is TEXT in capitals
//   pid            the result is the worker's pid
//   fail           a GLib.Error (G_IO_ERROR_NOT_FOUND) goes back
//   exit CODE      the worker exits with CODE while running the task
//   hang           the worker answers only when the task is cancelled

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Gipc from 'gi://Gipc';
import System from 'system';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function answer(text) {
    return new GLib.Bytes(encoder.encode(text));
}

function work(request, fds, cancellable) {
    const text = decoder.decode(request.toArray());
    const [verb, ...rest] = text.split(' ');
    switch (verb) {
    case 'upper':
        return answer(rest.join(' ').toUpperCase());
    case 'pid':
        return answer(String(new Gio.Credentials().get_unix_pid()));
    case 'fail':
        throw new GLib.Error(Gio.IOErrorEnum, Gio.IOErrorEnum.NOT_FOUND,
            `no such thing: ${rest.join(' ')}`);
    case 'exit':
        System.exit(Number(rest[0]));
        break;
    case 'hang': {
        // The worker's own main context, iterated until the cancel arrives.
        const context = GLib.MainContext.ref_thread_default();
        while (!cancellable.is_cancelled())
            context.iteration(true);
        return answer('cancelled');
    }
    }
    throw new GLib.Error(Gio.IOErrorEnum, Gio.IOErrorEnum.INVALID_ARGUMENT,
        `unknown request: ${text}`);
}

const channel = Gipc.Channel.new_inherited(0);
System.exit(Gipc.worker_serve(channel, (request, fds, cancellable) =>
    [work(request, fds, cancellable), null]));
