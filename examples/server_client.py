#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
"""server_client: a TCP server in the parent, many clients in a child (gipc's
serverclient.py).

The parent runs a Gio.SocketService on 127.0.0.1 (port 0: the kernel picks
one) that echoes one line per connection. A forked child connects N_CLIENTS
clients from its own main loop, at most N_CONCURRENT at a time, checks every
echo, and reports (clients served, seconds) to the parent as a GVariant.
"""

import sys
import time

import gi
gi.require_version('Gipc', '1.0')
from gi.repository import Gio, GLib, Gipc  # noqa: E402

N_CLIENTS = 1000
N_CONCURRENT = 100
MESSAGE = b'HELLO\n'


def clients(process, report, port):
    loop = GLib.MainLoop()
    client = Gio.SocketClient(enable_proxy=False)
    address = Gio.InetSocketAddress.new_from_string('127.0.0.1', port)
    state = {'started': 0, 'finished': 0, 'ok': 0}

    def finish(connection, ok):
        if connection is not None:
            connection.close()
        state['finished'] += 1
        state['ok'] += ok
        if state['started'] < N_CLIENTS:
            start()
        elif state['finished'] == N_CLIENTS:
            loop.quit()

    def on_read(stream, result, connection):
        try:
            line, _ = stream.read_line_finish_utf8(result)
        except GLib.Error:
            line = None
        finish(connection, line == MESSAGE.decode().rstrip('\n'))

    def on_written(output, result, connection):
        try:
            output.write_bytes_finish(result)
        except GLib.Error:
            finish(connection, False)
            return
        stream = Gio.DataInputStream.new(connection.get_input_stream())
        stream.read_line_async(GLib.PRIORITY_DEFAULT, None, on_read, connection)

    def on_connected(client, result):
        try:
            connection = client.connect_finish(result)
        except GLib.Error as error:
            print(f'client: {error.message}', file=sys.stderr)
            finish(None, False)
            return
        output = connection.get_output_stream()
        output.write_bytes_async(GLib.Bytes.new(MESSAGE), GLib.PRIORITY_DEFAULT,
                                 None, on_written, connection)

    def start():
        state['started'] += 1
        client.connect_async(address, None, on_connected)

    t0 = time.monotonic()
    for _ in range(N_CONCURRENT):
        start()
    loop.run()
    seconds = time.monotonic() - t0
    print(f"child: {state['ok']} clients served within {seconds:.2f} s",
          flush=True)
    report.send_variant(GLib.Variant('(ud)', (state['ok'], seconds)))
    return 0 if state['ok'] == N_CLIENTS else 1


def main():
    loop = GLib.MainLoop()
    served = 0

    def on_echoed(output, result, connection):
        nonlocal served
        try:
            output.write_bytes_finish(result)
            served += 1
        except GLib.Error:
            pass
        connection.close()

    def on_line(stream, result, connection):
        try:
            line, _ = stream.read_line_finish(result)
        except GLib.Error:
            line = None
        if line is None:
            connection.close()
            return
        connection.get_output_stream().write_bytes_async(
            GLib.Bytes.new(line + b'\n'), GLib.PRIORITY_DEFAULT, None,
            on_echoed, connection)

    def on_incoming(service, connection, source_object):
        stream = Gio.DataInputStream.new(connection.get_input_stream())
        stream.read_line_async(GLib.PRIORITY_DEFAULT, None, on_line, connection)
        return True

    service = Gio.SocketService()
    # The default backlog (10) is shorter than the burst of connections.
    service.set_backlog(N_CONCURRENT)
    any_port = Gio.InetSocketAddress.new_from_string('127.0.0.1', 0)
    _, address = service.add_address(any_port, Gio.SocketType.STREAM,
                                     Gio.SocketProtocol.TCP, None)
    service.connect('incoming', on_incoming)
    port = address.get_port()
    print(f'parent: echo server on 127.0.0.1:{port}, '
          f'starting {N_CLIENTS} clients in a child', flush=True)

    report, child_end = Gipc.pipe(Gipc.PipeFlags.NONE)
    process = Gipc.Process.new(clients, child_end, port)
    process.pass_channel(child_end)
    process.start()

    status = 0
    reported = 0

    def on_joined(process, result):
        nonlocal status
        process.join_finish(result)
        code = process.get_exit_code()
        print(f'parent: served {served} connections; the child reported '
              f'{reported}; exit code {code}')
        if code != 0 or served != N_CLIENTS or reported != N_CLIENTS:
            status = 1
        loop.quit()

    def on_report(channel, result):
        nonlocal reported, status
        try:
            reported, _ = channel.receive_variant_finish(result).unpack()
        except GLib.Error as error:
            print(f'parent: no report: {error.message}', file=sys.stderr)
            status = 1
        process.join_async(None, on_joined)

    report.receive_variant_async(None, on_report)
    loop.run()
    service.stop()
    report.close()
    return status


if __name__ == '__main__':
    sys.exit(main())
