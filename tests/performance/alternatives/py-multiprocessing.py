#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
"""Python multiprocessing next to gipc-glib: 64 B one-way and 8 B round trip.

multiprocessing.Pipe() gives Connection objects; send_bytes()/recv_bytes()
frame each message with a length, as gipc does. The child is forked (the
"fork" start method), as a gipc child is. Every message carries its sequence
number, which the receiver checks.

Prints one line per measure: RESULT <key> <value> <unit>.
"""

import argparse
import multiprocessing as mp
import struct
import sys
import time


def receiver(conn, size, result):
    count = 0
    while True:
        msg = conn.recv_bytes()
        if not msg:
            break
        if len(msg) != size or struct.unpack_from("<Q", msg)[0] != count:
            result.send(("fail", count))
            return
        count += 1
    result.send(("ok", count))


def echo(conn):
    while True:
        msg = conn.recv_bytes()
        conn.send_bytes(msg)
        if not msg:
            break


def oneway(size, duration):
    r, w = mp.Pipe(duplex=False)
    res_r, res_w = mp.Pipe(duplex=False)
    p = mp.Process(target=receiver, args=(r, size, res_w))
    p.start()
    r.close()
    pad = bytes(size - 8)
    pack = struct.Struct("<Q").pack
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + duration
    send = w.send_bytes
    while True:
        if n & 63 == 0 and time.perf_counter() >= deadline:
            break
        send(pack(n) + pad)
        n += 1
    send(b"")
    status, count = res_r.recv()
    t1 = time.perf_counter()
    p.join()
    if status != "ok" or count != n:
        sys.exit("py-multiprocessing: one-way verification failed: sent %d, got %s %d" % (n, status, count))
    return n / (t1 - t0)


def rtt(duration):
    a, b = mp.Pipe(duplex=True)
    p = mp.Process(target=echo, args=(b,))
    p.start()
    b.close()
    pack = struct.Struct("<Q").pack
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + duration
    t_last = t0
    while True:
        msg = pack(n)
        a.send_bytes(msg)
        if a.recv_bytes() != msg:
            sys.exit("py-multiprocessing: bad pong %d" % n)
        n += 1
        if n & 31 == 0:
            t_last = time.perf_counter()
            if t_last >= deadline:
                break
    a.send_bytes(b"")
    a.recv_bytes()
    p.join()
    return (t_last - t0) / n * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=0.9)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    mp.set_start_method("fork")
    d = args.duration / args.repeat
    rate = max(oneway(64, d) for _ in range(args.repeat))
    us = min(rtt(d) for _ in range(args.repeat))
    print("RESULT oneway-64 %.0f msgs/s" % rate)
    print("RESULT rtt-8 %.2f us" % us)


if __name__ == "__main__":
    main()
