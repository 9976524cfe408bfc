#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
"""hello: the README's Python example. A forked child sends one message."""

import gi
gi.require_version('Gipc', '1.0')
from gi.repository import Gipc  # noqa: E402


def child(process, w):
    w.send(b'hello from the child')


r, w = Gipc.pipe(Gipc.PipeFlags.NONE)
process = Gipc.Process.new(child, w)
process.pass_channel(w)
process.start()
print(r.receive().decode(), end=', ')
process.join(-1)
print('exit code', process.get_exit_code())
