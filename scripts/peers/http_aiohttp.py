"""aiohttp + asyncio.Semaphore: one HTTPS GET per inventory host (the
source material's 004 example: Semaphore(5) over 100,000 GETs), next to
`fanout run ... http URL`. Basic auth from the host's username/password,
the certificate checked against the inventory's `ca_file:`, one
`aiohttp.ClientSession` (keep-alive pool) for the whole run; prints
fanout's JSON Lines (a host object per request, then the summary).

usage: http_aiohttp.py INVENTORY [-c N] [--timeout S] URL
       URL with {host} and {vars.http_port}, e.g.
       'https://{host}:{vars.http_port}/restconf/data/Cisco-IOS-XE-native:native/hostname'

Reads the inventory `fanout sim serve --http --inventory-out` writes
(one flow mapping per host), and inventories of that shape.
"""
import asyncio
import base64
import json
import os
import re
import ssl
import sys
import time

import aiohttp

import fanout_peer

_HOST = re.compile(r'^\s+"?([^":]+)"?:\s*\{(.*)\}\s*$')


def load(path):
    """(hosts, ca_file): each host a dict of its flow mapping, vars flattened as vars.KEY."""
    hosts, ca_file, in_hosts = [], None, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("ca_file:"):
                ca_file = json.loads(line.split(":", 1)[1].strip())
            elif line.rstrip() == "hosts:":
                in_hosts = True
            elif in_hosts and (m := _HOST.match(line)):
                fields = {"name": m.group(1)}
                body = m.group(2)
                vars_m = re.search(r"vars:\s*\{([^}]*)\}", body)
                if vars_m:
                    for k, v in re.findall(r'(\w+):\s*"([^"]*)"', vars_m.group(1)):
                        fields[f"vars.{k}"] = v
                    body = body[: vars_m.start()] + body[vars_m.end():]
                for k, v in re.findall(r'(\w+):\s*("(?:[^"\\]|\\.)*"|[^,]+)', body):
                    v = v.strip()
                    fields[k] = json.loads(v) if v.startswith('"') else v
                hosts.append(fields)
    if ca_file:
        ca_file = os.path.join(os.path.dirname(os.path.abspath(path)), ca_file)
    return hosts, ca_file


def render(template, host):
    def one(m):
        key = m.group(1)
        if key == "host":
            return str(host.get("hostname", host["name"]))
        if key == "name":
            return host["name"]
        return str(host[key])

    return re.sub(r"\{([a-z_.A-Z0-9]+)\}", one, template)


async def main():
    p = fanout_peer.parser(__doc__.splitlines()[0], command=False)
    p.add_argument("url", help="URL template: {host}, {name}, {vars.KEY}")
    args = p.parse_args()
    hosts, ca_file = load(args.inventory)
    if not hosts:
        raise SystemExit(f"{args.inventory}: no hosts")
    ctx = ssl.create_default_context(cafile=ca_file)
    run = fanout_peer.Run("aiohttp", min(args.concurrency, len(hosts)))
    slots = asyncio.Semaphore(args.concurrency)
    connector = aiohttp.TCPConnector(ssl=ctx, limit=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(host):
            async with slots:
                started = run.host_started()
                url = render(args.url, host)
                pair = f'{host.get("username", "")}:{host.get("password", "")}'.encode()
                auth = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
                try:
                    async with session.get(url, headers=auth) as resp:
                        text = await resp.text()
                        if resp.status >= 400:
                            line = fanout_peer.failed(host["name"], started, None, "asyncio",
                                                      kind="command_failed")
                            line["message"] = f"HTTP {resp.status}: {text[:300]}"
                        else:
                            line = fanout_peer.ok(host["name"], started, [(f"GET {url}", text)],
                                                  "asyncio")
                        line["outputs"] = [{"command": f"GET {url}", "stdout": text,
                                            "status": resp.status}]
                except Exception as exc:  # noqa: BLE001 - every failure is one host's outcome
                    line = fanout_peer.failed(host["name"], started, exc, "asyncio")
                run.outcome(line)

        await asyncio.gather(*(one(h) for h in hosts))
    return run.summary()


if __name__ == "__main__":
    started = time.monotonic()
    sys.exit(asyncio.run(main()))
