#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""The spawned child of test_process_spawn.py: a Python program that gets
its channels with Gipc.Channel.new_inherited(). argv[1] selects the mode;
the exit status tells the parent what went wrong (0 = all good)."""

import sys

import gi

gi.require_version('Gipc', '1.0')
gi.require_version('GLib', '2.0')

from gi.repository import GLib, Gipc  # noqa: E402


def echo():
    # Replies to each message with its upper-case form until b'quit'.
    channel = Gipc.Channel.new_inherited(0)
    while True:
        message = channel.receive()
        if message == b'quit':
            break
        channel.send(message.upper())
    channel.close()
    return 0


def variant():
    # Receives (si), replies (ss-doubled, i+1).
    channel = Gipc.Channel.new_inherited(0)
    text, number = channel.receive_variant().unpack()
    channel.send_variant(GLib.Variant('(si)', (text * 2, number + 1)))
    return 0


def two_channels():
    # Reads from the first channel, writes to the second, on a main loop.
    reader = Gipc.Channel.new_inherited(0)
    writer = Gipc.Channel.new_inherited(1)
    if not (reader.props.can_receive and not reader.props.can_send):
        return 10
    if not (writer.props.can_send and not writer.props.can_receive):
        return 11
    loop = GLib.MainLoop.new(None, False)
    state = {'status': 12}

    def on_sent(channel, result):
        channel.send_finish(result)
        state['status'] = 0
        loop.quit()

    def on_received(channel, result):
        message = channel.receive_finish(result)
        writer.send_async(b'relayed: ' + message, None, on_sent)

    reader.receive_async(None, on_received)
    GLib.timeout_add_seconds(10, loop.quit)
    loop.run()
    return state['status']


def stream(count):
    # Sends count messages, then exits (the parent sees the end).
    channel = Gipc.Channel.new_inherited(0)
    for i in range(int(count)):
        channel.send(b'message %d' % i)
    return 0


def bad_index():
    # One channel was passed: index 1 does not exist.
    try:
        Gipc.Channel.new_inherited(1)
    except GLib.Error as e:
        if e.matches(Gipc.error_quark(), Gipc.Error.FAILED):
            return 0
        return 20
    return 21


def exit_with(status):
    return int(status)


def fail():
    raise RuntimeError('the spawned child fails')


MODES = {
    'echo': echo,
    'variant': variant,
    'two-channels': two_channels,
    'stream': stream,
    'bad-index': bad_index,
    'exit': exit_with,
    'fail': fail,
}

if __name__ == '__main__':
    sys.exit(MODES[sys.argv[1]](*sys.argv[2:]))
