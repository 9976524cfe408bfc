#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
"""producer: stream a large amount of data to a slow child with bounded
memory.

send_async never refuses and never blocks, so a producer faster than its
reader paces itself: it sends while the channel is not congested and
resumes on notify::congested. The queue never holds much more than the
high-water mark (1 MiB by default), however much is streamed.
"""

import sys
import time

import gi
gi.require_version('Gipc', '1.0')
from gi.repository import GLib, Gipc  # noqa: E402

CHUNK = 64 * 1024
TOTAL = 32 * 1024 * 1024


def child(process, reader):
    received = 0
    n = 0
    while True:
        try:
            chunk = reader.receive()
        except GLib.Error as error:
            if error.matches(Gipc.error_quark(), Gipc.Error.PEER_CLOSED):
                break
            raise
        received += len(chunk)
        n += 1
        if n % 16 == 0:
            time.sleep(0.001)  # a slow reader
    return 0 if received == TOTAL else 1


def main():
    reader, writer = Gipc.pipe(Gipc.PipeFlags.NONE)
    process = Gipc.Process.new(child, reader)
    process.pass_channel(reader)
    process.start()

    loop = GLib.MainLoop()
    sent = 0
    peak = 0

    def on_joined(process, result):
        process.join_finish(result)
        loop.quit()

    def on_flushed(channel, result):
        channel.flush_finish(result)
        channel.close()  # the end of the stream tells the child
        process.join_async(None, on_joined)

    def produce():
        nonlocal sent, peak
        while sent < TOTAL and not writer.props.congested:
            writer.send_async(bytes([sent // CHUNK % 256]) * CHUNK)
            sent += CHUNK
            peak = max(peak, writer.props.queued_bytes)
        if sent == TOTAL:
            sent += 1  # once
            writer.flush_async(None, on_flushed)

    def on_congested(channel, pspec):
        if not channel.props.congested:
            produce()

    writer.connect('notify::congested', on_congested)
    produce()
    loop.run()

    code = process.get_exit_code()
    print(f'streamed {TOTAL // (1024 * 1024)} MiB; the queue held at most '
          f'{peak // 1024} KiB (high-water mark '
          f'{writer.props.high_water_mark // 1024} KiB); child exit code {code}')
    return 0 if code == 0 and peak <= 2 * 1024 * 1024 else 1


if __name__ == '__main__':
    sys.exit(main())
