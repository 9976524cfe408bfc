#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
"""synchronization: time synchronization between two processes over a duplex
channel (gipc's synchronization.py).

The parent sends SYN and waits for ACK; then the child sends its clock as a
GVariant and the parent compares it with its own clock at the moment ACK
arrived.
"""

import sys
import time

import gi
gi.require_version('Gipc', '1.0')
from gi.repository import GLib, Gipc  # noqa: E402


def writer_process(process, channel):
    assert channel.receive() == b'SYN'
    channel.send(b'ACK')
    # Now in step with the parent.
    channel.send_variant(GLib.Variant('d', time.time()))


def main():
    with Gipc.pipe(Gipc.PipeFlags.DUPLEX) as (parent_end, child_end):
        process = Gipc.Process.new(writer_process, child_end)
        process.pass_channel(child_end)
        process.start()

        # Synchronize with the child.
        parent_end.send(b'SYN')
        assert parent_end.receive() == b'ACK'
        # Now in step with the child.
        parent_time = time.time()
        child_time = parent_end.receive_variant().get_double()
        process.join(-1)

    print(f'Time delta: {abs(parent_time - child_time):.6f} s '
          f'(child exit code {process.get_exit_code()})')
    return process.get_exit_code()


if __name__ == '__main__':
    sys.exit(main())
