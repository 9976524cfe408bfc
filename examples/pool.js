// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The gipc-glib authors
//
// pool.js: a pool of gjs workers. The same file is the program and, run
// with --worker, the worker: Gipc.Pool.new_for_argv starts it as
// `gjs -m pool.js --worker`, and the worker serves tasks with
// Gipc.worker_serve on inherited channel 0. The program sends each task
// with run_async (promisified), and gets one result per task: the worker's
// answer, or its GLib.Error, or WORKER_DIED if it died.
//
// Run: gjs -m pool.js

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Gipc from 'gi://Gipc';
import System from 'system';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---- The worker: counts the primes in [start, stop) ----

function countPrimes(start, stop) {
    let count = 0;
    for (let n = Math.max(start, 2); n < stop; n++) {
        let prime = true;
        for (let d = 2; d * d <= n; d++) {
            if (n % d === 0) {
                prime = false;
                break;
            }
        }
        if (prime)
            count++;
    }
    return count;
}

function serve() {
    const channel = Gipc.Channel.new_inherited(0);
    return Gipc.worker_serve(channel, request => {
        const {start, stop} = JSON.parse(decoder.decode(request.toArray()));
        if (stop < start) {
            throw new GLib.Error(Gio.IOErrorEnum, Gio.IOErrorEnum.INVALID_ARGUMENT,
                `empty range ${start}..${stop}`);
        }
        const answer = {start, stop, primes: countPrimes(start, stop)};
        return [new GLib.Bytes(encoder.encode(JSON.stringify(answer))), null];
    });
}

// ---- The program ----

Gio._promisify(Gipc.Pool.prototype, 'run_async', 'run_finish');
Gio._promisify(Gipc.Pool.prototype, 'close_async', 'close_finish');

async function main() {
    const self = GLib.filename_from_uri(import.meta.url)[0];
    const pool = Gipc.Pool.new_for_argv(['gjs', '-m', self, '--worker']);
    pool.max_workers = 2;

    const count = async (start, stop) => {
        const request = new GLib.Bytes(encoder.encode(JSON.stringify({start, stop})));
        const [result] = await pool.run_async(request, null, null);
        return JSON.parse(decoder.decode(result.toArray())).primes;
    };

    // Ten tasks at once on two warm workers.
    const ranges = Array.from({length: 10}, (_, i) => [i * 10000, (i + 1) * 10000]);
    const counts = await Promise.all(ranges.map(([start, stop]) => count(start, stop)));
    const total = counts.reduce((a, b) => a + b, 0);
    print(`pool.js: counted ${total} primes below 100000 in ${ranges.length} tasks on ${
        pool.max_workers} gjs workers`);

    // The worker's own GLib.Error comes back as itself.
    try {
        await count(5, 1);
    } catch (error) {
        print(`pool.js: the worker said: ${error.message} (${
            error.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.INVALID_ARGUMENT) ? 'INVALID_ARGUMENT' : error.code})`);
    }

    // Close: no new tasks, the queued ones finish, the workers stop.
    await pool.close_async(null);
    print(`pool.js: closed; ${pool.workers} workers left`);
}

if (ARGV[0] === '--worker') {
    System.exit(serve());
} else {
    const loop = new GLib.MainLoop(null, false);
    let status = 1;
    main().then(() => {
        status = 0;
    }, error => logError(error)).finally(() => loop.quit());
    loop.run();
    System.exit(status);
}
