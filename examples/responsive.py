#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
"""responsive: keep a main loop responsive while a child does CPU-heavy work,
as a GTK application would.

The parent's main loop stands for a GUI: a 10 ms timeout keeps ticking (a GUI
would redraw) and counts its ticks. As a GTK program must (it has threads),
it starts its children through a fork server, started first thing. The
child counts the primes below LIMIT by trial division and reports its
progress over a channel; the parent
listens to the channel ("message" signal) and shows the progress as it
arrives. When the child is done its end closes, the channel emits "error"
(PEER_CLOSED), and the parent joins the child.
"""

import sys
import time

import gi
gi.require_version('Gipc', '1.0')
from gi.repository import GLib, Gipc  # noqa: E402

LIMIT = 200000
TICK_MS = 10


def is_prime(n):
    if n < 2:
        return False
    d = 2
    while d * d <= n:
        if n % d == 0:
            return False
        d += 1
    return True


def count_primes(process, channel):
    primes = 0
    for n in range(LIMIT):
        primes += is_prime(n)
        if (n + 1) % (LIMIT // 10) == 0:
            percent = (n + 1) * 100 // LIMIT
            channel.send(f'progress {percent}'.encode())
    channel.send(f'result {primes}'.encode())


def main():
    # First thing: before GTK (or anything) starts a thread.
    server = Gipc.ForkServer.new()
    server.add_target('count-primes', count_primes)
    server.start()

    loop = GLib.MainLoop()
    channel, child_end = Gipc.pipe(Gipc.PipeFlags.NONE)
    # child_end, an argument, is passed to the child (and closed here).
    process = Gipc.Process.new_for_target(server, 'count-primes', child_end)
    process.start()

    state = {'ticks': 0, 'primes': 0, 'status': 0,
             'last': time.monotonic(), 'max_gap': 0.0}
    start = time.monotonic()

    def on_tick():
        now = time.monotonic()
        state['ticks'] += 1
        state['max_gap'] = max(state['max_gap'], now - state['last'])
        state['last'] = now
        return GLib.SOURCE_CONTINUE

    def on_message(channel, message):
        kind, value = message.get_data().decode().split()
        if kind == 'progress':
            print(f"[tick {state['ticks']:3}] child progress: {value}%",
                  flush=True)
        elif kind == 'result':
            state['primes'] = int(value)

    def on_joined(process, result):
        process.join_finish(result)
        seconds = time.monotonic() - start
        if process.get_exit_code() != 0 or state['primes'] == 0:
            print('responsive: the child failed', file=sys.stderr)
            state['status'] = 1
        else:
            print(f"child found {state['primes']} primes below {LIMIT}")
            print(f"the main loop ticked {state['ticks']} times in "
                  f"{seconds:.2f} s, longest gap "
                  f"{state['max_gap'] * 1000:.1f} ms")
        loop.quit()

    def on_error(channel, error):
        # PEER_CLOSED is the clean end of the stream: the child is done.
        if not error.matches(Gipc.error_quark(), Gipc.Error.PEER_CLOSED):
            print(f'responsive: {error.message}', file=sys.stderr)
            state['status'] = 1
        process.join_async(None, on_joined)

    tick_id = GLib.timeout_add(TICK_MS, on_tick)
    channel.connect('message', on_message)
    channel.connect('error', on_error)
    channel.listen()
    loop.run()
    GLib.source_remove(tick_id)
    channel.close()
    return state['status']


if __name__ == '__main__':
    sys.exit(main())
