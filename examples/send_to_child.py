#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
"""send_to_child: messages from a parent to a child (gipc's
infinite_send_to_child.py, made finite).

The parent sends a message from a timeout on its main loop; the child, a
Python function run in a forked process, reads them with the blocking API
until the parent closes its end. Ctrl-C stops both: the child ignores
SIGINT, the parent catches it and terminates the child.
"""

import os
import signal
import sys

import gi
gi.require_version('Gipc', '1.0')
from gi.repository import GLib, Gipc  # noqa: E402

N_MESSAGES = 5
INTERVAL_MS = 100


def child(process, reader):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    received = 0
    while True:
        try:
            message = reader.receive()
        except GLib.Error as error:
            if error.matches(Gipc.error_quark(), Gipc.Error.PEER_CLOSED):
                break
            raise
        print(f"child got: '{message.decode()}'", flush=True)
        received += 1
    print(f'child: the parent closed the channel after {received} messages',
          flush=True)
    return 0 if received == N_MESSAGES else 1


def main():
    reader, writer = Gipc.pipe(Gipc.PipeFlags.NONE)
    process = Gipc.Process.new(child, reader)
    process.pass_channel(reader)
    process.start()

    loop = GLib.MainLoop()
    status = 0
    sent = 0

    def on_sent(channel, result, number):
        nonlocal status
        try:
            channel.send_finish(result)
        except GLib.Error as error:
            print(f'parent: send: {error.message}', file=sys.stderr)
            status = 1
            process.terminate()
            return
        if number == N_MESSAGES:
            # After the last message, the child sees the end of the stream.
            channel.close()

    def on_tick():
        nonlocal sent
        sent += 1
        text = (f'message {sent} of {N_MESSAGES}, '
                f'sent from the main loop of process {os.getpid()}')
        writer.send_async(text.encode(), None, on_sent, sent)
        return sent < N_MESSAGES

    def on_sigint():
        nonlocal status
        print('parent: interrupted, terminating the child')
        status = 1
        process.terminate()
        return GLib.SOURCE_CONTINUE

    def on_joined(process, result):
        nonlocal status
        process.join_finish(result)
        print(f'parent: child exited with code {process.get_exit_code()}')
        if process.get_exit_code() != 0:
            status = 1
        loop.quit()

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, on_sigint)
    GLib.timeout_add(INTERVAL_MS, on_tick)
    process.join_async(None, on_joined)
    loop.run()
    return status


if __name__ == '__main__':
    sys.exit(main())
