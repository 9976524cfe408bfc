#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors

"""A program written for concurrent.futures.ProcessPoolExecutor. test_pool.py
runs it as it is, and again with only the line marked below changed to
Gipc.PoolExecutor, and checks that both print the same."""

import concurrent.futures
import math

from concurrent.futures import ProcessPoolExecutor as Executor  # THE LINE

BASE = 0


def square(x):
    return x * x


def is_prime(n):
    return n > 1 and all(n % d for d in range(2, math.isqrt(n) + 1))


def init(base):
    global BASE
    BASE = base


def add_base(x):
    return BASE + x


def fail(x):
    raise ValueError('no luck with %d' % x)


def main():
    with Executor(max_workers=2, initializer=init, initargs=(100,)) as ex:
        print('sum of squares:', sum(ex.map(square, range(1000),
                                            chunksize=50)))
        futures = {ex.submit(is_prime, n): n for n in range(100, 140)}
        primes = sorted(futures[f]
                        for f in concurrent.futures.as_completed(futures)
                        if f.result())
        print('primes:', primes)
        done, not_done = concurrent.futures.wait(
            [ex.submit(add_base, i) for i in range(5)])
        print('with base:', sorted(f.result() for f in done), len(not_done))
        print('keyword arguments:', ex.submit(int, 'ff', base=16).result())
        try:
            ex.submit(fail, 7).result()
        except ValueError as e:
            print('error:', e)
        called = []
        future = ex.submit(square, 12)
        future.add_done_callback(lambda f: called.append(f.result()))
        concurrent.futures.wait([future])
    print('callback saw:', called)
    print('done')


if __name__ == '__main__':
    main()
