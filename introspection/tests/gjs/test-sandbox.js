// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The gipc-glib authors
//
// Sandboxed children from gjs (spawn mode: gjs cannot fork): the flags,
// the properties (process.sandbox = Gipc.SandboxFlags.NO_NETWORK | ...;
// gjs has no .props) and sandbox_allow_path through GI.

import GLib from 'gi://GLib';
import Gipc from 'gi://Gipc';

import {
    test, run, assert, assertEqual, bytesFromString, stringFromBytes,
} from './harness.js';

const CHILD = GLib.build_filenamev([
    GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0]), 'child.js']);

// Whether this kernel has what NO_NETWORK | NO_FILESYSTEM need.
function sandboxAvailable() {
    const process = Gipc.Process.new_for_argv(['/bin/true']);
    process.sandbox = Gipc.SandboxFlags.NO_NETWORK | Gipc.SandboxFlags.NO_FILESYSTEM;
    try {
        process.start();
    } catch (error) {
        if (error.matches(Gipc.Error, Gipc.Error.SANDBOX_UNAVAILABLE))
            return false;
        throw error;
    }
    process.join(10000);
    return true;
}

const available = sandboxAvailable();

async function runProgram(argv, flags) {
    const process = Gipc.Process.new_for_argv(argv);
    process.sandbox = flags;
    process.start();
    await process.join_async(null);
    return process.get_exit_code();
}

test('/gjs/sandbox/properties', async () => {
    const process = Gipc.Process.new_for_argv(['/bin/true']);
    assertEqual(process.sandbox, Gipc.SandboxFlags.NONE, 'no sandbox by default');
    assertEqual(process.memory_limit, 0, 'no memory limit by default');
    const flags = Gipc.SandboxFlags.NO_NETWORK | Gipc.SandboxFlags.BEST_EFFORT;
    process.sandbox = flags;
    process.memory_limit = 512 * 1024 * 1024;
    assertEqual(process.get_sandbox(), flags, 'get_sandbox');
    assertEqual(process.get_memory_limit(), 512 * 1024 * 1024, 'get_memory_limit');
    assertEqual(process.sandbox_applied, Gipc.SandboxFlags.NONE, 'nothing applied before start');
    process.start();
    await process.join_async(null);
    assertEqual(process.get_exit_code(), 0, 'exit code');
    if (available) {
        assertEqual(process.get_sandbox_applied(), Gipc.SandboxFlags.NO_NETWORK,
            'applied, without BEST_EFFORT');
    }
});

test('/gjs/sandbox/programs', async () => {
    if (!available) {
        print('# SKIP: no Landlock or seccomp here');
        return;
    }
    const flags = Gipc.SandboxFlags.NO_NETWORK | Gipc.SandboxFlags.NO_FILESYSTEM;
    assertEqual(await runProgram(['/bin/true'], flags), 0, 'a sandboxed true runs');
    if (GLib.file_test('/etc/hostname', GLib.FileTest.EXISTS)) {
        assert(await runProgram(['/bin/cat', '/etc/hostname'], flags) !== 0,
            'a sandboxed cat cannot read /etc/hostname');
    }
});

test('/gjs/sandbox/gjs-child', async () => {
    if (!available) {
        print('# SKIP: no Landlock or seccomp here');
        return;
    }
    // A gjs child reads its script, typelibs and libraries, and can write
    // only to the allowed directory.
    const dir = GLib.dir_make_tmp('gipc-sandbox-gjs-XXXXXX');
    const [, parentEnd, childEnd] = Gipc.pipe(Gipc.PipeFlags.DUPLEX);
    const process = Gipc.Process.new_for_argv(['gjs', '-m', CHILD, 'echo', '1', '0']);
    const flags = Gipc.SandboxFlags.NO_NETWORK | Gipc.SandboxFlags.READ_ONLY_FILESYSTEM;
    process.sandbox = flags;
    process.sandbox_allow_path(dir, true);
    process.pass_channel(childEnd);
    process.start();
    assertEqual(process.sandbox_applied, flags, 'sandbox-applied');

    await parentEnd.send_async(bytesFromString('hello'), null);
    assertEqual(stringFromBytes(await parentEnd.receive_async(null)), 'hello',
        'the sandboxed child answers');
    const value = new GLib.Variant('s', 'done');
    await parentEnd.send_variant_async(value, null);
    assert((await parentEnd.receive_variant_async(null)).equal(value), 'the variant came back');
    await process.join_async(null);
    assertEqual(process.get_exit_code(), 0, 'exit code');
    parentEnd.close();
    GLib.rmdir(dir);
});

run();
