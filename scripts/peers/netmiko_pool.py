"""netmiko in a `multiprocessing.Pool`: one process per host in flight (the
source material's multiprocessing chapter, with a pool instead of a
process per device). Each worker connects and returns the host's line; the
parent prints it. The pool's start-up is inside the run, as fanout's
process executor's is.

usage: netmiko_pool.py INVENTORY [--known-hosts FILE] [-c N] COMMAND...
"""
import multiprocessing
import os
import time

import fanout_peer
import netmiko_common  # imported before the pool forks: workers inherit it


def task(job):
    host, known, command, timeout = job
    started = time.monotonic()
    line = netmiko_common.one(host, known, command, timeout, started, f"process:{os.getpid()}")
    return started, line


def main():
    args = fanout_peer.parser(__doc__.splitlines()[0]).parse_args()
    hosts, inventory_known = fanout_peer.load_inventory(args.inventory)
    known = fanout_peer.known_hosts(args, inventory_known)
    command = " ".join(args.command)
    workers = min(args.concurrency, len(hosts))
    run = fanout_peer.Run("netmiko-pool", workers)
    run.host_started()  # the run starts with the pool
    jobs = [(h, known, command, args.timeout) for h in hosts]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for _, line in pool.imap_unordered(task, jobs):
            run.outcome(line)
    return run.summary()


if __name__ == "__main__":
    raise SystemExit(main())
