#!/usr/bin/env -S gjs -m
// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The gipc-glib authors
//
// hello: the README's JavaScript example. The child is this same script,
// started in spawn mode, and sends one message.

import GLib from 'gi://GLib';
import Gipc from 'gi://Gipc';
import System from 'system';

if (ARGV[0] === '--child') {
    const hello = new TextEncoder().encode('hello from the child');
    Gipc.Channel.new_inherited(0).send(new GLib.Bytes(hello), null);
} else {
    const [, r, w] = Gipc.pipe(Gipc.PipeFlags.NONE);
    const process = Gipc.Process.new_for_argv(['gjs', '-m', System.programPath, '--child']);
    process.pass_channel(w);
    process.start();
    const message = new TextDecoder().decode(r.receive(null).toArray());
    process.join(-1);
    print(`${message}, exit code ${process.get_exit_code()}`);
}
