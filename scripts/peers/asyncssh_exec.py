"""asyncssh, one connection per host, `asyncio.gather` + `Semaphore`, the
command on an exec channel: the plainest asyncio SSH client, and the one
fanout's `-e async exec` is measured against.

usage: asyncssh_exec.py INVENTORY [--known-hosts FILE] [-c N] COMMAND...
"""
import asyncio

import asyncssh

import fanout_peer


async def main():
    args = fanout_peer.parser(__doc__.splitlines()[0]).parse_args()
    hosts, inventory_known = fanout_peer.load_inventory(args.inventory)
    known = fanout_peer.known_hosts(args, inventory_known)
    command = " ".join(args.command)
    run = fanout_peer.Run("asyncssh", min(args.concurrency, len(hosts)))
    slots = asyncio.Semaphore(args.concurrency)

    async def one(host):
        async with slots:
            started = run.host_started()
            try:
                async with asyncio.timeout(args.timeout):
                    async with asyncssh.connect(
                        host["hostname"],
                        port=host["port"],
                        username=host["username"],
                        password=host["password"],
                        known_hosts=known,
                        client_keys=None,
                        agent_path=None,
                    ) as conn:
                        result = await conn.run(command, check=False)
                if result.exit_status not in (0, None):
                    line = fanout_peer.failed(host["name"], started, None, "asyncio")
                    line["message"] = f"`{command}` exited {result.exit_status}"
                else:
                    line = fanout_peer.ok(host["name"], started, [(command, result.stdout)], "asyncio")
            except Exception as exc:  # every failure is a host outcome
                line = fanout_peer.failed(host["name"], started, exc, "asyncio")
            run.outcome(line)

    await asyncio.gather(*(one(h) for h in hosts))
    return run.summary()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
