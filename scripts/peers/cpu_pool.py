"""CPU-bound work in Python: fanout's `cpu N` hash chain in pure Python, one
job per host, run one after another, in a ThreadPoolExecutor, or in a
ProcessPoolExecutor — the threads-vs-processes lesson (the GIL lets one
thread run Python bytecode at a time, so threads cannot use a second core
for pure-Python work; processes can).

usage: cpu_pool.py --pool none|thread|process [-c N] HOSTS ITERATIONS

It needs no inventory (the hosts are numbered, like `--synthetic`) and
prints fanout's JSON Lines (one object per host, then a summary), so
`fanout compare --synthetic 8 ... --external py-threads='python3
scripts/peers/cpu_pool.py --pool thread -c {concurrency} 8 3000000' cpu
300000000` puts it in the table. Python runs this loop about 70x slower
than Rust: give it about 1/100 of fanout's iterations for the same time.
"""
import argparse
import concurrent.futures
import time

import fanout_peer

MASK = (1 << 64) - 1


def burn(iterations):
    """The same chain as fanout_core::cpu_burn: xor, multiply, xorshift."""
    state = 0xCBF29CE484222325
    for i in range(iterations):
        state ^= i
        state = (state * 0x00000100000001B3) & MASK
        state ^= state >> 29
    return state


def timed(iterations):
    started = time.monotonic()
    burn(iterations)
    return started, time.monotonic()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pool", choices=["none", "thread", "process"], required=True)
    p.add_argument("-c", "--concurrency", type=int, default=8, help="jobs in flight")
    p.add_argument("hosts", type=int)
    p.add_argument("iterations", type=int)
    a = p.parse_args()
    c = 1 if a.pool == "none" else max(1, min(a.concurrency, a.hosts))
    run = fanout_peer.Run(f"python-{a.pool}", c)
    names = [f"h{i}" for i in range(1, a.hosts + 1)]
    if a.pool == "none":
        for name in names:
            started = run.host_started()
            burn(a.iterations)
            run.outcome(fanout_peer.ok(name, started, [], "main"))
    else:
        pool = (
            concurrent.futures.ThreadPoolExecutor(c)
            if a.pool == "thread"
            else concurrent.futures.ProcessPoolExecutor(c)
        )
        with pool:
            # Start the workers before the clock runs (a process pool forks lazily).
            list(pool.map(burn, [0] * c))
            started = {}
            futures = {}
            for name in names:
                started[name] = run.host_started()
                futures[pool.submit(burn, a.iterations)] = name
            for f in concurrent.futures.as_completed(futures):
                f.result()
                name = futures[f]
                run.outcome(fanout_peer.ok(name, started[name], [], a.pool))
    run.summary()


if __name__ == "__main__":
    main()
