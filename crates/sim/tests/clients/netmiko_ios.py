"""netmiko (paramiko) against one simulated IOS device.

usage: netmiko_ios.py HOST PORT KNOWN_HOSTS NEW_HOSTNAME -> prints one JSON object
"""
import json
import sys

from netmiko import ConnectHandler


def main(host, port, known_hosts, new_name):
    device = {
        "device_type": "cisco_ios",
        "host": host,
        "port": port,
        "username": "cisco",
        "password": "cisco",
        "secret": "cisco",
        # Strict host keys against the fleet's known_hosts only.
        "ssh_strict": True,
        "system_host_keys": False,
        "alt_host_keys": True,
        "alt_key_file": known_hosts,
        "use_keys": False,
        "allow_agent": False,
        "read_timeout_override": 10,
    }
    out = {}
    with ConnectHandler(**device) as conn:
        out["prompt"] = conn.find_prompt()
        conn.enable()
        out["enable_prompt"] = conn.find_prompt()
        version = conn.send_command("show version")
        out["version_has_ios"] = "Cisco IOS" in version
        out["version_has_prompt"] = out["enable_prompt"] in version
        conn.send_config_set([f"hostname {new_name}"])
        out["config_prompt"] = conn.find_prompt()
        run = conn.send_command("show running-config")
        out["running_has_hostname"] = f"hostname {new_name}" in run
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])
