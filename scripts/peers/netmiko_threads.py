"""netmiko (paramiko) in a `concurrent.futures.ThreadPoolExecutor`: the
classic way to run netmiko on many devices, one thread per host in flight.

usage: netmiko_threads.py INVENTORY [--known-hosts FILE] [-c N] COMMAND...
"""
from concurrent.futures import ThreadPoolExecutor

import fanout_peer
import netmiko_common


def main():
    args = fanout_peer.parser(__doc__.splitlines()[0]).parse_args()
    hosts, inventory_known = fanout_peer.load_inventory(args.inventory)
    known = fanout_peer.known_hosts(args, inventory_known)
    command = " ".join(args.command)
    workers = min(args.concurrency, len(hosts))
    run = fanout_peer.Run("netmiko-threads", workers)

    def task(host):
        started = run.host_started()
        line = netmiko_common.one(host, known, command, args.timeout, started, netmiko_common.thread_name())
        run.outcome(line)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(task, hosts))
    return run.summary()


if __name__ == "__main__":
    raise SystemExit(main())
