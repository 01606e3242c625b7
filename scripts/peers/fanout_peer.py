"""What every peer script shares: reading fanout's inventory, printing
fanout's JSON Lines, timing a run the way `fanout run` does.

A peer is a small Python program doing one job the way a Python user would
(asyncssh, scrapli, netmiko, multiprocessing), so that
`fanout compare --external NAME='python3 scripts/peers/PEER.py {inventory} ...'`
can measure it next to fanout's executors on the same fleet. Each prints,
like `fanout run --format jsonl`, one object per host as it completes:

    {"host": "r1", "status": "ok", "outputs": [{"command": "show version", "stdout": "..."}],
     "timings_ms": {"total": 53.1}, "attempts": 1, "worker": "asyncio"}

(failures add "error_kind" and "message"), then one summary line:

    {"summary": {"executor": "asyncssh", "concurrency": 100, "hosts": 100, "ok": 100,
                 "failed": 0, "timeout": 0, "cancelled": 0, "wall_s": 1.93}}

"total" runs from the host starting (its slot taken) to its outcome, and
"wall_s" from the first host starting to the last outcome: interpreter
start and imports are outside it, as fanout's own start-up is outside its
runs (compare shows the whole process in process_wall_s).

Inventories: with PyYAML installed (netmiko brings it) any fanout
inventory of either shape (device list, or known_hosts/defaults/groups/
hosts sections; secrets from "${VAR}" or *_env); with the standard library
alone, the inventory `fanout sim serve --inventory-out` writes.
"""

import argparse
import json
import os
import re
import sys
import threading
import time

_print_lock = threading.Lock()


def _write(text):
    """Writes a line; a closed stdout (`| head`) ends the program quietly, as fanout does."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        os._exit(0)


def parser(description, command=True):
    """The peers' common arguments: INVENTORY [--known-hosts FILE] [-c N] [--timeout S]."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("inventory", help="fanout inventory (YAML), e.g. compare's {inventory}")
    p.add_argument(
        "--known-hosts",
        help="known_hosts file to verify host keys against (default: the inventory's known_hosts:)",
    )
    p.add_argument("-c", "--concurrency", type=int, default=100, help="hosts in flight")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per host")
    if command:
        p.add_argument("command", nargs="+", help="the command to run on every host")
    return p


def _expand(value, field, env=os.environ):
    """`${VAR}` in a value; unset variables are an error naming them."""
    if not isinstance(value, str):
        return value

    def sub(m):
        name = m.group(1)
        if name not in env:
            raise SystemExit(f"inventory: {field} needs the environment variable {name}, which is not set")
        return env[name]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", sub, value)


_ALIASES = {
    "host": "hostname",
    "ip": "hostname",
    "auth_username": "username",
    "auth_password": "password",
    "auth_secondary": "secret",
    "device_type": "platform",
}


def _host(name, fields):
    """One host's connection fields, secrets resolved."""
    f = {}
    for key, value in fields.items():
        f[_ALIASES.get(key, key)] = value
    for secret in ("password", "secret"):
        env_name = f.pop(f"{secret}_env", None)
        if env_name is not None:
            if env_name not in os.environ:
                raise SystemExit(f"inventory: host {name} needs the environment variable {env_name}, which is not set")
            f[secret] = os.environ[env_name]
    return {
        "name": str(f.get("name", name)),
        "hostname": str(f.get("hostname", name)),
        "port": int(f.get("port", 22)),
        "username": _expand(f.get("username"), f"host {name} username"),
        "password": _expand(f.get("password"), f"host {name} password"),
        "secret": _expand(f.get("secret"), f"host {name} secret"),
        "platform": str(f.get("platform", "ios")),
    }


def _from_yaml(doc):
    """Hosts and known_hosts of a parsed inventory of either shape."""
    if isinstance(doc, list):
        return [_host(d.get("name", d.get("host")), d) for d in doc], None
    groups = doc.get("groups") or {}
    defaults = doc.get("defaults") or {}

    def inherited(group_names, seen=()):
        # Earlier groups win over later ones, a group over its parents.
        merged = {}
        for g in group_names or []:
            if g in seen:
                raise SystemExit(f"inventory: group {g} is its own ancestor")
            spec = dict(groups.get(g) or {})
            parents = inherited(spec.pop("groups", None), seen + (g,))
            for key, value in {**parents, **spec}.items():
                merged.setdefault(key, value)
        return merged

    hosts = []
    for name, spec in (doc.get("hosts") or {}).items():
        spec = dict(spec or {})
        fields = {**defaults, **inherited(spec.pop("groups", None)), **spec}
        fields.pop("vars", None)
        hosts.append(_host(name, fields))
    return hosts, doc.get("known_hosts")


_SIM_HOST = re.compile(r'^\s+"?([^":{}]+)"?:\s*\{(.*)\}\s*$')


def _sim_fields(text):
    """`hostname: "127.0.0.1", port: 41585, ...` -> dict (the sim's flow mappings)."""
    fields = {}
    for part in re.findall(r'(\w+):\s*("(?:[^"\\]|\\.)*"|[^,]+)', text):
        key, value = part
        value = value.strip()
        if value.startswith('"'):
            value = json.loads(value)
        fields[key] = value
    return fields


def _from_sim_text(path, text):
    """The standard-library reader: the sim's own inventory layout only."""
    hosts, known_hosts, section = [], None, None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("known_hosts:"):
            value = line.split(":", 1)[1].strip()
            known_hosts = json.loads(value) if value.startswith('"') else value
        elif line.rstrip() == "hosts:":
            section = "hosts"
        elif section == "hosts" and (m := _SIM_HOST.match(line)):
            hosts.append(_host(m.group(1), _sim_fields(m.group(2))))
        else:
            raise SystemExit(
                f"{path}:{number}: this reader (no PyYAML installed) knows only the inventory "
                "`fanout sim serve` writes; install PyYAML (pip install pyyaml) for other inventories"
            )
    return hosts, known_hosts


def load_inventory(path):
    """(hosts, known_hosts path or None) of a fanout inventory.

    Each host is a dict: name, hostname, port, username, password, secret,
    platform. known_hosts is resolved relative to the inventory's folder.
    """
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        import yaml  # netmiko brings PyYAML; the standard library has none
    except ImportError:
        hosts, known = _from_sim_text(path, text)
    else:
        hosts, known = _from_yaml(yaml.safe_load(text) or {})
    if not hosts:
        raise SystemExit(f"{path}: no hosts")
    if known:
        known = os.path.join(os.path.dirname(os.path.abspath(path)), os.path.expanduser(known))
    return hosts, known


def classify(exc):
    """(status, error_kind) of an exception, in fanout's words."""
    names = " ".join(c.__name__ for c in type(exc).__mro__)
    message = str(exc).lower()
    if "PermissionDenied" in names or "Authentication" in names or "authentication" in message:
        return "failed", "auth"
    if "HostKey" in names or "known_hosts" in message or "host key" in message:
        return "failed", "host_key"
    if isinstance(exc, TimeoutError) or "Timeout" in names:
        return "timeout", "timeout"
    if isinstance(exc, OSError) or "Connection" in names:
        return "failed", "connect"
    return "failed", "protocol"


class Run:
    """Counts outcomes, times the run from its first host, prints the lines."""

    def __init__(self, executor, concurrency):
        self.executor = executor
        self.concurrency = concurrency
        self.counts = {"ok": 0, "failed": 0, "timeout": 0, "cancelled": 0}
        self.first_start = None
        self.last_end = None

    def host_started(self):
        """Call when a host takes its slot; returns its start time."""
        now = time.monotonic()
        with _print_lock:
            if self.first_start is None or now < self.first_start:
                self.first_start = now
        return now

    def outcome(self, line):
        """Prints one host object (from `ok()` / `failed()`) and counts it."""
        with _print_lock:
            self.counts[line["status"]] += 1
            self.last_end = time.monotonic()
            _write(json.dumps(line) + "\n")

    def summary(self):
        wall = (self.last_end - self.first_start) if self.first_start and self.last_end else 0.0
        hosts = sum(self.counts.values())
        line = {
            "summary": {
                "executor": self.executor,
                "concurrency": self.concurrency,
                "hosts": hosts,
                **self.counts,
                "wall_s": round(wall, 6),
            }
        }
        _write(json.dumps(line) + "\n")
        return 0 if self.counts["ok"] == hosts else 1


def ok(name, started, outputs, worker):
    return {
        "host": name,
        "status": "ok",
        "outputs": [{"command": c, "stdout": o} for c, o in outputs],
        "timings_ms": {"total": round((time.monotonic() - started) * 1e3, 3)},
        "attempts": 1,
        "worker": worker,
    }


def failed(name, started, exc, worker, status=None, kind=None):
    s, k = classify(exc) if exc is not None else ("failed", "command_failed")
    return {
        "host": name,
        "status": status or s,
        "error_kind": kind or k,
        "message": f"{type(exc).__name__}: {exc}" if exc is not None else "command failed",
        "outputs": [],
        "timings_ms": {"total": round((time.monotonic() - started) * 1e3, 3)},
        "attempts": 1,
        "worker": worker,
    }


def known_hosts(args, inventory_known):
    """The known_hosts file to verify against: --known-hosts, else the inventory's."""
    path = args.known_hosts or inventory_known
    if not path or not os.path.exists(path):
        raise SystemExit(
            f"no known_hosts file ({path or 'none given'}): pass --known-hosts FILE "
            "(compare's {known_hosts}) or add known_hosts: to the inventory"
        )
    return path
