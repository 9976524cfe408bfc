#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
"""The original gipc (Python, gevent) next to gipc-glib: 64 B one-way and
8 B round trip, raw bytes (encoder=None), as gipc-bench measures them.

gipc needs gevent; neither comes with Debian 12's python3 by default
(python3-gevent is packaged, gipc is not: install it with pip where PyPI is
reachable). Without them this prints "SKIP <reason>" and exits 0.

Prints one line per measure: RESULT <key> <value> <unit>.
"""

import argparse
import struct
import sys
import time

try:
    import gevent  # noqa: F401
except ImportError:
    print("SKIP gevent is not installed (Debian: python3-gevent); gipc itself is not packaged")
    sys.exit(0)
try:
    import gipc
except ImportError:
    print("SKIP gipc is not installed (not packaged for Debian; pip install gipc where PyPI is reachable)")
    sys.exit(0)


def receiver(reader, size, result):
    count = 0
    ok = True
    while True:
        msg = reader.get()
        if not msg:
            break
        if len(msg) != size or struct.unpack_from("<Q", msg)[0] != count:
            ok = False
        count += 1
    result.put(struct.pack("<Q?", count, ok))


def echo(handle):
    while True:
        msg = handle.get()
        handle.put(msg)
        if not msg:
            break


def oneway(size, duration):
    with gipc.pipe(encoder=None, decoder=None) as (r, w):
        with gipc.pipe(encoder=None, decoder=None) as (res_r, res_w):
            p = gipc.start_process(receiver, args=(r, size, res_w))
            pad = bytes(size - 8)
            pack = struct.Struct("<Q").pack
            n = 0
            t0 = time.perf_counter()
            deadline = t0 + duration
            while True:
                if n & 63 == 0 and time.perf_counter() >= deadline:
                    break
                w.put(pack(n) + pad)
                n += 1
            w.put(b"")
            count, ok = struct.unpack("<Q?", res_r.get())
            t1 = time.perf_counter()
            p.join()
    if not ok or count != n:
        sys.exit("py-gipc: one-way verification failed: sent %d, got %d" % (n, count))
    return n / (t1 - t0)


def rtt(duration):
    with gipc.pipe(duplex=True, encoder=None, decoder=None) as (a, b):
        p = gipc.start_process(echo, args=(b,))
        pack = struct.Struct("<Q").pack
        n = 0
        t0 = time.perf_counter()
        t_last = t0
        deadline = t0 + duration
        while True:
            msg = pack(n)
            a.put(msg)
            if a.get() != msg:
                sys.exit("py-gipc: bad pong %d" % n)
            n += 1
            if n & 31 == 0:
                t_last = time.perf_counter()
                if t_last >= deadline:
                    break
        a.put(b"")
        a.get()
        p.join()
    return (t_last - t0) / n * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=0.9)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    d = args.duration / args.repeat
    rate = max(oneway(64, d) for _ in range(args.repeat))
    us = min(rtt(d) for _ in range(args.repeat))
    print("RESULT oneway-64 %.0f msgs/s" % rate)
    print("RESULT rtt-8 %.2f us" % us)


if __name__ == "__main__":
    main()
