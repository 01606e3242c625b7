#!/bin/sh
# 100,000 HTTPS GETs against the simulated fleet (the source material's 004:
# Semaphore(5) over 100,000 GETs), for fanout's executors and an aiohttp
# peer: wall, requests/s, client CPU per request, peak RSS.
#
# usage (from the repository, release build first, nothing else running):
#   flock -o /tmp/fanout-build.lock sh scripts/http-bench.sh DIR [PYTHON]
# DIR receives the fleet, the 100,000-entry inventory and one log per run.
set -eu
dir=$1
py=${2:-target/pyclients/bin/python}
bin=target/release/fanout
devices=1000
entries=100000
url='https://{host}:{vars.http_port}/restconf/data/Cisco-IOS-XE-native:native/hostname'
mkdir -p "$dir"
rm -f "$dir/fleet.yaml"
"$bin" sim serve -n "$devices" --http --ca-out "$dir/fleet_ca.pem" --inventory-out "$dir/fleet.yaml" \
    >"$dir/sim.log" 2>&1 &
sim=$!
trap 'kill -INT $sim 2>/dev/null; wait $sim 2>/dev/null || true' EXIT
while [ ! -s "$dir/fleet.yaml" ]; do sleep 0.2; done
# 100 inventory entries per device, each its own host name.
python3 - "$dir/fleet.yaml" "$dir/bench.yaml" "$entries" <<'PY'
import re, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
head, hosts = [], []
for line in open(src):
    m = re.match(r'\s+"([^"]+)": (\{.*\})\s*$', line)
    if m:
        hosts.append(m.group(2))
    elif not line.startswith("hosts:"):
        head.append(line)
with open(dst, "w") as f:
    f.writelines(head)
    f.write("hosts:\n")
    for i in range(n):
        f.write(f'  "h{i + 1:06d}": {hosts[i % len(hosts)]}\n')
PY
measure() {
    name=$1; shift
    /usr/bin/time -f "%e %U %S %M" -o "$dir/$name.time" "$@" >"$dir/$name.out" 2>"$dir/$name.err" || true
    set -- $(tail -n 1 "$dir/$name.time")
    summary=$(tail -n 1 "$dir/$name.out")
    python3 - "$name" "$1" "$2" "$3" "$4" "$summary" "$entries" <<'PY'
import json, sys
name, wall, user, sys_, rss, summary, n = sys.argv[1:8]
s = json.loads(summary)["summary"]
wall_s = float(s["wall_s"])
cpu = float(user) + float(sys_)
print(f"| {name} | {s['ok']} | {s['failed'] + s['timeout']} | {wall_s:.2f} | {float(wall):.2f} | "
      f"{int(n) / wall_s:,.0f} | {cpu * 1e6 / int(n):.0f} | {int(rss) / 1024:.0f} |")
PY
}
echo "| run | ok | failed | wall_s (first to last host) | process wall s | requests/s | client CPU µs/request | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|"
# RUNS: which rows (default all), e.g. RUNS="threads-c5 threads-c1000".
runs=${RUNS:-async-c5 threads-c5 rayon-c5 process-c5 seq-c1 aiohttp-c5 async-c1000 threads-c1000 rayon-c1000 process-c1000 aiohttp-c1000}
for run in $runs; do
    e=${run%-c*}
    c=${run##*-c}
    case $e in
        aiohttp) measure "$run" "$py" scripts/peers/http_aiohttp.py "$dir/bench.yaml" -c "$c" "$url" ;;
        *) measure "$run" "$bin" run -i "$dir/bench.yaml" -e "$e" -c "$c" --format jsonl --retries 0 http "$url" ;;
    esac
done
