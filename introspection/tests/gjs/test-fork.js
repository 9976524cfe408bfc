// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The gipc-glib authors
//
// Fork mode from gjs is refused: SpiderMonkey's helper threads do not
// survive fork(), and a forked gjs child hangs in its garbage collector
// once its heap grows. The error points to spawn mode.

import GLib from 'gi://GLib';
import Gipc from 'gi://Gipc';

import {test, run, assert, assertEqual, assertThrowsGError} from './harness.js';

test('/gjs/fork/refused', () => {
    const [, r, w] = Gipc.pipe(Gipc.PipeFlags.NONE);
    const process = Gipc.Process.new(() => 0);
    process.pass_channel(r);
    const error = assertThrowsGError(() => process.start(),
        Gipc.Error, Gipc.Error.SPAWN_FAILED, 'start in fork mode');
    assert(error.message.includes('spawn mode'), `error names spawn mode: ${error.message}`);
    assertEqual(process.is_alive(), false, 'not started');
    assertEqual(r.closed, false, 'the channel was not passed');
    r.close();
    w.close();
});

test('/gjs/fork/server-refused', () => {
    const server = Gipc.ForkServer.new();
    server.add_target('zero', () => 0);
    const error = assertThrowsGError(() => server.start(),
        Gipc.Error, Gipc.Error.FAILED, 'start of a fork server');
    assert(error.message.includes('spawn mode'), `error names spawn mode: ${error.message}`);
    assertEqual(server.is_running(), false, 'not running');
    const process = Gipc.Process.new_for_target(server, 'zero', null);
    assertThrowsGError(() => process.start(),
        Gipc.Error, Gipc.Error.SPAWN_FAILED, 'start through a server that never ran');
});

test('/gjs/fork/spawn-still-works', () => {
    const process = Gipc.Process.new_for_argv(['true']);
    process.start();
    process.join(20000);
    assertEqual(process.get_exit_code(), 0, 'exit code');
});

run();
