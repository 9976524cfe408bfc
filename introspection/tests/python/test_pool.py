#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""Pools from Python: Gipc.Pool (run, submit, map, new_for_target),
Gipc.PoolExecutor (a ProcessPoolExecutor program switched by one line),
exceptions with the worker's traceback, cancelling a running future, a
worker crash that fails only its own future, file descriptors."""

import concurrent.futures
import errno
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import gipctest
from gipctest import Gio, GLib, Gipc

HERE = os.path.dirname(os.path.abspath(__file__))


# --------------------------------------------------------------------------
# Worker functions (module level: the fork server and pickle find them)

def upper(data):
    return data.upper()


def square(x):
    return x * x


def slow_square(x):
    # Later tasks finish first, so map() has to put them back in order.
    time.sleep(0.02 * (x % 4))
    return x * x


def fail_on_purpose(x):
    raise ValueError('fail_on_purpose got %r' % (x,))


class Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError('this exception cannot be pickled')


def raise_unpicklable(x):
    raise Unpicklable('no pickle for %r' % (x,))


def big(n):
    return b'x' * n


def bytes_worker(data):
    if data == b'gerror':
        raise GLib.Error.new_literal(Gio.io_error_quark(), 'not found here',
                                     int(Gio.IOErrorEnum.NOT_FOUND))
    if data == b'python-error':
        raise KeyError('python error in the worker')
    if data == b'not-bytes':
        return 42
    return b'<' + data + b'>'


def what(obj):
    kind, value = obj
    if kind == 'square':
        return value * value
    if kind == 'pid':
        return os.getpid()
    if kind == 'crash':
        os.kill(os.getpid(), signal.SIGSEGV)
    if kind == 'abort':
        os.abort()
    if kind == '_exit':
        os._exit(value)
    if kind == 'sleep':
        time.sleep(value)
        return 'slept'
    raise ValueError(kind)


def wait_for_cancel(obj, task):
    # Answers only once its task is cancelled (or after a minute).
    deadline = time.monotonic() + 60
    context = GLib.MainContext.ref_thread_default()
    while not task.is_cancelled() and time.monotonic() < deadline:
        context.iteration(False)
        time.sleep(0.01)
    return ('noticed the cancel', os.getpid())


KEPT_CANCELLABLES = []


def cancellable_probe(obj, task):
    # The worker's cancellable as Python sees it: kept in a list, tagged
    # with an attribute (PyGObject then holds it by a toggle reference of
    # its own), cancelled by the function, or looked at.
    cancellable = task.cancellable
    if obj == 'keep':
        KEPT_CANCELLABLES.append(cancellable)
        return 'kept'
    if obj == 'tag':
        cancellable.gipc_test_tag = 'tagged'
        return 'tagged'
    if obj == 'self-cancel':
        cancellable.cancel()
        return 'cancelled'
    if obj == 'kept-state':
        return [c.is_cancelled() for c in KEPT_CANCELLABLES]
    return (getattr(cancellable, 'gipc_test_tag', None),
            cancellable.is_cancelled(),
            any(c is cancellable for c in KEPT_CANCELLABLES))


def read_fds(obj, task):
    """Reads every fd it got; sends back a pipe whose other end holds
    what it read, reversed."""
    texts = []
    for fd in task.fds:
        with os.fdopen(fd, 'rb') as f:
            texts.append(f.read())
    r, w = os.pipe()
    os.write(w, b'|'.join(texts)[::-1])
    os.close(w)
    task.out_fds.append(r)     # handed over: closed once sent
    return len(texts)


def read_fds_bytes(data, task):
    texts = []
    for fd in task.fds:
        with os.fdopen(fd, 'rb') as f:
            texts.append(f.read())
    task.out_fds.extend(_pipe_holding(b'|'.join(texts)[::-1]))
    return data + b':' + b'|'.join(texts)


def _pipe_holding(text):
    r, w = os.pipe()
    os.write(w, text)
    os.close(w)
    return [r]


def probe_sandbox(obj):
    import socket
    found = {}
    try:
        with open('/etc/passwd', 'rb'):
            found['file'] = 'opened'
    except OSError as e:
        found['file'] = e.errno
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        found['socket'] = 'opened'
    except OSError as e:
        found['socket'] = e.errno
    return found


def init_worker(tag):
    global WORKER_TAG
    WORKER_TAG = tag


WORKER_TAG = None


def failing_init():
    raise RuntimeError('the initializer failed')


def tagged(x):
    return (WORKER_TAG, x)


# Before anything can start a thread: a fork server whose targets serve
# pool tasks.
SERVER = Gipc.ForkServer.new()
SERVER.add_target('square', Gipc.pool_worker(square))
SERVER.add_target('what', Gipc.pool_worker(what))
SERVER.start()


def iterate_until(condition, timeout=30):
    context = GLib.MainContext.default()
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError('condition not met within %s s' % timeout)
        context.iteration(False)
        time.sleep(0.005)


class PoolTests(gipctest.TestCase):

    def test_run_bytes(self):
        pool = Gipc.Pool.new(upper)
        self.assertEqual(pool.run(b'abc'), b'ABC')
        self.assertEqual(pool.run(bytearray(b'xyz')), b'XYZ')
        self.assertEqual(pool.run(GLib.Bytes.new(b'')), b'')

    def test_run_async_in_a_main_loop(self):
        pool = Gipc.Pool.new(upper)
        guard = gipctest.LoopGuard(30)
        results = {}

        def done(pool, result, n):
            results[n] = pool.run_finish(result)
            if len(results) == 10:
                guard.quit()

        for n in range(10):
            pool.run_async(b'task %d' % n, None, None, guard.wrap(done), n)
        guard.run()
        self.assertEqual(results, {n: b'TASK %d' % n for n in range(10)})

    def test_errors_of_bytes_tasks(self):
        pool = Gipc.Pool.new(bytes_worker)
        self.assertEqual(pool.run(b'ok'), b'<ok>')
        with self.assertRaisesIOError(Gio.IOErrorEnum.NOT_FOUND) as cm:
            pool.run(b'gerror')
        self.assertIn('not found here', cm.exception.message)
        with self.assertRaisesGipcError(Gipc.Error.FAILED) as cm:
            pool.run(b'python-error')
        self.assertIn('KeyError', cm.exception.message)
        self.assertIn('python error in the worker', cm.exception.message)
        self.assertIn('bytes_worker', cm.exception.message)
        with self.assertRaisesGipcError(Gipc.Error.FAILED) as cm:
            pool.run(b'not-bytes')
        self.assertIn('TypeError', cm.exception.message)
        # The worker survived its errors.
        self.assertEqual(pool.run(b'again'), b'<again>')

    def test_submit_without_a_main_loop(self):
        pool = Gipc.Pool.new(square)
        future = pool.submit(7)
        self.assertIsInstance(future, concurrent.futures.Future)
        self.assertEqual(future.result(timeout=30), 49)
        futures = [pool.submit(n) for n in range(20)]
        self.assertEqual([f.result(30) for f in futures],
                         [n * n for n in range(20)])

    def test_submit_done_callbacks_in_the_main_loop(self):
        pool = Gipc.Pool.new(square)
        guard = gipctest.LoopGuard(30)
        seen = []

        def done(future):
            seen.append((future.result(), threading.current_thread()))
            if len(seen) == 5:
                guard.quit()

        for n in range(5):
            pool.submit(n).add_done_callback(guard.wrap(done))
        guard.run()
        self.assertEqual(sorted(v for v, _ in seen), [0, 1, 4, 9, 16])
        self.assertTrue(all(t is threading.main_thread() for _, t in seen))

    def test_large_results(self):
        pool = Gipc.Pool.new(big)
        for n in (0, 1000, 3 << 20, 40 << 20):
            self.assertEqual(pool.submit(n).result(60), b'x' * n)

    def test_submit_objects(self):
        pool = Gipc.Pool.new(what)
        self.assertEqual(pool.submit(('square', 12)).result(30), 144)
        pid = pool.submit(('pid', None)).result(30)
        self.assertNotEqual(pid, os.getpid())

    def test_map_in_order(self):
        pool = Gipc.Pool.new(slow_square)
        pool.props.max_workers = 3
        self.assertEqual(list(pool.map(range(24))),
                         [n * n for n in range(24)])

    def test_map_reads_lazily(self):
        pool = Gipc.Pool.new(square)
        pool.props.max_workers = 2
        read = []

        def numbers():
            for n in itertools.count():
                read.append(n)
                yield n

        results = pool.map(numbers(), window=4)
        first = list(itertools.islice(results, 5))
        self.assertEqual(first, [0, 1, 4, 9, 16])
        # Never more than the window ahead of what was taken.
        self.assertLessEqual(len(read), 5 + 4)
        results.close()

    def test_exception_with_the_workers_traceback(self):
        pool = Gipc.Pool.new(fail_on_purpose)
        future = pool.submit(3)
        with self.assertRaises(ValueError) as cm:
            future.result(30)
        self.assertEqual(str(cm.exception), 'fail_on_purpose got 3')
        cause = str(cm.exception.__cause__)
        self.assertIn('Traceback (most recent call last)', cause)
        self.assertIn('in fail_on_purpose', cause)
        self.assertIn("raise ValueError('fail_on_purpose got %r'", cause)
        self.assertIsInstance(future.exception(), ValueError)
        # map() raises it where its result would be.
        results = pool.map([1, 2])
        with self.assertRaises(ValueError):
            next(results)
        results.close()

    def test_unpicklable_exception(self):
        pool = Gipc.Pool.new(raise_unpicklable)
        with self.assertRaises(RuntimeError) as cm:
            pool.submit(1).result(30)
        self.assertIn('Unpicklable', str(cm.exception))
        self.assertIn('no pickle for 1', str(cm.exception))

    def test_worker_crash_fails_only_its_future(self):
        pool = Gipc.Pool.new(what)
        pool.props.max_workers = 2
        for kind, value, expect in (('crash', None, 'signal'),
                                    ('abort', None, 'signal'),
                                    ('_exit', 3, '3')):
            before = [pool.submit(('square', n)) for n in range(4)]
            doomed = pool.submit((kind, value))
            after = [pool.submit(('square', n)) for n in range(4, 8)]
            with self.assertRaisesGipcError(Gipc.Error.WORKER_DIED) as cm:
                doomed.result(30)
            self.assertIn(expect, cm.exception.message)
            self.assertEqual([f.result(30) for f in before + after],
                             [n * n for n in range(8)], kind)

    def test_cancel_a_running_future_kills_the_worker(self):
        pool = Gipc.Pool.new(what)
        pool.props.max_workers = 1
        pool.props.cancel_grace = 0
        future = pool.submit(('sleep', 120))
        iterate_until(lambda: pool.props.running_tasks == 1)
        self.assertTrue(future.running())
        started = time.monotonic()
        self.assertTrue(future.cancel())
        self.assertTrue(future.cancelled())
        self.assertTrue(future.done())
        with self.assertRaises(concurrent.futures.CancelledError):
            future.result(0)
        # The pool is back at once: the next task runs in a new worker.
        self.assertEqual(pool.submit(('square', 5)).result(30), 25)
        self.assertLess(time.monotonic() - started, 60)

    def test_cancel_a_running_future_reaches_the_worker(self):
        pool = Gipc.Pool.new(wait_for_cancel, pass_task=True)
        pool.props.max_workers = 1
        pool.props.cancel_grace = 30000
        exited = []
        pool.connect('worker-exited', lambda pool, worker: exited.append(1))
        first = pool.submit(None)
        iterate_until(lambda: pool.props.running_tasks == 1)
        self.assertTrue(first.cancel())
        self.assertTrue(first.cancelled())
        # The worker noticed (it answered within the grace) and is reused.
        iterate_until(lambda: pool.props.running_tasks == 0)
        self.assertEqual(exited, [])

    def test_cancel_a_queued_future(self):
        pool = Gipc.Pool.new(what)
        pool.props.max_workers = 1
        busy = pool.submit(('sleep', 0.5))
        queued = pool.submit(('square', 3))
        self.assertTrue(queued.cancel())
        self.assertTrue(queued.cancelled())
        self.assertEqual(busy.result(30), 'slept')
        self.assertEqual(pool.submit(('square', 4)).result(30), 16)

    def test_dropping_the_pool_cancels_its_futures(self):
        pool = Gipc.Pool.new(what)
        pool.props.max_workers = 1
        running = pool.submit(('sleep', 120))
        queued = pool.submit(('square', 2))
        iterate_until(lambda: pool.props.running_tasks == 1)
        del pool
        with self.assertRaises(concurrent.futures.CancelledError):
            running.result(30)
        self.assertTrue(queued.cancelled())

    def test_run_async_callback_gets_a_pool(self):
        pool = Gipc.Pool.new(upper)
        guard = gipctest.LoopGuard(30)
        got = []

        def done(source, result):
            got.append(source.run_finish(result))
            guard.quit()

        pool.run_async(b'abc', None, None, guard.wrap(done))
        guard.run()
        self.assertEqual(got, [b'ABC'])

    def test_worker_cancellable_reuse(self):
        # A worker gives its next task the same cancellable only when
        # nothing else holds it: not one a Python function kept, nor one
        # PyGObject holds by a toggle reference for an attribute set on
        # it, nor a cancelled one.
        pool = Gipc.Pool.new(cancellable_probe, pass_task=True)
        pool.props.max_workers = 1

        def run(obj):
            return pool.submit(obj).result(30)

        fresh = (None, False, False)
        self.assertEqual(run('look'), fresh)
        self.assertEqual(run('keep'), 'kept')
        self.assertEqual(run('look'), fresh)
        self.assertEqual(run('tag'), 'tagged')
        for _ in range(3):
            self.assertEqual(run('look'), fresh)
        self.assertEqual(run('self-cancel'), 'cancelled')
        for _ in range(3):
            self.assertEqual(run('look'), fresh)
        self.assertEqual(run('keep'), 'kept')
        self.assertEqual(run('self-cancel'), 'cancelled')
        self.assertEqual(run('kept-state'), [False, False])
        self.assertTrue(pool.close())

    def test_close(self):
        pool = Gipc.Pool.new(square)
        futures = [pool.submit(n) for n in range(5)]
        self.assertTrue(pool.close())
        self.assertEqual([f.result(0) for f in futures],
                         [n * n for n in range(5)])
        self.assertEqual(pool.props.workers, 0)
        with self.assertRaisesGipcError(Gipc.Error.CLOSED):
            pool.run(b'too late')

    def test_task_timeout(self):
        pool = Gipc.Pool.new_for_target(SERVER, 'what')
        pool.props.task_timeout = 300
        slow = pool.submit(('sleep', 120))
        quick = pool.submit(('square', 8))
        with self.assertRaisesIOError(Gio.IOErrorEnum.TIMED_OUT):
            slow.result(60)
        self.assertEqual(quick.result(30), 64)
        with Gipc.PoolExecutor(max_workers=1, task_timeout=300) as executor:
            with self.assertRaisesIOError(Gio.IOErrorEnum.TIMED_OUT):
                executor.submit(time.sleep, 120).result(60)
            self.assertEqual(executor.submit(square, 3).result(30), 9)

    def test_fds_both_ways(self):
        pool = Gipc.Pool.new(read_fds, pass_task=True)
        files = []
        for text in (b'one', b'two'):
            r, w = os.pipe()
            os.write(w, text)
            os.close(w)
            files.append(r)
        try:
            future = pool.submit(None, fds=files)
            self.assertEqual(future.result(30), 2)
        finally:
            for fd in files:
                os.close(fd)
        self.assertEqual(len(future.fds), 1)
        with os.fdopen(future.fds[0], 'rb') as f:
            self.assertEqual(f.read(), b'owt|eno')

    def test_fds_with_run(self):
        pool = Gipc.Pool.new(read_fds_bytes, pass_task=True)
        r, w = os.pipe()
        os.write(w, b'bytes task')
        os.close(w)
        try:
            data, fds = pool.run_with_fds(b'request', [r])
        finally:
            os.close(r)
        self.assertEqual(data, b'request:bytes task')
        self.assertEqual(len(fds), 1)
        with os.fdopen(fds[0], 'rb') as f:
            self.assertEqual(f.read(), b'ksat setyb')
        # run() closes the fds that came back; run_async too.
        r, w = os.pipe()
        os.close(w)
        try:
            self.assertEqual(pool.run(b'x', [r]), b'x:')
        finally:
            os.close(r)

    def test_sandboxed_workers(self):
        pool = Gipc.Pool.new_for_target(SERVER, 'what')
        pool.set_sandbox(Gipc.SandboxFlags.NO_NETWORK
                         | Gipc.SandboxFlags.NO_FILESYSTEM)
        pool.props.memory_limit = 1 << 30
        self.assertEqual(pool.submit(('square', 6)).result(30), 36)
        with Gipc.PoolExecutor(max_workers=1,
                               sandbox=Gipc.SandboxFlags.NO_NETWORK
                               | Gipc.SandboxFlags.NO_FILESYSTEM) as executor:
            found = executor.submit(probe_sandbox, None).result(30)
        self.assertIn(found['file'], (errno.EACCES, errno.EPERM))
        self.assertIn(found['socket'], (errno.EACCES, errno.EPERM))
        # Unsandboxed, the same probe opens both.
        with Gipc.PoolExecutor(max_workers=1) as executor:
            self.assertEqual(executor.submit(probe_sandbox, None).result(30),
                             {'file': 'opened', 'socket': 'opened'})

    def test_new_for_target(self):
        pool = Gipc.Pool.new_for_target(SERVER, 'square')
        self.assertEqual(list(pool.map(range(10))),
                         [n * n for n in range(10)])
        crashy = Gipc.Pool.new_for_target(SERVER, 'what')
        doomed = crashy.submit(('crash', None))
        fine = crashy.submit(('square', 9))
        with self.assertRaisesGipcError(Gipc.Error.WORKER_DIED):
            doomed.result(30)
        self.assertEqual(fine.result(30), 81)

    def test_new_for_target_from_a_thread(self):
        # A thread with a context of its own: the future completes there,
        # driven by result() in that thread.
        results = []

        def work():
            context = GLib.MainContext.new()
            context.push_thread_default()
            try:
                pool = Gipc.Pool.new_for_target(SERVER, 'square')
                results.append(pool.submit(11).result(30))
            finally:
                context.pop_thread_default()

        thread = threading.Thread(target=work)
        thread.start()
        thread.join(60)
        self.assertEqual(results, [121])


class ExecutorTests(gipctest.TestCase):

    def test_submit_and_map(self):
        with Gipc.PoolExecutor(max_workers=2) as executor:
            self.assertIsInstance(executor, concurrent.futures.Executor)
            future = executor.submit(pow, 2, 10)
            self.assertEqual(future.result(30), 1024)
            self.assertEqual(list(executor.map(square, range(10))),
                             [n * n for n in range(10)])
            self.assertEqual(list(executor.map(pow, range(7), range(7),
                                               chunksize=3)),
                             [n ** n for n in range(7)])
            futures = [executor.submit(slow_square, n) for n in range(8)]
            done = set(concurrent.futures.as_completed(futures, timeout=30))
            self.assertEqual(done, set(futures))
        with self.assertRaises(RuntimeError):
            executor.submit(square, 1)

    def test_exception_and_crash(self):
        with Gipc.PoolExecutor(max_workers=2) as executor:
            failing = executor.submit(fail_on_purpose, 'x')
            crashing = executor.submit(os.abort)
            fine = [executor.submit(square, n) for n in range(6)]
            with self.assertRaises(ValueError) as cm:
                failing.result(30)
            self.assertIn('in fail_on_purpose', str(cm.exception.__cause__))
            with self.assertRaisesGipcError(Gipc.Error.WORKER_DIED):
                crashing.result(30)
            self.assertEqual([f.result(30) for f in fine],
                             [n * n for n in range(6)])

    def test_initializer_and_recycling(self):
        with Gipc.PoolExecutor(max_workers=1, initializer=init_worker,
                               initargs=('tagged',),
                               max_tasks_per_child=2) as executor:
            self.assertEqual([executor.submit(tagged, n).result(30)
                              for n in range(3)],
                             [('tagged', 0), ('tagged', 1), ('tagged', 2)])
            pids = [executor.submit(os.getpid).result(30) for _ in range(4)]
            # Two tasks per worker: at least two different workers.
            self.assertGreaterEqual(len(set(pids)), 2)

    def test_failing_initializer(self):
        with Gipc.PoolExecutor(max_workers=1,
                               initializer=failing_init) as executor:
            for _ in range(2):
                with self.assertRaises(RuntimeError) as cm:
                    executor.submit(square, 2).result(30)
                self.assertIn('the initializer failed', str(cm.exception))
                self.assertIn('in failing_init', str(cm.exception.__cause__))

    def test_shutdown_cancel_futures(self):
        executor = Gipc.PoolExecutor(max_workers=1)
        running = executor.submit(time.sleep, 0.5)
        deadline = time.monotonic() + 30
        while not running.running() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertTrue(running.running())
        waiting = [executor.submit(square, n) for n in range(10)]
        executor.shutdown(wait=True, cancel_futures=True)
        self.assertIsNone(running.result(0))
        self.assertTrue(any(f.cancelled() for f in waiting))
        for f in waiting:
            self.assertTrue(f.done())

    def test_spawned_workers(self):
        # A 'spawn' context, as in a program that already has threads when
        # its first executor is made: new interpreters, prepared as
        # multiprocessing's spawn prepares them (this module is the main
        # module, imported as __mp_main__ there).
        import multiprocessing
        with Gipc.PoolExecutor(max_workers=2,
                               mp_context=multiprocessing.get_context('spawn'),
                               initializer=init_worker,
                               initargs=('spawned',)) as executor:
            self.assertEqual(list(executor.map(tagged, range(4))),
                             [('spawned', n) for n in range(4)])
            failing = executor.submit(fail_on_purpose, 1)
            with self.assertRaises(ValueError) as cm:
                failing.result(60)
            self.assertIn('in fail_on_purpose', str(cm.exception.__cause__))
            with self.assertRaisesGipcError(Gipc.Error.WORKER_DIED):
                executor.submit(os.abort).result(60)
            pid = executor.submit(os.getpid).result(60)
        self.assertNotEqual(pid, os.getpid())

    def test_executor_made_in_a_threaded_program(self):
        program = os.path.join(HERE, 'pool_program.py')
        done = subprocess.run(
            [sys.executable, '-c',
             'import sys, threading, runpy; '
             'stop = threading.Event(); '
             'threading.Thread(target=stop.wait, daemon=True).start(); '
             'import gi; gi.require_version("Gipc", "1.0"); '
             'from gi.repository import Gipc; '
             'import concurrent.futures as cf; '
             'cf.ProcessPoolExecutor = Gipc.PoolExecutor; '
             'sys.argv = [sys.argv[1]]; '
             'runpy.run_path(sys.argv[0], run_name="__main__")', program],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn('sum of squares: 332833500', done.stdout)
        self.assertIn('callback saw: [144]', done.stdout)

    def test_a_process_pool_program_switched_by_one_line(self):
        with open(os.path.join(HERE, 'pool_program.py')) as f:
            original = f.read()
        line = ('from concurrent.futures import ProcessPoolExecutor as '
                'Executor  # THE LINE')
        self.assertEqual(original.count(line), 1)
        switched = original.replace(
            line, 'from gi.repository.Gipc import PoolExecutor as Executor')
        outputs = {}
        with tempfile.TemporaryDirectory() as tmp:
            for kind, text in (('process', original), ('gipc', switched)):
                program = os.path.join(tmp, kind + '.py')
                with open(program, 'w') as f:
                    f.write(text)
                done = subprocess.run([sys.executable, program],
                                      capture_output=True, text=True,
                                      timeout=120)
                self.assertEqual(done.returncode, 0, done.stderr)
                outputs[kind] = done.stdout
        self.assertIn('sum of squares: 332833500', outputs['gipc'])
        self.assertIn('callback saw: [144]', outputs['gipc'])
        self.assertEqual(outputs['gipc'], outputs['process'])

if __name__ == '__main__':
    gipctest.main()
