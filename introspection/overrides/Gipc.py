# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""PyGObject overrides for gipc-glib (``from gi.repository import Gipc``).

What they add to the introspected API:

- ``Gipc.pipe(duplex=False, encoder='default', decoder='default')`` (or
  ``Gipc.pipe(Gipc.PipeFlags...)``) returns the pair of channels,
  ``r, w = Gipc.pipe()``, without the boolean PyGObject would put first.
  The pair is also a context manager that closes both ends (the second
  first, as gipc does). ``encoder`` and ``decoder`` are gipc's: the codec
  of ``put()`` and ``get()`` on both ends.
- ``ch.put(obj)`` / ``ch.get()`` send and receive Python objects, as gipc's
  handles: by default the payload is ``pickle.dumps(obj,
  pickle.HIGHEST_PROTOCOL)`` and ``get()`` returns ``pickle.loads(payload)``
  (the wire format of gipc's default codec). Unpickling runs code chosen by
  the sender: use the default codec only with peers you trust (your own
  children), ``encoder=None, decoder=None`` (raw bytes) otherwise.
- ``Gipc.Channel`` is a context manager: leaving a ``with`` block closes the
  channel; closing an already closed channel is not an error, but a channel
  busy with an operation raises ``GLib.Error`` (``Gipc.Error.LOCKED``).
- ``send()`` and ``send_async()`` accept ``bytes``, ``bytearray``,
  ``memoryview`` (any bytes-like object) or ``GLib.Bytes``; ``receive()`` and
  ``receive_finish()`` return ``bytes``. The ``message`` signal still
  carries a ``GLib.Bytes`` (call ``get_data()``).
- ``Gipc.Process.new(target, *args, **kwargs)`` runs
  ``target(process, *args, **kwargs)`` in a forked child, and passes it
  every channel found in ``args`` and ``kwargs`` (also inside lists,
  tuples, sets and dicts), as gipc's ``start_process`` does: they are
  closed in the parent once the child runs. Its exit status is
  what a Python program's would be: returning ``None`` gives 0, an ``int``
  gives that status (modulo 256), ``sys.exit(n)`` gives ``n``
  (``sys.exit()`` gives 0, ``sys.exit("message")`` prints the message to
  stderr and gives 1), and an uncaught exception prints its traceback to
  stderr and gives 1. Any other return value is reported on stderr and
  gives 1. The child flushes ``sys.stdout`` and ``sys.stderr`` and leaves
  with ``_exit``: no ``atexit`` handler, no ``finally`` block of the
  parent's stack and no interpreter shutdown runs in it.
- ``Gipc.Process.start()`` flushes ``sys.stdout`` and ``sys.stderr`` before
  the fork (so buffered output is not written twice), and in fork mode runs
  the interpreter's fork hooks, as ``os.fork()`` does: the handlers of
  ``os.register_at_fork()``, the re-initialisation of the interpreter's
  locks and threads in the child, the reseeding of ``random``.

- gipc's process surface: ``Gipc.start_process(target, args=(),
  kwargs={}, daemon=None, name=None)`` and ``Gipc.Process(target=...,
  ...)``, ``join(timeout=seconds)``, ``exitcode`` (None while the child
  runs), ``get(timeout=seconds)`` raising ``Gipc.GIPCTimeout``, ``poll()``
  and an ``EOFError`` from ``get()`` at the end of the stream: see the
  block "gipc's process surface" at the end of this file.

Fork mode forks from inside a C call, in which PyGObject has released the
interpreter lock: in a program with other Python threads, use spawn mode
(``Gipc.Process.new_for_argv()``), as for any fork without exec.
"""

import pickle
import sys
import traceback

from gi.repository import Gio, GLib

from ..module import get_introspection_module
from ..overrides import override

Gipc = get_introspection_module('Gipc')

__all__ = []


# --------------------------------------------------------------------------
# Interpreter fork hooks

def _python_api(name):
    """A void function of the C API, called with the interpreter lock held,
    or None if it cannot be found."""
    try:
        import ctypes
        func = getattr(ctypes.pythonapi, name)
    except (ImportError, AttributeError, OSError):
        return None
    func.argtypes = []
    func.restype = None
    return func


_before_fork = _python_api('PyOS_BeforeFork')
_after_fork_parent = _python_api('PyOS_AfterFork_Parent')
_after_fork_child = _python_api('PyOS_AfterFork_Child')
if None in (_before_fork, _after_fork_parent, _after_fork_child):
    _before_fork = _after_fork_parent = _after_fork_child = None


def _flush_std_streams():
    seen = set()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        if stream is None or id(stream) in seen:
            continue
        seen.add(id(stream))
        try:
            stream.flush()
        except Exception:
            pass


# --------------------------------------------------------------------------
# Fork-mode targets

def _status_from_system_exit(code):
    # The rules of the interpreter's own handling of SystemExit.
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xff
    try:
        print(code, file=sys.stderr)
    except Exception:
        pass
    return 1


class _ChildTarget:
    """The GipcProcessFunc of a Python target: runs in the child only."""

    __slots__ = ('_func', '_args', '_kwargs')

    def __init__(self, func, args, kwargs):
        self._func = func
        self._args = args
        self._kwargs = kwargs

    def __call__(self, process):
        try:
            if _after_fork_child is not None:
                _after_fork_child()
            return self._run(process)
        except BaseException:
            # Only reached if reporting the target's failure failed.
            return 1
        finally:
            _flush_std_streams()

    def _run(self, process):
        try:
            result = self._func(process, *self._args, **self._kwargs)
        except SystemExit as e:
            return _status_from_system_exit(e.code)
        except BaseException as e:
            # As the interpreter reports an uncaught exception: from the
            # target's frame down, without this wrapper's frame.
            traceback.print_exception(type(e), e, e.__traceback__.tb_next)
            return 1
        if result is None:
            return 0
        if isinstance(result, int):
            return result & 0xff
        print('gipc: the target %r returned %r, not an int or None; '
              'exit status 1' % (self._func, result), file=sys.stderr)
        return 1


class Process(Gipc.Process):
    """A child process: ``Gipc.Process.new(target, *args, **kwargs)`` for
    fork mode, ``Gipc.Process.new_for_argv(argv)`` for spawn mode."""

    @classmethod
    def new(cls, target, *args, **kwargs):
        """Creates a fork-mode process whose child runs
        ``target(process, *args, **kwargs)``; see the module's
        documentation for how the result becomes the exit status."""
        if not callable(target):
            raise TypeError('target must be callable, not %r'
                            % type(target).__name__)
        process = Gipc.Process.new(_ChildTarget(target, args, kwargs))
        # Kept on the wrapper, which PyGObject then keeps alive with the
        # GObject.
        process._gipc_python_target = True
        for channel in _channels_in((args, kwargs)):
            process.pass_channel(channel)
        return process

    def pass_channel(self, channel):
        """Gives ``channel`` to the child (see gipc_process_pass_channel());
        passing a channel that this process already has again does
        nothing, so an explicit call after ``new()`` found it is fine."""
        passed = getattr(self, '_gipc_passed', None)
        if passed is None:
            passed = self._gipc_passed = []
        if any(c is channel for c in passed):
            return None
        result = Gipc.Process.pass_channel(self, channel)
        passed.append(channel)
        return result

    def start(self):
        """Starts the child (see gipc_process_start()); in fork mode, after
        running the interpreter's fork hooks."""
        _flush_std_streams()
        hooks = (_before_fork is not None
                 and getattr(self, '_gipc_python_target', False))
        if not hooks:
            return Gipc.Process.start(self)
        _before_fork()
        try:
            return Gipc.Process.start(self)
        finally:
            _after_fork_parent()


Process = override(Process)
__all__.append('Process')


def _channels_in(value):
    """The Gipc.Channel objects in ``value`` and, recursively, in the
    lists, tuples, sets, frozensets and dicts (keys and values) it holds:
    each once, in the order found."""
    found = []
    seen = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Gipc.Channel):
            if id(item) not in seen:
                seen.add(id(item))
                found.append(item)
            continue
        if isinstance(item, dict):
            children = [x for kv in item.items() for x in kv]
        elif isinstance(item, (list, tuple)):
            children = list(item)
        elif isinstance(item, (set, frozenset)):
            children = list(item)
        else:
            continue
        if id(item) in seen:
            continue            # a container seen before (or a cycle)
        seen.add(id(item))
        # Depth first, left to right.
        stack.extend(reversed(children))
    return found


# --------------------------------------------------------------------------
# Channels

def _as_gbytes(message):
    if isinstance(message, GLib.Bytes):
        return message
    if isinstance(message, bytes):
        return GLib.Bytes.new(message)
    try:
        view = memoryview(message)
    except TypeError:
        raise TypeError('a bytes-like object or GLib.Bytes is required, '
                        'not %r' % type(message).__name__) from None
    return GLib.Bytes.new(view.tobytes())


def _as_fd_list(fds):
    if fds is None or isinstance(fds, Gio.UnixFDList):
        return fds
    fd_list = Gio.UnixFDList.new()
    for item in fds:
        fd = item if isinstance(item, int) else item.fileno()
        fd_list.append(fd)
    return fd_list


def _as_bytes(gbytes):
    data = gbytes.get_data()
    return b'' if data is None else bytes(data)


class Channel(Gipc.Channel):
    """One end of a message channel; a context manager that closes it."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, tb):
        try:
            self.close()
        except GLib.Error as e:
            # As gipc's handles: a channel closed inside the block is fine,
            # a busy one is an error.
            if not e.matches(Gipc.error_quark(), Gipc.Error.CLOSED):
                raise
        return False

    def send(self, message, cancellable=None):
        """Sends ``message`` (bytes-like or GLib.Bytes), blocking."""
        return Gipc.Channel.send(self, _as_gbytes(message), cancellable)

    def send_async(self, message, cancellable=None, callback=None,
                   *user_data):
        """Sends ``message`` (bytes-like or GLib.Bytes); ``callback`` may be
        None (fire and forget)."""
        return Gipc.Channel.send_async(self, _as_gbytes(message),
                                       cancellable, callback, *user_data)

    def receive(self, cancellable=None):
        """Receives the next message as ``bytes``, blocking."""
        return _as_bytes(Gipc.Channel.receive(self, cancellable))

    def receive_finish(self, result):
        """Finishes ``receive_async()``: the message as ``bytes``."""
        return _as_bytes(Gipc.Channel.receive_finish(self, result))

    # File descriptors, on channels that can pass them (made with
    # Gipc.PipeFlags.UNIX_FDS).

    def send_with_fds(self, message, fds=None, cancellable=None):
        """Sends ``message`` (bytes-like or GLib.Bytes) with file
        descriptors, blocking. ``fds``: a ``Gio.UnixFDList``, or a list of
        ints and objects with ``fileno()`` (files, sockets). The peer gets
        duplicates; the caller's fds stay open."""
        return Gipc.Channel.send_with_fds(self, _as_gbytes(message),
                                          _as_fd_list(fds), cancellable)

    def send_with_fds_async(self, message, fds=None, cancellable=None,
                            callback=None, *user_data):
        """``send_with_fds()`` without blocking; finish with
        ``send_with_fds_finish()``."""
        return Gipc.Channel.send_with_fds_async(self, _as_gbytes(message),
                                                _as_fd_list(fds), cancellable,
                                                callback, *user_data)

    def receive_with_fds(self, cancellable=None):
        """Receives the next message, blocking: ``(bytes, fd_list)``, where
        ``fd_list`` is a ``Gio.UnixFDList`` of the fds that came with it, or
        None. The fds close with the list; take them with
        ``fd_list.steal_fds()``, or use ``receive_fds()``."""
        message, fds = Gipc.Channel.receive_with_fds(self, cancellable)
        return _as_bytes(message), fds

    def receive_with_fds_finish(self, result):
        """Finishes ``receive_async()`` with the message's fds: ``(bytes,
        fd_list)`` as ``receive_with_fds()``."""
        message, fds = Gipc.Channel.receive_with_fds_finish(self, result)
        return _as_bytes(message), fds

    def receive_fds(self, cancellable=None):
        """Receives the next message, blocking: ``(bytes, [fd, ...])``. The
        fds (close-on-exec ints) are the caller's to close, for example with
        ``os.fdopen(fd)`` or ``socket.socket(fileno=fd)``."""
        data, fds = self.receive_with_fds(cancellable)
        return data, (list(fds.steal_fds()) if fds is not None else [])

    # gipc's surface: objects through the channel's codec.

    def set_codec(self, encoder='default', decoder='default'):
        """Sets the codec of ``put()`` and ``get()``, with the meaning of
        gipc's ``pipe()`` arguments: ``'default'`` (pickle), ``None`` (raw
        bytes) or a callable. ``Gipc.pipe()`` sets it on the ends it makes;
        other channels (``new_inherited()``, ``new_from_fds()``) start with
        the default."""
        _check_codec('encoder', encoder)
        _check_codec('decoder', decoder)
        self._gipc_encoder = encoder
        self._gipc_decoder = decoder

    def put(self, obj, cancellable=None):
        """Sends ``obj``, encoded by the channel's encoder (by default
        ``pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)``), blocking until it
        is written. With ``encoder=None`` ``obj`` must be bytes-like."""
        encoder = getattr(self, '_gipc_encoder', 'default')
        if encoder is None:
            payload = obj
        elif callable(encoder):
            payload = encoder(obj)
        else:
            payload = pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
        return self.send(payload, cancellable)

    def get(self, cancellable=None):
        """Receives the next message, decoded by the channel's decoder (by
        default ``pickle.loads``; with ``decoder=None``, the ``bytes``).
        Unpickling runs code the sender chose: only from a trusted peer."""
        payload = self.receive(cancellable)
        decoder = getattr(self, '_gipc_decoder', 'default')
        if decoder is None:
            return payload
        if callable(decoder):
            return decoder(payload)
        return pickle.loads(payload)


Channel = override(Channel)
__all__.append('Channel')


class _ChannelPair(tuple):
    """The pair of ends from ``Gipc.pipe()``: a tuple, and a context manager
    that closes the second end, then the first (gipc's order). If both
    closes fail, the first end's error is raised."""

    __slots__ = ()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, tb):
        error = None
        for end in (self[1], self[0]):
            try:
                end.__exit__(exc_type, exc_value, tb)
            except GLib.Error as e:
                error = e
        if error is not None:
            raise error
        return False


def _check_codec(name, codec):
    # gipc accepts exactly these, and checks them before any fd exists.
    if isinstance(codec, str):
        if codec == 'default':
            return
    elif codec is None or callable(codec):
        return
    raise TypeError("pipe %r argument must be 'default', None or callable, "
                    "not %r" % (name, codec))


def pipe(duplex=False, encoder='default', decoder='default', flags=None):
    """Creates a pair of connected channels and returns them as ``(end1,
    end2)``: the reader, then the writer; with ``duplex=True`` (or
    ``Gipc.PipeFlags.DUPLEX``, given as the first argument or as
    ``flags``) two ends that both send and receive.

    ``encoder`` and ``decoder`` are the codec of ``put()`` and ``get()`` on
    both ends, as in gipc: ``'default'`` is pickle (``pickle.dumps(obj,
    pickle.HIGHEST_PROTOCOL)``, ``pickle.loads``), ``None`` raw bytes, or
    a callable (object to bytes, bytes to object). ``send()`` and
    ``receive()`` always move raw bytes."""
    if flags is None:
        if isinstance(duplex, Gipc.PipeFlags):
            flags = duplex
        else:
            flags = (Gipc.PipeFlags.DUPLEX if duplex
                     else Gipc.PipeFlags.NONE)
    _check_codec('encoder', encoder)
    _check_codec('decoder', decoder)
    result = Gipc.pipe(flags)
    # PyGObject 3.42 returns (True, end1, end2) for a gboolean function with
    # two out parameters; newer versions may drop the boolean.
    if len(result) == 3:
        result = result[1:]
    for end in result:
        end.set_codec(encoder, decoder)
    return _ChannelPair(result)


__all__.append('pipe')


# --------------------------------------------------------------------------
# Shared memory

def shared_bytes_new(size_or_data):
    """Returns a ``GLib.Bytes`` backed by shared memory (a memfd), which a
    channel that can pass file descriptors sends without copying it.

    ``size_or_data`` is either a size (an ``int``: the bytes are that many
    zeros) or the data to copy in: any bytes-like object (``bytes``,
    ``bytearray``, ``memoryview``, ``array.array``, ...) or a
    ``GLib.Bytes``. Raises ``GLib.Error`` (``Gipc.Error.FAILED``) when the
    memory cannot be had.

    The C function fills the memory in place through a pointer, which
    Python cannot write through; this copies the data in once, with
    ``Gipc.shared_bytes_new_from_data()``, and the memory is read-only
    from then on."""
    if isinstance(size_or_data, bool):
        raise TypeError('shared_bytes_new() takes a size or a bytes-like '
                        'object, not bool')
    if isinstance(size_or_data, int):
        if size_or_data < 0:
            raise ValueError('shared_bytes_new(): negative size')
        result = Gipc.shared_bytes_new(size_or_data)
        # PyGObject also returns the address of the memory, which Python
        # cannot use: (GLib.Bytes, int).
        if isinstance(result, tuple):
            result = result[0]
        return result
    if isinstance(size_or_data, GLib.Bytes):
        data = size_or_data.get_data() or b''
    else:
        view = memoryview(size_or_data)
        # As bytes: PyGObject would take a memoryview of wider items as a
        # sequence of numbers.
        data = view.cast('B') if view.c_contiguous else view.tobytes()
    return Gipc.shared_bytes_new_from_data(data)


__all__.append('shared_bytes_new')


# --------------------------------------------------------------------------
# The fork server (issue 13). A self-contained block: Gipc.ForkServer and
# Gipc.Process.new_for_target.
#
# ``server = Gipc.ForkServer.new(); server.add_target('name', func)``, then
# ``server.start()`` before anything starts a thread (first thing in the
# program). ``Gipc.Process.new_for_target(server, 'name', *args,
# **kwargs)`` makes a process whose child runs ``func(process, *args,
# **kwargs)``, with fork mode's exit-status rules. The arguments travel
# pickled; every Gipc.Channel found in them (anywhere a pickle reaches) is
# passed to the child and arrives there as the same channel, opened with
# Gipc.Channel.new_inherited(). The server is a copy of the interpreter made
# inside the C call of start(), between the interpreter's fork hooks (as
# for os.fork()); each child runs the hooks' child half before the target.
# A dead or stopped server is replaced by running the script again (the
# same interpreter and arguments): its server.start() becomes the new
# server, so nothing with side effects may come before start().

class _ChannelPickler(pickle.Pickler):
    """Pickles channels as their index among the passed ones."""

    def __init__(self, file):
        super().__init__(file, pickle.HIGHEST_PROTOCOL)
        self.channels = []

    def persistent_id(self, obj):
        if isinstance(obj, Gipc.Channel):
            for i, channel in enumerate(self.channels):
                if channel is obj:
                    return ('gipc-channel', i)
            self.channels.append(obj)
            return ('gipc-channel', len(self.channels) - 1)
        return None


class _ChannelUnpickler(pickle.Unpickler):
    """In the child: a passed channel's index becomes the inherited
    channel (each made once)."""

    def __init__(self, file):
        super().__init__(file)
        self._made = {}

    def persistent_load(self, pid):
        kind, index = pid
        if kind != 'gipc-channel':
            raise pickle.UnpicklingError('unknown persistent id %r' % (pid,))
        if index not in self._made:
            self._made[index] = Gipc.Channel.new_inherited(index)
        return self._made[index]


def _dump_server_args(args, kwargs):
    import io
    buffer = io.BytesIO()
    pickler = _ChannelPickler(buffer)
    pickler.dump((args, kwargs))
    return buffer.getvalue(), pickler.channels


def _load_server_args(variant):
    import io
    if variant is None:
        return (), {}
    data = variant.get_data_as_bytes().get_data() or b''
    return _ChannelUnpickler(io.BytesIO(data)).load()


class _ServerTarget:
    """The GipcTargetFunc of a Python target: runs in a child of the
    server only."""

    __slots__ = ('_func',)

    def __init__(self, func):
        self._func = func

    def __call__(self, process, args, *user_data):
        try:
            if _after_fork_child is not None:
                _after_fork_child()
            try:
                call_args, call_kwargs = _load_server_args(args)
            except BaseException as e:
                traceback.print_exception(type(e), e, e.__traceback__)
                return 1
            return _ChildTarget(self._func, call_args, call_kwargs)._run(process)
        except BaseException:
            return 1
        finally:
            _flush_std_streams()


class ForkServer(Gipc.ForkServer):
    """A fork server: see gipc_fork_server_start(). Start it before the
    program has a second thread."""

    @classmethod
    def new(cls):
        return Gipc.ForkServer.new()

    def add_target(self, name, func):
        """Registers ``func(process, *args, **kwargs)`` as ``name``; before
        start()."""
        if not callable(func):
            raise TypeError('func must be callable, not %r'
                            % type(func).__name__)
        return Gipc.ForkServer.add_target(self, name, _ServerTarget(func))

    def start(self):
        """Forks the server (see gipc_fork_server_start()), between the
        interpreter's fork hooks. Call it before anything with side
        effects: a replacement server re-runs the script up to here."""
        _flush_std_streams()
        if _before_fork is None:
            return Gipc.ForkServer.start(self)
        _before_fork()
        try:
            return Gipc.ForkServer.start(self)
        finally:
            _after_fork_parent()


ForkServer = override(ForkServer)
__all__.append('ForkServer')


def _new_for_target(cls, server, name, *args, **kwargs):
    """Creates a process whose child (made by ``server``) runs the target
    ``name`` as ``func(process, *args, **kwargs)``; the arguments must be
    picklable, and the channels among them are passed to the child."""
    data, channels = _dump_server_args(args, kwargs)
    process = Gipc.Process.new_for_target(server, name,
                                          GLib.Variant('ay', data))
    for channel in channels:
        process.pass_channel(channel)
    return process


Process.new_for_target = classmethod(_new_for_target)


# --------------------------------------------------------------------------
# Pools (issue 21): Gipc.Pool, Gipc.PoolExecutor and their helpers live in
# gipc_pool.py next to this file.

if hasattr(Gipc, 'Pool'):
    from . import gipc_pool as _gipc_pool  # noqa: E402
    Pool = override(_gipc_pool.Pool)
    from .gipc_pool import (PoolExecutor, PoolFuture, WorkerTask,  # noqa: E402
                            pool_worker, worker_serve)
    __all__ += ['Pool', 'PoolExecutor', 'PoolFuture', 'WorkerTask',
                'pool_worker', 'worker_serve']


# --------------------------------------------------------------------------
# gipc's process surface (issue 25). A self-contained block, for code ported
# from gipc (see the porting guide, docs/porting-from-gipc.md):
#
# - ``Gipc.Process(target=f, args=(...), kwargs={...}, daemon=None,
#   name=None)`` and ``Gipc.start_process(f, args=(), kwargs={},
#   daemon=None, name=None)`` take gipc's arguments and call
#   ``f(*args, **kwargs)`` (no process argument, as gipc); what they cannot
#   honour is a TypeError in the parent, before anything forks;
# - ``Gipc.Process.new(target, *args, **kwargs)`` refuses gipc's keywords
#   (``args=``, ``kwargs=``, ``daemon=``, ``name=``) unless the target
#   takes them itself: they used to reach the target in the child;
# - ``process.join(timeout=seconds)`` waits as gipc's (returns None, also
#   on timeout); ``exitcode``/``exit_code``, ``pid``, ``name``, ``daemon``
#   as multiprocessing's (``exitcode`` is None while the child runs);
# - ``ch.get(timeout=seconds)`` raises ``Gipc.GIPCTimeout`` when no message
#   began to arrive in time (a message that began is read whole, as
#   gipc's); ``ch.poll(timeout=0)`` says whether ``get()`` would return
#   without waiting.

import inspect as _inspect
import math as _math


class GIPCTimeout(TimeoutError):
    """Raised by ``Channel.get(timeout=...)`` and ``Channel.receive(timeout=
    ...)`` when no message began to arrive in time; nothing was consumed and
    the channel stays usable. gipc raises the ``gevent.Timeout`` it was
    given; gipc-glib takes seconds (or any object with a ``seconds``
    attribute, such as a ``gevent.Timeout``, which is then raised itself)."""


__all__.append('GIPCTimeout')

_GIPC_PROCESS_KEYWORDS = ('args', 'kwargs', 'daemon', 'name')


def _check_gipc_process_args(target, args, kwargs, daemon, name):
    if not callable(target):
        raise TypeError('target must be callable, not %r'
                        % type(target).__name__)
    if not isinstance(args, tuple):
        raise TypeError('args must be a tuple (as gipc.start_process), '
                        'not %r' % type(args).__name__)
    if not isinstance(kwargs, dict):
        raise TypeError('kwargs must be a dict (as gipc.start_process), '
                        'not %r' % type(kwargs).__name__)
    if daemon not in (None, True, False):
        raise TypeError('daemon must be None, True or False, not %r'
                        % (daemon,))
    if name is not None and not isinstance(name, str):
        raise TypeError('name must be a str, not %r' % type(name).__name__)


def _make_gipc_process(target, args=(), kwargs=None, daemon=None, name=None):
    """A fork-mode process whose child calls ``target(*args, **kwargs)``,
    with the channels found in ``args`` and ``kwargs`` passed to it."""
    if kwargs is None:
        kwargs = {}
    _check_gipc_process_args(target, args, kwargs, daemon, name)

    def call(process, *call_args, **call_kwargs):
        return target(*call_args, **call_kwargs)

    # Reported as the target in error messages of the child.
    call.__qualname__ = getattr(target, '__qualname__', repr(target))
    process = Process.new(call, *args, **kwargs)
    if name is not None:
        process.set_property('name', name)
    if daemon:
        # multiprocessing ends a daemonic child when its parent exits; here
        # the kernel kills it when the parent dies (PR_SET_PDEATHSIG).
        process.set_property('die-with-parent', True)
    process._gipc_daemon = bool(daemon)
    return process


def _process_new_instance(cls, *args, **kwargs):
    if 'target' in kwargs and not args:
        return _make_gipc_process(**kwargs)
    return super(Process, cls).__new__(cls)


def _process_init(self, *args, **kwargs):
    if 'target' in kwargs and not args:
        return      # made by _make_gipc_process
    Gipc.Process.__init__(self, *args, **kwargs)


Process.__new__ = staticmethod(_process_new_instance)
Process.__init__ = _process_init


def _takes_keyword(func, keyword):
    try:
        parameters = _inspect.signature(func).parameters
    except (TypeError, ValueError):
        return True     # cannot tell: leave it to the target
    param = parameters.get(keyword)
    return param is not None and param.kind in (param.POSITIONAL_OR_KEYWORD,
                                                 param.KEYWORD_ONLY)


_process_new_plain = Process.__dict__['new'].__func__


def _process_new_checked(cls, target, *args, **kwargs):
    if callable(target):
        wrong = [k for k in _GIPC_PROCESS_KEYWORDS
                 if k in kwargs and not _takes_keyword(target, k)]
        if wrong:
            raise TypeError(
                'Gipc.Process.new(target, *args, **kwargs) calls '
                'target(process, *args, **kwargs), and %s takes no %s '
                'argument: for gipc\'s style use Gipc.Process(target=f, '
                'args=(...), kwargs={...}, daemon=..., name=...) or '
                'Gipc.start_process(f, args=(...), ...)'
                % (getattr(target, '__qualname__', repr(target)),
                   ', '.join(repr(k) for k in wrong)))
    return _process_new_plain(cls, target, *args, **kwargs)


Process.new = classmethod(_process_new_checked)


def start_process(target, args=(), kwargs=None, daemon=None, name=None):
    """gipc's ``start_process``: starts a fork-mode child that calls
    ``target(*args, **kwargs)`` and returns its started ``Gipc.Process``.
    Every channel in ``args`` and ``kwargs`` (also inside containers) is
    passed to the child and closed in the parent. ``daemon=True`` makes the
    child die with the parent; ``name`` names the process."""
    process = _make_gipc_process(target, args, kwargs, daemon, name)
    process.start()
    return process


__all__.append('start_process')

_UNSET = object()
_process_join_plain = Gipc.Process.join


def _seconds_to_ms(seconds):
    if seconds < 0:
        raise ValueError('timeout must not be negative')
    return int(_math.ceil(seconds * 1000))


def _process_join(self, *args, timeout=_UNSET):
    """``join(timeout_ms=-1)``: the C call (raises ``GLib.Error`` TIMED_OUT
    at the timeout). ``join(timeout=seconds)``: gipc's and multiprocessing's
    (``None`` waits for ever): returns ``None`` whether or not the child
    exited; check ``is_alive()`` or ``exitcode``."""
    if timeout is _UNSET:
        return _process_join_plain(self, *(args or (-1,)))
    if args:
        raise TypeError('join() takes timeout_ms or timeout=, not both')
    ms = -1 if timeout is None else _seconds_to_ms(timeout)
    try:
        _process_join_plain(self, ms)
    except GLib.Error as e:
        if not e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.TIMED_OUT):
            raise
    return None


def _process_exitcode(self):
    """As multiprocessing's: None before the start and while the child
    runs (until its exit was seen: a main-loop iteration or a join), then
    the exit status, or -N if signal N killed it."""
    if self.get_pid() == 0 or self.is_alive():
        return None
    return self.get_exit_code()


Process.join = _process_join
Process.exitcode = property(_process_exitcode)
Process.exit_code = property(_process_exitcode)
Process.pid = property(lambda self: self.get_pid() or None)
Process.name = property(lambda self: self.get_property('name'),
                        lambda self, v: self.set_property('name', v))
Process.daemon = property(lambda self: getattr(self, '_gipc_daemon', False))


def _timeout_ms(timeout):
    seconds = getattr(timeout, 'seconds', timeout)
    if seconds is None:
        return 0
    # The channel's timeout is whole milliseconds, 0 meaning none: a poll
    # waits up to 1 ms.
    return max(1, _seconds_to_ms(seconds))


def _receive_within(channel, timeout, cancellable):
    stash = getattr(channel, '_gipc_stash', None)
    if stash:
        return stash.pop(0)
    if timeout is None:
        return Channel._gipc_receive_plain(channel, cancellable)
    saved = channel.props.timeout
    channel.props.timeout = _timeout_ms(timeout)
    try:
        return Channel._gipc_receive_plain(channel, cancellable)
    except GLib.Error as e:
        if not e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.TIMED_OUT):
            raise
        if isinstance(timeout, BaseException):
            raise timeout from None     # gipc: the Timeout given is raised
        raise GIPCTimeout('no message within %s s' % (
            getattr(timeout, 'seconds', timeout),)) from None
    finally:
        channel.props.timeout = saved


Channel._gipc_receive_plain = Channel.receive
Channel._gipc_get_plain = Channel.get


def _channel_receive(self, cancellable=None, timeout=None):
    """Receives the next message as ``bytes``, blocking; with
    ``timeout=seconds``, raises ``Gipc.GIPCTimeout`` if none began to
    arrive in time."""
    return _receive_within(self, timeout, cancellable)


class GIPCEOFError(GLib.Error, EOFError):
    """What ``get()`` raises at the end of the stream: a ``GLib.Error``
    (``Gipc.Error.PEER_CLOSED``) that is also an ``EOFError``, as gipc's
    ``get()`` raises, so ``except EOFError`` works unchanged."""


__all__.append('GIPCEOFError')


def _channel_get(self, cancellable=None, timeout=None):
    """Receives the next message, decoded by the channel's decoder (see
    ``put()``); with ``timeout=seconds`` (gipc's argument), raises
    ``Gipc.GIPCTimeout`` if none began to arrive in time. At the end of the
    stream it raises ``Gipc.GIPCEOFError``, an ``EOFError`` and a
    ``GLib.Error``."""
    try:
        payload = _receive_within(self, timeout, cancellable)
    except GLib.Error as e:
        if (e.matches(Gipc.error_quark(), Gipc.Error.PEER_CLOSED)
                and not isinstance(e, GIPCEOFError)):
            raise GIPCEOFError(e.message, e.domain, e.code) from None
        raise
    decoder = getattr(self, '_gipc_decoder', 'default')
    if decoder is None:
        return payload
    if callable(decoder):
        return decoder(payload)
    return pickle.loads(payload)


def _channel_poll(self, timeout=0):
    """Whether a message can be had without waiting (or within ``timeout``
    seconds): True when one is there, or when the stream ended or failed
    (``get()`` then raises). A message found is kept for the next
    ``get()`` or ``receive()``."""
    if getattr(self, '_gipc_stash', None):
        return True
    try:
        payload = _receive_within(self, timeout, None)
    except GIPCTimeout:
        return False
    except GLib.Error:
        return True
    if not hasattr(self, '_gipc_stash'):
        self._gipc_stash = []
    self._gipc_stash.append(payload)
    return True


Channel.receive = _channel_receive
Channel.get = _channel_get
Channel.poll = _channel_poll
