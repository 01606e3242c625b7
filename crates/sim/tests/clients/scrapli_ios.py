"""scrapli (asyncssh transport) against one simulated IOS device.

usage: scrapli_ios.py HOST PORT KNOWN_HOSTS NEW_HOSTNAME -> prints one JSON object
"""
import asyncio
import json
import sys

from scrapli.driver.core import AsyncIOSXEDriver


async def main(host, port, known_hosts, new_name):
    device = {
        "host": host,
        "port": port,
        "auth_username": "cisco",
        "auth_password": "cisco",
        "auth_secondary": "cisco",
        "auth_strict_key": False,
        "transport": "asyncssh",
        # asyncssh verifies [host]:port against this file itself.
        "transport_options": {"asyncssh": {"known_hosts": known_hosts}},
        "timeout_ops": 10,
        "timeout_socket": 10,
        "timeout_transport": 10,
    }
    out = {}
    async with AsyncIOSXEDriver(**device) as conn:
        out["prompt"] = await conn.get_prompt()
        version = await conn.send_command("show version")
        out["version_failed"] = version.failed
        out["version_has_ios"] = "Cisco IOS" in version.result
        out["version_has_prompt"] = out["prompt"] in version.result
        bad = await conn.send_command("show nonsense")
        out["invalid_failed"] = bad.failed
        configs = await conn.send_configs([f"hostname {new_name}"])
        out["config_failed"] = configs.failed
        out["config_prompt"] = await conn.get_prompt()
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]))
