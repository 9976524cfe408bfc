#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
#
# hello: the README's Python example (the docs check keeps the two the
# same). A forked child sends one message; gipc's start_process passes it
# the channel found in its arguments.

import gi
gi.require_version('Gipc', '1.0')
from gi.repository import Gipc


def child(w):
    w.put('hello from the child')


r, w = Gipc.pipe()
process = Gipc.start_process(child, args=(w,))
print(r.get(), end=', ')
process.join()
print('exit code', process.exitcode)
