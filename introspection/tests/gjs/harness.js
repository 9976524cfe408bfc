// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The gipc-glib authors
//
// A minimal TAP harness for the gjs tests: test() registers an async test,
// run() runs them in order and prints TAP. Every test has a hard timeout
// guard: when it fires, the run bails out (a test that hangs may have left
// the process in any state).

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Gipc from 'gi://Gipc';
import System from 'system';

Gio._promisify(Gipc.Channel.prototype, 'send_async', 'send_finish');
Gio._promisify(Gipc.Channel.prototype, 'receive_async', 'receive_finish');
Gio._promisify(Gipc.Channel.prototype, 'send_variant_async', 'send_variant_finish');
Gio._promisify(Gipc.Channel.prototype, 'receive_variant_async', 'receive_variant_finish');
Gio._promisify(Gipc.Process.prototype, 'join_async', 'join_finish');

const DEFAULT_TIMEOUT_S = 30;
const tests = [];

export class AssertionError extends Error {
    constructor(message) {
        super(message);
        this.name = 'AssertionError';
    }
}

export function test(name, fn, {timeout = DEFAULT_TIMEOUT_S} = {}) {
    tests.push({name, fn, timeout});
}

export function assert(condition, message = 'assertion failed') {
    if (!condition)
        throw new AssertionError(message);
}

export function assertEqual(actual, expected, message = '') {
    if (actual !== expected) {
        throw new AssertionError(`${message ? `${message}: ` : ''}expected ${
            JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    }
}

export function assertDeepEqual(actual, expected, message = '') {
    assertEqual(JSON.stringify(actual), JSON.stringify(expected), message);
}

function checkGError(error, domain, code, message) {
    if (!(error instanceof GLib.Error)) {
        throw new AssertionError(`${message}: expected a GLib.Error, got ${
            error}\n${error?.stack ?? ''}`);
    }
    if (!error.matches(domain, code)) {
        throw new AssertionError(`${message}: expected error code ${code
        }, got domain ${error.domain} code ${error.code}: ${error.message}`);
    }
    return error;
}

// Calls fn (sync) and checks that it throws the GLib.Error domain/code.
export function assertThrowsGError(fn, domain, code, message = 'call') {
    try {
        fn();
    } catch (error) {
        return checkGError(error, domain, code, message);
    }
    throw new AssertionError(`${message}: no error was thrown`);
}

// Awaits a promise and checks that it rejects with the GLib.Error domain/code.
export async function assertRejectsGError(promise, domain, code, message = 'call') {
    try {
        await promise;
    } catch (error) {
        return checkGError(error, domain, code, message);
    }
    throw new AssertionError(`${message}: the promise did not reject`);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytesFromString(text) {
    return new GLib.Bytes(encoder.encode(text));
}

export function stringFromBytes(bytes) {
    return decoder.decode(bytes.toArray());
}

// Resolves after the next dispatch of the default main context.
export function idle() {
    return new Promise(resolve => {
        GLib.idle_add(GLib.PRIORITY_DEFAULT_IDLE, () => {
            resolve();
            return GLib.SOURCE_REMOVE;
        });
    });
}

async function runTests() {
    const filter = ARGV[0];
    const selected = filter ? tests.filter(t => t.name.includes(filter)) : tests;
    let failed = 0;

    print(`1..${selected.length}`);
    for (const [index, t] of selected.entries()) {
        let guardId = 0;
        let timedOut = false;
        const guard = new Promise((resolve, reject) => {
            guardId = GLib.timeout_add_seconds(GLib.PRIORITY_HIGH, t.timeout, () => {
                guardId = 0;
                timedOut = true;
                reject(new Error(`timed out after ${t.timeout} s`));
                return GLib.SOURCE_REMOVE;
            });
        });
        try {
            // eslint-disable-next-line no-await-in-loop
            await Promise.race([t.fn(), guard]);
            print(`ok ${index + 1} ${t.name}`);
        } catch (error) {
            failed++;
            print(`not ok ${index + 1} ${t.name}`);
            const text = `${error}\n${error?.stack ?? ''}`;
            for (const line of text.trimEnd().split('\n'))
                print(`# ${line}`);
            if (timedOut) {
                print(`Bail out! ${t.name} timed out`);
                System.exit(1);
            }
        } finally {
            if (guardId)
                GLib.source_remove(guardId);
        }
    }
    return failed ? 1 : 0;
}

// Runs the registered tests whose name matches the optional filter in ARGV
// (a substring) on a main loop, prints TAP and exits with 0 only if all
// passed. (Not a top-level await: gjs 1.74 busy-waits while one is pending,
// which would take a CPU from the children the tests start.)
export function run() {
    const loop = new GLib.MainLoop(null, false);
    let status = 1;
    runTests().then(result => {
        status = result;
    }, error => {
        print(`Bail out! ${error}`);
    }).finally(() => loop.quit());
    loop.run();
    System.exit(status);
}
