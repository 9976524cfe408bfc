#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""Gipc.PoolExecutor: code written for concurrent.futures'
ProcessPoolExecutor runs on a gipc-glib pool by changing one line, and then
gets what ProcessPoolExecutor cannot give:

- a worker that crashes fails only the future of the task it ran (a
  ProcessPoolExecutor raises BrokenProcessPool for every pending future and
  is unusable from then on);
- sandboxed workers (no network here) and a per-task timeout;
- with Gipc.Pool.submit, a running task can be cancelled: the worker is
  stopped and the pool is back to full strength at once.

Run: pool_executor.py
"""

import math
import os
import socket
import time

import gi

gi.require_version('Gipc', '1.0')
from gi.repository import GLib, Gipc  # noqa: E402

# The one line: it was
#   from concurrent.futures import ProcessPoolExecutor as Executor
Executor = Gipc.PoolExecutor


def count_primes(start, stop):
    return sum(1 for n in range(max(start, 2), stop)
               if all(n % d for d in range(2, math.isqrt(n) + 1)))


def try_the_network():
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        return 'the worker could open a socket'
    except OSError as e:
        return 'the worker could not open a socket (%s)' % e.strerror


def slow(seconds):
    time.sleep(seconds)
    return seconds


def main():
    # For the Gipc.Pool below: a fork server, started before any thread.
    server = Gipc.ForkServer.new()
    server.add_target('slow', Gipc.pool_worker(slow))
    server.start()

    # Unchanged ProcessPoolExecutor code.
    with Executor(max_workers=2) as executor:
        starts = range(0, 100000, 5000)
        total = sum(executor.map(count_primes, starts,
                                 [s + 5000 for s in starts], chunksize=2))
        print('counted %d primes below 100000 in 2 workers' % total)

        # What ProcessPoolExecutor cannot do: survive a crash.
        crashing = executor.submit(os.abort)
        others = [executor.submit(count_primes, 0, 1000) for _ in range(4)]
        try:
            crashing.result()
        except GLib.Error as e:
            print('a worker crash cost one future:', e.message)
        print('the other futures:', [f.result() for f in others])

    # Pool properties as keywords: a sandbox and a task timeout.
    with Executor(max_workers=1, sandbox=Gipc.SandboxFlags.NO_NETWORK,
                  task_timeout=20000) as executor:
        print('sandboxed:', executor.submit(try_the_network).result())

    # Gipc.Pool.submit: a future that can be cancelled while it runs.
    pool = Gipc.Pool.new_for_target(server, 'slow')
    pool.props.max_workers = 1
    running = pool.submit(600)
    context = GLib.MainContext.default()
    while pool.props.running_tasks == 0:
        context.iteration(True)
    started = time.monotonic()
    running.cancel()
    print('cancelled a running task: %s; the next task: %s after %.1f s'
          % (running.cancelled(), pool.submit(0).result(),
             time.monotonic() - started))


if __name__ == '__main__':
    main()
