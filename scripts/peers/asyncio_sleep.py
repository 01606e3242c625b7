"""asyncio.gather + Semaphore over the inventory's hosts, asyncio.sleep per
host: the source material's `Semaphore(20)` over `sleep(1)` example, with
the standard library only. Next to `fanout compare ... sleep DUR` it shows
what an asyncio event loop costs per waiting host.

usage: asyncio_sleep.py INVENTORY [-c N] DURATION   (DURATION: 100ms, 1s, 0.5)
"""
import asyncio
import re

import fanout_peer


def seconds(text):
    m = re.fullmatch(r"([0-9.]+)(ms|s)?", text)
    if not m:
        raise SystemExit(f"duration `{text}`: use e.g. 100ms, 1s or 0.5")
    value = float(m.group(1))
    return value / 1000 if m.group(2) == "ms" else value


async def main():
    p = fanout_peer.parser(__doc__.splitlines()[0], command=False)
    p.add_argument("duration", help="how long each host sleeps")
    args = p.parse_args()
    hosts, _ = fanout_peer.load_inventory(args.inventory)
    wait = seconds(args.duration)
    run = fanout_peer.Run("asyncio", min(args.concurrency, len(hosts)))
    slots = asyncio.Semaphore(args.concurrency)

    async def one(host):
        async with slots:
            started = run.host_started()
            await asyncio.sleep(wait)
            run.outcome(fanout_peer.ok(host["name"], started, [], "asyncio"))

    await asyncio.gather(*(one(h) for h in hosts))
    return run.summary()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
