// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The gipc-glib authors
//
// Pools from gjs: run_async promisified, with workers written in gjs
// (pool-worker.js) through Gipc.Pool.new_for_argv.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Gipc from 'gi://Gipc';

import {
    test, run, assert, assertEqual, assertRejectsGError,
    bytesFromString, stringFromBytes,
} from './harness.js';

Gio._promisify(Gipc.Pool.prototype, 'run_async', 'run_finish');
Gio._promisify(Gipc.Pool.prototype, 'close_async', 'close_finish');

const WORKER = GLib.build_filenamev([
    GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0]), 'pool-worker.js']);

function newPool(maxWorkers = 2) {
    const pool = Gipc.Pool.new_for_argv(['gjs', '-m', WORKER]);
    pool.max_workers = maxWorkers;
    return pool;
}

// The promisified form, as DESIGN.md has it for gjs: the promise resolves
// to what run_finish gives, the result and the fds that came with it.
test('/gjs/pool/promisify', async () => {
    const pool = newPool();
    const [result, fds] = await pool.run_async(bytesFromString('upper promised'), null, null);
    assertEqual(stringFromBytes(result), 'PROMISED');
    assertEqual(fds, null, 'no fds came back');
    await assertRejectsGError(pool.run_async(bytesFromString('fail here'), null, null),
        Gio.IOErrorEnum, Gio.IOErrorEnum.NOT_FOUND, 'fail');
    assertEqual(await pool.close_async(null), true);
});

// The other tests pass an explicit callback (and call run_finish on the
// pool they hold), so that they test the pool and its gjs workers whatever
// the source object of the callback is.
function runAsync(pool, request, cancellable) {
    return new Promise((resolve, reject) => {
        pool.run_async(request, null, cancellable, (_source, result) => {
            try {
                resolve(pool.run_finish(result));
            } catch (error) {
                reject(error);
            }
        });
    });
}

function closeAsync(pool) {
    return new Promise((resolve, reject) => {
        pool.close_async(null, (_source, result) => {
            try {
                resolve(pool.close_finish(result));
            } catch (error) {
                reject(error);
            }
        });
    });
}

async function runText(pool, text, cancellable = null) {
    const [result, fds] = await runAsync(pool, bytesFromString(text), cancellable);
    assertEqual(fds, null, `no fds came back for ${text}`);
    return stringFromBytes(result);
}

test('/gjs/pool/run-async', async () => {
    const pool = newPool();
    assertEqual(await runText(pool, 'upper hello pool'), 'HELLO POOL');
    // Many at once, answered each with its own result.
    const texts = Array.from({length: 40}, (_, i) => `upper task ${i}`);
    const results = await Promise.all(texts.map(t => runText(pool, t)));
    results.forEach((r, i) => assertEqual(r, `TASK ${i}`, `result ${i}`));
    assert(pool.workers >= 1 && pool.workers <= 2, `${pool.workers} workers`);
});

test('/gjs/pool/workers-are-warm', async () => {
    const pool = newPool(1);
    const pids = new Set();
    for (let i = 0; i < 5; i++)
        // eslint-disable-next-line no-await-in-loop
        pids.add(await runText(pool, 'pid'));
    assertEqual(pids.size, 1, 'one worker served every task');
});

test('/gjs/pool/worker-error', async () => {
    const pool = newPool();
    const error = await assertRejectsGError(
        runAsync(pool, bytesFromString('fail the test'), null),
        Gio.IOErrorEnum, Gio.IOErrorEnum.NOT_FOUND, 'fail');
    assert(error.message.includes('no such thing: the test'), error.message);
    assertEqual(await runText(pool, 'upper still here'), 'STILL HERE');
});

test('/gjs/pool/worker-death-fails-only-its-task', async () => {
    const pool = newPool();
    const doomed = runAsync(pool, bytesFromString('exit 7'), null);
    const others = Array.from({length: 6}, (_, i) => runText(pool, `upper ok ${i}`));
    const error = await assertRejectsGError(doomed, Gipc.Error, Gipc.Error.WORKER_DIED, 'exit 7');
    assert(error.message.includes('7'), error.message);
    const results = await Promise.all(others);
    results.forEach((r, i) => assertEqual(r, `OK ${i}`, `result ${i}`));
});

test('/gjs/pool/cancel-running', async () => {
    const pool = newPool(1);
    pool.cancel_grace = 0;
    const cancellable = new Gio.Cancellable();
    const hanging = runAsync(pool, bytesFromString('hang'), cancellable);
    // Cancel once the task is running in the worker.
    await new Promise(resolve => {
        const id = GLib.timeout_add(GLib.PRIORITY_DEFAULT, 10, () => {
            if (pool.running_tasks === 0)
                return GLib.SOURCE_CONTINUE;
            cancellable.cancel();
            resolve();
            return GLib.SOURCE_REMOVE;
        });
        void id;
    });
    await assertRejectsGError(hanging, Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED, 'hang');
    // Back to full strength at once.
    assertEqual(await runText(pool, 'upper after the cancel'), 'AFTER THE CANCEL');
});

test('/gjs/pool/close', async () => {
    const pool = newPool();
    const pending = [runText(pool, 'upper a'), runText(pool, 'upper b')];
    const closed = closeAsync(pool);
    assertEqual((await Promise.all(pending)).join(), 'A,B');
    assertEqual(await closed, true);
    assertEqual(pool.workers, 0, 'no worker after close');
});

run();
