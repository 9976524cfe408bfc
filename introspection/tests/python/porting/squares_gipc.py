# A gipc program (gipc 1.8, gevent): a child computes squares and sends
# them; the parent reads them until the end of the stream.
import gipc


def child(w, n):
    for i in range(n):
        w.put({'n': i, 'square': i * i})


def main():
    with gipc.pipe() as (r, w):
        p = gipc.start_process(target=child, args=(w, 5), daemon=True,
                               name='squares')
        results = []
        while True:
            try:
                results.append(r.get())
            except EOFError:
                break
        p.join(timeout=10)
        print('%s: %d squares, sum %d, exit code %s' % (
            p.name, len(results), sum(x['square'] for x in results),
            p.exitcode))


if __name__ == '__main__':
    main()
