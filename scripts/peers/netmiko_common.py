"""netmiko, one host: what the thread and process peers run per host."""
import threading

from netmiko import ConnectHandler

import fanout_peer

DEVICE_TYPES = {
    "ios": "cisco_ios",
    "iosxe": "cisco_xe",
    "nxos": "cisco_nxos",
    "eos": "arista_eos",
    "junos": "juniper_junos",
    "iosxr": "cisco_xr",
    "linux": "linux",
}


def one(host, known, command, timeout, started, worker):
    """Connects, runs `command` in the CLI session, returns the host's line."""
    try:
        device = {
            "device_type": DEVICE_TYPES.get(host["platform"], host["platform"]),
            "host": host["hostname"],
            "port": host["port"],
            "username": host["username"],
            "password": host["password"],
            "secret": host["secret"] or "",
            # Strict host keys against the fleet's known_hosts only.
            "ssh_strict": True,
            "system_host_keys": False,
            "alt_host_keys": True,
            "alt_key_file": known,
            "use_keys": False,
            "allow_agent": False,
            "conn_timeout": timeout,
            "read_timeout_override": timeout,
        }
        with ConnectHandler(**device) as conn:
            output = conn.send_command(command)
        return fanout_peer.ok(host["name"], started, [(command, output)], worker)
    except Exception as exc:  # every failure is a host outcome
        return fanout_peer.failed(host["name"], started, exc, worker)


def thread_name():
    return f"thread:{threading.get_ident()}"
