# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""Pools from Python: the part of the gipc-glib overrides for GipcPool.

Gipc.py imports the public names from here (``Gipc.Pool``,
``Gipc.PoolExecutor``, ``Gipc.PoolFuture``, ``Gipc.WorkerTask``,
``Gipc.pool_worker``, ``Gipc.worker_serve``); nothing else should import
this module directly.

Worker functions
----------------
A worker function runs in a worker process and turns one request into one
result:

- ``pool.run(data)``, ``pool.run_async(data, ...)`` (and the same calls
  from C or gjs) send bytes; the function gets ``bytes`` and returns a
  bytes-like object (or ``GLib.Bytes``), which is the result. A
  ``GLib.Error`` it raises travels back as itself (domain, code, message);
  any other exception becomes ``Gipc.Error.FAILED`` whose message is the
  worker's traceback.
- ``pool.submit(obj)`` (and ``pool.map``) send a pickled object; the
  function gets the unpickled object and its return value travels back
  pickled. An exception it raises is re-raised by ``Future.result()`` in
  the caller, with the worker's traceback text as its ``__cause__`` (as
  ``ProcessPoolExecutor`` does).

With ``pass_task=True`` the function is called as ``func(request, task)``,
where ``task`` (a ``Gipc.WorkerTask``) has the file descriptors that came
with the request (``task.fds``, ints that the function owns), a list to
fill with file descriptors to send back (``task.out_fds``: ints are handed
over and closed once sent; objects with ``fileno()``, such as files and
sockets, are duplicated and stay open) and the task's ``Gio.Cancellable`` (``task.cancellable``, cancelled when the
caller cancels the task).

Pickle runs code when it is loaded: ``submit``, ``map`` and
``PoolExecutor`` are for a program and its own workers only, never for
requests or results that cross a trust boundary (use ``run`` with bytes
there).

Where futures complete
----------------------
``Gipc.Pool`` is a GLib object: a task's callback runs in the
thread-default ``GMainContext`` of the thread that submitted it, and so
does the completion of a ``pool.submit`` future (a GTK program sees its
done callbacks in its main loop, where it may touch widgets). A program
that runs no main loop need not start one: ``future.result()``,
``future.exception()`` and ``pool.map()`` iterate that context themselves
while they wait, whenever no other thread is iterating it. (Waiting with
``concurrent.futures.wait`` or ``as_completed`` does not iterate it: use a
running main loop, or ``Gipc.PoolExecutor``.)

``Gipc.PoolExecutor`` is for code written for ``concurrent.futures``: it
owns a private ``GMainContext`` and a thread that iterates it (started
with the executor, stopped by ``shutdown``), so its futures complete on
their own, whatever the caller's threads do; done callbacks run in that
thread, as ``ProcessPoolExecutor``'s run in its management thread.

Fork mode
---------
``Gipc.Pool.new(func)`` makes fork-mode workers: copies of the program
forked from the pool's context. As with ``Gipc.Process.new``, use it in a
program without other Python threads; a program with threads uses a fork
server (``Gipc.Pool.new_for_target``), which ``Gipc.PoolExecutor`` also
uses.
"""

import collections
import concurrent.futures
import functools
import itertools
import os
import pickle
import sys
import threading
import time
import traceback
import weakref
from concurrent.futures import _base

from gi.repository import Gio, GLib

from ..module import get_introspection_module

Gipc = get_introspection_module('Gipc')

__all__ = ['Pool', 'PoolExecutor', 'PoolFuture', 'WorkerTask', 'pool_worker',
           'worker_serve']

# Requests from submit() and their results start with this, then a pickle.
# A bytes request from run() that happens to start with it is taken as a
# pickle too: no caller of run() should send it.
_MAGIC = b'\x00gipc-python-pickle\x00'


# --------------------------------------------------------------------------
# Small conversions (the same rules as the channel overrides)

def _as_gbytes(data):
    if isinstance(data, GLib.Bytes):
        return data
    if isinstance(data, bytes):
        return GLib.Bytes.new(data)
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError('a bytes-like object or GLib.Bytes is required, '
                        'not %r' % type(data).__name__) from None
    return GLib.Bytes.new(view.tobytes())


def _as_bytes(gbytes):
    if gbytes is None:
        return b''
    data = gbytes.get_data()
    return b'' if data is None else bytes(data)


def _as_fd_list(fds):
    """None, a Gio.UnixFDList, or a list of ints and objects with fileno()
    (duplicated into a new list; the caller keeps its own)."""
    if fds is None or isinstance(fds, Gio.UnixFDList):
        return fds
    fds = list(fds)
    if not fds:
        return None
    fd_list = Gio.UnixFDList.new()
    for item in fds:
        fd_list.append(item if isinstance(item, int) else item.fileno())
    return fd_list


def _steal_fds(fd_list):
    if fd_list is None:
        return []
    return list(fd_list.steal_fds())


def _close_fds(fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _gipc_error(code, message):
    return GLib.Error.new_literal(Gipc.error_quark(), message, int(code))


def _split_finish(value):
    """PyGObject gives (GBytes, out_fds) for a function with an out
    parameter; be lenient about a bare GBytes."""
    if isinstance(value, tuple):
        if len(value) == 2:
            return value[0], value[1]
        return value[0], None
    return value, None


# --------------------------------------------------------------------------
# Worker side

class WorkerTask:
    """What a worker function made with ``pass_task=True`` gets besides the
    request: ``fds`` (the file descriptors that came with it, as ints that
    the function owns and should close), ``out_fds`` (a list to fill with
    file descriptors to send back with the result: ints are handed over
    and closed once sent, objects with ``fileno()`` are duplicated and stay
    open) and ``cancellable``
    (the task's ``Gio.Cancellable``, cancelled when the caller cancels the
    task)."""

    __slots__ = ('fds', 'out_fds', 'cancellable')

    def __init__(self, fds, cancellable):
        self.fds = fds
        self.out_fds = []
        self.cancellable = cancellable

    def is_cancelled(self):
        """Whether the caller cancelled this task."""
        return (self.cancellable is not None
                and self.cancellable.is_cancelled())


class _RemoteTraceback(Exception):
    """The worker's traceback, as the __cause__ of a re-raised exception
    (the shape of ProcessPoolExecutor's)."""

    def __init__(self, tb):
        super().__init__(tb)
        self.tb = tb

    def __str__(self):
        return self.tb


class _ExceptionWithTraceback:
    """An exception and the worker's traceback text, pickled together; the
    caller gets the exception back with the text as its __cause__."""

    def __init__(self, exc, tb):
        self.exc = exc
        self.tb = tb

    def __reduce__(self):
        return _rebuild_exception, (self.exc, self.tb)


def _rebuild_exception(exc, tb):
    exc.__cause__ = _RemoteTraceback('\n"""\n%s"""' % tb)
    return exc


def _format_exception(exc):
    """The traceback text of ``exc`` from the worker function's frame down
    (without this module's frames above it)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return ''.join(traceback.format_exception(type(exc), exc, tb))


def _exception_reply(exc):
    tb = _format_exception(exc)
    try:
        # An exception that cannot be pickled (or unpickled) still gets
        # back, as a RuntimeError that says what it was.
        pickle.loads(pickle.dumps(exc, pickle.HIGHEST_PROTOCOL))
    except BaseException:
        exc = RuntimeError('%s: %s (the exception could not be pickled)'
                           % (type(exc).__name__, exc))
    return ('raise', _ExceptionWithTraceback(exc, tb))


def _after_fork_child():
    overrides = sys.modules.get('gi.overrides.Gipc')
    hook = getattr(overrides, '_after_fork_child', None)
    if hook is not None:
        hook()


class _WorkerFunc:
    """The GipcWorkerFunc of a Python worker function."""

    def __init__(self, func, pass_task=False):
        if not callable(func):
            raise TypeError('func must be callable, not %r'
                            % type(func).__name__)
        self._func = func
        self._pass_task = pass_task
        self._pid = os.getpid()

    def _call(self, request, task):
        if self._pass_task:
            return self._func(request, task)
        return self._func(request)

    def __call__(self, request, fds, *rest):
        if self._pid != os.getpid():
            # First call in a fork-mode worker: the interpreter's own
            # after-fork work (threads, locks), as os.fork() does.
            self._pid = os.getpid()
            _after_fork_child()
        cancellable = rest[0] if rest and isinstance(rest[0], Gio.Cancellable) \
            else None
        task = WorkerTask(_steal_fds(fds), cancellable)
        try:
            data = _as_bytes(request)
            if data.startswith(_MAGIC):
                result = self._run_pickled(data, task)
            else:
                result = self._run_bytes(data, task)
            out_fds = _as_fd_list(task.out_fds)
        finally:
            # The ints of out_fds were handed over (the list has its own
            # duplicates); those of fds were the function's only if it
            # could see them.
            _close_fds([fd for fd in task.out_fds if isinstance(fd, int)])
            if not self._pass_task:
                _close_fds(task.fds)
            sys.stdout.flush()
            sys.stderr.flush()
        return result, out_fds

    def _run_bytes(self, data, task):
        try:
            value = self._call(data, task)
            return _as_gbytes(b'' if value is None else value)
        except GLib.Error:
            raise
        except BaseException as e:
            raise _gipc_error(Gipc.Error.FAILED,
                              _format_exception(e).rstrip('\n')) from None

    def _run_pickled(self, data, task):
        try:
            obj = pickle.loads(data[len(_MAGIC):])
            reply = ('ok', self._call(obj, task))
        except BaseException as e:
            reply = _exception_reply(e)
        try:
            payload = pickle.dumps(reply, pickle.HIGHEST_PROTOCOL)
        except BaseException as e:
            payload = pickle.dumps(_exception_reply(e),
                                   pickle.HIGHEST_PROTOCOL)
        return _result_bytes(_MAGIC + payload)


# A result from this size on goes in shared memory: the channel passes it
# as a sealed memfd instead of writing it through the pipe.
_SHARED_RESULT_SIZE = 1 << 20


def _result_bytes(data):
    if len(data) >= _SHARED_RESULT_SIZE:
        try:
            return Gipc.shared_bytes_new_from_data(data)
        except GLib.Error:
            pass
    return GLib.Bytes.new(data)


def worker_serve(channel, func, pass_task=False):
    """Serves the pool's tasks on ``channel`` with the Python worker
    function ``func`` (see gipc_worker_serve()) until the pool stops the
    worker; returns the exit status to use. A Python program started by
    ``Gipc.Pool.new_for_argv`` calls
    ``sys.exit(Gipc.worker_serve(Gipc.Channel.new_inherited(0), func))``."""
    return Gipc.worker_serve(channel, _WorkerFunc(func, pass_task))


def pool_worker(func, pass_task=False):
    """Returns a fork-server target that serves a pool's tasks with
    ``func``: ``server.add_target('name', Gipc.pool_worker(func))`` before
    ``server.start()``, then ``Gipc.Pool.new_for_target(server, 'name')``.
    """
    if not callable(func):
        raise TypeError('func must be callable, not %r' % type(func).__name__)

    def target(process, *args, **kwargs):
        return worker_serve(Gipc.Channel.new_inherited(0), func, pass_task)

    target.__name__ = 'pool_worker(%s)' % getattr(func, '__name__', 'func')
    return target


# --------------------------------------------------------------------------
# Futures

class PoolFuture(concurrent.futures.Future):
    """The ``concurrent.futures.Future`` of a task from ``pool.submit``.

    Unlike a ``ProcessPoolExecutor`` future, ``cancel()`` also stops a
    task that is running: the worker's cancellable is cancelled (and the
    worker killed after the pool's ``cancel-grace``), the future is
    cancelled at once, and ``cancel()`` returns True. ``fds`` is the list
    of file descriptors that the worker sent back with the result (ints,
    the caller's to close).

    ``result()`` and ``exception()`` iterate the submitting thread's
    context while they wait, if no other thread is iterating it."""

    def __init__(self, context=None):
        super().__init__()
        self.fds = []
        self._gipc_context = context
        self._gipc_cancellable = Gio.Cancellable()

    # A running future can be cancelled: it becomes CANCELLED_AND_NOTIFIED
    # at once (what set_running_or_notify_cancel does for a pending one).
    def _gipc_mark_cancelled(self):
        with self._condition:
            if self._state != _base.RUNNING:
                return False
            self._state = _base.CANCELLED_AND_NOTIFIED
            for waiter in self._waiters:
                waiter.add_cancelled(self)
            self._condition.notify_all()
        self._invoke_callbacks()
        return True

    def cancel(self):
        if self._gipc_mark_cancelled():
            self._gipc_cancellable.cancel()
            return True
        return super().cancel()

    def _gipc_drive(self, timeout):
        context = self._gipc_context
        if context is None or self.done() or not context.acquire():
            return
        try:
            deadline = None if timeout is None else time.monotonic() + timeout
            while not self.done():
                if deadline is None:
                    context.iteration(True)
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                wake = GLib.timeout_source_new(int(remaining * 1000) + 1)
                wake.set_callback(lambda *args: GLib.SOURCE_REMOVE)
                wake.attach(context)
                try:
                    context.iteration(True)
                finally:
                    wake.destroy()
        finally:
            context.release()

    def result(self, timeout=None):
        start = time.monotonic()
        self._gipc_drive(timeout)
        if timeout is not None:
            timeout = max(0.0, timeout - (time.monotonic() - start))
        return super().result(timeout)

    def exception(self, timeout=None):
        start = time.monotonic()
        self._gipc_drive(timeout)
        if timeout is not None:
            timeout = max(0.0, timeout - (time.monotonic() - start))
        return super().exception(timeout)


def _complete(future, pool, result):
    """Completes ``future`` from a finished run_async: its unpickled value,
    the worker's exception, or the pool's GLib.Error."""
    try:
        gbytes, out_fds = _split_finish(Gipc.Pool.run_finish(pool, result))
    except GLib.Error as e:
        if e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED):
            future._gipc_mark_cancelled()
        elif not future.done():
            future.set_exception(e)
        return
    fds = _steal_fds(out_fds)
    if future.done():
        # Cancelled while the result was on its way.
        _close_fds(fds)
        return
    future.fds = fds
    data = _as_bytes(gbytes)
    try:
        if not data.startswith(_MAGIC):
            raise _gipc_error(Gipc.Error.PROTOCOL,
                              'the worker did not answer with a Python '
                              'pickle (is it a Python worker function?)')
        kind, value = pickle.loads(data[len(_MAGIC):])
    except BaseException as e:
        future.set_exception(e)
        return
    if kind == 'ok':
        future.set_result(value)
    else:
        future.set_exception(value)


_finisher = None


def _finishing_pool(source, weak_pool):
    """A pool object to call run_finish() on. The callback's source object
    is the pool, held weakly by the result (pending tasks do not keep the
    pool alive), so it is None once the pool was finalized, and
    gipc_pool_run_finish accepts any pool then; PyGObject cannot pass None
    as the instance, so this gives the task's pool while it lives, else a
    pool that never runs anything."""
    global _finisher
    if source is not None:
        return source
    pool = weak_pool() if weak_pool is not None else None
    if pool is not None:
        return pool
    if _finisher is None:
        _finisher = Gipc.Pool.new_for_argv(['/bin/false'])
    return _finisher


def _pickled_request(obj):
    return GLib.Bytes.new(_MAGIC + pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))


# --------------------------------------------------------------------------
# Gipc.Pool

class Pool(Gipc.Pool):
    """A pool of warm worker processes (see GipcPool).

    ``Gipc.Pool.new(func)`` (fork-mode workers running ``func``),
    ``Gipc.Pool.new_for_target(server, name)`` (fork-server workers; the
    target is ``Gipc.pool_worker(func)``) or ``Gipc.Pool.new_for_argv(argv)``
    (programs that call gipc_worker_serve()). ``run``/``run_async`` send
    bytes, ``submit``/``map`` send picklable objects."""

    # PyGObject's override() takes the namespace from the module's name.
    __module__ = 'gi.overrides.Gipc'

    @classmethod
    def new(cls, func, pass_task=False):
        """A pool of fork-mode workers that run ``func`` (see the module's
        documentation)."""
        return Gipc.Pool.new(_WorkerFunc(func, pass_task))

    @classmethod
    def new_for_target(cls, server, name, *args, **kwargs):
        """A pool whose workers are the fork-server target ``name`` (made
        with ``Gipc.pool_worker(func)``, or any target that calls
        ``Gipc.worker_serve``); ``args`` and ``kwargs`` (picklable) reach
        the target after ``process``, as with
        ``Gipc.Process.new_for_target``."""
        variant = None
        if args or kwargs:
            overrides = sys.modules['gi.overrides.Gipc']
            data, channels = overrides._dump_server_args(args, kwargs)
            if channels:
                raise TypeError('a pool cannot pass channels to its workers')
            variant = GLib.Variant('ay', data)
        return Gipc.Pool.new_for_target(server, name, variant)

    # Bytes in, bytes out.

    def run(self, request, fds=None, cancellable=None):
        """Runs one task and waits for it (from any thread, without a main
        loop): the result as ``bytes``. File descriptors that the worker
        sent back are closed; use ``run_with_fds`` to keep them."""
        data, fds = self.run_with_fds(request, fds, cancellable)
        _close_fds(fds)
        return data

    def run_with_fds(self, request, fds=None, cancellable=None):
        """``run`` with file descriptors both ways: ``fds`` (a
        ``Gio.UnixFDList`` or a list of ints and files, duplicated) go
        with the request; returns ``(bytes, [fd, ...])``, the fds the
        caller's to close."""
        gbytes, out_fds = _split_finish(
            Gipc.Pool.run(self, _as_gbytes(request), _as_fd_list(fds),
                          cancellable))
        return _as_bytes(gbytes), _steal_fds(out_fds)

    def run_async(self, request, fds=None, cancellable=None, callback=None,
                  *user_data):
        """Starts one task; ``callback(pool, result, *user_data)`` runs in
        the caller's thread-default context, where
        ``pool.run_finish(result)`` (or ``run_with_fds_finish``) gives its
        outcome. A pending task does not keep the pool alive; once the pool
        is gone, the ``pool`` passed to the callback is a stand-in whose
        ``run_finish`` still works."""
        if callback is not None:
            weak_pool = weakref.ref(self)
            user_callback = callback

            def callback(source, result, *data):
                return user_callback(_finishing_pool(source, weak_pool),
                                     result, *data)
        return Gipc.Pool.run_async(self, _as_gbytes(request),
                                   _as_fd_list(fds), cancellable, callback,
                                   *user_data)

    def run_finish(self, result):
        """The result of ``run_async`` as ``bytes`` (fds sent back are
        closed); raises its ``GLib.Error``."""
        data, fds = self.run_with_fds_finish(result)
        _close_fds(fds)
        return data

    def run_with_fds_finish(self, result):
        """The result of ``run_async`` as ``(bytes, [fd, ...])``."""
        gbytes, out_fds = _split_finish(Gipc.Pool.run_finish(self, result))
        return _as_bytes(gbytes), _steal_fds(out_fds)

    # Python objects in, Python objects out.

    def submit(self, obj, fds=None):
        """Sends ``obj`` (pickled) to a worker, whose function gets it
        unpickled; returns a ``Gipc.PoolFuture`` (a
        ``concurrent.futures.Future``) of the function's return value.
        ``fds`` go with the request (``task.fds`` in a ``pass_task``
        function)."""
        future = PoolFuture(GLib.MainContext.ref_thread_default())
        request = _pickled_request(obj)
        future.set_running_or_notify_cancel()
        Gipc.Pool.run_async(self, request, _as_fd_list(fds),
                            future._gipc_cancellable,
                            _submit_done_cb, (future, weakref.ref(self)))
        return future

    def map(self, iterable, window=None):
        """Yields ``func(obj)`` for each ``obj`` of ``iterable``, in order.
        The iterable is read lazily: at most ``window`` tasks (default: twice
        ``max-workers``) are in the pool at once. An exception from a task is
        raised where its result would be; closing the generator cancels the
        tasks still in the pool."""
        if window is None:
            window = 2 * (self.props.max_workers or os.cpu_count() or 1)
        if window < 1:
            raise ValueError('window must be at least 1')
        pending = collections.deque()
        try:
            for obj in iterable:
                pending.append(self.submit(obj))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()

    def close(self, cancellable=None):
        """Closes the pool (see gipc_pool_close_async()) and waits until its
        queued tasks are done and its workers stopped, iterating the
        caller's context."""
        context = GLib.MainContext.ref_thread_default()
        done = []
        Gipc.Pool.close_async(self, cancellable,
                              lambda source, result: done.append(result))
        while not done:
            context.iteration(True)
        return Gipc.Pool.close_finish(self, done[0])


def _submit_done_cb(source, result, data):
    future, weak_pool = data
    _complete(future, _finishing_pool(source, weak_pool), result)


# --------------------------------------------------------------------------
# Gipc.PoolExecutor

class _ExecutorCall:
    """The worker function of an executor: (fn, args, kwargs) -> result,
    after the initializer, once per worker process."""

    def __init__(self, initializer, initargs):
        self._initializer = initializer
        self._initargs = initargs
        self._initialized_pid = None

    def __call__(self, request):
        if self._initializer is not None \
                and self._initialized_pid != os.getpid():
            self._initializer(*self._initargs)
            self._initialized_pid = os.getpid()
        fn, args, kwargs = request
        return fn(*args, **kwargs)


# The executors' fork server: one for the whole program, started by the
# first executor (when the program has one thread), reused by every later
# one. Its target gets the worker function with each worker (the pool's
# target arguments), so executors with different initializers share it.
_server_lock = threading.Lock()
_server = None
_SERVER_TARGET = 'gipc-python-pool-executor'


def _executor_target(process, worker_func_pickle):
    func = pickle.loads(worker_func_pickle)
    return worker_serve(Gipc.Channel.new_inherited(0), func)


def _thread_count():
    try:
        return len(os.listdir('/proc/self/task'))
    except OSError:
        return threading.active_count()


def _executor_server():
    """The shared fork server, started now if need be; None if it cannot
    be (the program already has threads)."""
    global _server
    with _server_lock:
        if _server is not None and _server.is_running():
            return _server
        if _server is not None:
            # A server that died is replaced by the library on the next
            # start (gipc_fork_server_start's contract).
            return _server
        if _thread_count() > 1:
            return None
        server = Gipc.ForkServer.new()
        server.add_target(_SERVER_TARGET, _executor_target)
        try:
            server.start()
        except GLib.Error:
            return None
        _server = server
        return _server


# Spawned executor workers: a new interpreter that prepares itself as
# multiprocessing's spawn start method does (the parent's sys.path, its
# main module imported as __mp_main__), then serves the pool's tasks.
_SPAWN_CODE = ('import sys, gi; gi.require_version("Gipc", "1.0"); '
               'from gi.repository import Gipc; '
               'from gi.overrides import gipc_pool; '
               'sys.exit(gipc_pool._spawned_worker(sys.argv[1]))')


def _spawn_argv(worker_func):
    import base64
    import multiprocessing.spawn
    preparation = multiprocessing.spawn.get_preparation_data(
        'gipc-pool-worker')
    if 'authkey' in preparation:
        # An AuthenticationString refuses pickling outside multiprocessing.
        preparation['authkey'] = bytes(preparation['authkey'])
    data = (preparation, pickle.dumps(worker_func, pickle.HIGHEST_PROTOCOL))
    return [sys.executable, '-c', _SPAWN_CODE,
            base64.b64encode(pickle.dumps(data, pickle.HIGHEST_PROTOCOL))
            .decode('ascii')]


def _spawned_worker(argument):
    import base64
    import multiprocessing.spawn
    preparation, worker_func = pickle.loads(base64.b64decode(argument))
    multiprocessing.spawn.prepare(preparation)
    return worker_serve(Gipc.Channel.new_inherited(0),
                        pickle.loads(worker_func))


def _process_chunk(fn, chunk):
    return [fn(*args) for args in chunk]


def _chunks(chunksize, *iterables):
    it = zip(*iterables)
    while True:
        chunk = tuple(itertools.islice(it, chunksize))
        if not chunk:
            return
        yield chunk


def _chain_results(iterator):
    for chunk in iterator:
        yield from chunk


class _Driver:
    """A thread iterating a private GMainContext, and a queue of calls to
    run in it."""

    def __init__(self, name):
        self.context = GLib.MainContext.new()
        self._calls = collections.deque()
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=name,
                                        daemon=True)

    def start(self):
        self._thread.start()

    def call(self, func, *args):
        """Runs ``func(*args)`` in the thread, soon."""
        with self._lock:
            self._calls.append((func, args))
        self.context.wakeup()

    def is_current(self):
        return threading.current_thread() is self._thread

    def stop(self):
        with self._lock:
            self._stop = True
        self.context.wakeup()
        if self._thread.is_alive() \
                and threading.current_thread() is not self._thread:
            self._thread.join()

    def _run(self):
        self.context.push_thread_default()
        try:
            while True:
                with self._lock:
                    calls = list(self._calls)
                    self._calls.clear()
                    stop = self._stop and not calls
                for func, args in calls:
                    try:
                        func(*args)
                    except BaseException:
                        traceback.print_exc()
                if stop:
                    break
                with self._lock:
                    if self._calls or self._stop:
                        continue
                self.context.iteration(True)
        finally:
            self.context.pop_thread_default()


class PoolExecutor(concurrent.futures.Executor):
    """A ``concurrent.futures.Executor`` on a ``Gipc.Pool``, a drop-in for
    ``ProcessPoolExecutor``: same arguments, same futures, same
    ``submit``, ``map``, ``shutdown`` and ``with`` block.

    ``PoolExecutor(max_workers=None, mp_context=None, initializer=None,
    initargs=(), *, max_tasks_per_child=None, **properties)``:
    ``max_workers`` defaults to the number of CPUs; ``mp_context`` only
    chooses where the workers come from (a context whose start method is
    ``'spawn'`` gives spawned workers, any other the fork server below);
    ``initializer(*initargs)`` runs once in each worker before its first
    task; ``max_tasks_per_child`` recycles a worker after that many tasks.
    Any other keyword sets a property of the pool (``sandbox``,
    ``memory_limit``, ``task_timeout``, ``cancel_grace``, ...).

    Differences from ``ProcessPoolExecutor``, all in the caller's favour: a
    worker that dies (a crash, ``os._exit``, the memory limit) fails only
    the future of the task it ran, with ``GLib.Error``
    (``Gipc.Error.WORKER_DIED``), and the executor goes on (no
    ``BrokenProcessPool``); a ``task_timeout`` fails a task with
    ``Gio.IOErrorEnum.TIMED_OUT``; an exception from the initializer fails
    the task it ran before, and the initializer runs again before the next.

    Where it runs: the first executor of a program starts a fork server (a
    copy of the program as it is then) and later executors share it; so
    create the first one before the program starts threads, and after the
    functions it will run are defined (as for ``ProcessPoolExecutor``'s
    fork context, the functions are pickled by reference). In a program
    that already has threads at that point (where no fork is safe: a child
    forked while another thread holds the interpreter lock waits for it
    forever), the workers are spawned instead: new interpreters prepared
    as ``multiprocessing``'s spawn start method prepares its children (the
    parent's ``sys.path``, its main module imported as ``__mp_main__``, so
    the program needs the usual ``if __name__ == '__main__':`` guard).
    Each executor has a thread that iterates its private ``GMainContext``:
    futures complete there, and done callbacks run there."""

    def __init__(self, max_workers=None, mp_context=None, initializer=None,
                 initargs=(), *, max_tasks_per_child=None, **properties):
        if max_workers is None:
            max_workers = os.cpu_count() or 1
        elif max_workers <= 0:
            raise ValueError('max_workers must be greater than 0')
        if initializer is not None and not callable(initializer):
            raise TypeError('initializer must be a callable')
        if max_tasks_per_child is not None:
            if not isinstance(max_tasks_per_child, int):
                raise TypeError('max_tasks_per_child must be an integer')
            if max_tasks_per_child <= 0:
                raise ValueError('max_tasks_per_child must be >= 1')
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._shutdown = False
        self._pending = collections.deque()
        self._in_flight = 0
        self._futures = set()
        self._closed = threading.Event()

        worker_func = _ExecutorCall(initializer, initargs)
        self._driver = _Driver('gipc-pool-executor')
        method = None
        if mp_context is not None:
            method = mp_context.get_start_method()
        server = _executor_server() if method != 'spawn' else None
        self._driver.context.push_thread_default()
        try:
            if server is not None:
                self._pool = Gipc.Pool.new_for_target(
                    server, _SERVER_TARGET,
                    GLib.Variant('ay', pickle.dumps(
                        ((pickle.dumps(worker_func, pickle.HIGHEST_PROTOCOL),),
                         {}), pickle.HIGHEST_PROTOCOL)))
            else:
                self._pool = Gipc.Pool.new_for_argv(_spawn_argv(worker_func))
            self._pool.props.max_workers = max_workers
            if max_tasks_per_child is not None:
                self._pool.props.max_tasks_per_worker = max_tasks_per_child
            for name, value in properties.items():
                self._pool.set_property(name.replace('_', '-'), value)
        finally:
            self._driver.context.pop_thread_default()
        self._driver.start()

    # Executor API

    def submit(self, fn, /, *args, **kwargs):
        with self._lock:
            if self._shutdown:
                raise RuntimeError('cannot schedule new futures after '
                                   'shutdown')
            future = concurrent.futures.Future()
            self._pending.append((future, _pickled_request((fn, args,
                                                            kwargs))))
            self._futures.add(future)
        future.add_done_callback(self._forget)
        self._driver.call(self._dispatch)
        return future

    submit.__doc__ = concurrent.futures.Executor.submit.__doc__

    def map(self, fn, *iterables, timeout=None, chunksize=1):
        if chunksize < 1:
            raise ValueError('chunksize must be >= 1.')
        if chunksize == 1:
            return super().map(fn, *iterables, timeout=timeout)
        results = super().map(functools.partial(_process_chunk, fn),
                              _chunks(chunksize, *iterables),
                              timeout=timeout)
        return _chain_results(results)

    map.__doc__ = concurrent.futures.Executor.map.__doc__

    def shutdown(self, wait=True, *, cancel_futures=False):
        with self._lock:
            already = self._shutdown
            self._shutdown = True
            cancelled = []
            if cancel_futures:
                while self._pending:
                    future, _ = self._pending.popleft()
                    cancelled.append(future)
        for future in cancelled:
            future.cancel()
        if not already:
            self._driver.call(self._close_when_idle)
        if wait and not self._driver.is_current():
            # (From a done callback, in the executor's own thread, waiting
            # would wait for itself: the executor closes after it returns.)
            self._closed.wait()
            self._driver.stop()

    shutdown.__doc__ = concurrent.futures.Executor.shutdown.__doc__

    # In the driver thread

    def _forget(self, future):
        with self._lock:
            self._futures.discard(future)

    def _dispatch(self):
        while True:
            with self._lock:
                # One more than the workers, as ProcessPoolExecutor's call
                # queue: a worker that finishes finds its next task there.
                if self._in_flight > self._max_workers or not self._pending:
                    break
                future, request = self._pending.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            with self._lock:
                self._in_flight += 1
            cancellable = Gio.Cancellable()
            Gipc.Pool.run_async(self._pool, request, None, cancellable,
                                self._done_cb, future)
        self._close_when_idle()

    def _done_cb(self, pool, result, future):
        with self._lock:
            self._in_flight -= 1
        _complete(_StandardFuture(future), self._pool, result)
        self._dispatch()

    def _close_when_idle(self):
        with self._lock:
            if not self._shutdown or self._pending or self._in_flight \
                    or getattr(self, '_closing', False):
                return
            self._closing = True
        Gipc.Pool.close_async(self._pool, None, self._closed_cb)

    def _closed_cb(self, source, result):
        try:
            Gipc.Pool.close_finish(self._pool, result)
        except GLib.Error:
            pass
        self._closed.set()
        self._driver.stop()


class _StandardFuture:
    """_complete()'s view of an executor's standard Future: a running task
    that the pool reports as cancelled (the executor was finalized)
    becomes an exception, as a standard running future cannot be
    cancelled."""

    def __init__(self, future):
        self._future = future
        self.fds = []

    def done(self):
        return self._future.done()

    def set_result(self, value):
        self._future.set_result(value)

    def set_exception(self, exc):
        self._future.set_exception(exc)

    def _gipc_mark_cancelled(self):
        if not self._future.done():
            self._future.set_exception(concurrent.futures.CancelledError())
