"""scrapli's async driver (asyncssh transport), `asyncio.gather` +
`Semaphore`: an interactive CLI session per host (prompt detection, paging
off), like fanout's `cli` task, with the command sent by `send_command`.

usage: scrapli_async.py INVENTORY [--known-hosts FILE] [-c N] COMMAND...
"""
import asyncio

from scrapli.driver.core import (
    AsyncEOSDriver,
    AsyncIOSXEDriver,
    AsyncIOSXRDriver,
    AsyncJunosDriver,
    AsyncNXOSDriver,
)

import fanout_peer

DRIVERS = {
    "ios": AsyncIOSXEDriver,
    "iosxe": AsyncIOSXEDriver,
    "cisco_ios": AsyncIOSXEDriver,
    "cisco_iosxe": AsyncIOSXEDriver,
    "nxos": AsyncNXOSDriver,
    "cisco_nxos": AsyncNXOSDriver,
    "eos": AsyncEOSDriver,
    "arista_eos": AsyncEOSDriver,
    "junos": AsyncJunosDriver,
    "juniper_junos": AsyncJunosDriver,
    "iosxr": AsyncIOSXRDriver,
    "cisco_iosxr": AsyncIOSXRDriver,
}


async def main():
    args = fanout_peer.parser(__doc__.splitlines()[0]).parse_args()
    hosts, inventory_known = fanout_peer.load_inventory(args.inventory)
    known = fanout_peer.known_hosts(args, inventory_known)
    command = " ".join(args.command)
    run = fanout_peer.Run("scrapli", min(args.concurrency, len(hosts)))
    slots = asyncio.Semaphore(args.concurrency)

    async def one(host):
        async with slots:
            started = run.host_started()
            try:
                driver = DRIVERS.get(host["platform"])
                if driver is None:
                    raise ValueError(f"no scrapli driver for platform {host['platform']}")
                device = {
                    "host": host["hostname"],
                    "port": host["port"],
                    "auth_username": host["username"],
                    "auth_password": host["password"],
                    "auth_secondary": host["secret"] or "",
                    # asyncssh verifies [host]:port against known_hosts itself.
                    "auth_strict_key": False,
                    "transport": "asyncssh",
                    "transport_options": {"asyncssh": {"known_hosts": known}},
                    "timeout_socket": args.timeout,
                    "timeout_transport": args.timeout,
                    "timeout_ops": args.timeout,
                }
                async with driver(**device) as conn:
                    response = await conn.send_command(command)
                if response.failed:
                    line = fanout_peer.failed(host["name"], started, None, "asyncio")
                    line["message"] = f"`{command}`: the device reported an error"
                else:
                    line = fanout_peer.ok(host["name"], started, [(command, response.result)], "asyncio")
            except Exception as exc:  # every failure is a host outcome
                line = fanout_peer.failed(host["name"], started, exc, "asyncio")
            run.outcome(line)

    await asyncio.gather(*(one(h) for h in hosts))
    return run.summary()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
