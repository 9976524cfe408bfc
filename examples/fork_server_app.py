#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
"""fork_server_app: the shape of a GTK program that hands work to children.

The fork server is started first thing, before Gio.Application (and the
threads of GLib and GIO) exist. A window-less Gio.Application then starts
one child per piece of work through the server; each child gets its text
as an argument (pickled) and answers on a channel, which the application
reads asynchronously while its main loop runs.
"""

import pickle
import sys

import gi
gi.require_version('Gipc', '1.0')
from gi.repository import Gio, Gipc  # noqa: E402

TEXTS = [
    'the quick brown fox', 'jumps over', 'the lazy dog',
    'fork servers start children at constant cost', 'from threaded programs',
    'one', 'two words', 'and the last piece of work',
]


def count_words(process, channel, text):
    """In the child."""
    channel.put(len(text.split()))


def main():
    # First thing: the program has a single thread now.
    server = Gipc.ForkServer.new()
    server.add_target('count-words', count_words)
    server.start()

    app = Gio.Application(application_id='org.gipc.ForkServerAppPy',
                          flags=Gio.ApplicationFlags.NON_UNIQUE)
    state = {'words': 0, 'pending': 0, 'worst': 0}
    keep = []

    def on_answer(channel, result, process):
        data = channel.receive_finish(result)
        state['words'] += pickle.loads(data)
        process.join_async(None, on_joined, channel)

    def on_joined(process, result, channel):
        process.join_finish(result)
        state['worst'] = max(state['worst'], abs(process.get_exit_code()))
        channel.close()
        state['pending'] -= 1
        if state['pending'] == 0:
            app.release()

    def on_activate(app):
        app.hold()
        for text in TEXTS:
            mine, theirs = Gipc.pipe(duplex=True)
            process = Gipc.Process.new_for_target(server, 'count-words',
                                                  theirs, text)
            process.start()
            state['pending'] += 1
            keep.append((mine, process))
            mine.receive_async(None, on_answer, process)

    app.connect('activate', on_activate)
    status = app.run(sys.argv)
    print('fork server: %d children counted %d words; worst exit code %d'
          % (len(TEXTS), state['words'], state['worst']))
    return status


if __name__ == '__main__':
    sys.exit(main())
